"""Reductions over axes: sum, mean, max (with ``keepdims``)."""
from .. import backend
from ..autograd import Function


def _normalize_axis(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    axes = (axis,) if isinstance(axis, int) else tuple(axis)
    return tuple(sorted(a % ndim for a in axes))


def _expand(gy, axes, keepdims):
    """Put back the reduced axes of ``gy`` so it broadcasts against the input."""
    if keepdims or gy.ndim == 0 and not axes:
        return gy
    for a in axes:
        gy = backend.get_array_module(gy).expand_dims(gy, a)
    return gy


class Sum(Function):
    """Sum over ``axis`` (all axes by default); backward broadcasts gy back over the summed axes."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.shape = x.shape
        self.axes = _normalize_axis(self.axis, x.ndim)
        return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        if gy.ndim == 0:  # a full reduction (a loss): filling is faster than NumPy's broadcast_to
            return xp.full(self.shape, gy, dtype=gy.dtype)
        return xp.broadcast_to(_expand(gy, self.axes, self.keepdims), self.shape)


class Mean(Sum):
    """Mean over ``axis``; backward broadcasts gy / n back over the averaged axes."""

    def forward(self, x):
        y = super().forward(x)
        self.count = 1
        for a in self.axes:
            self.count *= x.shape[a]
        return y / x.dtype.type(self.count) if x.dtype.kind == "f" else y / self.count

    def backward(self, gy):
        return super().backward(gy / gy.dtype.type(self.count))


class Max(Function):
    """Maximum over axes. Ties share the gradient equally (like ``torch.amax``)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        self.axes = _normalize_axis(self.axis, x.ndim)
        y = x.max(axis=self.axes, keepdims=True)
        self.mask = x == y
        return y if self.keepdims else y.reshape([s for i, s in enumerate(y.shape) if i not in self.axes])

    def backward(self, gy):
        gy = _expand(gy, self.axes, self.keepdims)
        count = self.mask.sum(axis=self.axes, keepdims=True).astype(gy.dtype)
        return self.mask * (gy / count)


def sum(x, axis=None, keepdims=False):  # noqa: A001
    """Sum over ``axis`` (None: every element) as a graph node.

    Args:
        x: a Tensor.
        axis: an int, a tuple of ints or None.
        keepdims: keep the reduced axes with size 1.

    Example:
        >>> sum(Tensor(np.ones((2, 3))), axis=1).numpy()
        array([3., 3.])
    """
    return Sum(axis, keepdims)(x)


def mean(x, axis=None, keepdims=False):
    """Mean over ``axis`` (None: every element) as a graph node.

    Args:
        x: a Tensor.
        axis: an int, a tuple of ints or None.
        keepdims: keep the reduced axes with size 1.
    """
    return Mean(axis, keepdims)(x)


def max(x, axis=None, keepdims=False):  # noqa: A001
    """Maximum over ``axis`` as a graph node; the gradient goes to the maxima (split among ties).

    Args:
        x: a Tensor.
        axis: an int, a tuple of ints or None.
        keepdims: keep the reduced axes with size 1.
    """
    return Max(axis, keepdims)(x)
