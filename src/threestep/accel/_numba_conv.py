"""The Numba kernels behind ``accel.conv_kernels`` (imported only on first use, like
``_numba_kernels``, whose compile options and pooling kernel they share)."""
import numpy as np

from ._numba_kernels import _f, _jit, _max_pool2x2, max_pool2d, max_pool2d_grad


@_jit
def col2im_add(rows, gx, N, PH, PW, OH, OW, KH, KW, C, sh, sw, dh, dw):
    """gx (N, PH, PW, C) += every window's gradient rows (N, OH, OW, KH, KW, C), each added to
    the input cell it came from (a 1-D convolution as PH = OH = KH = 1). Flat float32 arrays.
    With dw = 1 a window row's KW cells are one run of KW * C floats in both arrays: one
    unit-stride loop LLVM vectorises, where a short loop of C per cell stayed far slower
    (benchmarks/RESULTS.md)."""
    run = KW * C
    r = 0
    for n in range(N):
        for i in range(OH):
            for j in range(OW):
                for a in range(KH):
                    base = ((n * PH + i * sh + a * dh) * PW + j * sw) * C
                    if dw == 1:
                        dst, src = gx[base:base + run], rows[r:r + run]
                        for t in range(run):
                            dst[t] += src[t]
                    else:
                        for b in range(KW):
                            o, s = base + b * dw * C, r + b * C
                            dst, src = gx[o:o + C], rows[s:s + C]
                            for c in range(C):
                                dst[c] += src[c]
                    r += run


@_jit
def _patches_rows(x, cols, s, e, PH, PW, C, OH, OW, KH, KW, sh, sw, dh, dw, ones):
    """Images s..e of the padded x as patch rows (one per output position, KH * KW * C floats
    and the 1 of the bias where ``ones``): runs of KW * C floats copied per kernel row."""
    run = KW * C
    K = KH * run + ones
    o = 0
    for n in range(s, e):
        for i in range(OH):
            for j in range(OW):
                for a in range(KH):
                    base = ((n * PH + i * sh + a * dh) * PW + j * sw) * C
                    if dw == 1:
                        dst, src = cols[o + a * run:o + a * run + run], x[base:base + run]
                        for t in range(run):
                            dst[t] = src[t]
                    else:
                        for b in range(KW):
                            at, d = base + b * dw * C, o + a * run + b * C
                            dst, src = cols[d:d + C], x[at:at + C]
                            for c in range(C):
                                dst[c] = src[c]
                if ones:
                    cols[o + K - 1] = 1
                o += K


@_jit
def _patches_offsets(x, cols, s, e, PH, PW, OH, OW, KH, KW, sh, sw, dh, dw, ones):
    """Images s..e of a one-channel padded x as kernel-offset rows: row (a, b) holds the input
    cell each output position sees at kernel offset (a, b), a row of output positions copied
    per input row (the patches transposed: K x M, then a row of ones where ``ones``)."""
    m = (e - s) * OH * OW
    for a in range(KH):
        for b in range(KW):
            row = cols[(a * KW + b) * m:(a * KW + b + 1) * m]
            o = 0
            for n in range(s, e):
                for i in range(OH):
                    base = (n * PH + i * sh + a * dh) * PW + b * dw
                    dst = row[o:o + OW]
                    if sw == 1:
                        src = x[base:base + OW]
                        for j in range(OW):
                            dst[j] = src[j]
                    else:
                        for j in range(OW):
                            dst[j] = x[base + j * sw]
                    o += OW
    if ones:
        last = cols[KH * KW * m:(KH * KW + 1) * m]
        for q in range(m):
            last[q] = 1


@_jit
def conv_pool_infer(gemm, x, wb, y, N, PH, PW, C, OH, OW, KH, KW, sh, sw, dh, dw, F, ones,
                    QH, QW, qkh, qkw, qsh, qsw, relu, chunk, cols, z):
    """y (N, QH, QW, F) = max_pool(act(conv(x) + b)) of the padded x (N, PH, PW, C), a few images
    (``chunk``) at a time, all in one call without the GIL: their patches into ``cols``, one GEMM
    through ``gemm`` (NumPy's OpenBLAS sgemm, addresses as integers) against ``wb`` (the kernel
    matrix, with the bias as its last row where ``ones``) into ``z``, then the pooling into
    their rows of y and the ReLU (``relu``) on the pooled values. ``cols`` and ``z`` are sized
    for ``chunk`` images, small enough to stay in the core's cache between the three passes.
    A one-channel input's patches are built transposed, a row per kernel offset
    (``_patches_offsets``): rows of KW floats per window are a slow copy, rows of output
    positions a fast one, and the GEMM reads the transpose for less than that difference."""
    K = KH * KW * C + ones
    P = OH * OW
    none = np.empty(0, np.uint8)
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        m = (e - s) * P
        if C == 1:
            _patches_offsets(x, cols, s, e, PH, PW, OH, OW, KH, KW, sh, sw, dh, dw, ones)
            gemm(101, 112, 111, m, F, K, _f(1), cols.ctypes.data, m, wb.ctypes.data, F, _f(0), z.ctypes.data, F)
        else:
            _patches_rows(x, cols, s, e, PH, PW, C, OH, OW, KH, KW, sh, sw, dh, dw, ones)
            gemm(101, 111, 111, m, F, K, _f(1), cols.ctypes.data, K, wb.ctypes.data, F, _f(0), z.ctypes.data, F)
        out = y[s * QH * QW * F:e * QH * QW * F]
        if qkh == 2 and qkw == 2:  # the ReLU in the same pass
            _max_pool2x2(z, OH, OW, out, none, e - s, QH, QW, F, qsh, qsw, False, relu)
        else:
            max_pool2d(z, OH, OW, out, none, e - s, QH, QW, F, qkh, qkw, qsh, qsw, False)
            if relu:
                for t in range(out.size):
                    v = out[t]
                    out[t] = _f(0) if v <= 0 else v


@_jit
def pool_conv_grads(gemm, gy, idx, cols, kmajor, M, gwt, gz, N, OH, OW, F, QH, QW, qkh, qkw, qsh, qsw,
                    overlap, zero, chunk, want_x, w_t, rows, gx, PH, PW, C, KH, KW, sh, sw, dh, dw):
    """A convolution followed by max pooling, backward, a few images (``chunk``) at a time from
    the pooled gradient gy (N, QH, QW, F) and the pooling's arg-max ``idx``: their output
    gradient scattered into the scratch ``gz`` (``max_pool2d_grad``; zeroed first with ``zero``);
    one GEMM gz^T @ patches added into gwt (F, K), dL/d(kernel matrix)^T; with ``want_x``, one
    GEMM gz @ w_t (F, KH*KW*C) into the scratch ``rows`` and ``col2im_add`` of them into gx
    (N, PH, PW, C), the padded
    input's gradient (zeros on entry). ``cols``: the M x K patches, row-major, or (``kmajor``) the
    K x M buffer of a one-channel input."""
    P = OH * OW
    K = gwt.size // F
    Kc = KH * KW * C
    per = QH * QW * F
    for s in range(0, N, chunk):
        e = min(N, s + chunk)
        m = (e - s) * P
        part = gz[:m * F]
        if zero:  # windows overlapping or leaving cells out: the scatter does not write every cell
            part[:] = 0
        max_pool2d_grad(gy[s * per:e * per], idx[s * per:e * per], part, OH, OW, e - s, QH, QW, F, qkh, qkw,
                        qsh, qsw, overlap)
        beta = _f(0) if s == 0 else _f(1)
        if kmajor:  # patches^T is the buffer's column block: B = (K x m) at column s * P, leading dim M
            gemm(101, 112, 112, F, K, m, _f(1), gz.ctypes.data, F, cols.ctypes.data + 4 * s * P, M, beta,
                 gwt.ctypes.data, K)
        else:
            gemm(101, 112, 111, F, K, m, _f(1), gz.ctypes.data, F, cols.ctypes.data + 4 * s * P * K, K, beta,
                 gwt.ctypes.data, K)
        if want_x:
            gemm(101, 111, 111, m, Kc, F, _f(1), gz.ctypes.data, F, w_t.ctypes.data, Kc, _f(0), rows.ctypes.data, Kc)
            col2im_add(rows[:m * Kc], gx[s * PH * PW * C:e * PH * PW * C], e - s, PH, PW, OH, OW, KH, KW, C,
                       sh, sw, dh, dw)
