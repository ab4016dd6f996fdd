"""IDX files and the MNIST / Fashion-MNIST loaders: format checks, search order, checksums
of the decompressed contents, and downloads from a local HTTP server (no real network)."""
import functools
import gzip
import hashlib
import http.server
import os
import socket
import struct
import threading
import types

import numpy as np
import pytest

from threestep.datasets import _files, fashion_mnist, mnist
from threestep.datasets.idx import read_idx, to_idx_bytes, write_idx
from threestep.errors import ConfigError, DatasetError

NAMES = (mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, mnist.TEST_IMAGES, mnist.TEST_LABELS)
MODULES = {"mnist": mnist, "fashion-mnist": fashion_mnist}


# --------------------------------------------------------------------------- helpers

def small_dataset(seed=0, n_train=6, n_test=4, marker=None):
    """Four tiny MNIST-format arrays; ``marker`` fills the images with one value."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for images, labels, n in ((mnist.TRAIN_IMAGES, mnist.TRAIN_LABELS, n_train),
                              (mnist.TEST_IMAGES, mnist.TEST_LABELS, n_test)):
        arrays[images] = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
        if marker is not None:
            arrays[images][:] = marker
        arrays[labels] = rng.integers(0, 10, n, dtype=np.uint8)
    return arrays


def write_dataset(directory, arrays, gz=True, **gzip_kwargs):
    directory.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        data = to_idx_bytes(array)
        if gz:
            (directory / (name + ".gz")).write_bytes(gzip.compress(data, **gzip_kwargs))
        else:
            (directory / name).write_bytes(data)


def use_tables(monkeypatch, module, arrays, md5=True, archive_md5=None):
    """Points ``module.FILES`` at the small arrays (sizes, and MD5s unless ``md5=False``)."""
    table = {}
    for name, array in arrays.items():
        data = to_idx_bytes(array)
        table[name] = _files.FileInfo(len(data), hashlib.md5(data).hexdigest() if md5 else None,
                                      (archive_md5 or {}).get(name))
    monkeypatch.setattr(module, "FILES", table)


def assert_loaded(result, arrays):
    (x_train, y_train), (x_test, y_test) = result
    for got, name in ((x_train, mnist.TRAIN_IMAGES), (y_train, mnist.TRAIN_LABELS),
                      (x_test, mnist.TEST_IMAGES), (y_test, mnist.TEST_LABELS)):
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, arrays[name])


def no_temp_files(directory):
    return not directory.exists() or not [p for p in os.listdir(directory) if p.endswith(".tmp")]


@pytest.fixture
def world(tmp_path, monkeypatch):
    """An isolated machine: a fresh HOME, no $THREESTEP_DATA, empty system dirs, no mirrors."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("THREESTEP_DATA", raising=False)
    for key, module in MODULES.items():
        monkeypatch.delenv(module.MIRROR_ENV, raising=False)
        monkeypatch.setattr(module, "SYSTEM_DIRS", [str(tmp_path / "system" / key)])
        monkeypatch.setattr(module, "MIRRORS", [])
    monkeypatch.setattr(_files, "DOWNLOAD_TIMEOUT", 5.0)
    return types.SimpleNamespace(
        tmp=tmp_path, home=home,
        cache=lambda key: home / ".threestep" / "datasets" / key,
        system=lambda key: tmp_path / "system" / key)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server on 127.0.0.1 serving ``root``; yields (root, base_url)."""
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(_QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def closed_port_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


# --------------------------------------------------------------------------- IDX format

@pytest.mark.parametrize("dtype", ["uint8", "int8", "int16", "int32", "float32", "float64"])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_idx_round_trip(tmp_path, rng, dtype, suffix):
    array = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    path = tmp_path / ("a-idx3" + suffix)
    write_idx(path, array)
    assert (path.read_bytes()[:2] == b"\x1f\x8b") == (suffix == ".gz")
    for source in (path, str(path), path.read_bytes()):
        back = read_idx(source)
        assert back.dtype == np.dtype(dtype) and back.shape == array.shape
        assert back.flags.writeable and back.dtype.isnative
        np.testing.assert_array_equal(back, array)


def test_idx_layout_is_big_endian(tmp_path):
    data = bytes([0, 0, 0x0B, 2]) + struct.pack(">II", 2, 3) + struct.pack(">6h", 1, -2, 3, 256, 5, -32768)
    np.testing.assert_array_equal(read_idx(data), [[1, -2, 3], [256, 5, -32768]])
    assert to_idx_bytes(np.array([[1, -2, 3], [256, 5, -32768]], dtype="<i2")) == data
    write_idx(tmp_path / "one-d", np.arange(3, dtype=np.uint8))
    assert (tmp_path / "one-d").read_bytes() == b"\x00\x00\x08\x01\x00\x00\x00\x03\x00\x01\x02"


GOOD = bytes([0, 0, 8, 2]) + struct.pack(">II", 2, 3) + bytes(range(6))


@pytest.mark.parametrize("data, message", [
    (GOOD[:-1], "truncated"),
    (GOOD[:10], "truncated"),
    (GOOD[:3], "magic number"),
    (b"", "magic number"),
    (GOOD + b"\x00\x07", "2 extra bytes"),
    (b"\x08\x03" + GOOD[2:], "0x08 0x03"),
    (GOOD[:2] + b"\x0a" + GOOD[3:], "unknown IDX data type 0x0A"),
    (GOOD[:3] + b"\x00", "0 dimensions"),
    (GOOD[:4] + struct.pack(">II", 2, 0), "zero dimension"),
    (gzip.compress(GOOD, mtime=0)[:-6], "gzip"),
    (gzip.compress(GOOD, mtime=0)[:-8] + b"\x00" * 8, "gzip"),  # wrong CRC
])
def test_idx_bad_files_raise(tmp_path, data, message):
    path = tmp_path / "bad-idx2-ubyte"
    path.write_bytes(data)
    with pytest.raises(DatasetError, match=message) as info:
        read_idx(path)
    assert str(path) in str(info.value)
    with pytest.raises(DatasetError, match=message):
        read_idx(data)


def test_idx_unreadable_path(tmp_path):
    with pytest.raises(DatasetError, match="Cannot read"):
        read_idx(tmp_path / "missing")


@pytest.mark.parametrize("array", [np.zeros(3, np.int64), np.zeros(3, bool), np.zeros((2, 0), np.uint8),
                                   np.uint8(3)])
def test_write_idx_rejects_unstorable_arrays_and_keeps_old_file(tmp_path, array):
    path = tmp_path / "x-idx"
    write_idx(path, np.arange(4, dtype=np.uint8))
    with pytest.raises(ConfigError, match="Received"):
        write_idx(path, array)
    np.testing.assert_array_equal(read_idx(path), np.arange(4))
    assert os.listdir(tmp_path) == ["x-idx"]


def test_atomic_write_removes_temp_file_on_error(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with _files.atomic_write(path) as f:
            f.write(b"new, partial")
            raise RuntimeError("crash mid-write")
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["f"]


# --------------------------------------------------------------------------- local files

@pytest.mark.parametrize("key", MODULES)
def test_search_order_path_env_home_system(world, monkeypatch, key):
    module = MODULES[key]
    use_tables(monkeypatch, module, small_dataset(), md5=False)  # same sizes, any contents
    places = {"path": world.tmp / "explicit", "env": world.tmp / "envroot" / key,
              "home": world.cache(key), "system": world.system(key)}
    for marker, directory in enumerate(places.values(), start=1):
        write_dataset(directory, small_dataset(marker=marker), gz=marker % 2 == 0)
    monkeypatch.setenv("THREESTEP_DATA", str(world.tmp / "envroot"))

    def marker(**kwargs):
        (x_train, _), (x_test, _) = module.load_data(download=False, **kwargs)
        assert x_train.max() == x_train.min() == x_test.max()
        return int(x_train[0, 0, 0])

    assert marker(path=places["path"]) == 1
    assert marker(path=str(places["path"])) == 1
    assert marker() == 2
    monkeypatch.delenv("THREESTEP_DATA")
    assert marker() == 3
    for name in os.listdir(places["home"]):
        os.remove(places["home"] / name)
    assert marker() == 4


def test_fashion_mnist_checks_decompressed_md5_so_recompressed_copies_pass(world, monkeypatch):
    arrays = small_dataset()
    use_tables(monkeypatch, fashion_mnist, arrays)
    write_dataset(world.system("fashion-mnist"), arrays, compresslevel=1, mtime=1591315200)
    write_dataset(world.tmp / "upstream", arrays, compresslevel=9, mtime=0)
    name = mnist.TRAIN_IMAGES + ".gz"
    assert (world.system("fashion-mnist") / name).read_bytes() != (world.tmp / "upstream" / name).read_bytes()
    assert_loaded(fashion_mnist.load_data(download=False), arrays)  # "Debian" copy
    assert_loaded(fashion_mnist.load_data(path=world.tmp / "upstream", download=False), arrays)
    write_dataset(world.tmp / "raw", arrays, gz=False)
    assert_loaded(fashion_mnist.load_data(path=world.tmp / "raw", download=False), arrays)


def test_local_file_with_wrong_checksum_raises_naming_file_and_both_md5s(world, monkeypatch):
    arrays = small_dataset()
    use_tables(monkeypatch, fashion_mnist, arrays)
    bad = dict(arrays, **{mnist.TEST_LABELS: (arrays[mnist.TEST_LABELS] + 1) % 10})
    write_dataset(world.cache("fashion-mnist"), bad)
    write_dataset(world.system("fashion-mnist"), arrays)  # a good copy further down is not used
    with pytest.raises(DatasetError, match="Checksum mismatch") as info:
        fashion_mnist.load_data(download=False)
    message = str(info.value)
    assert str(world.cache("fashion-mnist") / (mnist.TEST_LABELS + ".gz")) in message
    assert fashion_mnist.FILES[mnist.TEST_LABELS].md5 in message
    assert hashlib.md5(to_idx_bytes(bad[mnist.TEST_LABELS])).hexdigest() in message


@pytest.mark.parametrize("key", MODULES)
def test_local_file_with_wrong_size_or_damaged_gzip_raises(world, monkeypatch, key):
    module = MODULES[key]
    use_tables(monkeypatch, module, small_dataset(), md5=False)
    directory = world.tmp / "d"
    write_dataset(directory, small_dataset(n_test=3))
    with pytest.raises(DatasetError, match=r"should be 3,152 bytes.*found 2,368 bytes"):
        module.load_data(path=directory, download=False)
    write_dataset(directory, small_dataset(n_test=5))
    with pytest.raises(DatasetError, match="more than the expected 3,152 bytes"):
        module.load_data(path=directory, download=False)
    write_dataset(directory, small_dataset())
    target = directory / (mnist.TRAIN_IMAGES + ".gz")
    target.write_bytes(target.read_bytes()[:-20])
    with pytest.raises(DatasetError, match="truncated or corrupt") as info:
        module.load_data(path=directory, download=False)
    assert str(target) in str(info.value)


def test_files_with_the_wrong_layout_raise(world, monkeypatch):
    arrays = dict(small_dataset(), **{mnist.TRAIN_IMAGES: np.zeros((6, 28 * 28), np.uint8)})
    use_tables(monkeypatch, mnist, arrays, md5=False)
    write_dataset(world.cache("mnist"), arrays)
    with pytest.raises(DatasetError, match=r"images shaped \(n, 28, 28\)"):
        mnist.load_data(download=False)
    arrays = dict(small_dataset(), **{mnist.TEST_LABELS: np.array([1, 2, 10, 3], np.uint8)})
    use_tables(monkeypatch, mnist, arrays, md5=False)
    write_dataset(world.cache("mnist"), arrays)
    with pytest.raises(DatasetError, match="label 10"):
        mnist.load_data(download=False)


def test_bad_arguments_raise_config_error(world, tmp_path):
    (tmp_path / "file").write_bytes(b"")
    with pytest.raises(ConfigError, match="not a file"):
        fashion_mnist.load_data(path=tmp_path / "file")
    with pytest.raises(ConfigError, match="path="):
        fashion_mnist.load_data(path=3)
    with pytest.raises(ConfigError, match="download="):
        mnist.load_data(download="no")


def test_no_local_copy_and_download_off_explains_how_to_get_the_data(world):
    with pytest.raises(DatasetError) as info:
        fashion_mnist.load_data(download=False)
    message = str(info.value)
    for needle in ("download=False", "apt-get install dataset-fashion-mnist",
                   "/usr/share/datasets/fashion-mnist", str(world.cache("fashion-mnist")),
                   "$THREESTEP_DATA", "path=", *(name + ".gz" for name in NAMES)):
        assert needle in message
    with pytest.raises(DatasetError, match="put the four IDX files") as info:
        mnist.load_data(download=False)
    assert "apt-get" not in str(info.value) and str(world.cache("mnist")) in str(info.value)


def test_keras_namespace_exports_the_loaders():
    from threestep.keras.datasets import fashion_mnist as f, mnist as m

    assert f is fashion_mnist and m is mnist
    assert fashion_mnist.CLASS_NAMES[0] == "T-shirt/top" and fashion_mnist.CLASS_NAMES[9] == "Ankle boot"


# --------------------------------------------------------------------------- downloads

def test_download_is_verified_cached_and_reused(world, monkeypatch, server):
    root, url = server
    arrays = small_dataset()
    use_tables(monkeypatch, fashion_mnist, arrays)
    write_dataset(root, arrays)
    monkeypatch.setenv(fashion_mnist.MIRROR_ENV, url)
    assert_loaded(fashion_mnist.load_data(), arrays)
    cache = world.cache("fashion-mnist")
    assert sorted(os.listdir(cache)) == sorted(name + ".gz" for name in NAMES)
    monkeypatch.setenv(fashion_mnist.MIRROR_ENV, closed_port_url())  # now offline
    assert_loaded(fashion_mnist.load_data(), arrays)


def test_download_goes_to_explicit_path_and_skips_a_bad_mirror(world, monkeypatch, server):
    root, url = server
    arrays = small_dataset()
    use_tables(monkeypatch, fashion_mnist, arrays)
    write_dataset(root / "good", arrays)
    write_dataset(root / "bad", small_dataset(seed=1))
    monkeypatch.setattr(fashion_mnist, "MIRRORS", [url + "bad", url + "good/"])
    target = world.tmp / "mine"
    assert_loaded(fashion_mnist.load_data(path=target), arrays)
    assert sorted(os.listdir(target)) == sorted(name + ".gz" for name in NAMES)
    assert not world.cache("fashion-mnist").exists()


def test_corrupt_download_raises_and_leaves_nothing_in_the_cache(world, monkeypatch, server):
    root, url = server
    arrays = small_dataset()
    use_tables(monkeypatch, fashion_mnist, arrays)
    corrupt = dict(arrays, **{mnist.TRAIN_IMAGES: 255 - arrays[mnist.TRAIN_IMAGES]})
    write_dataset(root, corrupt)
    monkeypatch.setenv(fashion_mnist.MIRROR_ENV, url)
    with pytest.raises(DatasetError, match="Checksum mismatch") as info:
        fashion_mnist.load_data()
    assert url + mnist.TRAIN_IMAGES + ".gz" in str(info.value)
    cache = world.cache("fashion-mnist")
    assert not cache.exists() or os.listdir(cache) == []
    (root / (mnist.TRAIN_IMAGES + ".gz")).write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(DatasetError, match="truncated or corrupt"):
        fashion_mnist.load_data()
    assert not cache.exists() or os.listdir(cache) == []


def test_mnist_download_checks_the_archive_md5(world, monkeypatch, server):
    root, url = server
    arrays = small_dataset()
    write_dataset(root, arrays, mtime=0)
    archive_md5 = {n: hashlib.md5((root / (n + ".gz")).read_bytes()).hexdigest() for n in NAMES}
    use_tables(monkeypatch, mnist, arrays, md5=False, archive_md5=archive_md5)
    monkeypatch.setattr(mnist, "MIRRORS", [url])
    write_dataset(root, arrays, mtime=12345)  # same contents, different archive bytes
    with pytest.raises(DatasetError, match="MD5 of the archive"):
        mnist.load_data()
    assert no_temp_files(world.cache("mnist")) and not os.listdir(world.cache("mnist"))
    write_dataset(root, arrays, mtime=0)
    assert_loaded(mnist.load_data(), arrays)


@pytest.mark.parametrize("key", MODULES)
def test_server_down_raises_clear_error(world, monkeypatch, key):
    module = MODULES[key]
    use_tables(monkeypatch, module, small_dataset())
    url = closed_port_url()
    monkeypatch.setenv(module.MIRROR_ENV, url)
    with pytest.raises(DatasetError, match="Downloading failed") as info:
        module.load_data()
    message = str(info.value)
    assert url in message and "put the four IDX files" in message
    assert str(world.cache(key)) in message
    assert all(name + ".gz" in message for name in NAMES)
    assert ("apt-get install dataset-fashion-mnist" in message) == (key == "fashion-mnist")
    assert no_temp_files(world.cache(key))
