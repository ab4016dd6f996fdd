"""Shape ops: reshape, transpose, concatenate, stack, indexing (basic and integer-array)."""
import itertools

from .. import backend
from ..autograd import Function, Tensor


class Reshape(Function):
    """Reshape to ``shape``; backward reshapes gy back to the input's shape."""

    def __init__(self, shape):
        self.target = tuple(shape)

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(self.target)

    def backward(self, gy):
        return gy.reshape(self.shape)


class Transpose(Function):
    """Permute the axes (reverse them when ``axes`` is None); backward applies the inverse permutation."""

    def __init__(self, axes=None):
        self.axes = None if axes is None else tuple(axes)

    def forward(self, x):
        return x.transpose(self.axes)

    def backward(self, gy):
        if self.axes is None:
            return gy.transpose()
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a % len(self.axes)] = i
        return gy.transpose(inverse)


class Concatenate(Function):
    """Join the inputs along ``axis``; backward splits gy into the inputs' pieces."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        self.sizes = [x.shape[self.axis] for x in xs]
        return backend.get_array_module(*xs).concatenate(xs, axis=self.axis)

    def backward(self, gy):
        bounds = list(itertools.accumulate(self.sizes))[:-1]  # host ints: no device round trip
        return tuple(backend.get_array_module(gy).split(gy, bounds, axis=self.axis))


class Stack(Function):
    """Stack the inputs along a new ``axis``; backward takes each input's slice of gy."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, *xs):
        return backend.get_array_module(*xs).stack(xs, axis=self.axis)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        n = gy.shape[self.axis]
        return tuple(xp.take(gy, i, axis=self.axis) for i in range(n))


def _has_advanced(key):
    parts = key if isinstance(key, tuple) else (key,)
    return any(backend.is_array(k) or isinstance(k, (list, Tensor)) for k in parts)


def _unwrap_key(key):
    if isinstance(key, tuple):
        return tuple(k.data if isinstance(k, Tensor) else k for k in key)
    return key.data if isinstance(key, Tensor) else key


class GetItem(Function):
    """``x[key]`` for slices, integers, None, Ellipsis, and integer or boolean arrays."""

    def __init__(self, key):
        self.key = _unwrap_key(key)

    def forward(self, x):
        self.shape, self.dtype = x.shape, x.dtype
        return x[self.key]

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        if _has_advanced(self.key):
            # Repeated indices must add up, which plain assignment would not do.
            key = self.key
            if isinstance(key, list):
                key = xp.asarray(key)
            if backend.is_array(key) and key.dtype == bool:
                gx[key] = gy
            else:
                xp.add.at(gx, key, gy)
        else:
            gx[self.key] = gy
        return gx


def reshape(x, shape):
    """Reshape as a graph node (a no-op when the shape already matches).

    Example:
        >>> reshape(Tensor(np.arange(6.0)), (2, 3)).shape
        (2, 3)
    """
    if isinstance(x, Tensor) and tuple(x.shape) == tuple(shape):
        return x
    return Reshape(shape)(x)


def transpose(x, axes=None):
    """Permute the axes as a graph node (reverse them when ``axes`` is None)."""
    return Transpose(axes)(x)


def concatenate(xs, axis=0):
    """Join a list of Tensors along ``axis`` as a graph node."""
    return Concatenate(axis)(*xs)


def stack(xs, axis=0):
    """Stack a list of Tensors of one shape along a new ``axis`` as a graph node."""
    return Stack(axis)(*xs)


def getitem(x, key):
    """``x[key]`` as a graph node: basic slices and integer-array or boolean indexing; repeated indices add
    their gradients."""
    return GetItem(key)(x)


def flatten(x):
    """(N, ...) -> (N, prod(...))."""
    n = x.shape[0]
    return reshape(x, (n, -1))
