"""Elementwise chains written once: one fused GPU kernel on CuPy, plain NumPy expressions elsewhere.

On a GPU, a small elementwise op costs a kernel launch (a few microseconds on the device plus
CuPy's Python call) whatever its size, so Adam's update written as NumPy expressions is about
ten launches per parameter, and one LSTM step's gate math about nine. ``cupy.fuse`` traces a
Python function once per argument dtype/rank and compiles the whole chain into one kernel.

Each chain below is a function ``f(xp, *args, **static)`` of arrays and scalars written with
operators, in-place operators on its array arguments (which write back, on NumPy as in a fused
kernel) and ``xp`` ufuncs only -- the subset ``cupy.fuse`` accepts: no ``shape``, no indexing
but ``[...]``, no branching on array or scalar *arguments* (branch on the keyword-only
``static`` values instead, which select a variant and are compiled in). ``@chain`` makes it
callable as ``f(*args, **static)``: on CuPy arrays the fused kernel runs (one per function and
``static`` values, compiled on first use), on NumPy arrays the same function runs with
``xp = numpy``. So the NumPy path (float64 gradient checks, runs without Numba) is the
reference the tests check against PyTorch, and the GPU runs the very same math; the Numba
kernels (``accel.kernels``) stay the float32 CPU fast path and are tested against it.

``THREESTEP_CUPY_FUSE=0`` runs the chains unfused on CuPy (the same function, op by op with
``xp = cupy``): the A/B switch for a GPU profile. A chain that a CuPy version cannot fuse (its
tracer refuses something) runs op by op too, after one warning, instead of failing the step.
"""
import functools
import os
import warnings

from .. import backend
from . import switches

_kernels = {}  # (cupy module, function, static items) -> the cupy.fuse'd kernel, or None: unfusable


def _fuse_on_cupy():
    return switches.CUPY_FUSE


def chain(fn):
    """Make ``fn(xp, *args, **static)`` callable as ``fn(*args, **static)`` on NumPy or CuPy arrays
    (the array module comes from the first argument, an array); see the module docstring."""

    @functools.wraps(fn)
    def call(*args, **static):
        xp = backend.get_array_module(args[0])
        if xp.__name__ != "cupy" or not _fuse_on_cupy():
            return fn(xp, *args, **static)
        key = (xp, fn, tuple(sorted(static.items())))
        kernel = _kernels.get(key, False)
        if kernel is False:
            def traced(*a):
                return fn(xp, *a, **static)
            traced.__name__ = fn.__name__
            kernel = _kernels[key] = xp.fuse(kernel_name=f"threestep_{fn.__name__}")(traced)
        if kernel is None:
            return fn(xp, *args, **static)
        try:
            return kernel(*args)  # a refusal comes from tracing, before the kernel writes anything
        except Exception as error:  # noqa: BLE001 -- told apart below
            refusal = error
        result = fn(xp, *args, **static)  # a genuine error (shapes that do not broadcast) raises here
        _kernels[key] = None  # op by op worked: this CuPy cannot fuse the chain
        warnings.warn(f"threestep: cupy.fuse could not fuse {fn.__name__} ({type(refusal).__name__}: {refusal}); "
                      "running it op by op from now on (slower, same math).", RuntimeWarning, stacklevel=2)
        return result

    return call


# -- optimizers: each updates its arguments in place ------------------------------------------
@chain
def add_scaled_(xp, w, x, alpha):
    """w += alpha * x (plain SGD: x = g, alpha = -lr; momentum's finish: x = v, alpha = 1)."""
    w += alpha * x


@chain
def sgd_momentum_(xp, w, g, v, lr, momentum, *, nesterov=False):
    """Keras 2.3's momentum: v = momentum * v - lr * g; w += v (Nesterov: w += momentum * v - lr * g)."""
    v *= momentum
    v -= lr * g
    if nesterov:
        w += momentum * v - lr * g
    else:
        w += v


@chain
def adam_(xp, w, g, m, v, lr_t, b1, c1, b2, c2, eps, keep, *vhat, amsgrad=False):
    """Adam (bias correction folded into lr_t; c1 = 1 - b1, c2 = 1 - b2 as Python rounds them);
    w is first scaled by ``keep`` (AdamW's 1 - lr * weight_decay; 1 is exact). With ``amsgrad``
    the last argument is vhat, and the denominator uses vhat = max(vhat, v)."""
    w *= keep
    m *= b1
    m += c1 * g
    v *= b2
    v += c2 * (g * g)
    if amsgrad:
        vhat[0][...] = xp.maximum(vhat[0], v)
        v = vhat[0]
    w -= lr_t * m / (xp.sqrt(v) + eps)


@chain
def adamax_(xp, w, g, m, u, lr_t, b1, c1, b2, eps):
    """Adamax: m = b1 m + (1 - b1) g; u = max(b2 u, |g|); w -= lr_t m / (u + eps)."""
    m *= b1
    m += c1 * g
    u[...] = xp.maximum(u * b2, xp.abs(g))
    w -= lr_t * m / (u + eps)


@chain
def nadam_(xp, w, g, m, v, b1, c1, b2, c2, v_scale, eps, g_rate, m_rate):
    """Nadam: the moments as Adam's, then w -= (g_rate g + m_rate m) / (sqrt(v / v_scale) + eps)."""
    m *= b1
    m += c1 * g
    v *= b2
    v += c2 * (g * g)
    w -= (g_rate * g + m_rate * m) / (xp.sqrt(v / v_scale) + eps)


@chain
def rmsprop_(xp, w, g, a, lr, rho, c, eps, *state, momentum=False, centered=False):
    """RMSprop (Keras 2.3 / PyTorch: eps outside the root): a = rho a + (1 - rho) g^2 (c = 1 - rho).
    ``state``: (mg,) if centered (denominator sqrt(max(a - mg^2, 0))), then (m, mu) with momentum
    (m = mu m + lr g / denom; w -= m); else w -= lr g / denom."""
    a *= rho
    a += c * (g * g)
    if centered:
        mg = state[0]
        mg *= rho
        mg += c * g
        denom = xp.sqrt(xp.maximum(a - mg * mg, 0.0)) + eps  # >= 0 exactly; guard rounding
    else:
        denom = xp.sqrt(a) + eps
    if momentum:
        m, mu = state[-2], state[-1]
        m *= mu
        m += lr * g / denom
        w -= m
    else:
        w -= lr * g / denom


@chain
def adagrad_(xp, w, g, a, lr, eps):
    """Adagrad: a += g^2; w -= lr g / (sqrt(a) + eps)."""
    a += g * g
    w -= lr * g / (xp.sqrt(a) + eps)


@chain
def adadelta_(xp, w, g, a, d, lr, rho, c, eps):
    """Adadelta: a = rho a + (1 - rho) g^2; u = g sqrt(d + eps) / sqrt(a + eps); w -= lr u;
    d = rho d + (1 - rho) u^2 (c = 1 - rho)."""
    a *= rho
    a += c * (g * g)
    u = g * xp.sqrt(d + eps) / xp.sqrt(a + eps)
    w -= lr * u
    d *= rho
    d += c * (u * u)


# -- activations ---------------------------------------------------------------------------------
@chain
def bias_relu_(xp, y, b):
    """y = max(y + b, 0) in place (b broadcast over the last axis): Dense(activation="relu")."""
    y[...] = xp.maximum(y + b, 0)


@chain
def relu_grad(xp, gy, y):
    """dL/dz = dL/dy where y > 0, else 0 (PyTorch's subgradient at 0; a nan in dL/dy stays nan)."""
    return gy * (y > 0)


# -- the LSTM's time step (ops.recurrent_gated), sigmoid gates and tanh -----------------------------
@chain
def lstm_step_(xp, i, f, o, g, c_prev, c_new, tc, h):
    """One forward step's gate math after its GEMM. i, f, o hold a/2 (their weights were halved,
    so sigmoid(a) = (1 + tanh(a/2)) / 2) and g the candidate's a; all four are activated in place
    (backward reads them); c_new = f c_prev + i g, tc = tanh(c_new), h = o tc. Every value is
    computed before anything is written, so no read depends on the order of a kernel's writes."""
    si = xp.tanh(i) * 0.5 + 0.5
    sf = xp.tanh(f) * 0.5 + 0.5
    so = xp.tanh(o) * 0.5 + 0.5
    sg = xp.tanh(g)
    cn = sf * c_prev + si * sg
    tn = xp.tanh(cn)
    i[...], f[...], o[...], g[...] = si, sf, so, sg
    c_new[...] = cn
    tc[...] = tn
    h[...] = so * tn


@chain
def lstm_back_step_(xp, di, df, do, dg, f, dtc, dc, dh, *gout):
    """One backward step's gate math (no mask, no peepholes): d* hold the factors
    [i' g, f' c_{t-1}, o' tanh(c_t), g' i] and leave the gates' gradients; dtc = o tanh'(c_t).
    dL/dh_t = dh (+ the output's gradient ``gout``); returns dL/dc_{t-1}."""
    gh = dh + gout[0] if gout else dh
    dcn = gh * dtc + dc
    do[...] = do * gh
    di[...] = di * dcn
    df[...] = df * dcn
    dg[...] = dg * dcn
    return dcn * f


# -- the GRU's time step, reset_after (Keras 3 / PyTorch), sigmoid gates and tanh ---------------------
@chain
def gru_step_(xp, z, r, n, uz, ur, un, h, hu_n, h_new, *b_hh):
    """One forward step's gate math after ``h @ U``: z, r hold the input side's a/2 and uz, ur the
    state side's (their weights were halved), n and un the candidate's x W_h + b_xh and h U_h;
    ``b_hh``: (b_z/2, b_r/2, b_hn) of the state side, if any. z, r, n are activated in place,
    hu_n = h U_h + b_hn is kept for backward, h_new = (h - n) z + n."""
    if b_hh:
        uz, ur, un = uz + b_hh[0], ur + b_hh[1], un + b_hh[2]
    sz = xp.tanh(z + uz) * 0.5 + 0.5
    sr = xp.tanh(r + ur) * 0.5 + 0.5
    sn = xp.tanh(n + sr * un)
    z[...], r[...], n[...] = sz, sr, sn
    hu_n[...] = un
    h_new[...] = (h - sn) * sz + sn


@chain
def gru_back_step_(xp, dz, dr, dn, ez, er, en, z, r, dh, *gout):
    """One backward step's gate math (reset_after, no mask): dz, dr, dn hold the factors
    [z' (h_{t-1} - n), r' (h U_h + b_hn), n' (1 - z)] and leave the gates' gradients; e* receive
    the gradient of h U + b_hh. dL/dh_t = dh (+ ``gout``); returns its part through z, g z."""
    gh = dh + gout[0] if gout else dh
    dzv = dz * gh
    dnv = dn * gh
    drv = dr * dnv
    dz[...], dn[...], dr[...] = dzv, dnv, drv
    ez[...], er[...], en[...] = dzv, drv, dnv * r
    return gh * z


# -- softmax cross-entropy with integer labels (ops.nn.SoftmaxCrossEntropy) ----------------------------
@chain
def exp_shifted(xp, z, m):
    """e = exp(z - m), m the row maxima (keepdims): the softmax's numerators, overflow-free."""
    return xp.exp(z - m)


@chain
def ce_from_parts(xp, s, m, picked):
    """The per-sample loss -log softmax(z)[label] = log(s) - (z[label] - m), s = sum(e); the same
    rounding as negating log_softmax's (z - m) - log(s) at the label."""
    return xp.log(s) - (picked - m)


@chain
def exp_sum(xp, z, m):
    """sum(exp(z - m)) over the last axis (m the row maxima, keepdims): the softmax's
    denominators in one reduction kernel, without writing exp(z - m) (backward recomputes it)."""
    return xp.sum(xp.exp(z - m), axis=-1)


@chain
def ce_mean(xp, z, m, s, labels, classes, count):
    """The batch mean of -log softmax(z)[label] = log(s) - (z[label] - m), s = sum(exp(z - m)):
    every (row, class) cell's term times (class == label), divided by ``count`` and summed, in
    one reduction kernel on CuPy -- no gather for z[label], no per-sample losses, no separate
    division. Dividing before the sum keeps it in CuPy's first fusion path (``fusion.pyx``),
    whose kernels ``benchmarks.trace_chains --compile`` checks: that path refuses a division of
    the sum by a scalar ("Shape mismatch"). ``count`` in z's dtype keeps the mean in it."""
    return xp.sum((xp.log(s) - (z - m)) / count * (labels == classes))


@chain
def ce_grad_logits(xp, z, m, s, labels, classes, gy, count):
    """``ce_grad`` with softmax(z) = exp(z - m) / s recomputed from the logits (``ce_mean``'s path)."""
    return (xp.exp(z - m) / s - (labels == classes)) * (gy / count)


@chain
def ce_grad(xp, e, s, labels, classes, gy, count):
    """dL/dz = (softmax(z) - onehot(label)) * (gy / count) with softmax = e / s (count: the batch
    mean's divisor, or 1); ``labels`` (N, 1) against ``classes`` = arange(C) makes the one-hot
    without a scatter."""
    return (e / s - (labels == classes)) * (gy / count)


# -- the simple RNN's time step (ops.recurrent_rnn.SimpleRNN) ------------------------------------------
@chain
def rnn_step_(xp, a, rec, h, *, activation="tanh"):
    """h_t = act(a + rec) with a = x_t W + b and rec = h_{t-1} U, written into a (backward reads
    it) and into the state h."""
    y = a + rec
    y = xp.tanh(y) if activation == "tanh" else xp.maximum(y, 0)
    a[...] = y
    h[...] = y


@chain
def rnn_back_step_(xp, da, dh, *gout):
    """da_t = act'(a_t) * dL/dh_t in place, with dL/dh_t = dh (+ the output's gradient ``gout``)."""
    da[...] = da * (dh + gout[0] if gout else dh)


# -- max pooling and maxout (ops.maxout): the arg-max rule without a host sync --------------------------
@chain
def max_of_pieces(xp, *pieces):
    """(y, idx): the elementwise max of 2-255 same-shape pieces and the first piece holding it
    (uint8), a NaN winning at its first piece as in argmax, without asking the host whether
    there is a NaN (the op-by-op code's ``isnan(y).any()`` waits for the GPU)."""
    y = xp.maximum(pieces[0], pieces[1])
    idx = (pieces[1] > pieces[0]).astype(xp.uint8)  # typed by an array: CuPy's fusion may treat
    # NumPy scalars as weak, so a where() of two uint8 scalars need not give uint8
    for p in range(2, len(pieces)):
        new = xp.maximum(y, pieces[p])
        idx = xp.where(new > y, xp.uint8(p), idx)
        y = new
    for p in range(len(pieces) - 1, -1, -1):
        idx = xp.where(xp.isnan(pieces[p]), xp.uint8(p), idx)
    return y, idx


@chain
def scatter_to_pieces_(xp, gy, idx, *outs):
    """outs[p] = gy where idx == p, else 0, for every piece (the pieces must not overlap)."""
    for p, out in enumerate(outs):
        out[...] = gy * (idx == p)
