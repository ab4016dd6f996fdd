"""Fashion-MNIST: 70,000 grey 28x28 images of clothing in 10 classes, read from IDX files.

A drop-in replacement for MNIST (same sizes, same file format) by Zalando Research. Layout,
as Keras's ``fashion_mnist.load_data()``: ``x`` are ``uint8`` arrays shaped
``(n, 28, 28)`` with values 0..255, ``y`` are ``uint8`` labels 0..9 (names in
``CLASS_NAMES``); 60,000 training and 10,000 test images, 6,000 / 1,000 per class.

Where the files come from (the first place that has each file wins, as ``NAME`` or
``NAME.gz``):

1. ``load_data(path=...)``, a directory holding the four IDX files;
2. ``$THREESTEP_DATA/fashion-mnist/``;
3. ``~/.threestep/datasets/fashion-mnist/``;
4. ``/usr/share/datasets/fashion-mnist/``, installed by the Debian/Ubuntu package
   ``dataset-fashion-mnist`` (``SYSTEM_DIRS``);
5. a download from ``MIRRORS`` (or the URLs in ``$THREESTEP_FASHION_MNIST_MIRROR``,
   separated by commas or spaces) into the first of 1-3, written atomically.

Every file, from every source, is checked by the MD5 of its *decompressed* contents. The
Debian package re-compressed the archives, so their ``.gz`` checksums differ from
upstream's, but the IDX bytes inside are identical; checking the decompressed bytes accepts
both and rejects anything else with a ``DatasetError``.

Example:

    >>> from threestep.datasets import fashion_mnist
    >>> (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    >>> x_train.shape, y_train[:5]
    ((60000, 28, 28), array([9, 0, 0, 3, 0], dtype=uint8))
    >>> fashion_mnist.CLASS_NAMES[y_train[0]]
    'Ankle boot'
"""
from . import _files
from .mnist import TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS, load_idx_dataset

CLASS_NAMES = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
               "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot")

# Decompressed sizes and MD5s (measured on the Debian copy, whose labels match upstream's
# byte for byte); MD5s of upstream's .gz archives (from its README), for reference.
FILES = {
    TRAIN_IMAGES: _files.FileInfo(47_040_016, "f4a8712d7a061bf5bd6d2ca38dc4d50a",
                                  "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
    TRAIN_LABELS: _files.FileInfo(60_008, "9018921c3c673c538a1fc5bad174d6f9",
                                  "25c81989df183df01b3e8a0aad5dffbe"),
    TEST_IMAGES: _files.FileInfo(7_840_016, "8181f5470baa50b63fa0f6fddb340f0a",
                                 "bef4ecab320f06d8554ea6380940ec79"),
    TEST_LABELS: _files.FileInfo(10_008, "15d484375f8d13e6eb1aabb0c3f46965",
                                 "bb300cfdad3c16e7a12a480ee83cd310"),
}
DEBIAN_PACKAGE, DEBIAN_DIR = "dataset-fashion-mnist", "/usr/share/datasets/fashion-mnist"
SYSTEM_DIRS = [DEBIAN_DIR]
MIRRORS = [
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
]
MIRROR_ENV = "THREESTEP_FASHION_MNIST_MIRROR"
HOMEPAGE = "https://github.com/zalandoresearch/fashion-mnist (data/fashion/)"


def load_data(path=None, download=True):
    """Loads Fashion-MNIST as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        path: a directory holding the four IDX files (``train-images-idx3-ubyte``,
            ``train-labels-idx1-ubyte``, ``t10k-images-idx3-ubyte``,
            ``t10k-labels-idx1-ubyte``, each optionally ``.gz``). Searched first, and the
            place a download is written to. Default: the search order of the module
            docstring, downloading into ``~/.threestep/datasets/fashion-mnist/``.
        download: fetch files found nowhere from the mirrors (default True).

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``uint8`` images ``(n, 28, 28)`` and
        ``uint8`` labels 0..9 (see ``CLASS_NAMES``), n = 60,000 and 10,000.

    Raises:
        DatasetError: a file is missing everywhere and cannot be downloaded (the message
            names the Debian package and where to put the files), or a file is truncated,
            corrupt or fails its checksum.
        ConfigError: ``path`` is not a directory, or ``download`` is not a bool.
    """
    return load_idx_dataset(_source(), path=path, download=download)


def _source():
    # Built at each call, so changes to the module-level tables take effect.
    return _files.Source(key="fashion-mnist", title="Fashion-MNIST", files=dict(FILES),
                         system_dirs=tuple(SYSTEM_DIRS),
                         mirrors=_files.mirrors_from_env(MIRROR_ENV, MIRRORS),
                         mirror_env=MIRROR_ENV, package=DEBIAN_PACKAGE,
                         package_dir=DEBIAN_DIR, homepage=HOMEPAGE)
