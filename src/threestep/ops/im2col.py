"""Sliding-window geometry and patch extraction, shared by convolution and pooling.

Data is channels_last: ``x`` is (N, *spatial, C) with 1 or 2 (or more) spatial axes.
A ``Geometry`` holds what one windowed op needs: kernel, strides, dilation, the (lo, hi)
padding per spatial axis and the output size. Three array helpers work on it:

    view = windows(x, g)          # (N, *out, *kernel, C) strided view of the padded x (no copy)
    cols = patches(x, g)          # the same as a C-contiguous copy (one strided gather)
    gx = col2im(gcols, g)         # scatter-add (*kernel, N, *out, C) back to x's shape
    gx = col2im_gather(rows, g, n) # the same sum as one gather, for the GPU

``pad_spatial``/``unpad`` add and remove the padding; ``kernel_offsets`` names the strided
block of the padded input that each kernel offset sees (max pooling works on those blocks).

``patches`` is the im2col of the lecture: ``cols.reshape(N*OH*OW, KH*KW*C)`` is the left
operand of the convolution's single GEMM. ``col2im`` is its adjoint: one vectorised
strided add per kernel offset (KH*KW adds), overlapping windows adding up, then the padding
cropped off. On a GPU each of those adds is a kernel launch, so there ``col2im_gather`` reads
every input cell's window gradients through a cached index instead: one gather and one sum.
"""
import itertools
import math
from collections import OrderedDict
from typing import NamedTuple

from .. import backend
from ..errors import ConfigError, ShapeError
from .shape import transpose


def normalize_tuple(value, n, name):
    """``value`` (an int or a sequence of ``n`` ints, each >= 1) as a tuple of ``n`` ints."""
    values = (value,) * n if isinstance(value, int) else tuple(value)
    if len(values) != n or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ConfigError(f"{name} must be a positive int or a tuple of {n} positive ints. Received: {name}={value!r}.")
    return values


class Geometry(NamedTuple):
    in_sizes: tuple  # spatial sizes of the unpadded input
    kernel: tuple
    strides: tuple
    dilation: tuple
    pads: tuple  # ((lo, hi), ...) per spatial axis
    out_sizes: tuple

    @property
    def padded(self):
        return any(lo or hi for lo, hi in self.pads)

    @property
    def padded_sizes(self):
        """Spatial sizes of the zero-padded input."""
        return tuple(s + lo + hi for s, (lo, hi) in zip(self.in_sizes, self.pads))


def _pads(padding, n, in_sizes, spans, strides):
    """(lo, hi) zero padding per spatial axis for 'valid' | 'same' | 'causal' | ints | pairs."""
    if isinstance(padding, str):
        mode = padding.lower()
        if mode == "valid":
            return ((0, 0),) * n
        if mode == "same":  # TensorFlow's rule: the odd cell of padding goes to the end
            totals = [max((-(-size // s) - 1) * s + span - size, 0) for size, span, s in zip(in_sizes, spans, strides)]
            return tuple((t // 2, t - t // 2) for t in totals)
        if mode == "causal" and n == 1:  # Keras Conv1D: output t sees inputs <= t only
            return ((spans[0] - 1, 0),)
        causal = ", 'causal'" if n == 1 else ""
        raise ConfigError(f"padding must be 'valid', 'same'{causal} or ints. "
                          f"Received: padding={padding!r}.")
    items = (padding,) * n if isinstance(padding, int) else tuple(padding)
    pairs = tuple((p, p) if isinstance(p, int) else tuple(p) for p in items)
    if len(pairs) != n or not all(len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p) for p in pairs):
        raise ConfigError(f"explicit padding must be an int, {n} ints or {n} (lo, hi) pairs of non-negative ints. "
                          f"Received: padding={padding!r}.")
    return pairs


def geometry(x_shape, kernel, strides=1, dilation=1, padding="valid", where="conv"):
    """The ``Geometry`` of sliding ``kernel`` over channels_last data of shape ``x_shape``."""
    n = len(kernel)
    if len(x_shape) != n + 2:
        raise ShapeError(f"{where}: a {n}-D window needs input of shape (batch, {n} spatial axes, channels); "
                         f"received shape {tuple(x_shape)}.")
    strides = normalize_tuple(strides, n, "strides")
    dilation = normalize_tuple(dilation, n, "dilation_rate")
    in_sizes = tuple(x_shape[1:-1])
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    pads = _pads(padding, n, in_sizes, spans, strides)
    out_sizes = tuple((size + lo + hi - span) // s + 1
                      for size, (lo, hi), span, s in zip(in_sizes, pads, spans, strides))
    if min(out_sizes) < 1:
        raise ShapeError(f"{where}: window {tuple(kernel)} (dilation {dilation}) does not fit the input's "
                         f"spatial size {in_sizes} with padding {padding!r}; use padding='same' or a larger input.")
    return Geometry(in_sizes, tuple(kernel), strides, dilation, pads, out_sizes)


def pad_spatial(x, pads, value=0):
    """``x`` (N, *spatial, C) padded with ``value``: one allocation and one copy (or ``x`` itself)."""
    if not any(lo or hi for lo, hi in pads):
        return x
    xp = backend.get_array_module(x)
    shape = (x.shape[0],) + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[1:-1], pads)) + (x.shape[-1],)
    out = xp.full(shape, value, dtype=x.dtype)
    out[_inner(pads, x.shape[1:-1])] = x
    return out


def _inner(pads, sizes):
    """The index of the unpadded region inside a padded array."""
    return (slice(None),) + tuple(slice(lo, lo + s) for (lo, _), s in zip(pads, sizes)) + (slice(None),)


def windows(x, g, value=0, kernel_major=False):
    """Strided view of the windows of ``x`` padded with ``value``: (N, *out, *kernel, C), or
    (*kernel, N, *out, C) with ``kernel_major``. No copy beyond the padding; windows overlap,
    so never write through it."""
    xp = backend.get_array_module(x)
    xpad = pad_spatial(x, g.pads, value)
    st = xpad.strides
    n, spatial = len(g.kernel), st[1:-1]
    shape = (xpad.shape[0],) + g.out_sizes + g.kernel + (xpad.shape[-1],)
    strides = ((st[0],) + tuple(a * s for a, s in zip(spatial, g.strides))
               + tuple(a * d for a, d in zip(spatial, g.dilation)) + (st[-1],))
    view = xp.lib.stride_tricks.as_strided(xpad, shape, strides)
    if kernel_major:
        view = view.transpose(tuple(range(1 + n, 1 + 2 * n)) + tuple(range(1 + n)) + (1 + 2 * n,))
    return view


def patches(x, g, value=0, kernel_major=False):
    """im2col: ``windows`` as a C-contiguous copy (the padded copy is dropped once it exists).

    One strided gather: profiled faster than a loop over kernel offsets for C >= ~8, and a
    single kernel on CuPy.
    """
    xp = backend.get_array_module(x)
    return xp.ascontiguousarray(windows(x, g, value, kernel_major))


def col2im(gcols, g):
    """Adjoint of ``patches``: sum window gradients ``gcols`` (*kernel, N, *out, C) into (N, *in, C).

    ``gcols`` may be any view (e.g. a broadcast or a moveaxis of (N, *out, *kernel, C));
    its fastest layout is kernel-major, where every added block is contiguous.
    """
    xp = backend.get_array_module(gcols)
    n = len(g.kernel)
    batch, channels = gcols.shape[n], gcols.shape[-1]
    padded = g.padded_sizes
    gx = xp.zeros((batch,) + padded + (channels,), dtype=gcols.dtype)
    for offset, key in kernel_offsets(g):
        gx[key] += gcols[offset]
    return unpad(gx, g)


def col2im_gather(rows, g, batch, per_offset=True):
    """``col2im`` as a gather: gx (N, *in, C) where each input cell sums the rows of its windows.

    ``rows`` is (batch * prod(out) * prod(kernel) + 1, C): the window gradients in patch order
    ((n, *out, *kernel) flattened) and one last row of zeros, which the index names where a
    kernel offset of an input cell falls in the padding or between strides. With
    ``per_offset=False`` the rows are (batch * prod(out) + 1, C), one per window, shared by all
    its cells (average pooling). Two kernels on CuPy (the gather and the sum over the offsets)
    instead of one strided add per kernel offset; no padded buffer, so nothing to crop. The
    index is built once per geometry, batch and device (a dozen small kernels) and cached.
    """
    xp = backend.get_array_module(rows)
    key = (g, batch, per_offset, xp.__name__, str(getattr(rows, "device", "")))
    index = _SOURCES.get(key)
    if index is None:
        index = _SOURCES[key] = window_sources(g, batch, per_offset, xp)
        if len(_SOURCES) > _SOURCES_KEPT:
            _SOURCES.popitem(last=False)
    else:
        _SOURCES.move_to_end(key)
    return rows[index].sum(axis=-2)


_SOURCES = OrderedDict()  # (geometry, batch, per_offset, array module, device) -> index, least recent first
_SOURCES_KEPT = 16


def window_sources(g, batch, per_offset, xp):
    """The index of ``col2im_gather`` as an ``xp`` array: (batch, *in, prod(kernel)) row numbers.

    Input cell p of axis i sees kernel offset k from output o = (p + lo - k * dilation) / stride
    when that division is exact and 0 <= o < out; otherwise the entry names the zero row.
    """
    n, kern = len(g.kernel), math.prod(g.kernel)
    out_flat, k_flat, valid = 0, 0, True
    for i, (size, k, d, s, (lo, _), out) in enumerate(zip(g.in_sizes, g.kernel, g.dilation, g.strides,
                                                          g.pads, g.out_sizes)):
        num = xp.arange(size)[:, None] + lo - xp.arange(k)[None, :] * d  # (input cell, kernel offset)
        o = num // s
        ok = (num % s == 0) & (o >= 0) & (o < out)
        shape = [1] * (2 * n)
        shape[i], shape[n + i] = size, k
        out_flat = out_flat * out + xp.where(ok, o, 0).reshape(shape)
        k_flat = k_flat * k + xp.arange(k).reshape(shape[n:])
        valid = valid & ok.reshape(shape)
    per_sample = math.prod(g.out_sizes) * (kern if per_offset else 1)
    zero = batch * per_sample
    dtype = xp.int32 if zero < 2**31 else xp.int64
    cells = (1, math.prod(g.in_sizes), kern)
    local = xp.broadcast_to(out_flat * kern + k_flat if per_offset else out_flat, g.in_sizes + g.kernel)
    index = xp.arange(batch, dtype=dtype)[:, None, None] * dtype(per_sample) + local.reshape(cells).astype(dtype)
    index = xp.where(xp.broadcast_to(valid, g.in_sizes + g.kernel).reshape(cells), index, dtype(zero))
    return index.reshape((batch,) + g.in_sizes + (kern,))


def unpad(gx, g):
    """A gradient of the padded input (N, *padded, C) cropped to the input: a contiguous copy
    (or ``gx`` itself when there is no padding)."""
    if not g.padded:
        return gx
    return backend.get_array_module(gx).ascontiguousarray(gx[_inner(g.pads, g.in_sizes)])


def kernel_offsets(g):
    """Every kernel offset with the index of the strided block of the padded input it sees."""
    for offset in itertools.product(*map(range, g.kernel)):
        yield offset, (slice(None),) + tuple(
            slice(o * d, o * d + s * (m - 1) + 1, s) for o, d, s, m in zip(offset, g.dilation, g.strides, g.out_sizes))


def to_channels_last(x, data_format, where):
    """(N, C, *spatial) -> (N, *spatial, C) for 'channels_first' (a differentiable transpose)."""
    if data_format == "channels_last":
        return x
    if data_format != "channels_first":
        raise ConfigError(f"{where}: data_format must be 'channels_last' or 'channels_first'. "
                          f"Received: data_format={data_format!r}.")
    return transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,))


def from_channels_last(y, data_format):
    """Undo ``to_channels_last`` on an op's output."""
    if data_format == "channels_last":
        return y
    return transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
