"""Pooling and spatial resampling for channels_last data (1-D and 2-D): max and average
pooling, global pooling, zero padding, cropping and nearest-neighbour upsampling.

Max pooling is Maxout over each window, with the window's cells as the pieces: cell
(i, j) of every window is one strided view of the input (``x[:, i::s, j::s]``), and
``maxout.max_of_pieces``/``scatter_to_pieces`` -- the one implementation of "the gradient
flows only to the arg-max" -- pick the winner and route its gradient straight into the
same views of the input gradient, added up where windows overlap (strides < pool_size).
Ties go to the first maximum in the window (row-major), as in PyTorch.
"""

from .. import backend
from ..autograd import Function
from ..errors import ShapeError
from ..accel import kernels
from .arithmetic import add, div
from .im2col import (
    col2im, col2im_gather, from_channels_last, geometry, kernel_offsets, normalize_tuple, pad_spatial,
    to_channels_last, unpad, windows,
)
from .maxout import argmax_reduce, max_of_pieces, scatter_to_pieces
from .reduce import mean
from .shape import getitem, reshape, stack


def _lowest(dtype, xp):
    """The padding value a max never selects: -inf (or the smallest integer)."""
    return -xp.inf if dtype.kind == "f" else xp.iinfo(dtype).min


class MaxPool(Function):
    """Max over each window; the whole gradient goes to the window's (first) arg-max.

    Works on the strided blocks of the input, one per window cell (``kernel_offsets``), so
    nothing is gathered: the forward reads the input once per cell, keeps the winner's cell
    index (uint8, only when a gradient is wanted), and the backward writes each block of the
    gradient once. 'same' pads with -inf, so a padded cell is never selected. This beat
    im2col patches, an arg-max over the window axis and col2im (the earlier kernel).
    float32 on NumPy runs one Numba pass each way instead (``kernels.max_pool``, same rules),
    faster again (figures: benchmarks/RESULTS.md, "Measurements behind the code").
    """

    def __init__(self, pool_size, strides=None, padding="valid"):
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.g = g = _pool_geometry(x, self.pool_size, self.strides, self.padding, "max_pool")
        xpad = pad_spatial(x, g.pads, _lowest(x.dtype, xp))
        fast = kernels.max_pool(xpad, g.kernel, g.strides, g.out_sizes, self.needs_input_grad[0])
        if fast is not None:  # float32 on NumPy: one Numba pass over the input
            y, self.idx = fast
            return y
        y, self.idx = max_of_pieces([xpad[key] for _, key in kernel_offsets(g)], index=self.needs_input_grad[0])
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        g = self.g
        padded = g.padded_sizes
        gx, overlap = max_pool_grad_buffer(gy, g, padded, xp)
        # the Numba kernels serve 1-D and 2-D windows only (3-D pooling takes the pieces path)
        if len(g.kernel) > 2 or not kernels.max_pool_grad(gy, self.idx, gx, g.kernel, g.strides, overlap):
            scatter_to_pieces(gy, self.idx, [gx[key] for _, key in kernel_offsets(g)], accumulate=overlap)
        return unpad(gx, g)


def max_pool_grad_buffer(gy, g, padded, xp):
    """(the input gradient's buffer (N, *padded, C), whether windows overlap) for max pooling's
    backward: uninitialised where the windows tile the input exactly (the kernel writes every
    cell), zeros where they overlap (their gradients add up) or leave cells out."""
    overlap = any(s < k for s, k in zip(g.strides, g.kernel))
    return (xp.empty if windows_tile(g, padded) else xp.zeros)(gy.shape[:1] + tuple(padded) + gy.shape[-1:],
                                                                gy.dtype), overlap


def windows_tile(g, padded):
    """Whether pooling windows ``g`` cover the (padded) input of spatial sizes ``padded`` exactly
    once: each cell in one window, none left out."""
    return all(s == k and o * k == n for s, k, o, n in zip(g.strides, g.kernel, g.out_sizes, padded))


class AvgPool(Function):
    """Mean over each window. Padded cells ('same') are left out of the count, as in
    Keras/TensorFlow (PyTorch's ``count_include_pad=False``)."""

    def __init__(self, pool_size, strides=None, padding="valid"):
        self.pool_size, self.strides, self.padding = pool_size, strides, padding

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.g = g = _pool_geometry(x, self.pool_size, self.strides, self.padding, "avg_pool")
        self.count = _window_counts(g, x.dtype, xp)
        return windows(x, g, kernel_major=True).sum(axis=tuple(range(len(g.kernel)))) / self.count

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        if backend.on_gpu(gy):  # one gather instead of a strided add per window cell
            rows = xp.empty((gy.size // gy.shape[-1] + 1, gy.shape[-1]), gy.dtype)
            xp.divide(gy, self.count, out=rows[:-1].reshape(gy.shape))
            rows[-1] = 0
            return col2im_gather(rows, self.g, gy.shape[0], per_offset=False)
        share = gy / self.count
        return col2im(xp.broadcast_to(share, self.g.kernel + share.shape), self.g)


def _window_counts(g, dtype, xp):
    """How many real (unpadded) cells each window covers: (1, *out, 1)."""
    ones = xp.ones((1,) + g.in_sizes + (1,), dtype=dtype)
    return windows(ones, g, kernel_major=True).sum(axis=tuple(range(len(g.kernel))))


def _pool_geometry(x, pool_size, strides, padding, where):
    n = x.ndim - 2
    if n < 1:
        raise ShapeError(f"{where}: input must be (batch, *spatial, channels); received shape {tuple(x.shape)}.")
    pool_size = normalize_tuple(pool_size, n, "pool_size")
    return geometry(x.shape, pool_size, pool_size if strides is None else strides, 1, padding, where)


class Pad(Function):
    """Constant padding; ``pad_width`` holds a (before, after) pair per axis. Backward crops."""

    def __init__(self, pad_width, value=0):
        self.pad_width, self.value = pad_width, value

    def forward(self, x):
        xp = backend.get_array_module(x)
        pairs = _pairs(self.pad_width, x.shape, "pad")
        self.key = tuple(slice(lo, lo + s) for (lo, _), s in zip(pairs, x.shape))
        y = xp.full(tuple(s + lo + hi for s, (lo, hi) in zip(x.shape, pairs)), self.value, dtype=x.dtype)
        y[self.key] = x
        return y

    def backward(self, gy):
        return gy[self.key]


class UpsampleNearest(Function):
    """Repeat every spatial cell ``size`` times per axis; backward sums each block."""

    def __init__(self, size):
        self.size = size

    def forward(self, x):
        xp = backend.get_array_module(x)
        size = normalize_tuple(self.size, x.ndim - 2, "size")
        spatial = x.shape[1:-1]
        self.blocks = x.shape[:1] + sum(((s, f) for s, f in zip(spatial, size)), ()) + x.shape[-1:]
        lifted = x.reshape(x.shape[:1] + sum(((s, 1) for s in spatial), ()) + x.shape[-1:])
        out = x.shape[:1] + tuple(s * f for s, f in zip(spatial, size)) + x.shape[-1:]
        return xp.broadcast_to(lifted, self.blocks).reshape(out)

    def backward(self, gy):
        repeats = tuple(range(2, len(self.blocks) - 1, 2))
        return gy.reshape(self.blocks).sum(axis=repeats)


def _pairs(widths, shape, where):
    """One (before, after) pair of non-negative ints per axis, from an int or per-axis ints / pairs."""
    items = (widths,) * len(shape) if isinstance(widths, int) else tuple(widths)
    pairs = tuple((w, w) if isinstance(w, int) else tuple(w) for w in items)
    if len(pairs) != len(shape) or not all(len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p)
                                           for p in pairs):
        raise ShapeError(f"{where}: widths must be an int or {len(shape)} ints / (before, after) pairs of "
                         f"non-negative ints, one per axis of shape {tuple(shape)}; received {widths!r}.")
    return pairs


# ---------------------------------------------------------------- functional wrappers
def max_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Max pooling over 1 or 2 (or more) spatial axes of channels_last ``x``.

    Args:
        x: (N, *spatial, C). pool_size: an int or one per spatial axis.
        strides: defaults to ``pool_size``. padding: 'valid' or 'same' (TensorFlow's rule).

    Example:
        >>> max_pool(x, 2)  # (100, 26, 26, 25) -> (100, 13, 13, 25)
    """
    x = to_channels_last(x, data_format, "max_pool")
    return from_channels_last(MaxPool(pool_size, strides, padding)(x), data_format)


def avg_pool(x, pool_size, strides=None, padding="valid", data_format="channels_last"):
    """Average pooling, same arguments as ``max_pool``; 'same' padding is not counted."""
    x = to_channels_last(x, data_format, "avg_pool")
    return from_channels_last(AvgPool(pool_size, strides, padding)(x), data_format)


def global_max_pool(x, keepdims=False, data_format="channels_last"):
    """Max over all spatial axes: (N, *spatial, C) -> (N, C); gradient to the first arg-max."""
    x = to_channels_last(x, data_format, "global_max_pool")
    y = argmax_reduce(reshape(x, (x.shape[0], -1, x.shape[-1])), axis=1)
    return _keep(y, x.ndim, keepdims, data_format)


def global_avg_pool(x, keepdims=False, data_format="channels_last"):
    """Mean over all spatial axes: (N, *spatial, C) -> (N, C)."""
    x = to_channels_last(x, data_format, "global_avg_pool")
    return _keep(mean(x, axis=tuple(range(1, x.ndim - 1))), x.ndim, keepdims, data_format)


def _keep(y, ndim, keepdims, data_format):
    if not keepdims:
        return y
    ones = (1,) * (ndim - 2)
    n, c = y.shape
    return reshape(y, (n, c) + ones if data_format == "channels_first" else (n,) + ones + (c,))


def pad(x, pad_width, value=0):
    """Pad every axis by its (before, after) pair (or one int for all) with ``value``."""
    return Pad(pad_width, value)(x)


def crop(x, cropping):
    """Remove (before, after) cells from every axis (the adjoint of ``pad``)."""
    pairs = _pairs(cropping, x.shape, "crop")
    if any(lo + hi >= s for (lo, hi), s in zip(pairs, x.shape)):
        raise ShapeError(f"crop: cropping {cropping!r} leaves nothing of shape {tuple(x.shape)}.")
    return getitem(x, tuple(slice(lo, s - hi) for (lo, hi), s in zip(pairs, x.shape)))


def upsample_nearest(x, size=2, data_format="channels_last"):
    """Nearest-neighbour upsampling of channels_last ``x`` by an int factor per spatial axis."""
    x = to_channels_last(x, data_format, "upsample_nearest")
    return from_channels_last(UpsampleNearest(size)(x), data_format)


# ---------------------------------------------------------------- readable twins
def _window_slices(x, pool_size, strides, padding, value, where):
    g = _pool_geometry(x, pool_size, strides, padding, where)
    xpad = pad(x, ((0, 0),) + g.pads + ((0, 0),), value)
    return g, [getitem(xpad, key) for _, key in kernel_offsets(g)]


def max_pool_simple(x, pool_size, strides=None, padding="valid"):
    """The readable twin of ``max_pool``: stack the strided slices, arg-max over them."""
    xp = backend.get_array_module(x.data if hasattr(x, "data") else x)
    _, slices = _window_slices(x, pool_size, strides, padding, _lowest(x.dtype, xp), "max_pool_simple")
    return argmax_reduce(stack(slices, axis=-2), axis=-2)


def avg_pool_simple(x, pool_size, strides=None, padding="valid"):
    """The readable twin of ``avg_pool``: sum the strided slices, divide by the real-cell count."""
    xp = backend.get_array_module(x.data if hasattr(x, "data") else x)
    g, slices = _window_slices(x, pool_size, strides, padding, 0, "avg_pool_simple")
    total = slices[0]
    for s in slices[1:]:
        total = add(total, s)
    return div(total, _window_counts(g, x.dtype, xp))
