"""threestep.datasets.digits: layout, the fixed stratified split, the shipped file and errors."""
import gzip
import hashlib
import os
import subprocess
import sys

import numpy as np
import pytest

from threestep import backend
from threestep.datasets import digits
from threestep.errors import ConfigError, DatasetError

CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
TEST_COUNTS = [36, 37, 35, 37, 36, 36, 36, 36, 35, 36]  # documented in the module docstring
FIRST_TRAIN_LABELS = [0, 1, 2, 3, 4, 6, 7, 8, 0, 1]


@pytest.fixture(scope="module")
def data():
    return digits.load_data()


def test_shapes_and_dtypes(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.shape == (1437, 8, 8) and y_train.shape == (1437,)
    assert x_test.shape == (360, 8, 8) and y_test.shape == (360,)
    for a in (x_train, y_train, x_test, y_test):
        assert a.dtype == np.uint8


def test_value_ranges(data):
    (x_train, y_train), (x_test, y_test) = data
    assert x_train.min() == 0 and x_train.max() == 16 and x_test.max() <= 16
    assert set(np.unique(y_train)) == set(range(10)) == set(np.unique(y_test))


def test_split_is_stratified(data):
    (_, y_train), (_, y_test) = data
    np.testing.assert_array_equal(np.bincount(y_test), TEST_COUNTS)
    np.testing.assert_array_equal(np.bincount(y_train) + np.bincount(y_test), CLASS_COUNTS)
    fraction = np.bincount(y_test) / np.array(CLASS_COUNTS)
    assert np.all(np.abs(fraction - 0.2) < 1 / np.array(CLASS_COUNTS))


def test_documented_first_labels_and_pinned_content(data):
    (x_train, y_train), (x_test, _) = data
    assert y_train[:10].tolist() == FIRST_TRAIN_LABELS
    assert str(FIRST_TRAIN_LABELS) in digits.__doc__
    # pins the exact split on every machine
    assert int(x_train.sum(dtype=np.int64)) == 449585 and int(x_test.sum(dtype=np.int64)) == 112133


def test_deterministic_and_independent_of_global_seed(data):
    backend.set_seed(12345)
    again = digits.load_data()
    for a, b in zip(data[0] + data[1], again[0] + again[1]):
        np.testing.assert_array_equal(a, b)


def test_train_and_test_do_not_overlap_and_cover_everything(data):
    (x_train, y_train), (x_test, y_test) = data
    rows = lambda x, y: {xi.tobytes() + bytes([yi]) for xi, yi in zip(x, y)}  # noqa: E731
    train, test = rows(x_train, y_train), rows(x_test, y_test)
    assert len(train) == 1437 and len(test) == 360  # the dataset has no duplicate images
    assert not train & test


def test_keeps_file_order(data):
    (x_train, y_train), (x_test, y_test) = data
    table = digits._load_table()
    test_mask = digits._stratified_test_mask(table[:, 64].astype(np.uint8), 0.2, 0)
    np.testing.assert_array_equal(table[~test_mask, 64], y_train)
    np.testing.assert_array_equal(table[test_mask, :64].reshape(-1, 8, 8), x_test)


def test_other_split_and_seed():
    (x_train, _), (x_test, y_test) = digits.load_data(test_split=0.5, seed=3)
    assert len(x_test) == 899 and len(x_train) == 898
    assert np.all(np.abs(np.bincount(y_test) - np.array(CLASS_COUNTS) / 2) <= 1)
    (_, _), (x_test0, _) = digits.load_data(test_split=0.5, seed=0)
    assert not np.array_equal(x_test, x_test0)


@pytest.mark.parametrize("kwargs", [{"test_split": 0}, {"test_split": 1.0}, {"test_split": -0.1},
                                    {"test_split": "0.2"}, {"seed": -1}, {"seed": 1.5}])
def test_bad_arguments(kwargs):
    with pytest.raises(ConfigError):
        digits.load_data(**kwargs)


def test_keras_namespace_exposes_digits():
    from threestep.keras.datasets import digits as keras_digits

    assert keras_digits.load_data is digits.load_data


def test_shipped_file_matches_its_checksum():
    path = digits._bundled_csv()
    assert os.path.isfile(path) and path.endswith(os.path.join("datasets", "data", "digits.csv.gz"))
    assert hashlib.sha256(open(path, "rb").read()).hexdigest() == digits.SHA256


def test_loading_needs_no_scikit_learn():
    code = ("import sys; sys.modules['sklearn'] = None\n"
            "from threestep.datasets import digits\n"
            "(x, y), (xt, yt) = digits.load_data()\n"
            "print(x.shape[0] + xt.shape[0])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "1797"


def test_missing_file_raises_with_reinstall_hint(monkeypatch, tmp_path):
    monkeypatch.setattr(digits, "_bundled_csv", lambda: str(tmp_path / "absent.csv.gz"))
    with pytest.raises(DatasetError, match="reinstall"):
        digits.load_data()


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b"1,2,3\n4,5,6\n", mtime=0),
                                     gzip.compress(b"x,y\n", mtime=0)])
def test_damaged_file_fails_its_checksum(monkeypatch, tmp_path, content):
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(content)
    monkeypatch.setattr(digits, "_bundled_csv", lambda: str(path))
    with pytest.raises(DatasetError, match="SHA-256"):
        digits.load_data()


@pytest.mark.parametrize("content", [b"not gzip at all", gzip.compress(b"1,2,3\n4,5,6\n", mtime=0)])
def test_unreadable_or_wrong_table_raises_dataset_error(monkeypatch, tmp_path, content):
    path = tmp_path / "digits.csv.gz"
    path.write_bytes(content)
    monkeypatch.setattr(digits, "_bundled_csv", lambda: str(path))
    monkeypatch.setattr(digits, "SHA256", hashlib.sha256(content).hexdigest())
    with pytest.raises(DatasetError, match="digits"):
        digits.load_data()


def test_wrong_values_raise_dataset_error():
    table = digits._load_table().copy()
    table[0, 0] = 17
    with pytest.raises(DatasetError, match="0..16"):
        digits._check_table(table, "test table")
