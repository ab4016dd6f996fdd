"""Helpers that prepare data for ``fit``: the validation split."""

import numpy

from .. import backend
from ..errors import ConfigError, warn
from .checks import ThreestepHint


def split_validation(x, y, sw, fraction):
    """Take the last ``fraction`` of the samples as validation data (before shuffling), like Keras."""
    if not 0 < fraction < 1:
        raise ConfigError(f"fit: validation_split must be between 0 and 1. Received: validation_split={fraction}.")
    n = n_samples(x)
    cut = int(n * (1 - fraction))
    if cut == 0 or cut == n:
        raise ConfigError(f"fit: validation_split={fraction} of {n} samples leaves an empty training or "
                          "validation set.")
    _warn_if_label_shift(y[:cut], y[cut:])
    head, tail = take(x, slice(None, cut)), take(x, slice(cut, None))
    train = (head, y[:cut], None if sw is None else sw[:cut])
    val = (tail, y[cut:]) if sw is None else (tail, y[cut:], sw[cut:])
    return train, val


def _class_histogram(y):
    y = backend.to_numpy(y)
    labels = y.argmax(-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(len(y), -1)[:, 0]
    if labels.dtype.kind == "f" and not numpy.all(labels == numpy.round(labels)):
        return None  # regression targets: no classes to compare
    values, counts = numpy.unique(labels, return_counts=True)
    if len(values) > 100:
        return None
    return dict(zip(values.tolist(), (counts / counts.sum()).tolist()))


def _warn_if_label_shift(y_train, y_val):
    """validation_split takes the *last* samples: a sorted dataset gives a skewed validation set."""
    train, val = _class_histogram(y_train), _class_histogram(y_val)
    if train is None or val is None:
        return
    classes = set(train) | set(val)
    distance = 0.5 * sum(abs(train.get(c, 0) - val.get(c, 0)) for c in classes)
    if distance > 0.25:
        warn(
            f"fit: validation_split takes the last samples, and their labels are distributed very "
            f"differently from the training part (total variation distance {distance:.2f}; validation "
            f"classes {sorted(val)}). Is the data sorted by label? Shuffle it once before fit, or pass "
            "validation_data=.", ThreestepHint)


def n_samples(x):
    """Number of samples of an input array or a list of input arrays."""
    return len(x[0]) if isinstance(x, list) else len(x)


def take(x, index):
    """Rows ``index`` (a slice or index array) of an input or of each input of a list."""
    return [a[index] for a in x] if isinstance(x, list) else x[index]


def to_tensors(x):
    from ..autograd import Tensor  # noqa: PLC0415

    return [Tensor(a) for a in x] if isinstance(x, list) else Tensor(x)
