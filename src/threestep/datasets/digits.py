"""The handwritten digits: 1,797 images of 8x8 pixels, 10 classes, shipped inside threestep.

A small MNIST that needs no download: the test set of the UCI "Optical Recognition of
Handwritten Digits" data (E. Alpaydin and C. Kaynak, 1998; UCI Machine Learning Repository,
CC BY 4.0), in the ``digits.csv.gz`` layout that scikit-learn also distributes. The 57 KB file
ships in ``threestep/datasets/data/`` and is checked against its SHA-256 on every load, so
threestep needs neither scikit-learn nor a network to train its demo.

Layout, as Keras's ``mnist.load_data()``:

* ``x``: ``uint8`` arrays shaped ``(n, 8, 8)`` with the data's own values ``0..16`` (each
  pixel counts the set bits of a 4x4 block of a 32x32 bitmap). Divide by 16 for ``[0, 1]``.
* ``y``: ``uint8`` labels ``0..9``.

The split is fixed: a stratified split drawn with ``numpy.random.default_rng(0)``,
independent of threestep's global seed, identical on every call and every machine. With
the defaults it gives 1,437 training and 360 test images (about 80/20). The test set takes
``ceil(0.2 * 1797) = 360`` images, each class contributing its share (rounded by largest
remainder), chosen at random within the class; both sets keep the rows in file order.
Per class (digits 0..9) the test set holds 36, 37, 35, 37, 36, 36, 36, 36, 35, 36 images.
The first 10 training labels are ``[0, 1, 2, 3, 4, 6, 7, 8, 0, 1]``.

Example:

    >>> from threestep.datasets import digits
    >>> (x_train, y_train), (x_test, y_test) = digits.load_data()
    >>> x_train.shape, x_test.shape
    ((1437, 8, 8), (360, 8, 8))
    >>> x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16
"""
import gzip
import hashlib
import io
import math
import os
import zlib

import numpy

from ..errors import ConfigError, DatasetError

NUM_SAMPLES = 1797
NUM_CLASSES = 10
SHA256 = "09f66e6debdee2cd2b5ae59e0d6abbb73fc2b0e0185d2e1957e9ebb51e23aa22"
_REINSTALL = ("The file ships with threestep; reinstall it "
              "(`pip install --force-reinstall threestep`).")


def load_data(test_split=0.2, seed=0):
    """Loads the digits as ``(x_train, y_train), (x_test, y_test)``.

    Args:
        test_split: fraction of the images that go to the test set (default 0.2: 360 of
            1,797). Rounded up, then shared among the classes in proportion to their sizes.
        seed: seed of the private generator that picks the test images (default 0). The
            defaults give the documented split; threestep's global seed has no effect.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``uint8`` images ``(n, 8, 8)`` with
        values 0..16 and ``uint8`` labels 0..9.

    Raises:
        DatasetError: the shipped file is missing, damaged or not the expected data.
        ConfigError: ``test_split`` is not in (0, 1), or ``seed`` is not a non-negative int.
    """
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) \
            or not 0 < test_split < 1:
        raise ConfigError(f"digits.load_data: test_split must be a fraction between 0 and 1 "
                          f"(exclusive). Received: test_split={test_split!r}.")
    if isinstance(seed, bool) or not isinstance(seed, (int, numpy.integer)) or seed < 0:
        raise ConfigError(f"digits.load_data: seed must be a non-negative integer. "
                          f"Received: seed={seed!r}.")
    table = _load_table()
    x = table[:, :64].astype(numpy.uint8).reshape(-1, 8, 8)
    y = table[:, 64].astype(numpy.uint8)
    test = _stratified_test_mask(y, test_split, seed)
    return (x[~test], y[~test]), (x[test], y[test])


def _stratified_test_mask(labels, test_split, seed):
    """A boolean mask of the test rows: per class, its share of ``ceil(test_split * n)``."""
    n = len(labels)
    n_test = min(max(math.ceil(test_split * n), 1), n - 1)
    classes, counts = numpy.unique(labels, return_counts=True)
    # Largest-remainder rounding in integers, so no float noise can change the split.
    quota = counts * n_test // n
    remainder = counts * n_test % n
    quota[numpy.argsort(-remainder, kind="stable")[:n_test - quota.sum()]] += 1
    rng = numpy.random.default_rng(seed)
    mask = numpy.zeros(n, dtype=bool)
    for cls, k in zip(classes, quota):
        mask[rng.permutation(numpy.flatnonzero(labels == cls))[:k]] = True
    return mask


def _bundled_csv():
    """The path of the ``digits.csv.gz`` that ships inside the package."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "digits.csv.gz")


def _load_table():
    """The raw table: 1,797 rows of 64 pixel values and a label, as float64."""
    path = _bundled_csv()
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as exc:
        raise DatasetError(f"Could not read the digits file {path}: {exc}. {_REINSTALL}") from exc
    digest = hashlib.sha256(raw).hexdigest()
    if digest != SHA256:
        raise DatasetError(f"The digits file {path} is damaged: its SHA-256 is {digest}, "
                           f"expected {SHA256}. {_REINSTALL}")
    try:
        table = numpy.loadtxt(io.StringIO(gzip.decompress(raw).decode("ascii")), delimiter=",", ndmin=2)
    except (OSError, EOFError, ValueError, zlib.error, UnicodeDecodeError) as exc:
        raise DatasetError(f"Could not parse the digits file {path}: {exc}. {_REINSTALL}") from exc
    _check_table(table, path)
    return table


def _check_table(table, source):
    problem = None
    if table.shape != (NUM_SAMPLES, 65):
        problem = f"expected {NUM_SAMPLES} rows of 65 values, found shape {table.shape}"
    elif not numpy.isfinite(table).all() or (table != numpy.round(table)).any():
        problem = "found values that are not whole numbers"
    elif table[:, :64].min() < 0 or table[:, :64].max() > 16:
        problem = "found pixel values outside 0..16"
    elif set(numpy.unique(table[:, 64]).astype(int)) != set(range(NUM_CLASSES)):
        problem = "the labels are not the digits 0..9"
    if problem:
        raise DatasetError(f"The digits data from {source} is not the expected dataset: "
                           f"{problem}. {_REINSTALL}")
