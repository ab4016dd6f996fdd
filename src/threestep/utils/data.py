"""Label and feature helpers: ``to_categorical`` and ``normalize`` (Keras 2 ``keras.utils``)."""
import numpy

from .. import backend
from ..errors import ConfigError, DataError


def to_categorical(y, num_classes=None, dtype="float32"):
    """Converts integer class labels to one-hot vectors (a NumPy array), as Keras 2.3 does.

    A trailing dimension of size 1 is dropped first, so labels shaped ``(n,)`` and
    ``(n, 1)`` both give ``(n, num_classes)``; any other shape ``s`` gives
    ``s + (num_classes,)`` (a scalar gives ``(num_classes,)``).

    Args:
        y: class labels, integers in ``[0, num_classes)`` (floats are accepted when they
            hold whole numbers, e.g. labels read from a CSV file).
        num_classes: the number of classes; ``None`` means ``max(y) + 1``.
        dtype: the dtype of the result.

    Raises:
        DataError: for negative labels, labels ``>= num_classes``, non-integer, NaN or
            non-numeric labels, or empty ``y`` without ``num_classes``.

    Example:

        >>> to_categorical([0, 2, 1], num_classes=3)
        array([[1., 0., 0.],
               [0., 0., 1.],
               [0., 1., 0.]], dtype=float32)
    """
    y = _labels_as_int(y)
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = input_shape[:-1]
    y = y.ravel()
    if num_classes is None:
        if y.size == 0:
            raise DataError("to_categorical: cannot infer num_classes from empty labels; "
                            "pass num_classes explicitly.")
        num_classes = int(y.max()) + 1
    elif isinstance(num_classes, bool) or not isinstance(num_classes, (int, numpy.integer)) \
            or num_classes < 1:
        raise ConfigError(f"to_categorical: num_classes must be a positive integer. "
                          f"Received: num_classes={num_classes!r}.")
    num_classes = int(num_classes)
    if y.size:
        bad = numpy.flatnonzero((y < 0) | (y >= num_classes))
        if bad.size:
            raise DataError(
                f"to_categorical: labels must be integers in [0, {num_classes}) for "
                f"num_classes={num_classes}. Received label {y[bad[0]]} at flat index "
                f"{bad[0]} ({bad.size} bad label(s) in total; labels span "
                f"{y.min()}..{y.max()}). Map labels to 0..num_classes-1 first, or raise "
                "num_classes.")
    categorical = numpy.zeros((y.size, num_classes), dtype=dtype)
    categorical[numpy.arange(y.size), y] = 1
    return categorical.reshape(input_shape + (num_classes,))


def _labels_as_int(y):
    if not isinstance(y, numpy.ndarray) and callable(getattr(y, "numpy", None)):
        y = y.numpy()  # a threestep or torch Tensor
    y = numpy.asarray(backend.to_numpy(y))
    if y.dtype.kind not in "biuf":
        raise DataError(f"to_categorical: labels must be integers. Received an array of dtype "
                        f"{y.dtype} (shape {y.shape}).")
    if y.dtype.kind == "f":
        if not numpy.isfinite(y).all():
            raise DataError("to_categorical: labels contain NaN or inf. Remove or fix those "
                            "samples first.")
        fractional = numpy.flatnonzero(y != numpy.floor(y))
        if fractional.size:
            raise DataError(f"to_categorical: labels must be whole numbers. Received "
                            f"{y.ravel()[fractional[0]]} at flat index {fractional[0]}.")
    return y.astype(numpy.int64)


def normalize(x, axis=-1, order=2):
    """Scales ``x`` to unit norm along ``axis`` (zero vectors are left as zeros).

    Args:
        x: an array (NumPy, or CuPy on the GPU backend).
        axis: the axis along which to normalize.
        order: the norm's order (2 for the L2 norm, as ``numpy.linalg.norm``).

    Example:

        >>> normalize(numpy.array([[3.0, 4.0]]))
        array([[0.6, 0.8]])
    """
    xp = backend.get_array_module(x)
    x = xp.asarray(x)
    # keepdims: the result has x's shape (Keras 2.3 turned a 1-D x into shape (1, n)).
    norm = xp.linalg.norm(x, order, axis, keepdims=True)
    return x / xp.where(norm == 0, 1, norm)
