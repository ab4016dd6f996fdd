"""threestep.utils: to_categorical (Keras 2.3 behaviour), normalize, set_seed, exports."""
import numpy as np
import pytest

import threestep
from threestep import backend, utils
from threestep.errors import ConfigError, DataError
from threestep.utils import normalize, set_seed, to_categorical
from helpers import to_host


def test_exports():
    assert set(utils.__all__) == {"Progbar", "Sequence", "to_categorical", "normalize", "set_seed",
                                  "custom_object_scope", "get_custom_objects"}
    assert utils.set_seed is backend.set_seed
    from threestep.utils import Progbar  # noqa: F401


# ---------------------------------------------------------------------- to_categorical
def test_to_categorical_basic():
    expected = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=np.float32)
    out = to_categorical([0, 2, 1, 2])
    assert out.dtype == np.float32 and out.shape == (4, 3)
    np.testing.assert_array_equal(out, expected)


def test_to_categorical_num_classes_and_dtype():
    out = to_categorical(np.array([1, 3]), num_classes=5, dtype="int64")
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out, [[0, 1, 0, 0, 0], [0, 0, 0, 1, 0]])


@pytest.mark.parametrize("shape, expected", [
    ((6,), (6, 4)),            # plain labels
    ((6, 1), (6, 4)),          # trailing 1 dropped, as Keras 2.3
    ((1,), (1, 4)),            # a single label stays a batch of one
    ((2, 3), (2, 3, 4)),       # e.g. sequence labels
    ((2, 3, 1), (2, 3, 4)),
    ((3, 1, 2), (3, 1, 2, 4)),  # only a *trailing* 1 is dropped
    ((6, 1, 1), (6, 1, 4)),    # and only one of them
])
def test_to_categorical_shapes(shape, expected):
    y = np.arange(int(np.prod(shape))).reshape(shape) % 4
    out = to_categorical(y, 4)
    assert out.shape == expected
    np.testing.assert_array_equal(out.argmax(-1), y.reshape(expected[:-1]))
    np.testing.assert_array_equal(out.sum(-1), 1)


def test_to_categorical_scalar_label():
    np.testing.assert_array_equal(to_categorical(2, 4), [0, 0, 1, 0])


def test_to_categorical_accepts_whole_floats_bools_and_uint8():
    np.testing.assert_array_equal(to_categorical(np.array([2.0, 0.0])), [[0, 0, 1], [1, 0, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([True, False])), [[0, 1], [1, 0]])
    np.testing.assert_array_equal(to_categorical(np.array([255], dtype=np.uint8), 256).argmax(), 255)


def test_to_categorical_empty_with_num_classes():
    assert to_categorical(np.array([], dtype=int), 3).shape == (0, 3)


def test_to_categorical_label_too_large():
    with pytest.raises(DataError, match=r"\[0, 3\).*label 3 at flat index 2"):
        to_categorical([0, 1, 3], num_classes=3)


def test_to_categorical_negative_label():
    with pytest.raises(DataError, match=r"label -1 at flat index 1"):
        to_categorical([0, -1, 2])
    with pytest.raises(ValueError):  # DataError is a ValueError
        to_categorical([-5], num_classes=10)


@pytest.mark.parametrize("bad, pattern", [
    (np.array([0.5, 1.0]), "whole numbers"),
    (np.array([1.0, np.nan]), "NaN"),
    (np.array([1.0, np.inf]), "NaN or inf"),
    (np.array(["a", "b"]), "integers"),
    (np.array([], dtype=int), "empty"),
])
def test_to_categorical_bad_labels(bad, pattern):
    with pytest.raises(DataError, match=pattern):
        to_categorical(bad)


@pytest.mark.parametrize("num_classes", [0, -2, 2.5, True])
def test_to_categorical_bad_num_classes(num_classes):
    with pytest.raises(ConfigError, match="num_classes"):
        to_categorical([0, 1], num_classes=num_classes)


def test_to_categorical_accepts_threestep_tensor():
    t = threestep.Tensor(np.array([1.0, 0.0]))
    np.testing.assert_array_equal(to_categorical(t, 2), [[0, 1], [1, 0]])


# ---------------------------------------------------------------------- normalize
def test_normalize_l2_rows():
    x = np.array([[3.0, 4.0], [0.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0], [1.0, 0.0]])


def test_normalize_axis_and_order():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    np.testing.assert_allclose(normalize(x, axis=0, order=1), [[0.25, 0.25], [0.75, 0.75]])
    np.testing.assert_allclose(np.linalg.norm(normalize(np.random.rand(4, 5, 6), axis=1), axis=1), 1)


def test_normalize_1d_and_integer_input():
    np.testing.assert_allclose(normalize(np.array([0, 3, 4])), [0.0, 0.6, 0.8])


# ---------------------------------------------------------------------- set_seed
def test_set_seed_makes_draws_repeatable():
    set_seed(7)
    a = backend.rng().standard_normal(3), backend.host_rng().permutation(10)
    set_seed(7)
    b = backend.rng().standard_normal(3), backend.host_rng().permutation(10)
    np.testing.assert_array_equal(to_host(a[0]), to_host(b[0]))
    np.testing.assert_array_equal(a[1], b[1])
