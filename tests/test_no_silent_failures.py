"""Regression tests for failures that used to pass silently (or with a misleading message):
out-of-range labels in the fused cross-entropy, memmap NaN rows, float64 overflow on the
cast, stale temporary files of killed saves, fit(seed=..., initial_epoch=k) on a loaded
checkpoint, and random shapes and dtypes through the data checks."""
import math
import os
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from threestep import backend, losses, ops
from threestep.autograd import Tensor
from threestep.callbacks import ModelCheckpoint
from threestep.errors import DataError, ShapeError, ThreestepError
from threestep.layers import Dense, Dropout
from threestep.models import Sequential, load_model
from threestep.models.checks import ThreestepHint
from threestep.saving import stale_temps
from threestep.saving.atomic import atomic_write
from helpers import numpy_only


def _model(seed=0):
    backend.set_seed(seed)
    model = Sequential([Dense(6, activation="relu", input_shape=(4,)), Dropout(0.3), Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _xy(n=32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 4)).astype("float32"), rng.integers(0, 3, n)


# ---------------------------------------------------------------------- labels checked in the op
OP_CHECKS = numpy_only("on the GPU the op leaves the label check to fit/evaluate, which check on the host "
                       "(a check in the op would read the device every step)")


@OP_CHECKS
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("form", ["mean", "per-sample", "loss-mean_from_logits", "loss-per_sample_from_logits"])
@pytest.mark.parametrize("label", [7, 3, -1])
def test_softmax_cross_entropy_rejects_out_of_range_labels(dtype, form, label):
    """Label 7 of 3 classes used to get zero loss and zero gradient (mean ln3/2 for [0, 7])."""
    logits = Tensor(np.zeros((2, 3), dtype), requires_grad=True)
    labels = np.array([0, label])
    loss = losses.get("sparse_categorical_crossentropy")
    calls = {"mean": lambda: ops.softmax_cross_entropy(logits, labels, reduction="mean"),
             "per-sample": lambda: ops.softmax_cross_entropy(logits, labels),
             "loss-mean_from_logits": lambda: loss.mean_from_logits(logits, labels),
             "loss-per_sample_from_logits": lambda: loss.per_sample_from_logits(logits, labels)}
    with pytest.raises(DataError, match=rf"0\.\.2 .*{label}"):
        calls[form]()


def test_in_range_labels_keep_their_value_and_gradient():
    logits = Tensor(np.zeros((2, 3), "float64"), requires_grad=True)
    loss = ops.softmax_cross_entropy(logits, np.array([0, 2]), reduction="mean")
    assert math.isclose(float(loss.data), math.log(3), rel_tol=1e-12)
    loss.backward()
    np.testing.assert_allclose(backend.to_numpy(logits.grad), np.array([[-1 / 3, 1 / 6, 1 / 6], [1 / 6, 1 / 6, -1 / 3]]), atol=1e-12)


@OP_CHECKS
def test_custom_training_loop_cannot_skip_the_label_check():
    model = _model()
    x, _ = _xy(4)
    out = model(x, training=True)
    with pytest.raises(DataError, match="0..2"):
        ops.softmax_cross_entropy(out, np.array([0, 1, 2, 5]))


# ---------------------------------------------------------------------- data on disk, casts
def test_memmap_nan_is_reported_with_its_dataset_row(tmp_path):
    x, y = _xy(64)
    x[45, 2] = np.nan
    np.save(tmp_path / "x.npy", x)
    xm = np.load(tmp_path / "x.npy", mmap_mode="r")
    with pytest.raises(DataError, match=r"dataset row 45 \(index \(45, 2\)\)"):
        _model().fit(xm, y, batch_size=16, shuffle=True, verbose=0, workers=0)


def test_memmap_float64_overflow_is_named_a_cast_overflow(tmp_path):
    x, y = _xy(40)
    big = x.astype("float64")
    big[33, 1] = 1e300
    np.save(tmp_path / "x.npy", big)
    with pytest.raises(DataError, match="float64 .*beyond float32's range.*1e\\+300.*overflow"):
        _model().fit(np.load(tmp_path / "x.npy", mmap_mode="r"), y, batch_size=8, verbose=0, workers=0)


def test_float64_overflow_is_not_called_nan_or_infinite():
    x, y = _xy()
    big = x.astype("float64")
    big[3, 0] = -4e38
    with pytest.raises(DataError) as info:
        _model().fit(big, y, verbose=0)
    assert "overflow" in str(info.value) and "NaN or infinite" not in str(info.value)
    assert "(3, 0)" in str(info.value)


def test_float64_within_float32_range_still_trains():
    x, y = _xy()
    _model().fit(x.astype("float64") * 1e30, y, verbose=0, epochs=1)


# ---------------------------------------------------------------------- stale temporary files
def test_a_stale_temporary_file_is_removed_at_the_next_save(tmp_path):
    target = tmp_path / "model.ts"
    stale = tmp_path / ".model.ts.abcd1234.tmp"  # the pattern of atomic_write's temporary files
    stale.write_bytes(b"x" * 1000)
    other = tmp_path / ".other.ts.abcd1234.tmp"  # another file's temporary: not ours to remove
    other.write_bytes(b"y")
    user = tmp_path / ".model.ts.mine.tmp"  # not the pattern
    user.write_bytes(b"z")
    _model().save(target)
    assert sorted(os.listdir(tmp_path)) == sorted([".other.ts.abcd1234.tmp", ".model.ts.mine.tmp", "model.ts"])
    load_model(target)


def test_a_temporary_file_of_a_save_in_progress_is_kept(tmp_path):
    target = tmp_path / "model.ts"
    with atomic_write(target) as stream:
        stream.write(b"partial")
        names = [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
        assert len(names) == 1
        assert stale_temps.remove(target) == []  # locked by the running save
        assert os.path.exists(tmp_path / names[0])
    assert os.listdir(tmp_path) == ["model.ts"]


# ---------------------------------------------------------------------- seed on resume
@numpy_only("CuPy's device generator cannot report its state, so a GPU resume is not bit-identical "
            "(backend.get_rng_state)")
def test_fit_seed_on_a_loaded_checkpoint_keeps_the_restored_random_state(tmp_path):
    """Resuming with the seed of the original call (as a user copies it) continues the
    interrupted run's random stream: bit-identical to the uninterrupted run."""
    x, y = _xy(48)
    full = _model(1)
    full.fit(x, y, epochs=4, batch_size=8, seed=7, verbose=0)

    first = _model(1)
    path = tmp_path / "ckpt.ts"
    first.fit(x, y, epochs=2, batch_size=8, seed=7, verbose=0, callbacks=[ModelCheckpoint(str(path))])
    backend.set_seed(12345)  # random draws before loading do not matter: the checkpoint restores its state
    resumed = load_model(path)
    with pytest.warns(ThreestepHint, match="seed=7 is not applied.*initial_epoch=2"):
        resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=8, seed=7, verbose=0)
    for a, b in zip(resumed.get_weights(), full.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_fit_seed_without_a_checkpoint_still_seeds():
    x, y = _xy()
    a, b = _model(2), _model(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ThreestepHint)
        a.fit(x, y, epochs=2, seed=3, verbose=0)
        b.fit(x, y, epochs=2, seed=3, verbose=0)
    for wa, wb in zip(a.get_weights(), b.get_weights()):
        np.testing.assert_array_equal(wa, wb)


# ---------------------------------------------------------------------- data checks, property-based
DTYPES = ["float16", "float32", "float64", "int8", "int64", "uint8", "bool", "complex64", "object", "U3"]
DATA = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow])


def _array(draw, shape, dtype, special):
    rng = np.random.default_rng(draw(st.integers(0, 2 ** 16)))
    values = rng.standard_normal(shape) * 3
    if special and values.size:
        values.flat[draw(st.integers(0, values.size - 1))] = draw(st.sampled_from([np.nan, np.inf, -np.inf, 1e300]))
    if dtype == "U3":
        return values.astype(str).astype("U3")
    with np.errstate(all="ignore"):
        return values.astype(dtype)


@st.composite
def inputs(draw):
    n = draw(st.integers(0, 5))
    trailing = draw(st.one_of(st.just([4]), st.lists(st.integers(0, 5), min_size=0, max_size=3)))
    dtype = draw(st.sampled_from(DTYPES))
    special = draw(st.booleans())
    return _array(draw, (n, *trailing), dtype, special), dtype, special


def _valid_x(x, dtype, special):
    if x.ndim != 2 or x.shape[1] != 4 or len(x) == 0 or dtype in ("complex64", "object", "U3"):
        return False
    with np.errstate(all="ignore"):
        return bool(np.isfinite(x.astype("float64")).all() and (np.abs(x.astype("float64")) < 3e38).all())


@DATA
@given(data=inputs())
def test_predict_on_random_shapes_and_dtypes(data):
    x, dtype, special = data
    model = _model()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = model.predict(x)
    except ThreestepError:
        assert not _valid_x(x, dtype, special), f"valid {dtype} {x.shape} refused"
        return
    assert _valid_x(x, dtype, special), f"bad input {dtype} {x.shape} accepted"
    assert out.shape == (len(x), 3) and np.isfinite(out).all()


@DATA
@given(data=inputs(), labels=st.lists(st.integers(-2, 4), min_size=0, max_size=6),
       label_dtype=st.sampled_from(["int64", "uint8", "float32", "float64"]))
def test_fit_on_random_shapes_dtypes_and_labels(data, labels, label_dtype):
    x, dtype, special = data
    y = np.array(labels).astype(label_dtype)
    model = _model()
    before = [w.copy() for w in model.get_weights()]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(x, y, epochs=1, batch_size=2, verbose=0)
    except ThreestepError as exc:
        assert not (_valid_x(x, dtype, special) and len(y) == len(x) and y.min(initial=0) >= 0
                    and y.max(initial=0) <= 2), f"valid data refused: {exc}"
        assert isinstance(exc, (DataError, ShapeError, ThreestepError))
        return
    assert _valid_x(x, dtype, special) and len(y) == len(x) and 0 <= y.min() and y.max() <= 2, \
        f"bad data accepted: x {dtype} {x.shape}, y {y.dtype} {y.tolist()}"
    assert any(not np.array_equal(a, b) for a, b in zip(before, model.get_weights())), "fit changed nothing"
