"""A convolution's input gradient on the CPU as one GEMM per chunk of samples and a Numba
scatter-add (``col2im_add``), for float32 NumPy arrays and 1-D or 2-D kernels.

Why: dL/dx of a convolution is, for every window, dL/dy @ W^T added back onto the window's
input cells. NumPy has no fast way to add overlapping windows: ``ops.conv`` ran one GEMM per
kernel offset and added each into its strided block of dL/dx (a strided read-modify-write of
the whole input gradient per offset). One GEMM against all offsets at once (N = prod(kernel)
* C_in columns, a better shape for the BLAS) followed by one pass that adds each window's row
into the input cells ran the lecture CNN's second layer 2.3-2.6x faster (benchmarks/RESULTS.md,
"Measurements behind the code"). The chunks bound the windows' temporary (the lecture CNN's
second layer: 109 kB per sample) to ``CHUNK_BYTES``.

Sums come in another order than per offset (window by window instead of offset by offset), so
results agree with the NumPy path to float rounding. None where not served: the caller's NumPy
code runs (float64, CuPy, 3-D kernels, Numba missing or off).
"""
import math

import numpy as np

from . import kernels

CHUNK_BYTES = 16 << 20
_conv = []  # [the kernel module], once imported


def conv_input_grad(gy2, W, g, out_shape):
    """dL/dx of the padded input (N, *padded, C_in) from gy2 (N * prod(out), C_out), W (*kernel,
    C_in, C_out) and the convolution's ``im2col.Geometry`` ``g``; None where not served."""
    if len(g.kernel) > 2 or not kernels.enabled(gy2, W) or not gy2.flags.c_contiguous:
        return None
    if not _conv:
        from . import _numba_conv  # noqa: PLC0415

        _conv.append(_numba_conv)
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
        _conv[0].col2im_add(part.reshape(-1), gx[s:e].reshape(-1), e - s, ph, pw, oh, ow, kh, kw, c_in,
                            sh, sw, dh, dw)
    return gx
