"""Element-wise choice, products and repetition: maximum, minimum, where, prod, tile.

These serve the Keras backend functions (``K.maximum``, ``K.switch``, ``K.prod``,
``K.tile``) that user code calls inside losses, metrics and Lambda layers. Gradients
follow TensorFlow's conventions, so a Keras model trains the same way here: a tie in
``maximum(a, b)`` sends the gradient to ``a``.
"""
from .. import backend
from ..autograd import Function


class Maximum(Function):
    """max(a, b) element-wise with broadcasting; where a == b the gradient goes to a."""

    def forward(self, a, b):
        self.pick_a = a >= b
        return backend.get_array_module(a).maximum(a, b)

    def backward(self, gy):
        return gy * self.pick_a, gy * ~self.pick_a


class Minimum(Function):
    """min(a, b) element-wise with broadcasting; where a == b the gradient goes to a."""

    def forward(self, a, b):
        self.pick_a = a <= b
        return backend.get_array_module(a).minimum(a, b)

    def backward(self, gy):
        return gy * self.pick_a, gy * ~self.pick_a


class Where(Function):
    """``cond ? a : b`` element-wise (``cond`` is a constant boolean array)."""

    def __init__(self, cond):
        self.cond = cond

    def forward(self, a, b):
        return backend.get_array_module(a).where(self.cond, a, b)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        zero = gy.dtype.type(0)
        return xp.where(self.cond, gy, zero), xp.where(self.cond, zero, gy)


class Prod(Function):
    """Product over axes. Backward multiplies the products to the left and to the right of
    each element (no division, so zeros in the input are handled exactly)."""

    def __init__(self, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        from .reduce import _normalize_axis  # noqa: PLC0415

        self.axes = _normalize_axis(self.axis, x.ndim)
        self.x = x
        return x.prod(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        from .reduce import _expand  # noqa: PLC0415

        xp = backend.get_array_module(gy)
        x, axes = self.x, self.axes
        keep = [a for a in range(x.ndim) if a not in axes]
        order = keep + list(axes)
        moved = xp.transpose(x, order)
        rows = moved.reshape(moved.shape[:len(keep)] + (-1,))
        ones = xp.ones(rows.shape[:-1] + (1,), dtype=x.dtype)
        left = xp.cumprod(xp.concatenate([ones, rows[..., :-1]], axis=-1), axis=-1)
        right = xp.cumprod(xp.concatenate([ones, rows[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = (left * right).reshape(moved.shape)
        inverse = [order.index(a) for a in range(x.ndim)]
        return xp.transpose(others, inverse) * _expand(gy, axes, self.keepdims)


class Tile(Function):
    """Repeat the whole array ``reps[i]`` times along axis i (``numpy.tile``); backward sums the copies."""

    def __init__(self, reps):
        self.reps = tuple(int(r) for r in reps)

    def forward(self, x):
        self.shape = x.shape
        return backend.get_array_module(x).tile(x, self.reps)

    def backward(self, gy):
        split = []
        for r, s in zip(self.reps, self.shape):
            split += [r, s]
        return gy.reshape(split).sum(axis=tuple(range(0, 2 * len(self.shape), 2)))


class CumSum(Function):
    """Running sum along ``axis``; backward is the reversed running sum."""

    def __init__(self, axis=0):
        self.axis = axis

    def forward(self, x):
        return x.cumsum(axis=self.axis)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        flipped = xp.flip(gy, axis=self.axis)
        return xp.flip(flipped.cumsum(axis=self.axis), axis=self.axis)


def maximum(a, b):
    """Element-wise ``max(a, b)`` with broadcasting; ties send the gradient to ``a`` (as TensorFlow).

    Args:
        a, b: tensors (or arrays) of broadcastable shapes.

    Returns:
        A tensor of the broadcast shape.
    """
    return Maximum()(a, b)


def minimum(a, b):
    """Element-wise ``min(a, b)`` with broadcasting; ties send the gradient to ``a`` (as TensorFlow).

    Args:
        a, b: tensors (or arrays) of broadcastable shapes.

    Returns:
        A tensor of the broadcast shape.
    """
    return Minimum()(a, b)


def where(cond, a, b):
    """Picks ``a`` where ``cond`` is true and ``b`` elsewhere (``K.switch``); ``cond`` gets no gradient.

    Args:
        cond: boolean tensor or array, broadcastable to ``a`` and ``b``.
        a, b: the two choices.

    Returns:
        A tensor of the broadcast shape.
    """
    return Where(getattr(cond, "data", cond))(a, b)


def prod(x, axis=None, keepdims=False):
    """Product of the elements of ``x`` over ``axis`` (all axes when ``None``), differentiable.

    Args:
        x: input tensor.
        axis: an axis, a tuple of axes or ``None``.
        keepdims: keep the reduced axes with length 1.

    Returns:
        The reduced tensor.
    """
    return Prod(axis, keepdims)(x)


def tile(x, reps):
    """Repeats ``x`` ``reps[i]`` times along each axis ``i`` (as ``numpy.tile``), differentiable.

    Shorter ``reps`` are padded with ones on the left; longer ones add leading axes to ``x``.

    Args:
        x: input tensor.
        reps: repetitions per axis.

    Returns:
        The tiled tensor.
    """
    reps = tuple(reps)
    if len(reps) < x.ndim:
        reps = (1,) * (x.ndim - len(reps)) + reps
    elif len(reps) > x.ndim:
        from .shape import reshape  # noqa: PLC0415

        x = reshape(x, (1,) * (len(reps) - x.ndim) + tuple(x.shape))
    return Tile(reps)(x)


def cumsum(x, axis=0):
    """Cumulative sum of ``x`` along ``axis``, differentiable.

    Args:
        x: input tensor.
        axis: the axis to accumulate along.

    Returns:
        A tensor of the shape of ``x``.
    """
    return CumSum(axis)(x)


class Cast(Function):
    """``x.astype(dtype)``; the gradient flows back (cast to the input's dtype) between float types."""

    def __init__(self, dtype):
        self.dtype = dtype

    def forward(self, x):
        self.in_dtype = x.dtype
        return x.astype(self.dtype)

    def backward(self, gy):
        return gy.astype(self.in_dtype) if self.in_dtype.kind == "f" else None


def cast(x, dtype):
    """Converts ``x`` to ``dtype``; the gradient flows back only when the input is a float type.

    Args:
        x: input tensor.
        dtype: the target dtype (a NumPy dtype or its name).

    Returns:
        The converted tensor.
    """
    return Cast(dtype)(x)
