"""The Numba kernels behind ``accel.kernels`` (imported only on first use: importing Numba
costs ~0.5 s, which ``import threestep`` should not pay). See ``kernels`` for why and how."""
import numba
import numpy as np

from ._numba_ftz import ftz_on, restore

# Fast-math without 'nnan'/'ninf': a nan must come out as nan (TerminateOnNaN and
# debug_numerics look for it), as it does from NumPy and PyTorch.
_FAST = {"nsz", "arcp", "contract", "afn", "reassoc"}
_jit = numba.njit(fastmath=_FAST, nogil=True, error_model="numpy", cache=True)
_inline = numba.njit(inline="always", fastmath=_FAST, error_model="numpy", cache=True)
_f = np.float32
# Eigen's generic_fast_tanh_float: odd 13/6 rational function, clamped at +-7.9 (where it reaches 1 - 2.4e-7).
_LIM = _f(7.90531110763549805)
_A = tuple(_f(c) for c in (-2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11,
                           5.12229709037114e-08, 1.48572235717979e-05, 6.37261928875436e-04,
                           4.89352455891786e-03))
_B = tuple(_f(c) for c in (1.19825839466702e-06, 1.18534705686654e-04, 2.26843463243900e-03,
                           4.89352518554385e-03))
_a0, _a1, _a2, _a3, _a4, _a5, _a6 = _A
_b0, _b1, _b2, _b3 = _B
_HALF = _f(0.5)
# The smallest normal float32. Optimizer state that decays geometrically (Adam's m and v, RMSprop's
# average, momentum) where gradients stay at zero sinks below it within a few hundred steps: the
# optimizer kernels run with flush-to-zero on x86 (_numba_ftz says why) and store such a state as 0
# on every machine, as TensorFlow's and XLA's CPU kernels do; a nan stays nan.
_TINY = _f(np.finfo(np.float32).tiny)


@_inline
def _tanh(x):
    x = _LIM if x > _LIM else x  # written so that nan stays nan
    x = -_LIM if x < -_LIM else x
    x2 = x * x
    p = ((((((_a0 * x2 + _a1) * x2 + _a2) * x2 + _a3) * x2 + _a4) * x2 + _a5) * x2 + _a6) * x
    return p / (((_b0 * x2 + _b1) * x2 + _b2) * x2 + _b3)


@_jit
def tanh_rows(A, a0, ars, R, U):
    for r in range(R):
        a = A[a0 + r * ars:a0 + r * ars + U]
        for k in range(U):
            a[k] = _tanh(a[k])


@_jit
def sigmoid_half_rows(A, a0, ars, R, U):
    for r in range(R):
        a = A[a0 + r * ars:a0 + r * ars + U]
        for k in range(U):
            a[k] = _tanh(a[k]) * _HALF + _HALF


@_inline
def _rnn_act(v, relu):
    if relu:
        return _f(0) if v <= 0 else v  # nan stays nan
    return _tanh(v)


@_jit
def rnn_step(h, rec, nxt, relu):
    """A SimpleRNN step: h = act(h + rec) in place (h holds x_t W + b), copied to the next state."""
    for k in range(h.size):
        v = _rnn_act(h[k] + rec[k], relu)
        h[k] = v
        nxt[k] = v


@_inline
def _gates4(A, a0, gs, U):
    """The four gate blocks' rows that start at a0 and lie gs apart: unit-stride slices of A."""
    return A[a0:a0 + U], A[a0 + gs:a0 + gs + U], A[a0 + 2 * gs:a0 + 2 * gs + U], A[a0 + 3 * gs:a0 + 3 * gs + U]


@_inline
def _add_output_grad(h, Go, go0, live, U):
    """h += the output's gradient at this step (a row of Go from go0), where the step is live."""
    if live:
        go = Go[go0:go0 + U]
        for k in range(U):
            h[k] += go[k]


@_inline
def _lstm_rows(G, g0, gs, grs, Cp, cp0, cprs, Cn, cn0, cnrs, TC, tc0, tcrs, H, h0, hrs, R, U):
    for r in range(R):
        i, f, o, g = _gates4(G, g0 + r * grs, gs, U)
        cp = Cp[cp0 + r * cprs:cp0 + r * cprs + U]
        cn = Cn[cn0 + r * cnrs:cn0 + r * cnrs + U]
        tc = TC[tc0 + r * tcrs:tc0 + r * tcrs + U]
        h = H[h0 + r * hrs:h0 + r * hrs + U]
        # one loop per quantity: each is a unit-stride loop that LLVM vectorises
        for k in range(U):
            i[k] = _tanh(i[k]) * _HALF + _HALF
        for k in range(U):
            f[k] = _tanh(f[k]) * _HALF + _HALF
        for k in range(U):
            o[k] = _tanh(o[k]) * _HALF + _HALF
        for k in range(U):
            g[k] = _tanh(g[k])
        for k in range(U):
            cn[k] = f[k] * cp[k] + i[k] * g[k]
        for k in range(U):
            tc[k] = _tanh(cn[k])
        for k in range(U):
            h[k] = o[k] * tc[k]


@_jit
def lstm_step(G, g0, gs, grs, Cp, cp0, cprs, Cn, cn0, cnrs, TC, tc0, tcrs, H, h0, hrs, R, U):
    _lstm_rows(G, g0, gs, grs, Cp, cp0, cprs, Cn, cn0, cnrs, TC, tc0, tcrs, H, h0, hrs, R, U)


@_inline
def _lstm_back_rows(D, d0, gs, drs, G, f0, frs, dh, Go, go0, gors, live, DT, dt0, dtrs, dc, R, U):
    for r in range(R):
        di, df, do, dg = _gates4(D, d0 + r * drs, gs, U)
        f = G[f0 + r * frs:f0 + r * frs + U]
        dt = DT[dt0 + r * dtrs:dt0 + r * dtrs + U]
        h = dh[r * U:(r + 1) * U]
        c = dc[r * U:(r + 1) * U]
        _add_output_grad(h, Go, go0 + r * gors, live, U)
        for k in range(U):
            do[k] *= h[k]
        for k in range(U):
            c[k] = h[k] * dt[k] + c[k]
        for k in range(U):
            di[k] *= c[k]
        for k in range(U):
            df[k] *= c[k]
        for k in range(U):
            dg[k] *= c[k]
        for k in range(U):
            c[k] *= f[k]


@_jit
def lstm_back_step(D, d0, gs, drs, G, f0, frs, dh, Go, go0, gors, live, DT, dt0, dtrs, dc, R, U):
    _lstm_back_rows(D, d0, gs, drs, G, f0, frs, dh, Go, go0, gors, live, DT, dt0, dtrs, dc, R, U)


# ---------------------------------------------------------------- flat elementwise (1-D views)
@_jit
def relu(x, y):
    for k in range(x.size):
        v = x[k]
        y[k] = _f(0) if v <= 0 else v  # nan stays nan


@_jit
def relu_(y):
    """relu in place. Its own kernel: passed the same array twice, ``relu`` cannot be vectorised
    (the compiler must assume the two overlap), and ran 2-3x slower."""
    for k in range(y.size):
        v = y[k]
        y[k] = _f(0) if v <= 0 else v  # nan stays nan


@_jit
def relu_grad(gy, y, out):
    for k in range(gy.size):
        out[k] = _f(0) if y[k] <= 0 else gy[k]  # PyTorch's threshold_backward


@_jit
def relu_grad_bias(gy, y, out, gb, U):
    """relu_grad over rows of U, adding each row of the result into gb (the bias gradient) in the
    same pass, row after row as NumPy's sum over axis 0 does."""
    for r in range(y.size // U):
        o = r * U
        for k in range(U):
            out[o + k] = _f(0) if y[o + k] <= 0 else gy[o + k]
        for k in range(U):
            gb[k] += out[o + k]


@_jit
def bias_relu(y, b, U):
    """y = max(y + b, 0) in place, over rows of U (b broadcast over rows); nan stays nan."""
    for r in range(y.size // U):
        row = y[r * U:r * U + U]
        for k in range(U):
            v = row[k] + b[k]
            row[k] = _f(0) if v <= 0 else v


@_jit
def all_finite(x):
    """Whether no element is nan or +-inf: x * 0 is nan exactly for those (no nnan/ninf fast-math),
    summed in blocks, with an early exit per block. The blocks have a fixed length (the tail is
    its own loop): LLVM vectorises that loop; with the length min(n, s + 4096) it did not, and
    the scan ran at 12 instead of ~90 GB/s (1.56 against 0.21 ms on 6,000 x 784 floats)."""
    n = x.size
    blocks = n // 4096
    for b in range(blocks):
        block = x[b * 4096:(b + 1) * 4096]
        acc = _f(0)
        for k in range(4096):
            acc += block[k] * _f(0)
        if acc != acc:
            return False
    acc = _f(0)
    for k in range(blocks * 4096, n):
        acc += x[k] * _f(0)
    return acc == acc


@_jit
def sgd(p, g, lr):
    for k in range(p.size):
        p[k] -= lr * g[k]


@_jit
def sgd_momentum(p, g, v, lr, momentum, nesterov):
    old = ftz_on()
    if nesterov:
        for k in range(p.size):
            vk = momentum * v[k] - lr * g[k]
            vk = _f(0) if abs(vk) < _TINY else vk
            v[k] = vk
            p[k] += momentum * vk - lr * g[k]
    else:
        for k in range(p.size):
            vk = momentum * v[k] - lr * g[k]
            vk = _f(0) if abs(vk) < _TINY else vk
            v[k] = vk
            p[k] += vk
    restore(old)


@_jit
def flush(v):
    """v's subnormal entries set to 0 (no flush-to-zero mode here: under it they would compare as 0)."""
    for k in range(v.size):
        vk = v[k]
        if vk != 0 and abs(vk) < _TINY:
            v[k] = _f(0)


@_jit
def add_flush(p, v):
    """p += v, and v's subnormal entries set to 0 (momentum's velocity after its GEMM)."""
    old = ftz_on()
    for k in range(p.size):
        vk = v[k]
        vk = _f(0) if abs(vk) < _TINY else vk  # (a subnormal v[k] reads as 0 under denormals-are-zero)
        v[k] = vk
        p[k] += vk
    restore(old)


# ---------------------------------------------------------------- softmax cross-entropy (rows of logits)
@_jit
def softmax_ce(z, labels, p, loss):
    """Per row: p = softmax(z), loss = log(sum(exp(z - max))) - (z[label] - max). False (nothing
    trusted) when a label is outside [0, C): the NumPy code then raises its own error."""
    N, C = z.shape
    for n in range(N):
        if labels[n] < 0 or labels[n] >= C:
            return False
    for n in range(N):
        row, pr = z[n], p[n]
        m = row[0]
        for k in range(1, C):
            m = row[k] if row[k] > m else m  # a nan in the row makes its loss nan below
        s = 0.0  # float64: a long row of float32 terms keeps its precision
        for k in range(C):
            e = np.exp(row[k] - m)
            pr[k] = e
            s += e
        inv = _f(1.0 / s)
        for k in range(C):
            pr[k] *= inv
        loss[n] = _f(np.log(s)) - (row[labels[n]] - m)
    return True


@_jit
def softmax_ce_grad(p, labels, gy, g):
    """g = (p - onehot(label)) * gy, row by row."""
    N, C = p.shape
    for n in range(N):
        w = gy[n]
        pr, gr = p[n], g[n]
        for k in range(C):
            gr[k] = pr[k] * w
        gr[labels[n]] -= w


@_jit
def softmax_ce_dense(z, t, p, loss):
    """Per row: p = softmax(z), loss = sum_k t_k (log(sum(exp(z - max))) - (z_k - max)): the
    cross-entropy against probability (one-hot) targets, -sum(t * log_softmax(z))."""
    N, C = z.shape
    for n in range(N):
        row, pr, tr = z[n], p[n], t[n]
        m = row[0]
        for k in range(1, C):
            m = row[k] if row[k] > m else m
        s = 0.0
        for k in range(C):
            e = np.exp(row[k] - m)
            pr[k] = e
            s += e
        inv = _f(1.0 / s)
        ls = _f(np.log(s))
        acc = _f(0)
        for k in range(C):
            pr[k] *= inv
            acc += tr[k] * (ls - (row[k] - m))
        loss[n] = acc


@_jit
def softmax_ce_dense_grad(p, t, gy, g):
    """g = (p * sum(t) - t) * gy, row by row (soft targets need not sum to one)."""
    N, C = p.shape
    for n in range(N):
        pr, tr, gr = p[n], t[n], g[n]
        total = _f(0)
        for k in range(C):
            total += tr[k]
        w = gy[n]
        for k in range(C):
            gr[k] = (pr[k] * total - tr[k]) * w


@_jit
def adam(p, g, m, v, lr_t, b1, c1, b2, c2, eps, keep):
    # c1 = 1 - b1 and c2 = 1 - b2 come in as float32: computed here from the integer 1 they were
    # float64, which kept the loop scalar (several times slower).
    # keep = 1 - lr * weight_decay (AdamW's decoupled decay, applied first; 1 for Adam).
    old = ftz_on()
    for k in range(p.size):
        gk = g[k]
        mk = b1 * m[k] + c1 * gk
        vk = b2 * v[k] + c2 * (gk * gk)
        mk = _f(0) if abs(mk) < _TINY else mk
        vk = _f(0) if vk < _TINY else vk
        m[k] = mk
        v[k] = vk
        p[k] = p[k] * keep - lr_t * mk / (np.sqrt(vk) + eps)
    restore(old)


@_jit
def rmsprop(p, g, a, lr, rho, c, eps):
    old = ftz_on()
    for k in range(p.size):
        gk = g[k]
        ak = rho * a[k] + c * (gk * gk)
        ak = _f(0) if ak < _TINY else ak
        a[k] = ak
        p[k] -= lr * gk / (np.sqrt(ak) + eps)
    restore(old)


@_jit
def adagrad(p, g, a, lr, eps):
    for k in range(p.size):
        gk = g[k]
        ak = a[k] + gk * gk
        a[k] = ak
        p[k] -= lr * gk / (np.sqrt(ak) + eps)


@_jit
def gru_step(G, g0, gs, grs, Rc, rgs, B, has_b, HU, hu0, hurs, Hp, hp0, hprs, Hn, hn0, hnrs, R, U):
    _gru_rows(G, g0, gs, grs, Rc, rgs, B, has_b, HU, hu0, hurs, Hp, hp0, hprs, Hn, hn0, hnrs, R, U)


@_inline
def _gru_rows(G, g0, gs, grs, Rc, rgs, B, has_b, HU, hu0, hurs, Hp, hp0, hprs, Hn, hn0, hnrs, R, U):
    for r in range(R):
        gi = g0 + r * grs
        z = G[gi:gi + U]
        rr = G[gi + gs:gi + gs + U]
        n = G[gi + 2 * gs:gi + 2 * gs + U]
        az = Rc[r * U:r * U + U]
        ar = Rc[rgs + r * U:rgs + r * U + U]
        an = Rc[2 * rgs + r * U:2 * rgs + r * U + U]
        hu = HU[hu0 + r * hurs:hu0 + r * hurs + U]
        hp = Hp[hp0 + r * hprs:hp0 + r * hprs + U]
        hn = Hn[hn0 + r * hnrs:hn0 + r * hnrs + U]
        if has_b:
            bz, br, bn = B[0:U], B[U:2 * U], B[2 * U:3 * U]
            for k in range(U):
                z[k] = _tanh(z[k] + az[k] + bz[k]) * _HALF + _HALF
            for k in range(U):
                rr[k] = _tanh(rr[k] + ar[k] + br[k]) * _HALF + _HALF
            for k in range(U):
                hu[k] = an[k] + bn[k]
        else:
            for k in range(U):
                z[k] = _tanh(z[k] + az[k]) * _HALF + _HALF
            for k in range(U):
                rr[k] = _tanh(rr[k] + ar[k]) * _HALF + _HALF
            for k in range(U):
                hu[k] = an[k]
        for k in range(U):
            n[k] = _tanh(n[k] + rr[k] * hu[k])
        for k in range(U):
            hn[k] = (hp[k] - n[k]) * z[k] + n[k]


# exp(a) for a <= 0 (Cephes expf: Cody-Waite reduction, degree-5 polynomial, 2^n from its bits),
# written as two loops LLVM vectorises; sigmoid(x) = 1 / (1 + e) or e / (1 + e), e = exp(-|x|),
# keeps its relative precision for x < 0 (max relative error 2e-7).
_LOG2E, _LN2_HI, _LN2_LO = _f(1.44269504088896341), _f(0.693359375), _f(-2.12194440e-4)
_E0, _E1, _E2, _E3, _E4, _E5 = (_f(c) for c in (1.9875691500e-4, 1.3981999507e-3, 8.3334519073e-3,
                                                4.1665795894e-2, 1.6666665459e-1, 5.0000001201e-1))
_EXP_LO = _f(-87.0)  # below this exp(a) is under float32's normal range: taken as 0


@_jit
def sigmoid(x, y, bits):
    scale = bits.view(np.float32)
    for k in range(x.size):
        a = -abs(x[k])
        low = a < _EXP_LO
        a = _EXP_LO if low else a
        n = np.floor(a * _LOG2E + _HALF)
        r = a - n * _LN2_HI - n * _LN2_LO
        p = ((((_E0 * r + _E1) * r + _E2) * r + _E3) * r + _E4) * r + _E5
        p = p * r * r + r + _f(1)
        y[k] = _f(0) if low else p
        bits[k] = (np.int32(n) + np.int32(127)) << np.int32(23)
    for k in range(x.size):
        e = y[k] * scale[k]
        y[k] = (_f(1) if x[k] >= 0 else e) / (_f(1) + e)


@_jit
def tanh(x, y):
    for k in range(x.size):
        y[k] = _tanh(x[k])


# ---------------------------------------------------------------- max pooling (channels_last, 2-D)
# Flat buffers and element offsets: the windows' rows of C channels are unit-stride slices.
@_inline
def _takes(v, m):
    """Whether the window's next value v replaces the running maximum m: larger, or a nan where
    m is none (so a nan wins, the first one)."""
    return (v > m) | ((v != v) & (m == m))


@_jit
def _max_pool2x2(x, H, W, y, idx, N, OH, OW, C, sh, sw, want_idx, relu):
    """``max_pool2d`` for 2 x 2 windows (then the ReLU where ``relu``): each output cell's four
    values compared in registers and written once, where the general loop updates the output
    (and its arg-max) once per window cell -- twice the time for the lecture CNN's pooling."""
    for n in range(N):
        for a in range(OH):
            for b in range(OW):
                o = ((n * OH + a) * OW + b) * C
                ym = y[o:o + C]
                im = idx[o:o + C] if want_idx else idx[:0]
                s0 = ((n * H + a * sh) * W + b * sw) * C
                s1 = s0 + W * C
                x0, x1, x2, x3 = x[s0:s0 + C], x[s0 + C:s0 + 2 * C], x[s1:s1 + C], x[s1 + C:s1 + 2 * C]
                for c in range(C):
                    m, v = x0[c], x1[c]
                    t1 = _takes(v, m)
                    m = v if t1 else m
                    v = x2[c]
                    t2 = _takes(v, m)
                    m = v if t2 else m
                    v = x3[c]
                    t3 = _takes(v, m)
                    m = v if t3 else m
                    ym[c] = _f(0) if relu and m <= 0 else m
                    if want_idx:
                        im[c] = np.uint8(3) if t3 else (np.uint8(2) if t2 else (np.uint8(1) if t1 else np.uint8(0)))


@_jit
def max_pool2d(x, H, W, y, idx, N, OH, OW, C, kh, kw, sh, sw, want_idx):
    """y[n, a, b, c] = max over the window cells (row-major) of the padded x (N, H, W, C);
    idx = the first arg-max's cell (a nan wins, the first one), as ``maxout.max_of_pieces``."""
    if kh == 2 and kw == 2:
        _max_pool2x2(x, H, W, y, idx, N, OH, OW, C, sh, sw, want_idx, False)
        return
    for n in range(N):
        for a in range(OH):
            for b in range(OW):
                o = ((n * OH + a) * OW + b) * C
                ym = y[o:o + C]  # unit-stride slices, which LLVM vectorises (indexing x[s + c] it does not)
                im = idx[o:o + C] if want_idx else idx[:0]
                s0 = ((n * H + a * sh) * W + b * sw) * C
                first = x[s0:s0 + C]
                for c in range(C):  # element loops: a slice assignment would allocate a temporary
                    ym[c] = first[c]
                for c in range(im.size):
                    im[c] = 0
                for i in range(kh):
                    for j in range(kw):
                        if i == 0 and j == 0:
                            continue
                        s = s0 + (i * W + j) * C
                        xv = x[s:s + C]
                        if want_idx:
                            p = np.uint8(i * kw + j)
                            for c in range(C):  # branch-free: a branch here is mispredicted half the time
                                v, m = xv[c], ym[c]
                                take = (v > m) | ((v != v) & (m == m))
                                ym[c] = v if take else m
                                im[c] = max(im[c], p * np.uint8(take))  # p grows with the cell: max selects
                        else:
                            for c in range(C):
                                v, m = xv[c], ym[c]
                                ym[c] = v if (v > m) | ((v != v) & (m == m)) else m


@_jit
def max_pool2d_grad(gy, idx, gx, H, W, N, OH, OW, C, kh, kw, sh, sw, accumulate):
    """gx (N, H, W, C) at each window's arg-max cell gets gy: written (0 at the other cells) or,
    where windows overlap, added into a zeroed gx."""
    for n in range(N):
        for a in range(OH):
            for b in range(OW):
                o = ((n * OH + a) * OW + b) * C
                g = gy[o:o + C]
                im = idx[o:o + C]
                s0 = ((n * H + a * sh) * W + b * sw) * C
                for i in range(kh):
                    for j in range(kw):
                        p = np.uint8(i * kw + j)
                        s = s0 + (i * W + j) * C
                        gv = gx[s:s + C]
                        if accumulate:
                            for c in range(C):
                                gv[c] += g[c] if im[c] == p else _f(0)
                        else:
                            for c in range(C):
                                gv[c] = g[c] if im[c] == p else _f(0)


# ---------------------------------------------------------------- waiting for another thread
@_jit
def spin_until(yield_, flags, i, target, rounds):
    """Whether flags[i] (set by another thread) reaches ``target`` within ``rounds`` calls of
    ``yield_`` (``sched_yield``, a ctypes function pointer: each call also makes the loop read
    flags[i] from memory again). ``accel.crew`` waits with it without the GIL."""
    for _ in range(rounds):
        if flags[i] == target:
            return True
        yield_()
    return flags[i] == target
