"""A reader and writer of the safetensors format, in NumPy and ``json`` only (no pickle).

Layout: an 8-byte little-endian unsigned header length N, then N bytes of JSON
``{name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}`` with an
optional ``"__metadata__"`` object of str -> str, then the raw little-endian tensor bytes.
Offsets count from the end of the header; the tensors tile that byte buffer exactly.

Reading validates everything before touching the data: the header length against the
file size, the JSON, each dtype, shape and offset pair, that the tensors are contiguous
and non-overlapping, and that each byte count is ``prod(shape) * itemsize``. Any
violation raises ``ModelFileError`` naming the file and the tensor.

Example:
    >>> blob = save({"w": numpy.ones((2, 3), "float32")}, metadata={"format": "demo"})
    >>> load(blob)["w"].shape
    (2, 3)
"""
import json
import math

import numpy

from ..errors import ModelFileError

DTYPES = {
    "BOOL": numpy.dtype("bool"),
    "U8": numpy.dtype("u1"), "I8": numpy.dtype("i1"),
    "U16": numpy.dtype("<u2"), "I16": numpy.dtype("<i2"), "F16": numpy.dtype("<f2"),
    "U32": numpy.dtype("<u4"), "I32": numpy.dtype("<i4"), "F32": numpy.dtype("<f4"),
    "U64": numpy.dtype("<u8"), "I64": numpy.dtype("<i8"), "F64": numpy.dtype("<f8"),
}
_CODES = {(dt.kind, dt.itemsize): code for code, dt in DTYPES.items()}
MAX_HEADER_BYTES = 100_000_000  # the reference implementation's limit


# ---------------------------------------------------------------------- writing
def _as_little_endian(name, array):
    array = numpy.asarray(array)
    code = _CODES.get((array.dtype.kind, array.dtype.itemsize))
    if code is None:
        raise ModelFileError(f"safetensors: tensor {name!r} has dtype {array.dtype}, which safetensors cannot "
                             f"store. Supported: {', '.join(str(d) for d in DTYPES.values())}.")
    return code, numpy.asarray(array, dtype=DTYPES[code], order="C")  # keeps 0-d shapes


def _header_bytes(tensors, metadata):
    header = {}
    if metadata:
        bad = {k: v for k, v in metadata.items() if not (isinstance(k, str) and isinstance(v, str))}
        if bad:
            raise ModelFileError(f"safetensors: __metadata__ must map str to str. Received: {bad!r}.")
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, (code, array) in tensors.items():
        header[name] = {"dtype": code, "shape": list(array.shape), "data_offsets": [offset, offset + array.nbytes]}
        offset += array.nbytes
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * (-len(raw) % 8)  # pad so the data starts 8-byte aligned, as the reference writer does
    return len(raw).to_bytes(8, "little") + raw


def write(stream, tensors, metadata=None):
    """Write ``{name: array}`` (in the dict's order) and optional str metadata to a binary stream."""
    prepared = {}
    for name, array in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise ModelFileError(f"safetensors: tensor names must be strings other than '__metadata__'. "
                                 f"Received: {name!r}.")
        prepared[name] = _as_little_endian(name, array)
    stream.write(_header_bytes(prepared, metadata))
    for _, array in prepared.values():
        if array.nbytes:
            stream.write(memoryview(array.reshape(-1)).cast("B"))


def save(tensors, metadata=None):
    """The safetensors bytes of ``{name: array}``."""
    import io  # noqa: PLC0415

    buf = io.BytesIO()
    write(buf, tensors, metadata)
    return buf.getvalue()


def save_file(tensors, filepath, metadata=None):
    """Write a ``.safetensors`` file (atomically: temporary file, fsync, rename)."""
    from .atomic import atomic_write  # noqa: PLC0415

    with atomic_write(filepath) as stream:
        write(stream, tensors, metadata)


# ---------------------------------------------------------------------- reading
def _no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        dup = sorted({k for k in keys if keys.count(k) > 1})
        raise ValueError(f"duplicate keys {dup}")
    return dict(pairs)


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def read_header(data, source="<bytes>"):
    """Validate the header of safetensors bytes; returns (entries, metadata, data_start)."""
    where = f"{source}: not a valid safetensors file:"
    if len(data) < 8:
        raise ModelFileError(f"{where} it is {len(data)} bytes long, shorter than the 8-byte header length "
                             "(truncated?).")
    n = int.from_bytes(bytes(data[:8]), "little")
    if n > len(data) - 8 or n > MAX_HEADER_BYTES:
        raise ModelFileError(f"{where} the header claims {n} bytes but only {len(data) - 8} follow "
                             "(truncated, or not safetensors).")
    try:
        header = json.loads(bytes(data[8:8 + n]).decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError) as exc:
        raise ModelFileError(f"{where} the header is not valid JSON ({str(exc)[:200]}).") from None
    except RecursionError:
        raise ModelFileError(f"{where} the header nests too deeply to be a safetensors header.") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{where} the header must be a JSON object; found {type(header).__name__}.")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict)
                                     and all(isinstance(v, str) for v in metadata.values())):
        raise ModelFileError(f"{where} __metadata__ must be an object of strings; found {metadata!r}.")
    entries = {name: _check_entry(name, info, where) for name, info in header.items()}
    _check_tiling(entries, len(data) - 8 - n, where)
    return entries, metadata or {}, 8 + n


def _check_entry(name, info, where):
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise ModelFileError(f"{where} tensor {name!r} must have exactly dtype, shape and data_offsets; "
                             f"found {info!r}.")
    code, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if code not in DTYPES:
        raise ModelFileError(f"{where} tensor {name!r} has dtype {code!r}, which threestep cannot read. "
                             f"Known dtypes: {', '.join(DTYPES)}.")
    if not isinstance(shape, list) or not all(_is_int(d) and d >= 0 for d in shape):
        raise ModelFileError(f"{where} tensor {name!r} has an invalid shape {shape!r}.")
    if (not isinstance(offsets, list) or len(offsets) != 2 or not all(_is_int(o) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]):
        raise ModelFileError(f"{where} tensor {name!r} has invalid data_offsets {offsets!r}.")
    expected = math.prod(shape) * DTYPES[code].itemsize
    if offsets[1] - offsets[0] != expected:
        raise ModelFileError(f"{where} tensor {name!r} ({code}, shape {shape}) needs {expected} bytes but its "
                             f"data_offsets {offsets} span {offsets[1] - offsets[0]}.")
    return DTYPES[code], tuple(shape), tuple(offsets)


def _check_tiling(entries, buffer_len, where):
    """The tensors must cover the data buffer exactly: contiguous, no gaps, no overlaps."""
    position = 0
    for name, (_, _, (begin, end)) in sorted(entries.items(), key=lambda item: item[1][2]):
        if begin != position:
            problem = "overlaps the previous tensor" if begin < position else f"leaves a gap at byte {position}"
            raise ModelFileError(f"{where} tensor {name!r} at data_offsets [{begin}, {end}] {problem}.")
        position = end
    if position != buffer_len:
        raise ModelFileError(f"{where} the tensors end at byte {position} but the data buffer holds {buffer_len} "
                             "bytes (truncated or padded file).")


def load(data, source="<bytes>"):
    """``{name: numpy array}`` (in header order) from safetensors bytes; validates first."""
    return load_with_metadata(data, source)[0]


def load_with_metadata(data, source="<bytes>"):
    """``({name: array}, metadata)`` from safetensors bytes."""
    data = memoryview(data)
    entries, metadata, start = read_header(data, source)
    out = {}
    for name, (dtype, shape, (begin, end)) in entries.items():
        flat = numpy.frombuffer(data[start + begin:start + end], dtype=dtype)
        # native byte order, writable, and not pinning the whole file in memory
        out[name] = flat.astype(dtype.newbyteorder("="), copy=True).reshape(shape)
    return out, metadata


def load_file(filepath):
    """``{name: numpy array}`` from a ``.safetensors`` file."""
    return load_file_with_metadata(filepath)[0]


def load_file_with_metadata(filepath):
    with open(filepath, "rb") as f:
        data = f.read()
    return load_with_metadata(data, str(filepath))
