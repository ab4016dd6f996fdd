"""Convolution kernels for float32 NumPy arrays and 1-D or 2-D kernels: the input gradient
as one GEMM per chunk of samples and a Numba scatter-add (``conv_input_grad``), and test mode's
convolution + max pooling a few images at a time in one Numba call (``conv_pool_infer``).

Why: dL/dx of a convolution is, for every window, dL/dy @ W^T added back onto the window's
input cells. NumPy has no fast way to add overlapping windows: ``ops.conv`` ran one GEMM per
kernel offset and added each into its strided block of dL/dx (a strided read-modify-write of
the whole input gradient per offset). One GEMM against all offsets at once (N = prod(kernel)
* C_in columns, a better shape for the BLAS) followed by one pass that adds each window's row
into the input cells runs faster (benchmarks/RESULTS.md, "Measurements behind the code"). The
chunks bound the windows' temporary (prod(kernel) * C_in floats per output position) to
``CHUNK_BYTES``.

Sums come in another order than per offset (window by window instead of offset by offset), so
results agree with the NumPy path to float rounding. None where not served: the caller's NumPy
code runs (float64, CuPy, 3-D kernels, Numba missing or off).
"""
import math

import numpy as np

from . import blas, kernels

CHUNK_BYTES = 16 << 20
CACHE_BYTES = 512 << 10  # patches plus GEMM output per chunk of ``conv_pool_infer``: within a core's L2 cache
GRAD_CACHE_BYTES = 256 << 10  # gradients per chunk of ``pool_conv_grads`` (sizes compared: RESULTS.md)
_conv = []  # [the kernel module], once imported


def _kernels():
    """``_numba_conv``, imported on first use (importing Numba's kernels costs time at startup)."""
    if not _conv:
        from . import _numba_conv  # noqa: PLC0415

        _conv.append(_numba_conv)
    return _conv[0]


def conv_input_grad(gy2, W, g, out_shape):
    """dL/dx of the padded input (N, *padded, C_in) from gy2 (N * prod(out), C_out), W (*kernel,
    C_in, C_out) and the convolution's ``im2col.Geometry`` ``g``; None where not served."""
    if len(g.kernel) > 2 or not kernels.enabled(gy2, W) or not gy2.flags.c_contiguous:
        return None
    c_in, c_out = W.shape[-2], W.shape[-1]
    k = math.prod(g.kernel)
    w_t = np.ascontiguousarray(W.reshape(k * c_in, c_out).T)  # (C_out, offsets * C_in)
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(g.in_sizes, g.pads))
    n = out_shape[0]
    gx = np.zeros((n,) + padded + (c_in,), np.float32)
    two = lambda t: (1,) + tuple(t) if len(t) == 1 else tuple(t)  # noqa: E731  (1-D as H = 1)
    (ph, pw), (oh, ow), (kh, kw) = two(padded), two(g.out_sizes), two(g.kernel)
    (sh, sw), (dh, dw) = two(g.strides), two(g.dilation)
    per = oh * ow
    chunk = max(1, min(n, CHUNK_BYTES // max(per * k * c_in * 4, 1)))
    rows = np.empty((chunk * per, k * c_in), np.float32)
    for s in range(0, n, chunk):
        e = min(n, s + chunk)
        part = rows[:(e - s) * per]
        np.matmul(gy2[s * per:e * per], w_t, out=part)
        _kernels().col2im_add(part.reshape(-1), gx[s:e].reshape(-1), e - s, ph, pw, oh, ow, kh, kw, c_in,
                            sh, sw, dh, dw)
    return gx


def _two(t):
    """A 1-D geometry's tuple as 2-D (H = 1)."""
    return (1,) + tuple(t) if len(t) == 1 else tuple(t)


def conv_pool_infer(xpad, weights, g, gp, relu, ones):
    """Test mode's max_pool(act(conv(x) + b)) in one Numba call (``_numba_conv.conv_pool_infer``):
    ``xpad`` the padded float32 input (N, *padded, C_in), ``weights`` the (K [+ 1], C_out) kernel
    matrix (the bias as its last row where ``ones``), ``g``/``gp`` the convolution's and the
    pooling's geometry (1-D or 2-D, 'valid' pooling). Returns y, or None where not served (the
    caller's chunked NumPy path runs: no Numba, no sgemm pointer, not float32 C-contiguous).

    Why: the chunked NumPy path hands each chunk's GEMM output (the convolution's output, four
    times the pooled one for 2x2 windows) to the pooling kernel through memory; a few images at a time the patches,
    the GEMM's output and the pooling stay in the core's cache, and the loop never takes the
    GIL between chunks (figures: benchmarks/RESULTS.md, "Measurements behind the code")."""
    gemm = blas.gemm_pointer() if kernels.available() else None
    if (gemm is None or len(g.kernel) > 2 or not kernels.enabled(xpad, weights) or not xpad.flags.c_contiguous
            or not weights.flags.c_contiguous):
        return None
    n, c_in, c_out = xpad.shape[0], xpad.shape[-1], weights.shape[1]
    (ph, pw), (oh, ow), (kh, kw) = _two(xpad.shape[1:-1]), _two(g.out_sizes), _two(g.kernel)
    (sh, sw), (dh, dw) = _two(g.strides), _two(g.dilation)
    (qh, qw), (qkh, qkw), (qsh, qsw) = _two(gp.out_sizes), _two(gp.kernel), _two(gp.strides)
    k = weights.shape[0]
    per_image = oh * ow * (k + c_out) * 4
    chunk = max(1, min(n, CACHE_BYTES // per_image))
    cols = np.empty(chunk * oh * ow * k, np.float32)
    z = np.empty(chunk * oh * ow * c_out, np.float32)
    y = np.empty((n,) + tuple(gp.out_sizes) + (c_out,), np.float32)
    _kernels().conv_pool_infer(gemm, xpad.reshape(-1), weights, y.reshape(-1), n, ph, pw, c_in, oh, ow, kh, kw, sh, sw,
                             dh, dw, c_out, int(ones), qh, qw, qkh, qkw, qsh, qsw, bool(relu), chunk, cols, z)
    return y


def pool_conv_grads(gy, idx, cols, W, g, gp, n, want_x, zero=True, gx=None):
    """(dL/d(kernel matrix) (K [+ 1], C_out), dL/dx of the padded input or None) of a convolution
    followed by max pooling (training's ``ops.conv_pool.ConvMaxPool``), from the pooled gradient
    ``gy`` (already through the ReLU's derivative), the pooling's arg-max ``idx``, the kept patches
    ``cols`` (n * positions rows) and the kernel ``W``, a few images at a time in one Numba call
    (``_numba_conv.pool_conv_grads``); None where not served. ``zero``: the windows overlap or
    leave cells out, so each chunk's output gradient starts from zeros (``ops.pool``'s rule).
    ``gx``: where to add dL/dx (C-contiguous float32 zeros of the padded input's shape: a block of
    images' rows of the whole batch's gradient), else a new array.

    Why: the output gradient (a first layer's is its largest array) was written by the pooling's
    backward and read back by the GEMMs, and the windows' input gradients (prod(kernel) times the
    input's size) written by one GEMM and read back by the scatter-add; a few images at a time
    both stay in cache."""
    gemm = blas.gemm_pointer() if kernels.available() else None
    if (gemm is None or len(g.kernel) > 2 or not kernels.enabled(gy, cols, W) or type(idx) is not np.ndarray
            or not gy.flags.c_contiguous or not idx.flags.c_contiguous or idx.shape != gy.shape):
        return None
    if cols.flags.c_contiguous:
        base, kmajor = cols, False
    elif cols.T.flags.c_contiguous:
        base, kmajor = cols.T, True
    else:
        return None
    (oh, ow), (qh, qw) = _two(g.out_sizes), _two(gp.out_sizes)
    (qkh, qkw), (qsh, qsw) = _two(gp.kernel), _two(gp.strides)
    c_out, k, m = gy.shape[-1], cols.shape[1], cols.shape[0]
    c_in, kc = W.shape[-2], math.prod(W.shape[:-1])
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(g.in_sizes, g.pads))
    per_image = oh * ow * (c_out + (kc if want_x else 0)) * 4
    chunk = max(1, min(n, GRAD_CACHE_BYTES // per_image))
    gz = np.empty(chunk * oh * ow * c_out, np.float32)
    gwt = np.empty((c_out, k), np.float32)
    if want_x:
        w_t = np.ascontiguousarray(W.reshape(kc, c_out).T)
        rows = np.empty(chunk * oh * ow * kc, np.float32)
        shape = (n,) + padded + (c_in,)
        if gx is None:
            gx = np.zeros(shape, np.float32)
        elif gx.shape != shape or gx.dtype != np.float32 or not gx.flags.c_contiguous:
            return None
    else:
        w_t = rows = gx = np.empty(0, np.float32)
    (ph, pw), (kh, kw) = _two(padded), _two(g.kernel)
    (sh, sw), (dh, dw) = _two(g.strides), _two(g.dilation)
    overlap = any(s < q for s, q in zip(gp.strides, gp.kernel))
    _kernels().pool_conv_grads(gemm, gy.reshape(-1), idx.reshape(-1), base, kmajor, m, gwt, gz, n, oh, ow, c_out,
                               qh, qw, qkh, qkw, qsh, qsw, overlap, zero or overlap, chunk, want_x, w_t, rows,
                               gx.reshape(-1), ph, pw, c_in, kh, kw, sh, sw, dh, dw)
    return np.ascontiguousarray(gwt.T), (gx if want_x else None)


def warm_up():
    """Compile (or load from Numba's cache) this module's kernels, as ``kernels.warm_up`` does."""
    from types import SimpleNamespace  # noqa: PLC0415

    f32, z = np.float32, np.zeros
    g = SimpleNamespace(in_sizes=(3,), kernel=(2,), strides=(1,), dilation=(1,), pads=((0, 0),), out_sizes=(2,))
    gp = SimpleNamespace(kernel=(2,), strides=(2,), out_sizes=(1,))  # an im2col.Geometry's fields
    conv_input_grad(z((2, 2), f32), z((2, 1, 2), f32), g, (1, 2))
    conv_pool_infer(z((1, 3, 1), f32), z((3, 2), f32), g, gp, True, True)
    for cols in (z((2, 3), f32), z((3, 2), f32).T):  # row-major patches, and a one-channel input's
        for want_x in (False, True):
            pool_conv_grads(z((1, 1, 2), f32), z((1, 1, 2), np.uint8), cols, z((2, 1, 2), f32), g, gp, 1, want_x, True)
