"""MNIST: 70,000 handwritten digits of 28x28 pixels, 10 classes, read from IDX files.

Layout, as Keras's ``mnist.load_data()``: ``x`` are ``uint8`` arrays shaped ``(n, 28, 28)``
with values 0..255, ``y`` are ``uint8`` labels 0..9; 60,000 training and 10,000 test images.

Where the files come from (the first place that has each file wins, as ``NAME`` or
``NAME.gz``):

1. ``load_data(path=...)``, a directory holding the four IDX files;
2. ``$THREESTEP_DATA/mnist/``;
3. ``~/.threestep/datasets/mnist/``;
4. the directories in ``SYSTEM_DIRS`` (none by default: no Debian package ships MNIST);
5. a download from ``MIRRORS`` (or the URLs in ``$THREESTEP_MNIST_MIRROR``, separated by
   commas or spaces) into the first of 1-3, written atomically.

Checks: **only structural checks apply to local MNIST files.** No MD5 of the decompressed
MNIST files is on record here (none could be measured where this module was written), so a
local file is checked for its exact decompressed size (47,040,016 / 60,008 / 7,840,016 /
10,008 bytes), its IDX header, dtype and shape, and labels in 0..9; a ``.gz`` file is also
checked by gzip's own CRC. A *download* is further checked against the widely published MD5
of the original ``.gz`` archive. Compare ``fashion_mnist``, whose decompressed MD5s are
known and checked for every source. A file that fails any check raises ``DatasetError``.

Example:

    >>> from threestep.datasets import mnist
    >>> (x_train, y_train), (x_test, y_test) = mnist.load_data()
    >>> x_train.shape, x_test.shape
    ((60000, 28, 28), (10000, 28, 28))
    >>> x_train = x_train.reshape(len(x_train), 784).astype("float32") / 255
"""
import os

import numpy

from ..errors import DatasetError
from . import _files, _keras_files
from .idx import parse_idx

IMAGE_SHAPE = (28, 28)
NUM_CLASSES = 10
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte", "train-labels-idx1-ubyte"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"

# Decompressed sizes; MD5s of the original .gz archives (as published by torchvision).
FILES = {
    TRAIN_IMAGES: _files.FileInfo(47_040_016, archive_md5="f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    TRAIN_LABELS: _files.FileInfo(60_008, archive_md5="d53e105ee54ea40749a09fcbcd1e9432"),
    TEST_IMAGES: _files.FileInfo(7_840_016, archive_md5="9fb629c4189551a2d022fa330f9573f3"),
    TEST_LABELS: _files.FileInfo(10_008, archive_md5="ec29112dd5afa0611ce80d1b7f02629c"),
}
SYSTEM_DIRS = []
MIRRORS = [
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
]
MIRROR_ENV = "THREESTEP_MNIST_MIRROR"
KERAS_NPZ = "mnist.npz"  # Keras's single-file copy, and the SHA-256 Keras publishes for it
KERAS_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"


def load_data(path=None, download=True):
    """Loads MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: a directory holding the four IDX files (``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
            ``t10k-labels-idx1-ubyte``, each optionally ``.gz``). Searched first, and the
            place a download is written to. Default: the search order of the module
            docstring, downloading into ``~/.threestep/datasets/mnist/``. A name ending
            in ``.npz`` (Keras's ``load_data(path="mnist.npz")``) loads Keras's single-file
            copy instead: searched in the caches of ``_keras_files`` (``~/.keras/datasets``
            too), checked against Keras's SHA-256, downloaded from Keras's mirror if
            missing.
        download: fetch files found nowhere from the mirrors (default True).

    Without ``path``, a Keras ``mnist.npz`` already in a cache (e.g. ``~/.keras/datasets``)
    is used before the IDX files are looked for or downloaded.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``uint8`` images ``(n, 28, 28)`` and
        ``uint8`` labels 0..9, n = 60,000 and 10,000.

    Raises:
        DatasetError: a file is missing everywhere and cannot be downloaded (the message
            says where to put the files), or a file is truncated or corrupt.
        ConfigError: ``path`` is not a directory, or ``download`` is not a bool.
    """
    if isinstance(path, (str, os.PathLike)) and os.fspath(path).endswith(".npz"):
        return load_keras_npz(path, download)
    if path is None:
        for directory in _keras_files.search_dirs("mnist"):
            if os.path.isfile(os.path.join(directory, KERAS_NPZ)):
                return load_keras_npz(KERAS_NPZ, download=False)
    return load_idx_dataset(_source(), path=path, download=download)


def load_keras_npz(path=None, download=True):
    """MNIST from Keras's ``mnist.npz`` (``x_train``, ``y_train``, ``x_test``, ``y_test``)."""
    file = _keras_files.fetch("mnist", path or KERAS_NPZ, KERAS_NPZ, KERAS_SHA256,
                              [_keras_files.KERAS_MIRROR], "mnist.load_data", download=download)
    arrays = _keras_files.load_npz(file, ("x_train", "y_train", "x_test", "y_test"))
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[x_key], arrays[y_key]
        if x.dtype != numpy.uint8 or x.ndim != 3 or x.shape[1:] != IMAGE_SHAPE or len(x) != len(y):
            raise DatasetError(f"{file}: {x_key} should be uint8 (n, 28, 28) with one label "
                               f"per image; it is {x.dtype} {x.shape} with {len(y)} labels.")
        splits.append((x, y))
    return tuple(splits)


def _source():
    # Built at each call, so changes to the module-level tables take effect.
    return _files.Source(key="mnist", title="MNIST", files=dict(FILES),
                         system_dirs=tuple(SYSTEM_DIRS),
                         mirrors=_files.mirrors_from_env(MIRROR_ENV, MIRRORS),
                         mirror_env=MIRROR_ENV, package=None,
                         homepage=MIRRORS[0] if MIRRORS else "")


def load_idx_dataset(source, path=None, download=True):
    """Loads the four MNIST-format IDX files described by ``source`` (also used by
    ``fashion_mnist``) as ``(x_train, y_train), (x_test, y_test)``."""
    arrays = _files.fetch(source, parse_mnist_file, path=path, download_missing=download)
    splits = []
    for images, labels in ((TRAIN_IMAGES, TRAIN_LABELS), (TEST_IMAGES, TEST_LABELS)):
        x, where_x = arrays[images]
        y, where_y = arrays[labels]
        if len(x) != len(y):
            raise DatasetError(f"{source.title}: {where_x} holds {len(x)} images but "
                               f"{where_y} holds {len(y)} labels; the files do not belong "
                               "together.")
        splits.append((x, y))
    return tuple(splits)


def parse_mnist_file(name, data, where):
    """``(array, where)`` for an MNIST-format images or labels file, checked for layout."""
    array = parse_idx(data, where)
    if "images" in name:
        if array.dtype != numpy.uint8 or array.ndim != 3 or array.shape[1:] != IMAGE_SHAPE:
            raise DatasetError(f"{where} should hold uint8 images shaped (n, 28, 28); it "
                               f"holds {array.dtype} of shape {array.shape}.")
    else:
        if array.dtype != numpy.uint8 or array.ndim != 1:
            raise DatasetError(f"{where} should hold uint8 labels shaped (n,); it holds "
                               f"{array.dtype} of shape {array.shape}.")
        if array.max() >= NUM_CLASSES:
            raise DatasetError(f"{where} holds the label {array.max()}; labels must be "
                               f"0..{NUM_CLASSES - 1}.")
    return array, where
