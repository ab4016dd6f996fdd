"""``TensorBoard``: event files that TensorBoard reads, written without TensorFlow.

An event file is a sequence of TFRecords (length, masked CRC32C of the length, data,
masked CRC32C of the data) whose data are ``Event`` protocol buffers: the first carries
``file_version = "brain.Event:2"``, the others a ``Summary`` of scalar values
(``simple_value``) or histograms (``HistogramProto``). The few protobuf fields needed are
encoded by hand here (varints, fixed 64/32-bit numbers, length-delimited fields), so the
callback needs no dependency; ``pip install "threestep[tensorboard]"`` installs the viewer.
"""
import os
import socket
import struct
import time

from .. import backend
from ..errors import ConfigError
from .base import Callback

# ---------------------------------------------------------------------- CRC32C and framing
_CRC_TABLE = []
for _n in range(256):
    _c = _n
    for _ in range(8):
        _c = (_c >> 1) ^ 0x82F63B78 if _c & 1 else _c >> 1  # Castagnoli polynomial, reflected
    _CRC_TABLE.append(_c)


def crc32c(data):
    """CRC-32C (Castagnoli) of ``data``, as TFRecord uses."""
    crc = 0xFFFFFFFF
    table = _CRC_TABLE
    for byte in data:
        crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc32c(data):
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def tfrecord(data):
    """One TFRecord: length, its masked CRC, the data, the data's masked CRC."""
    length = struct.pack("<Q", len(data))
    return length + struct.pack("<I", masked_crc32c(length)) + data + struct.pack("<I", masked_crc32c(data))


# ---------------------------------------------------------------------- protobuf wire format
def _varint(value):
    out = bytearray()
    value &= (1 << 64) - 1  # negative int64 as two's complement
    while True:
        bits = value & 0x7F
        value >>= 7
        if value:
            out.append(bits | 0x80)
        else:
            out.append(bits)
            return bytes(out)


def _key(field, wire):
    return _varint((field << 3) | wire)


def _double(field, value):
    return _key(field, 1) + struct.pack("<d", float(value))


def _float(field, value):
    return _key(field, 5) + struct.pack("<f", float(value))


def _int(field, value):
    return _key(field, 0) + _varint(int(value))


def _bytes(field, data):
    if isinstance(data, str):
        data = data.encode("utf-8")
    return _key(field, 2) + _varint(len(data)) + data


def _packed_doubles(field, values):
    return _bytes(field, b"".join(struct.pack("<d", float(v)) for v in values))


def event(step, wall_time=None, summary=None, file_version=None):
    """An ``Event`` message: wall_time (1), step (2), file_version (3) or summary (5)."""
    out = _double(1, time.time() if wall_time is None else wall_time) + _int(2, step)
    if file_version is not None:
        out += _bytes(3, file_version)
    if summary is not None:
        out += _bytes(5, summary)
    return out


def scalar_value(tag, value):
    """A ``Summary.Value`` with tag (1) and simple_value (2)."""
    return _bytes(1, _bytes(1, tag) + _float(2, value))


def histogram_value(tag, array, bins=30):
    """A ``Summary.Value`` with tag (1) and a ``HistogramProto`` (5) of ``array``'s values."""
    xp = backend.get_array_module(array)
    flat = array.reshape(-1).astype("float64")
    lo, hi = float(flat.min()), float(flat.max())
    counts, edges = xp.histogram(flat, bins=bins, range=(lo, hi if hi > lo else lo + 1e-12))
    histo = (_double(1, lo) + _double(2, hi) + _double(3, flat.size) + _double(4, float(flat.sum()))
             + _double(5, float((flat * flat).sum())) + _packed_doubles(6, backend.to_numpy(edges[1:]).tolist())
             + _packed_doubles(7, backend.to_numpy(counts).tolist()))
    return _bytes(1, _bytes(1, tag) + _bytes(5, histo))


class EventWriter:
    """Append events to ``log_dir/events.out.tfevents.<time>.<host>``."""

    def __init__(self, log_dir):
        os.makedirs(log_dir, exist_ok=True)
        name = f"events.out.tfevents.{int(time.time())}.{socket.gethostname()}.{os.getpid()}.{id(self) % 10000}"
        self.path = os.path.join(log_dir, name)
        self._file = open(self.path, "ab")  # noqa: SIM115 - closed by close()
        self.write(event(0, file_version="brain.Event:2"))

    def write(self, message):
        self._file.write(tfrecord(message))

    def summary(self, step, values):
        """Write one ``Summary`` of encoded ``values`` at ``step``."""
        self.write(event(step, summary=b"".join(values)))

    def flush(self):
        self._file.flush()

    def close(self):
        if not self._file.closed:
            self._file.close()


# ---------------------------------------------------------------------- the callback
class TensorBoard(Callback):
    """Log metrics (and weight/gradient histograms) for TensorBoard, as Keras 2.3 does.

    Args:
        log_dir: directory of the event files (``tensorboard --logdir log_dir``).
        histogram_freq: every that many epochs, histograms of each weight (tag
            ``<layer>/<weight>``) and of its last gradient (``<layer>/<weight>_grad``);
            0 disables them.
        update_freq: 'epoch' (scalars per epoch, step = epoch) or an integer: also the
            batch loss every that many batches (tag ``batch_loss``, step = batches seen).

    Example:
        >>> model.fit(x, y, epochs=10, callbacks=[TensorBoard("logs", histogram_freq=1)])
    """

    @property
    def needs_gradients(self):
        """Weight histograms include each weight's last gradient."""
        return bool(self.histogram_freq)

    def __init__(self, log_dir="./logs", histogram_freq=0, update_freq="epoch"):
        super().__init__()
        if isinstance(histogram_freq, bool) or not isinstance(histogram_freq, int) or histogram_freq < 0:
            raise ConfigError(f"TensorBoard: histogram_freq must be an integer >= 0. Received: "
                              f"histogram_freq={histogram_freq!r}.")
        if update_freq != "epoch" and (isinstance(update_freq, bool) or not isinstance(update_freq, int)
                                       or update_freq < 1):
            raise ConfigError(f"TensorBoard: update_freq must be 'epoch' or a positive number of batches. "
                              f"Received: update_freq={update_freq!r}.")
        self.log_dir = os.fspath(log_dir)
        self.histogram_freq = histogram_freq
        self.update_freq = update_freq
        self.writer = None
        self._seen = 0

    def on_train_begin(self, logs=None):
        self.writer = EventWriter(self.log_dir)
        self._seen = 0

    def on_train_batch_end(self, batch, logs=None):
        self._seen += 1
        if self.update_freq != "epoch" and self._seen % self.update_freq == 0 and "loss" in (logs or {}):
            self.writer.summary(self._seen, [scalar_value("batch_loss", logs["loss"])])

    def on_epoch_end(self, epoch, logs=None):
        values = []
        for key, value in (logs or {}).items():
            try:
                values.append(scalar_value(key, float(value)))
            except (TypeError, ValueError):
                continue
        if self.histogram_freq and (epoch + 1) % self.histogram_freq == 0:
            values += self._histograms()
        self.writer.summary(epoch, values)
        self.writer.flush()

    def _histograms(self):
        values = []
        for layer in self.model.layers:
            for i, w in enumerate(layer.weights):
                name = f"{layer.name}/{getattr(w, 'name', None) or f'weight_{i}'}"
                if w.data.size:
                    values.append(histogram_value(name, w.data))
                if getattr(w, "grad", None) is not None and w.grad.size:
                    values.append(histogram_value(name + "_grad", w.grad))
        return values

    def on_train_end(self, logs=None):
        if self.writer is not None:
            self.writer.close()
