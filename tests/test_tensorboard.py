"""TensorBoard event files, read back with TensorBoard's own reader."""
import math
import struct

import numpy as np
import pytest
from tensorboard.backend.event_processing import event_accumulator  # the real reader (test extra)

from threestep.callbacks.tensorboard import TensorBoard, crc32c, masked_crc32c, tfrecord
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential


def test_crc32c_known_values():
    # RFC 3720 test vectors (iSCSI): 32 zero bytes and the 0..31 ramp
    assert crc32c(b"\x00" * 32) == 0x8A9136AA
    assert crc32c(bytes(range(32))) == 0x46DD794E
    assert crc32c(b"123456789") == 0xE3069283
    record = tfrecord(b"abc")
    assert struct.unpack("<Q", record[:8])[0] == 3
    assert struct.unpack("<I", record[8:12])[0] == masked_crc32c(record[:8])
    assert record[12:15] == b"abc"


def test_scalars_and_histograms_read_by_tensorboard(rng, tmp_path):
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = Sequential([Dense(5, activation="relu", input_dim=4), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25,
                        callbacks=[TensorBoard(tmp_path, histogram_freq=1, update_freq=2)])
    acc = event_accumulator.EventAccumulator(str(tmp_path), size_guidance={"scalars": 0, "histograms": 0})
    acc.Reload()
    tags = acc.Tags()
    for key in ("loss", "val_loss", "accuracy", "val_accuracy", "lr", "batch_loss"):
        assert key in tags["scalars"], tags
    loss = acc.Scalars("loss")
    assert [e.step for e in loss] == [0, 1, 2]
    assert [e.value for e in loss] == pytest.approx(history.history["loss"], rel=1e-6)
    assert [e.step for e in acc.Scalars("batch_loss")] == [2, 4, 6, 8]  # 9 batches in all (3 an epoch), every 2nd
    kernel = f"{model.layers[0].name}/{model.layers[0].kernel.name or 'weight_0'}"
    assert kernel in tags["histograms"] and kernel + "_grad" in tags["histograms"]
    histo = acc.Histograms(kernel)[-1].histogram_value
    weights = model.layers[0].kernel.numpy()
    assert histo.num == weights.size
    assert histo.min == pytest.approx(weights.min()) and histo.max == pytest.approx(weights.max())
    assert histo.sum == pytest.approx(weights.sum(), rel=1e-5, abs=1e-6)
    assert sum(histo.bucket) == weights.size and len(histo.bucket_limit) == len(histo.bucket)
    assert math.isclose(histo.bucket_limit[-1], weights.max(), rel_tol=1e-6)


def test_bad_arguments():
    with pytest.raises(ConfigError, match="histogram_freq=-1"):
        TensorBoard(histogram_freq=-1)
    with pytest.raises(ConfigError, match="update_freq='batch'"):
        TensorBoard(update_freq="batch")


def test_no_histograms_by_default(tmp_path, rng):
    model = Sequential([Dense(1, input_dim=2)])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(rng.normal(size=(8, 2)), rng.normal(size=(8, 1)), epochs=2, verbose=0,
              callbacks=[TensorBoard(tmp_path)])
    acc = event_accumulator.EventAccumulator(str(tmp_path))
    acc.Reload()
    assert acc.Tags()["histograms"] == [] and len(acc.Scalars("loss")) == 2
    assert np.isfinite(acc.Scalars("loss")[0].value)
