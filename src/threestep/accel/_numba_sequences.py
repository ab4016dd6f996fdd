"""The Numba kernels behind ``accel.sequences``: whole recurrent time loops, each step's GEMM
called from inside the loop (NumPy's OpenBLAS ``cblas_sgemm`` through a ctypes function pointer,
``gemm``, whose array arguments are addresses). Imported only on first use, like
``_numba_kernels``, whose gate math they share."""
from ._numba_kernels import (_HALF, _add_output_grad, _f, _gates4, _gru_rows, _inline, _jit, _lstm_back_rows,
                             _lstm_rows, _rnn_act, _tanh)


@_jit
def rnn_sequence(gemm, H, Hs, Uw, T, N, U, reverse, relu):
    """A SimpleRNN forward over all T steps (no mask): H (T, N, U) holds x_t W + b and gets
    h_t = act(H[t] + h_{t-1} Uw); Hs (T+1, N, U) the states, step t starting from row t + reverse
    and leaving row t + 1 - reverse. Per step one GEMM through ``gemm`` (NumPy's OpenBLAS
    ``cblas_sgemm``, pointers as integers) adds h_{t-1} Uw into H[t] (beta = 1), then one pass
    activates it and copies it into the next state. Flat float32 arrays."""
    off = 1 if reverse else 0
    NU = N * U
    h, hs, uw = H.ctypes.data, Hs.ctypes.data, Uw.ctypes.data
    for s in range(T):
        t = T - 1 - s if reverse else s
        cur, nxt = t * NU, (t + 1 - off) * NU
        gemm(101, 111, 111, N, U, U, _f(1), hs + 4 * (t + off) * NU, U, uw, U, _f(1), h + 4 * cur, U)
        a, b = H[cur:cur + NU], Hs[nxt:nxt + NU]  # slices: unit-stride loops LLVM vectorises
        for k in range(NU):
            v = _rnn_act(a[k], relu)
            a[k] = v
            b[k] = v


@_inline
def _rnn_deriv(h, relu):
    """The activation's derivative from its output h: relu 1 where h > 0, tanh 1 - h^2."""
    if relu:
        return _f(1) if h > 0 else _f(0)
    return _f(1) - h * h


@_jit
def rnn_back_sequence(gemm, dA, H, Go, live, dh, Uw, T, N, U, reverse, relu):
    """A SimpleRNN's backward time loop (no mask): per step (last first) dA[t] = (dh + the output's
    gradient Go[:, t], read where ``live``) * act'(H[t]), act' from the activation's output
    (tanh: 1 - h^2; relu: h > 0), then dh = dA[t] @ Uw^T by one GEMM (Uw read transposed in
    place). H, dA (T, N, U), Go (N, T, U), dh (N, U) in and out; flat float32 arrays, ``gemm``
    as in ``lstm_sequence``."""
    NU = N * U
    da, hp, uw = dA.ctypes.data, dh.ctypes.data, Uw.ctypes.data
    for s in range(T):
        t = s if reverse else T - 1 - s
        for n in range(N):
            o = t * NU + n * U
            a, h, d = dA[o:o + U], H[o:o + U], dh[n * U:(n + 1) * U]  # unit-stride slices
            if live[t]:
                g = Go[(n * T + t) * U:(n * T + t + 1) * U]
                for k in range(U):
                    a[k] = (d[k] + g[k]) * _rnn_deriv(h[k], relu)
            else:
                for k in range(U):
                    a[k] = d[k] * _rnn_deriv(h[k], relu)
        gemm(101, 111, 112, N, U, U, _f(1), da + 4 * t * NU, U, uw, U, _f(0), hp, U)


@_jit
def rnn_infer_sequence(gemm, X, T, D, W, Uw, B, Hs, S, N, reverse, R, U, relu):
    """A SimpleRNN forward for inference over all T steps (no mask), everything a step reads still
    in cache: per step x_t W (X (N, T, D) read in place) and then h_{t-1} Uw added (beta = 1)
    into S (R, U), then h_t = act(S + B) into Hs (T+1, N, U). Flat float32 arrays; ``gemm`` as
    in ``lstm_sequence``."""
    off = 1 if reverse else 0
    x, w, uw, hs, sp = X.ctypes.data, W.ctypes.data, Uw.ctypes.data, Hs.ctypes.data, S.ctypes.data
    RU = R * U
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, nxt = (t + off) * N * U, (t + 1 - off) * N * U
        gemm(101, 111, 111, R, U, D, _f(1), x + 4 * t * D, T * D, w, U, _f(0), sp, U)
        gemm(101, 111, 111, R, U, U, _f(1), hs + 4 * prev, U, uw, U, _f(1), sp, U)
        h = Hs[nxt:nxt + RU]
        for r in range(R):
            a, b = S[r * U:(r + 1) * U], h[r * U:(r + 1) * U]
            for k in range(U):
                b[k] = _rnn_act(a[k] + B[k], relu)


@_jit
def lstm_sequence(gemm, X, T, D, XH, K, WU, G, C, Hs, reverse, r0, R, N, U):
    """An LSTM forward over all T steps for the batch rows r0 .. r0+R, for inference (no mask, no
    peepholes, sigmoid gates whose weights were halved, tanh). X (N, T, D) the inputs, read in
    place; XH (2, N, K) two buffers of rows [x_t, h, 1] (the caller fills the ones column and
    buffer 0's state columns D .. D+U with h0): step s copies x_t into buffer s % 2 and makes all
    four gates by one GEMM of its rows @ WU (K, 4U; gate blocks i/2, f/2, o/2, g) into G (R, 4U),
    through ``gemm`` (NumPy's OpenBLAS ``cblas_sgemm``, pointers as integers); then one pass over
    the gates writes c_t into C (N, U) and h_t into the other buffer's state columns, which the
    next step reads, and into Hs (T+1, N, U) at row t + 1 - reverse. The buffers stay in cache;
    nothing else is kept per step. Flat float32 arrays."""
    off = 1 if reverse else 0
    U4 = 4 * U
    NK = N * K
    xh, wu, g = XH.ctypes.data, WU.ctypes.data, G.ctypes.data
    for s in range(T):
        t = T - 1 - s if reverse else s
        cur = (s % 2) * NK
        nxt = ((s + 1) % 2) * NK + D
        for r in range(R):
            a = cur + (r0 + r) * K
            b = ((r0 + r) * T + t) * D
            XH[a:a + D] = X[b:b + D]
        gemm(101, 111, 111, R, U4, K, _f(1), xh + 4 * (cur + r0 * K), K, wu, U4, _f(0), g, U4)
        out = ((t + 1 - off) * N + r0) * U
        for r in range(R):
            gi = G[r * U4:r * U4 + U]
            gf = G[r * U4 + U:r * U4 + 2 * U]
            go = G[r * U4 + 2 * U:r * U4 + 3 * U]
            gg = G[r * U4 + 3 * U:r * U4 + U4]
            c = C[(r0 + r) * U:(r0 + r + 1) * U]
            h = XH[nxt + (r0 + r) * K:nxt + (r0 + r) * K + U]
            hs = Hs[out + r * U:out + (r + 1) * U]
            for k in range(U):
                c[k] = (_tanh(gf[k]) * _HALF + _HALF) * c[k] + (_tanh(gi[k]) * _HALF + _HALF) * _tanh(gg[k])
            for k in range(U):
                v = (_tanh(go[k]) * _HALF + _HALF) * _tanh(c[k])
                h[k] = v
                hs[k] = v


@_jit
def lstm_train_sequence(gemm, XH, N, K, D, WU, G, Cs, TC, T, reverse, r0, R, U):
    """An LSTM forward over all T steps for the batch rows r0 .. r0+R that keeps what backward
    needs (no mask, no peepholes, halved sigmoid gates, tanh): per step four GEMMs
    [x_t, h, 1] @ WU[j] (WU (4, K, U), gate blocks i/2, f/2, o/2, g) into the gate-major
    G (4, T, N, U), then ``lstm_step``'s math: the gates activated in place, c_t into Cs (T+1, N, U),
    tanh(c_t) into TC (T, N, U), h_t into the state columns D .. D+U of XH (T+1, N, K). Flat
    float32 arrays; ``gemm`` as in ``lstm_sequence``."""
    off = 1 if reverse else 0
    TNU = T * N * U
    xh, wu, g = XH.ctypes.data, WU.ctypes.data, G.ctypes.data
    for s in range(T):
        t = T - 1 - s if reverse else s
        a = xh + 4 * ((t + off) * N + r0) * K
        for j in range(4):
            gemm(101, 111, 111, R, U, K, _f(1), a, K, wu + 4 * j * K * U, U, _f(0), g + 4 * (j * TNU + (t * N + r0) * U), U)
        _lstm_rows(G, (t * N + r0) * U, TNU, U, Cs, ((t + off) * N + r0) * U, U, Cs, ((t + 1 - off) * N + r0) * U, U,
                   TC, (t * N + r0) * U, U, XH, ((t + 1 - off) * N + r0) * K + D, K, R, U)


@_inline
def _lstm_back_rows_raw(dG, G, g0, gs, Cs, cp0, TC, dh, Go, go0, gors, live, dc, R, U):
    """``_lstm_back_rows`` for sigmoid gates and tanh, with the derivative factors made here from
    the stored gates G [i, f, o, g], c_{t-1} (Cs) and tanh(c_t) (TC) instead of a pass before."""
    for r in range(R):
        o0 = g0 + r * U
        i, f, o, g = _gates4(G, o0, gs, U)
        di, df, do, dg = _gates4(dG, o0, gs, U)
        cp = Cs[cp0 + r * U:cp0 + r * U + U]
        tc = TC[o0:o0 + U]  # TC (T, N, U) is laid out like one gate block
        h = dh[r * U:(r + 1) * U]
        c = dc[r * U:(r + 1) * U]
        _add_output_grad(h, Go, go0 + r * gors, live, U)
        for k in range(U):
            do[k] = o[k] * (_f(1) - o[k]) * tc[k] * h[k]
        for k in range(U):
            c[k] = h[k] * o[k] * (_f(1) - tc[k] * tc[k]) + c[k]
        for k in range(U):
            di[k] = i[k] * (_f(1) - i[k]) * g[k] * c[k]
        for k in range(U):
            df[k] = f[k] * (_f(1) - f[k]) * cp[k] * c[k]
        for k in range(U):
            dg[k] = (_f(1) - g[k] * g[k]) * i[k] * c[k]
        for k in range(U):
            c[k] *= f[k]


@_jit
def lstm_back_sequence(gemm, dG, G, Go, live, DT, dh, dc, U4T, T, N, reverse, r0, R, U, raw, Cs):
    """The LSTM's backward time loop for the batch rows r0 .. r0+R (no mask, no peepholes): per
    step (last first) ``lstm_back_step``'s math, then dh = sum_j dG[j, t] @ U4T[j] as four GEMMs
    accumulating into dh (beta = 1 after the first). dG, G (4, T, N, U) gate-major, Go (N, T, U)
    the outputs' gradient (read at steps where ``live``), DT (T, N, U), dh and dc (R, U) this
    block's rows, U4T (4, U, U); flat float32 arrays, ``gemm`` as in ``lstm_sequence``.
    ``raw`` (sigmoid gates, tanh): dG is written, not read, its factors made from G, the cell
    states Cs (T+1, N, U) and tanh(c_t) in DT."""
    TNU = T * N * U
    off = 1 if reverse else 0
    dgp, ut, hp = dG.ctypes.data, U4T.ctypes.data, dh.ctypes.data
    for s in range(T):
        t = s if reverse else T - 1 - s
        base = (t * N + r0) * U
        if raw:
            _lstm_back_rows_raw(dG, G, base, TNU, Cs, ((t + off) * N + r0) * U, DT, dh, Go, (r0 * T + t) * U,
                                T * U, live[t], dc, R, U)
        else:
            _lstm_back_rows(dG, base, TNU, U, G, TNU + base, U, dh, Go, (r0 * T + t) * U, T * U, live[t],
                            DT, base, U, dc, R, U)
        for j in range(4):
            gemm(101, 111, 111, R, U, U, _f(1), dgp + 4 * (j * TNU + base), U, ut + 4 * j * U * U, U,
                 _f(1) if j else _f(0), hp, U)


@_jit
def gru_sequence(gemm, G, Hs, HU, one_hu, Uw, Rc, B, has_b, T, N, reverse, r0, R, U):
    """A GRU (reset_after) forward over all T steps for the batch rows r0 .. r0+R (no mask, sigmoid
    gates with halved weights, tanh): per step three GEMMs h_{t-1} @ Uw[j] (Uw (3, U, U), gate
    blocks z/2, r/2, n) into Rc (3, R, U), then ``gru_step``'s math: G (3, T, N, U) holds the
    input parts and gets z, r, n; HU (T, N, U), or one step's (N, U) where ``one_hu``, gets
    h U_h + b_hh; Hs (T+1, N, U) the states. B (3, U) the recurrent bias where ``has_b``. Flat
    float32 arrays; ``gemm`` as in ``lstm_sequence``."""
    off = 1 if reverse else 0
    TNU, RU = T * N * U, R * U
    hs, uw, rc = Hs.ctypes.data, Uw.ctypes.data, Rc.ctypes.data
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev = ((t + off) * N + r0) * U
        for j in range(3):
            gemm(101, 111, 111, R, U, U, _f(1), hs + 4 * prev, U, uw + 4 * j * U * U, U, _f(0), rc + 4 * j * RU, U)
        k = 0 if one_hu else t
        _gru_rows(G, (t * N + r0) * U, TNU, U, Rc, RU, B, has_b, HU, (k * N + r0) * U, U, Hs, prev, U,
                  Hs, ((t + 1 - off) * N + r0) * U, U, R, U)


@_inline
def _gates3(A, o0, gs, U):
    """Row o0's slices of the three gate blocks (gs floats apart) of a gate-major array."""
    return A[o0:o0 + U], A[gs + o0:gs + o0 + U], A[2 * gs + o0:2 * gs + o0 + U]


@_jit
def gru_back_sequence(gemm, dG, dHU, G, HU, Hs, Go, live, dh, U4T, T, N, reverse, r0, R, U):
    """The GRU's (reset_after, sigmoid gates, tanh) backward time loop for the batch rows
    r0 .. r0+R, no mask: per step (last first) the gates' gradients from the stored gates G
    [z, r, n] (3, T, N, U), HU (T, N, U) = h U_h + b_hh, the states Hs (T+1, N, U) and the state's
    gradient dh (R, U) (plus the outputs' Go (N, T, U) where ``live``): dG [dz, dr, dn] for the
    input side, dHU [dz, dr, dn * r] for the recurrent side, then dh = g z + sum_j dHU[j, t] @
    U4T[j] as three GEMMs adding into it. Flat float32 arrays, ``gemm`` as in ``lstm_sequence``."""
    TNU = T * N * U
    off = 1 if reverse else 0
    ep, ut, hp = dHU.ctypes.data, U4T.ctypes.data, dh.ctypes.data
    for s in range(T):
        t = s if reverse else T - 1 - s
        base = (t * N + r0) * U
        prev = ((t + off) * N + r0) * U
        for r in range(R):
            o0 = base + r * U
            z, rg, n = _gates3(G, o0, TNU, U)
            dz, dr, dn = _gates3(dG, o0, TNU, U)
            ez, er, en = _gates3(dHU, o0, TNU, U)
            hu, hprev = HU[o0:o0 + U], Hs[prev + r * U:prev + (r + 1) * U]
            h = dh[r * U:(r + 1) * U]
            _add_output_grad(h, Go, ((r0 + r) * T + t) * U, live[t], U)
            for k in range(U):
                g, zk, rk, nk = h[k], z[k], rg[k], n[k]
                dnk = (_f(1) - nk * nk) * (_f(1) - zk) * g
                dzk = zk * (_f(1) - zk) * (hprev[k] - nk) * g
                drk = rk * (_f(1) - rk) * hu[k] * dnk
                dz[k], dr[k], dn[k] = dzk, drk, dnk
                ez[k], er[k], en[k] = dzk, drk, dnk * rk
                h[k] = g * zk
        for j in range(3):
            gemm(101, 111, 111, R, U, U, _f(1), ep + 4 * (j * TNU + base), U, ut + 4 * j * U * U, U, _f(1), hp, U)


@_jit
def gru_infer_sequence(gemm, X, T, D, Wf, Uf, Bx, Bh, Hs, S, Rc, N, reverse, r0, R, U):
    """A GRU (reset_after) forward for inference over all T steps for the batch rows r0 .. r0+R (no
    mask, sigmoid gates with halved weights, tanh), everything a step reads still in cache: per
    step one GEMM x_t @ Wf (X (N, T, D) read in place, Wf (D, 3U) gate blocks z/2, r/2, n side
    by side) into S and one GEMM h_{t-1} @ Uf (U, 3U) into Rc, both (R, 3U); then
    z = sigmoid, r = sigmoid, n = tanh(x W_n + b_xn + r (h U_n + b_hn)), h_t = z h_{t-1} + (1 - z) n
    into Hs (T+1, N, U). Bx, Bh (3U,) the input and recurrent biases (halved likewise). Flat
    float32 arrays; ``gemm`` as in ``lstm_sequence``."""
    off = 1 if reverse else 0
    U3 = 3 * U
    x, wf, uf, hs, sp, rc = X.ctypes.data, Wf.ctypes.data, Uf.ctypes.data, Hs.ctypes.data, S.ctypes.data, Rc.ctypes.data
    bxz, bxr, bxn = Bx[0:U], Bx[U:2 * U], Bx[2 * U:U3]
    bhz, bhr, bhn = Bh[0:U], Bh[U:2 * U], Bh[2 * U:U3]
    for s in range(T):
        t = T - 1 - s if reverse else s
        prev, nxt = ((t + off) * N + r0) * U, ((t + 1 - off) * N + r0) * U
        gemm(101, 111, 111, R, U3, D, _f(1), x + 4 * (r0 * T + t) * D, T * D, wf, U3, _f(0), sp, U3)
        gemm(101, 111, 111, R, U3, U, _f(1), hs + 4 * prev, U, uf, U3, _f(0), rc, U3)
        for r in range(R):
            sz, sr, sn = S[r * U3:r * U3 + U], S[r * U3 + U:r * U3 + 2 * U], S[r * U3 + 2 * U:r * U3 + U3]
            az, ar, an = Rc[r * U3:r * U3 + U], Rc[r * U3 + U:r * U3 + 2 * U], Rc[r * U3 + 2 * U:r * U3 + U3]
            hp, hn = Hs[prev + r * U:prev + r * U + U], Hs[nxt + r * U:nxt + r * U + U]
            for k in range(U):
                sz[k] = _tanh(sz[k] + bxz[k] + az[k] + bhz[k]) * _HALF + _HALF
            for k in range(U):
                sr[k] = _tanh(sr[k] + bxr[k] + ar[k] + bhr[k]) * _HALF + _HALF
            for k in range(U):
                sn[k] = _tanh(sn[k] + bxn[k] + sr[k] * (an[k] + bhn[k]))
            for k in range(U):
                hn[k] = (hp[k] - sn[k]) * sz[k] + sn[k]
