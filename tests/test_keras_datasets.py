"""Keras-format datasets (keras.datasets.{mnist, fashion_mnist, cifar10, cifar100, imdb,
reuters, boston_housing}): tiny files written in Keras's real formats are read by
threestep's loaders and by tf-keras's own loaders (pointed at the same files), and must
give identical arrays. Lookup, checksums, offline errors and downloads (from file:// URLs,
never the network) are checked too."""
import dataclasses
import hashlib
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest

from threestep.datasets import _files, boston_housing, cifar10, cifar100, mnist, reuters
from threestep.datasets import imdb as ts_imdb
from threestep.errors import ConfigError, DatasetError
from threestep.keras import datasets as kd

from keras_oracle import import_tf_keras


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


@pytest.fixture(autouse=True)
def home(tmp_path, monkeypatch):
    """A fresh HOME (empty caches) and no $THREESTEP_DATA, so nothing real is found."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("THREESTEP_DATA", raising=False)
    monkeypatch.setattr(_files, "DOWNLOAD_TIMEOUT", 5.0)
    return home


def sha256(path):
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def object_array(lists):
    out = np.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def keras_oracle(monkeypatch, keras_module, file):
    """Makes tf-keras's loader read ``file`` (its get_file would try the network)."""
    monkeypatch.setattr(keras_module, "get_file", lambda *args, **kwargs: str(file))


# --------------------------------------------------------------------------- CIFAR

def cifar_batch(rng, n, label_keys):
    batch = {b"batch_label": b"testing batch", b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
             b"filenames": [f"img{i}.png".encode() for i in range(n)]}
    for key, classes in label_keys.items():
        batch[key.encode()] = [int(v) for v in rng.integers(0, classes, n)]
    return pickle.dumps(batch, protocol=2)  # the protocol of the published (Python 2) files


def write_cifar(folder, dirname, batches, archive_name):
    """The extracted directory and the .tar.gz archive, as published."""
    inner = folder / dirname
    inner.mkdir(parents=True)
    for name, data in batches.items():
        (inner / name).write_bytes(data)
    archive = folder / archive_name
    with tarfile.open(archive, "w:gz") as tar:
        tar.add(inner, arcname=dirname)
    return inner, archive


@pytest.fixture
def cifar10_files(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    batches = {f"data_batch_{i}": cifar_batch(rng, 3, {"labels": 10}) for i in range(1, 6)}
    batches["test_batch"] = cifar_batch(rng, 4, {"labels": 10})
    inner, archive = write_cifar(tmp_path / "c10", "cifar-10-batches-py", batches,
                                 "cifar-10-python.tar.gz")
    monkeypatch.setattr(cifar10, "SPEC", dataclasses.replace(cifar10.SPEC, sha256=sha256(archive)))
    return inner, archive


def test_cifar10_matches_tf_keras_from_archive_and_directory(keras, cifar10_files):
    """tf-keras's cifar10.load_data hard-codes 10,000 images per batch, so the oracle is its
    batch reader ``load_batch``, assembled as its load_data does (uint8 labels (n, 1),
    channels_last)."""
    inner, archive = cifar10_files
    from tf_keras.src.datasets.cifar import load_batch  # noqa: PLC0415

    def keras_split(names):
        parts = [load_batch(str(inner / name)) for name in names]
        x = np.concatenate([p[0] for p in parts]).transpose(0, 2, 3, 1)
        y = np.concatenate([p[1] for p in parts]).astype("uint8").reshape(-1, 1)
        return x, y

    (kx, ky), (kxt, kyt) = keras_split(cifar10.SPEC.train), keras_split(cifar10.SPEC.test)
    for path in (archive, inner, inner.parent):
        (x, y), (xt, yt) = kd.cifar10.load_data(path=str(path))
        assert x.shape == (15, 32, 32, 3) and xt.shape == (4, 32, 32, 3)
        assert x.dtype == np.uint8 and y.dtype == np.uint8 and y.shape == (15, 1)
        np.testing.assert_array_equal(x, kx)
        np.testing.assert_array_equal(y, ky)
        np.testing.assert_array_equal(xt, kxt)
        np.testing.assert_array_equal(yt, kyt)


def test_cifar_found_in_the_keras_cache_and_checked(home, cifar10_files):
    inner, archive = cifar10_files
    cache = home / ".keras" / "datasets"
    cache.mkdir(parents=True)
    # Keras's cache keeps the archive as cifar-10-batches-py.tar.gz
    (cache / "cifar-10-batches-py.tar.gz").write_bytes(archive.read_bytes())
    (x, _), _ = cifar10.load_data(download=False)
    assert x.shape == (15, 32, 32, 3)
    (cache / "cifar-10-batches-py.tar.gz").write_bytes(archive.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="Checksum mismatch"):
        cifar10.load_data(download=False)
    (cache / "cifar-10-batches-py.tar.gz").unlink()
    os.rename(inner, cache / "cifar-10-batches-py")  # extracted, as Keras leaves it
    (x, _), _ = cifar10.load_data(download=False)
    assert x.shape == (15, 32, 32, 3)


def test_cifar100_label_modes_match_tf_keras(keras, monkeypatch, tmp_path):
    rng = np.random.default_rng(1)
    batches = {"train": cifar_batch(rng, 6, {"fine_labels": 100, "coarse_labels": 20}),
               "test": cifar_batch(rng, 2, {"fine_labels": 100, "coarse_labels": 20})}
    inner, archive = write_cifar(tmp_path / "c100", "cifar-100-python", batches,
                                 "cifar-100-python.tar.gz")
    monkeypatch.setattr(cifar100, "SPEC", dataclasses.replace(cifar100.SPEC, sha256=sha256(archive)))
    from tf_keras.src.datasets import cifar100 as k_cifar100  # noqa: PLC0415

    keras_oracle(monkeypatch, k_cifar100, inner)
    for mode in ("fine", "coarse"):
        ours = kd.cifar100.load_data(label_mode=mode, path=str(archive))
        theirs = k_cifar100.load_data(label_mode=mode)
        for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)
    with pytest.raises(ConfigError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_cifar_pickles_never_run_code(tmp_path, monkeypatch):
    class Payload:
        def __reduce__(self):
            return os.system, ("echo pwned > " + str(tmp_path / "ran"),)

    bad = pickle.dumps({b"data": Payload(), b"labels": [0]}, protocol=2)
    batches = {f"data_batch_{i}": bad for i in range(1, 6)} | {"test_batch": bad}
    inner, _ = write_cifar(tmp_path / "evil", "cifar-10-batches-py", batches, "x.tar.gz")
    with pytest.raises(DatasetError, match="posix.system|os.system|refusing"):
        cifar10.load_data(path=str(inner))
    assert not (tmp_path / "ran").exists()


def test_cifar_offline_error_says_where_to_put_the_archive(home, monkeypatch, tmp_path):
    monkeypatch.setenv("THREESTEP_CIFAR10_MIRROR", (tmp_path / "nowhere").as_uri() + "/")
    with pytest.raises(DatasetError) as info:
        cifar10.load_data()
    message = str(info.value)
    assert "cifar-10-python.tar.gz" in message and str(home / ".keras" / "datasets") in message
    assert "downloading failed" in message and "save it as" in message
    with pytest.raises(DatasetError, match="download=False"):
        cifar10.load_data(download=False)


def test_cifar_download_from_a_mirror_is_checked_and_cached(home, monkeypatch, cifar10_files, tmp_path):
    _, archive = cifar10_files
    monkeypatch.setenv("THREESTEP_CIFAR10_MIRROR", archive.parent.as_uri() + "/")
    (x, _), _ = cifar10.load_data()
    cached = home / ".threestep" / "datasets" / "cifar10" / "cifar-10-python.tar.gz"
    assert cached.is_file() and x.shape == (15, 32, 32, 3)
    cached.unlink()
    monkeypatch.setattr(cifar10, "SPEC", dataclasses.replace(cifar10.SPEC, sha256="0" * 64))
    with pytest.raises(DatasetError, match="expected 0000"):
        cifar10.load_data()
    assert not cached.exists() and os.listdir(cached.parent) == []


# --------------------------------------------------------------------------- npz files

REUTERS_X = [[5, 8, 2], [1, 1, 9, 4, 3], [7], [2, 6, 6, 1], [3, 3], [9, 8, 7, 6, 5, 4],
             [4, 1], [8, 2, 2]]


@pytest.fixture
def reuters_file(tmp_path, monkeypatch):
    path = tmp_path / "data" / "reuters.npz"
    path.parent.mkdir()
    np.savez(path, x=object_array(REUTERS_X), y=np.arange(len(REUTERS_X)) % 4)
    monkeypatch.setattr(reuters, "SHA256", sha256(path))
    return path


@pytest.mark.parametrize("kwargs", [{}, {"num_words": 8}, {"skip_top": 4, "num_words": 10},
                                    {"maxlen": 5, "test_split": 0.5}, {"oov_char": None, "num_words": 7},
                                    {"start_char": None, "index_from": 0, "seed": 3}])
def test_reuters_matches_tf_keras(keras, monkeypatch, reuters_file, kwargs):
    from tf_keras.src.datasets import reuters as k_reuters  # noqa: PLC0415

    keras_oracle(monkeypatch, k_reuters, reuters_file)
    (x, y), (xt, yt) = kd.reuters.load_data(path=str(reuters_file), **kwargs)
    (kx, ky), (kxt, kyt) = k_reuters.load_data(**kwargs)
    assert [list(r) for r in x] == [list(r) for r in kx]
    assert [list(r) for r in xt] == [list(r) for r in kxt]
    np.testing.assert_array_equal(y, ky)
    np.testing.assert_array_equal(yt, kyt)
    assert x.dtype == object


def test_reuters_from_cache_and_word_index(home, reuters_file, monkeypatch):
    cache = home / ".threestep" / "datasets" / "reuters"
    cache.mkdir(parents=True)
    (cache / "reuters.npz").write_bytes(reuters_file.read_bytes())
    index = {"the": 1, "of": 2}
    (cache / "reuters_word_index.json").write_text(json.dumps(index))
    monkeypatch.setattr(reuters, "WORD_INDEX_MD5",
                        hashlib.md5((cache / "reuters_word_index.json").read_bytes()).hexdigest())
    (x, _), _ = reuters.load_data(download=False)
    assert len(x) == 6
    assert kd.reuters.get_word_index(download=False) == index
    monkeypatch.setattr(reuters, "SHA256", "f" * 64)
    with pytest.raises(DatasetError, match="Checksum mismatch"):
        reuters.load_data(download=False)


def test_malicious_npz_is_refused_without_running_code(tmp_path, monkeypatch):
    ran = []

    class Payload:
        def __reduce__(self):
            return ran.append, ("ran",)

    path = tmp_path / "reuters.npz"
    np.savez(path, x=object_array([Payload()]), y=np.zeros(1))
    monkeypatch.setattr(reuters, "SHA256", sha256(path))  # even a "trusted" file cannot run code
    with pytest.raises(DatasetError, match="refusing"):
        reuters.load_data(path=str(path))
    assert ran == []


def test_boston_housing_matches_tf_keras(keras, monkeypatch, tmp_path):
    from tf_keras.src.datasets import boston_housing as k_boston  # noqa: PLC0415

    rng = np.random.default_rng(2)
    path = tmp_path / "boston_housing.npz"
    np.savez(path, x=rng.normal(size=(20, 13)), y=rng.normal(size=20))
    monkeypatch.setattr(boston_housing, "SHA256", sha256(path))
    keras_oracle(monkeypatch, k_boston, path)
    for kwargs in ({}, {"test_split": 0.25, "seed": 7}):
        ours = kd.boston_housing.load_data(path=str(path), **kwargs)
        theirs = k_boston.load_data(**kwargs)
        for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
            assert a.shape == b.shape and a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)


def test_mnist_npz_matches_tf_keras_and_is_preferred_from_the_keras_cache(keras, monkeypatch, home):
    from tf_keras.src.datasets import mnist as k_mnist  # noqa: PLC0415

    rng = np.random.default_rng(3)
    cache = home / ".keras" / "datasets"
    cache.mkdir(parents=True)
    path = cache / "mnist.npz"
    np.savez(path, x_train=rng.integers(0, 256, (5, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, 5, dtype=np.uint8),
             x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, 2, dtype=np.uint8))
    monkeypatch.setattr(mnist, "KERAS_SHA256", sha256(path))
    keras_oracle(monkeypatch, k_mnist, path)
    theirs = k_mnist.load_data()
    for ours in (kd.mnist.load_data(path="mnist.npz"), kd.mnist.load_data()):
        for a, b in zip(ours[0] + ours[1], theirs[0] + theirs[1]):
            np.testing.assert_array_equal(a, b)
            assert a.dtype == b.dtype
    monkeypatch.setattr(mnist, "KERAS_SHA256", "0" * 64)
    with pytest.raises(DatasetError, match="Checksum mismatch"):
        kd.mnist.load_data()


def test_imdb_keras_path_takes_keras_arguments(keras, monkeypatch, tmp_path):
    from tf_keras.src.datasets import imdb as k_imdb  # noqa: PLC0415

    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=object_array([[4, 5, 6], [7, 8], [9, 4, 4, 5]]),
             y_train=np.array([0, 1, 1]), x_test=object_array([[5, 5], [6, 7, 8]]),
             y_test=np.array([1, 0]))
    monkeypatch.setattr(ts_imdb, "SHA256", sha256(path))
    keras_oracle(monkeypatch, k_imdb, path)
    for kwargs in ({}, {"num_words": 9, "skip_top": 1}, {"maxlen": 4}):
        ours = kd.imdb.load_data(path=str(path), **kwargs)
        theirs = k_imdb.load_data(**kwargs)
        assert [list(r) for r in ours[0][0]] == [list(r) for r in theirs[0][0]]
        assert [list(r) for r in ours[1][0]] == [list(r) for r in theirs[1][0]]
        np.testing.assert_array_equal(ours[0][1], theirs[0][1])
    assert kd.imdb.get_word_index is ts_imdb.get_word_index


def test_fashion_mnist_and_dataset_modules_on_the_keras_path():
    for name in ("mnist", "fashion_mnist", "cifar10", "cifar100", "imdb", "reuters", "boston_housing"):
        assert callable(getattr(kd, name).load_data)
    from threestep.keras.datasets import fashion_mnist  # noqa: PLC0415
    from threestep.datasets import fashion_mnist as ours  # noqa: PLC0415

    assert fashion_mnist is ours


def test_npz_reader_checks_truncation(tmp_path):
    from threestep.datasets._keras_files import load_npz  # noqa: PLC0415

    path = tmp_path / "a.npz"
    np.savez(path, x=np.arange(10.0))
    assert load_npz(path, ("x",))["x"].tolist() == list(np.arange(10.0))
    with pytest.raises(DatasetError, match="lacks the array 'y'"):
        load_npz(path, ("y",))
    raw = io.BytesIO()
    np.save(raw, np.arange(10.0))
    import zipfile  # noqa: PLC0415

    with zipfile.ZipFile(tmp_path / "b.npz", "w") as z:
        z.writestr("x.npy", raw.getvalue()[:-8])
    with pytest.raises(DatasetError, match="truncated"):
        load_npz(tmp_path / "b.npz", ("x",))
    (tmp_path / "c.npz").write_bytes(b"not a zip")
    with pytest.raises(DatasetError, match="not a readable"):
        load_npz(tmp_path / "c.npz", ("x",))
