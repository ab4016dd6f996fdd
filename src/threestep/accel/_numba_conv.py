"""The Numba kernel behind ``accel.conv_kernels`` (imported only on first use, like
``_numba_kernels``, whose compile options it shares)."""
from ._numba_kernels import _jit


@_jit
def col2im_add(rows, gx, N, PH, PW, OH, OW, KH, KW, C, sh, sw, dh, dw):
    """gx (N, PH, PW, C) += every window's gradient rows (N, OH, OW, KH, KW, C), each added to
    the input cell it came from (a 1-D convolution as PH = OH = KH = 1). Flat float32 arrays.
    With dw = 1 a window row's KW cells are one run of KW * C floats in both arrays: one
    unit-stride loop LLVM vectorises, where a loop of C (25 channels) per cell ran 4x slower."""
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
