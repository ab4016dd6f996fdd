"""Boston housing prices: 506 Boston suburbs of the 1970s, 13 features each, the target the
median home value in thousands of dollars (Keras's ``keras.datasets.boston_housing``).

``load_data`` follows Keras: ``boston_housing.npz`` (checked against Keras's SHA-256),
shuffled with ``numpy.random.RandomState(seed)``, the first ``1 - test_split`` for
training. The file holds plain float arrays (no pickles). Where it comes from: see
``_keras_files``.

Example:

    >>> from threestep.datasets import boston_housing
    >>> (x_train, y_train), (x_test, y_test) = boston_housing.load_data()
    >>> x_train.shape, x_test.shape
    ((404, 13), (102, 13))
"""
import numpy

from ..errors import DatasetError
from . import _files, _keras_files

NPZ_NAME = "boston_housing.npz"
SHA256 = "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5"
MIRROR_ENV = "THREESTEP_BOSTON_HOUSING_MIRROR"
MIRRORS = [_keras_files.KERAS_MIRROR]


def load_data(path=NPZ_NAME, test_split=0.2, seed=113, *, download=True, timeout=None):
    """Loads the data as ``(x_train, y_train), (x_test, y_test)``: float64 ``x`` of shape
    ``(n, 13)``, float64 ``y`` of shape ``(n,)``; 404 training and 102 test samples.

    Raises:
        DatasetError: no file and no download, a checksum mismatch or a malformed file.
    """
    if not 0 <= test_split < 1:
        raise DatasetError(f"boston_housing.load_data: test_split must be in [0, 1). "
                           f"Received {test_split!r}.")
    file = _keras_files.fetch("boston_housing", path, NPZ_NAME, SHA256,
                              _files.mirrors_from_env(MIRROR_ENV, MIRRORS),
                              "boston_housing.load_data", download=download, timeout=timeout)
    arrays = _keras_files.load_npz(file, ("x", "y"))
    x, y = arrays["x"], arrays["y"]
    if len(x) != len(y):
        raise DatasetError(f"{file}: x holds {len(x)} samples but y {len(y)}.")
    order = numpy.arange(len(x))
    numpy.random.RandomState(seed).shuffle(order)
    x, y = x[order], y[order]
    split = int(len(x) * (1 - test_split))
    return (x[:split], y[:split]), (x[split:], y[split:])
