"""Fused CPU kernels (Numba) for float32 NumPy arrays: the recurrent time loops' elementwise
math, the recurrent activations, ReLU (alone, and with Dense's bias and dL/db), softmax
cross-entropy, the SGD/momentum/Adam updates, and the finiteness check of fit's inputs.

Why: without AVX-512, NumPy's float32 ``tanh`` is slow (its SIMD tanh needs AVX-512), so the
LSTM's gate activations were a large share of a training step, and a forward step's
elementwise math was nine NumPy passes over small arrays. One Numba loop per step does all of
it: the three sigmoids, the candidate's tanh, c_t = f c_{t-1} + i g, tanh(c_t) and
h_t = o tanh(c_t), with a tanh LLVM can vectorise (Eigen's 13/6 rational approximation for
float; max abs error 3e-7 against float64 tanh, where NumPy's float32 tanh has 6e-8). Speed-ups: benchmarks/RESULTS.md ("Measurements behind the code").

The NumPy code stays the reference and the path for everything else: float64 (the gradient
checks), CuPy, peepholes, activations other than sigmoid/tanh, AMSGrad and Nadam. The tests
check one path against the other. The kernels keep nan as nan (fast-math without nnan/ninf). The
optimizer kernels store a decaying state that falls below the smallest normal float32 as 0, as
TensorFlow's and XLA's CPU kernels do (flush-to-zero): x86 computes on subnormal numbers tens of
times slower, and Adam's m where a weight's gradient stays 0 gets there within a few hundred steps.
``THREESTEP_NUMBA=0`` turns them off; without Numba, or where they cannot load, they are off.

Operands are passed as (flat buffer, element offset, row stride) so that every row is a
unit-stride slice inside the kernel: Numba cannot vectorise loops over strided views (the
state h lives in the columns of the stacked [x, h, 1] buffer), and slices of a flat 1-D
array are contiguous to it.
"""
import os
import warnings

import numpy as np

from . import switches

_nb = []  # [the kernels module, or None where Numba is missing or disabled], once looked for


def available():
    """Whether the Numba kernels can run (imports them on the first call)."""
    if not _nb:
        kernels = None
        if switches.NUMBA:
            try:
                from . import _numba_kernels as kernels
            except ImportError:  # no Numba: the NumPy path runs instead
                kernels = None
            except Exception as error:  # e.g. Numba cannot cache (no writable cache folder)
                warnings.warn(f"threestep: the Numba kernels could not be loaded ({type(error).__name__}: {error}); "
                              "running the slower NumPy code instead. Set NUMBA_CACHE_DIR to a writable folder, "
                              "or THREESTEP_NUMBA=0 to silence this.", RuntimeWarning, stacklevel=2)
                kernels = None
        _nb.append(kernels)
    return _nb[0] is not None


def enabled(*arrays):
    """Whether the fused kernels serve these arrays: Numba available, NumPy float32 arrays."""
    for a in arrays:  # a plain loop: this runs for every kernel call, a generator costs more
        if type(a) is not np.ndarray or a.dtype != np.float32:
            return False
    return available()


class Flat:
    """A C-contiguous array as one flat buffer plus element strides, for kernel operands."""

    def __init__(self, array):
        base = array
        while isinstance(base.base, np.ndarray):
            base = base.base
        if base.dtype != array.dtype or not base.flags.c_contiguous:
            base = array  # a view of another dtype's buffer: only the array itself will do
        if not base.flags.c_contiguous or array.strides[-1] != array.itemsize:
            raise ValueError("Flat needs a view with unit-stride rows of a C-contiguous array")
        self.buf = base.reshape(-1)
        self.start = (array.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // array.itemsize
        self.strides = tuple(s // array.itemsize for s in array.strides)

    def at(self, *index):
        """The element offset of array[index] (integer indices over the leading axes)."""
        return self.start + sum(i * s for i, s in zip(index, self.strides))


def _rows_(kernel, a):
    """``kernel`` in place over every row of a 1- to 3-D float32 NumPy view with unit-stride rows;
    False (nothing done) where the kernels do not serve it."""
    if not (0 < a.ndim <= 3 and a.size and enabled(a) and (a.strides[-1] == a.itemsize or a.shape[-1] == 1)):
        return False
    views = a[None] if a.ndim == 1 else a
    views = [views] if views.ndim == 2 else list(views)
    try:
        flats = [Flat(v) for v in views]
    except ValueError:
        return False
    for v, f in zip(views, flats):
        kernel(f.buf, f.start, f.strides[0], v.shape[0], v.shape[1])
    return True


def tanh_(a):
    """tanh in place (fast rational tanh) where the kernels serve ``a``; returns whether they did."""
    return _rows_(_nb[0].tanh_rows, a) if available() else False


def sigmoid_of_half_(a):
    """sigmoid(2 a) in place, as (1 + tanh(a)) / 2, where the kernels serve ``a``; returns whether they did."""
    return _rows_(_nb[0].sigmoid_half_rows, a) if available() else False


def rnn_step_(h, rec, nxt, activation):
    """One SimpleRNN step without a mask: h = act(h + rec) in place and copied into ``nxt``, in one
    pass (``activation`` "tanh" or "relu"); all three C-contiguous float32 arrays of one shape.
    Returns whether the kernels served it (False: nothing done)."""
    if activation not in ("tanh", "relu") or not enabled(h, rec, nxt) or not (
            h.shape == rec.shape == nxt.shape and h.flags.c_contiguous and rec.flags.c_contiguous
            and nxt.flags.c_contiguous):
        return False
    _nb[0].rnn_step(h.reshape(-1), rec.reshape(-1), nxt.reshape(-1), activation == "relu")
    return True


def lstm_step(G, t, r0, R, U, cp, cn, tc, h):
    """One LSTM forward step's elementwise math for the R batch rows from r0.

    ``G`` is a ``Flat`` of the (4, T, N, U) gate buffer holding [i/2, f/2, o/2, g] pre-activations
    (the sigmoid gates' weights were halved) at step t; the gates are activated in place.
    ``cp``, ``cn``, ``tc``, ``h``: (Flat, offset) of c_{t-1}, c_t, tanh(c_t) and h_t, each
    (R, U) with unit-stride rows.
    """
    _nb[0].lstm_step(G.buf, G.at(0, t, r0), G.strides[0], G.strides[2],
                     cp[0].buf, cp[1], cp[0].strides[-2], cn[0].buf, cn[1], cn[0].strides[-2],
                     tc[0].buf, tc[1], tc[0].strides[-2], h[0].buf, h[1], h[0].strides[-2], R, U)


def lstm_back_step(dG, G, t, r0, dh, gout, live, dTC, dc):
    """One LSTM backward step's elementwise math (no mask, no peepholes) for the rows from r0.

    ``dG`` and ``G`` are ``Flat`` gate buffers (4, T, N, U); dG at step t holds the factors
    [i' g, f' c_{t-1}, o' tanh(c_t), g' i] and leaves the gates' gradients. ``dh`` and ``dc``
    (R, U) C-contiguous: dh += gout[r0:, t] (when ``live``), and dc becomes dc_{t-1}.
    ``gout`` and ``dTC``: ``Flat`` of the outputs' gradient (N, T, U) and of o tanh'(c) (T, N, U).
    """
    R, U = dh.shape
    _nb[0].lstm_back_step(dG.buf, dG.at(0, t, r0), dG.strides[0], dG.strides[2], G.buf, G.at(1, t, r0), G.strides[2],
                          dh.reshape(-1), gout.buf, gout.at(r0, t), gout.strides[0], bool(live),
                          dTC.buf, dTC.at(t, r0), dTC.strides[1], dc.reshape(-1), R, U)


# ------------------------------------------------ whole-array kernels (None: use the NumPy code)
# Each serves NumPy float32 C-contiguous arrays only and returns None otherwise, so a caller
# writes ``out = kernels.relu(x); if out is None: <the NumPy code>``. One pass instead of
# NumPy's several (no lr * grad temporary in SGD; one pass instead of six to eight for Adam,
# RMSprop and Adagrad); the speed-ups are in benchmarks/RESULTS.md.
_F32 = np.dtype(np.float32)


def _flat(*arrays):
    # Runs before every whole-array kernel call: plain checks. The dtype by equality, not
    # identity: arrays restored from a file can carry an equal float32 dtype of their own, and
    # taking the NumPy path for them would break a bit-identical resume.
    for a in arrays:
        if type(a) is not np.ndarray or a.dtype != _F32 or not a.flags.c_contiguous:
            return None
    if not available():  # (a call, not a look at ``_nb``: tests switch the kernels off through it)
        return None
    return [a.reshape(-1) for a in arrays]


def _elementwise(name, x, scratch=None):
    """y = kernel(x) as a new array through the kernel ``name`` (given a flat ``scratch`` array of
    that dtype, if named), or None where the kernels do not serve x."""
    flat = _flat(x)
    if flat is None:
        return None
    y = np.empty_like(x)
    extra = () if scratch is None else (np.empty(x.size, scratch),)
    getattr(_nb[0], name)(flat[0], y.reshape(-1), *extra)
    return y


def relu(x):
    """max(x, 0) as a new array, or None."""
    return _elementwise("relu", x)


def sigmoid(x):
    """1 / (1 + e^-x) as a new array (relative error 2e-7, also for x << 0), or None."""
    return _elementwise("sigmoid", x, scratch=np.int32)


def tanh(x):
    """tanh as a new array (the fast rational tanh, abs error 3e-7), or None."""
    return _elementwise("tanh", x)


def relu_grad(gy, y):
    """gy where y > 0, else 0 (PyTorch's subgradient at 0), as a new array, or None."""
    flat = _flat(gy, y)
    if flat is None or gy.shape != y.shape:
        return None
    out = np.empty_like(gy)
    _nb[0].relu_grad(flat[0], flat[1], out.reshape(-1))
    return out


def bias_relu_(y, b=None):
    """y = max(y + b, 0) in place (b over the last axis), as one pass; False where not served."""
    flat = _flat(y) if b is None else _flat(y, b)
    if flat is None or not y.size or (b is not None and b.shape != y.shape[-1:]):
        return False
    if b is None:
        _nb[0].relu_(flat[0])  # the plain ReLU, in place
    else:
        _nb[0].bias_relu(flat[0], flat[1], y.shape[-1])
    return True


def all_finite(a):
    """Whether a float32 NumPy array holds no nan/inf (one pass, no boolean temporary: twice as
    fast as ``np.isfinite(a).all()`` on a 19 MB training set), or None where not served."""
    flat = _flat(a)
    return None if flat is None else bool(_nb[0].all_finite(flat[0]))


def relu_grad_bias(gy, y, with_bias):
    """(relu_grad(gy, y), its sum over all axes but the last, or None without ``with_bias``) in
    one pass: the backward of Dense(activation="relu") before its GEMMs. None where not served."""
    if not with_bias:
        out = relu_grad(gy, y)
        return None if out is None else (out, None)
    flat = _flat(gy, y)
    if flat is None or gy.shape != y.shape or not y.size:
        return None
    out = np.empty_like(gy)
    gb = np.zeros(y.shape[-1], np.float32)
    _nb[0].relu_grad_bias(flat[0], flat[1], out.reshape(-1), gb, y.shape[-1])
    return out, gb


def sgd_(param, grad, lr, velocity=None, momentum=0.0, nesterov=False):
    """The SGD update in place (with ``velocity`` when momentum is used); False where not served."""
    flat = _flat(param, grad) if velocity is None else _flat(param, grad, velocity)
    if flat is None or param.shape != grad.shape:
        return False
    f = np.float32
    if velocity is None:
        _nb[0].sgd(flat[0], flat[1], f(lr))
    else:
        _nb[0].sgd_momentum(flat[0], flat[1], flat[2], f(lr), f(momentum), bool(nesterov))
    return True


def add_flush_(param, velocity):
    """param += velocity in place, and velocity's subnormal entries set to 0 in the same pass
    (``_numba_kernels._TINY`` says why); False where not served."""
    flat = _flat(param, velocity)
    if flat is None or param.shape != velocity.shape:
        return False
    _nb[0].add_flush(*flat)
    return True


def flush_(state):
    """``state``'s subnormal entries set to 0 in place; False where not served."""
    flat = _flat(state)
    if flat is None:
        return False
    _nb[0].flush(flat[0])
    return True


def adam_(param, grad, m, v, lr_t, beta_1, beta_2, epsilon, keep=1.0):
    """Adam's update in place (bias correction folded into ``lr_t``; ``keep = 1 - lr * weight_decay``
    scales the parameter first, AdamW's decoupled decay); False where not served."""
    flat = _flat(param, grad, m, v)
    if flat is None or param.shape != grad.shape or m.shape != param.shape or v.shape != param.shape:
        return False
    f = np.float32
    _nb[0].adam(*flat, f(lr_t), f(beta_1), f(1.0 - beta_1), f(beta_2), f(1.0 - beta_2), f(epsilon),  # as NumPy
                f(keep))  # rounds them
    return True


def rmsprop_(param, grad, a, lr, rho, epsilon):
    """RMSprop's plain update in place (a: the running average of g^2); False where not served."""
    flat = _flat(param, grad, a)
    if flat is None or param.shape != grad.shape or a.shape != param.shape:
        return False
    f = np.float32
    _nb[0].rmsprop(*flat, f(lr), f(rho), f(1.0 - rho), f(epsilon))  # 1 - rho as the NumPy code rounds it
    return True


def adagrad_(param, grad, a, lr, epsilon):
    """Adagrad's update in place (a: the sum of g^2); False where not served."""
    flat = _flat(param, grad, a)
    if flat is None or param.shape != grad.shape or a.shape != param.shape:
        return False
    _nb[0].adagrad(*flat, np.float32(lr), np.float32(epsilon))
    return True


def softmax_ce(logits, labels):
    """Softmax cross-entropy of each row of ``logits`` (..., C) against integer ``labels`` (...):
    (loss (...), softmax (..., C)) in one pass, or None where the kernels do not serve them
    (then the NumPy code runs, and raises its own error for a label outside [0, C))."""
    flat = _flat(logits)
    if (flat is None or type(labels) is not np.ndarray or labels.dtype != np.intp or not logits.size
            or labels.shape != logits.shape[:-1]):
        return None
    C = logits.shape[-1]
    p = np.empty_like(logits)
    loss = np.empty(labels.shape, np.float32)
    if not _nb[0].softmax_ce(logits.reshape(-1, C), np.ascontiguousarray(labels).reshape(-1),
                             p.reshape(-1, C), loss.reshape(-1)):
        return None
    return loss, p


def softmax_ce_grad(p, labels, gy):
    """dL/dlogits = (p - onehot(labels)) * gy[..., None] as a new array, for ``softmax_ce``'s p."""
    C = p.shape[-1]
    g = np.empty_like(p)
    _nb[0].softmax_ce_grad(p.reshape(-1, C), np.ascontiguousarray(labels).reshape(-1),
                           np.ascontiguousarray(gy, dtype=np.float32).reshape(-1), g.reshape(-1, C))
    return g


def softmax_ce_dense(logits, targets):
    """Softmax cross-entropy of each row of ``logits`` (..., C) against probabilities (one-hot)
    ``targets`` of the same shape: (loss (...), softmax (..., C)) in one pass, or None where the
    kernels do not serve them."""
    flat = _flat(logits, targets)
    if flat is None or not logits.size or targets.shape != logits.shape:
        return None
    C = logits.shape[-1]
    p = np.empty_like(logits)
    loss = np.empty(logits.shape[:-1], np.float32)
    _nb[0].softmax_ce_dense(logits.reshape(-1, C), targets.reshape(-1, C), p.reshape(-1, C), loss.reshape(-1))
    return loss, p


def softmax_ce_dense_grad(p, targets, gy):
    """dL/dlogits = (p * sum(t) - t) * gy[..., None] as a new array, for ``softmax_ce_dense``'s p."""
    C = p.shape[-1]
    g = np.empty_like(p)
    _nb[0].softmax_ce_dense_grad(p.reshape(-1, C), targets.reshape(-1, C),
                                 np.ascontiguousarray(gy, dtype=np.float32).reshape(-1), g.reshape(-1, C))
    return g


def _pool_dims(a, kernel, strides):
    """(N, H, W, C), (kh, kw), (sh, sw) of a channels-last array, 1-D pooling as H = 1."""
    if len(kernel) == 1:
        return (a.shape[0], 1) + a.shape[1:], (1,) + tuple(kernel), (1,) + tuple(strides)
    return a.shape, tuple(kernel), tuple(strides)


def max_pool(xpad, kernel, strides, out_sizes, index, out=None):
    """Max pooling of a padded channels-last float32 array (1-D or 2-D windows) in one pass:
    (y, the first arg-max's window cell as uint8, or None without ``index``), or None where the
    kernels do not serve it (then ``maxout.max_of_pieces`` runs). ``out``: a C-contiguous
    float32 array of y's shape to write y into."""
    flat = _flat(xpad)
    if flat is None or xpad.ndim - 2 != len(kernel) or len(kernel) > 2 or int(np.prod(kernel)) > 255:
        return None
    shape = xpad.shape[:1] + tuple(out_sizes) + xpad.shape[-1:]
    if out is not None and (_flat(out) is None or out.shape != shape):
        return None
    y = np.empty(shape, np.float32) if out is None else out
    idx = np.empty(y.shape if index else (0,), np.uint8)
    (_, H, W, _), k, st = _pool_dims(xpad, kernel, strides)
    (N, OH, OW, C), _, _ = _pool_dims(y, kernel, strides)
    _nb[0].max_pool2d(flat[0], H, W, y.reshape(-1), idx.reshape(-1), N, OH, OW, C, k[0], k[1], st[0], st[1],
                      bool(index))
    return y, (idx if index else None)


def max_pool_grad(gy, idx, gx, kernel, strides, accumulate):
    """``max_pool``'s backward into ``gx`` (the padded input's gradient: zeros where windows
    overlap or leave cells out); returns whether the kernels served it."""
    flat = _flat(gy, gx)
    if flat is None or type(idx) is not np.ndarray or idx.shape != gy.shape or not idx.flags.c_contiguous:
        return False
    (_, H, W, _), k, st = _pool_dims(gx, kernel, strides)
    (N, OH, OW, C), _, _ = _pool_dims(gy, kernel, strides)
    _nb[0].max_pool2d_grad(flat[0], idx.reshape(-1), flat[1], H, W, N, OH, OW, C, k[0], k[1], st[0], st[1],
                           bool(accumulate))
    return True


def gru_step(G, t, r0, R, U, rec, bias, hu, hp, hn):
    """One GRU (reset_after) forward step's elementwise math for the R batch rows from r0.

    ``G``: ``Flat`` of the (3, T, N, U) gates holding x-parts [z/2, r/2, n] (sigmoid gates' weights
    halved); ``rec`` the (3, R, U) C-contiguous h @ U of this step (halved likewise); ``bias``
    the (3, U) b_hh (halved likewise) or None. Writes z, r, n into G, h U_h + b_hh into ``hu``,
    h_t into ``hn``; ``hu``, ``hp`` (h_{t-1}), ``hn``: (Flat, offset), (R, U) unit-stride rows.
    """
    b = bias.reshape(-1) if bias is not None else rec.reshape(-1)
    _nb[0].gru_step(G.buf, G.at(0, t, r0), G.strides[0], G.strides[2], rec.reshape(-1), R * U, b, bias is not None,
                    hu[0].buf, hu[1], hu[0].strides[-2], hp[0].buf, hp[1], hp[0].strides[-2],
                    hn[0].buf, hn[1], hn[0].strides[-2], R, U)


def warm_up():
    """Compile every kernel now (or load it from Numba's on-disk cache), as its first use would:
    for measurements that should count the compiled code as library, not as workload. Returns
    whether the kernels are available."""
    if not available():
        return False
    f32, z = np.float32, np.zeros
    a, b = z((2, 4), f32), z((2, 4), f32)
    relu_grad(a, relu(a))
    bias_relu_(a, b[0])
    bias_relu_(a)
    rnn_step_(a, b, a.copy(), "tanh")
    rnn_step_(a, b, a.copy(), "relu")
    relu_grad_bias(a, b, True)
    all_finite(a)
    for shape, k, st in (((1, 4, 4, 2), (2, 2), (2, 2)), ((1, 4, 2), (2,), (2,))):
        x = np.zeros(shape, f32)
        for index in (True, False):
            y, idx = max_pool(x, k, st, tuple(s // 2 for s in shape[1:-1]), index)
        for acc in (True, False):
            max_pool_grad(y, max_pool(x, k, st, y.shape[1:-1], True)[1], np.zeros_like(x), k, st, acc)
    sigmoid(a)
    tanh(a)
    sgd_(a, b, 0.1)
    sgd_(a, b, 0.1, z((2, 4), f32), 0.9)
    adam_(a, b, z((2, 4), f32), z((2, 4), f32), 0.1, 0.9, 0.999, 1e-7)
    add_flush_(a, b)
    flush_(a)
    rmsprop_(a, b, z((2, 4), f32), 0.1, 0.9, 1e-7)
    adagrad_(a, b, z((2, 4), f32), 0.1, 1e-7)
    tanh_(a)
    sigmoid_of_half_(a)
    loss, p = softmax_ce(a, np.zeros(2, np.intp))
    softmax_ce_grad(p, np.zeros(2, np.intp), loss)
    loss, p = softmax_ce_dense(a, b)
    softmax_ce_dense_grad(p, b, loss)
    G, C, TC = Flat(z((4, 1, 2, 4), f32)), Flat(z((2, 2, 4), f32)), Flat(z((1, 2, 4), f32))
    lstm_step(G, 0, 0, 2, 4, (C, C.at(0, 0)), (C, C.at(1, 0)), (TC, TC.at(0, 0)), (C, C.at(1, 0)))
    lstm_back_step(G, G, 0, 0, a, Flat(z((2, 1, 4), f32)), True, TC, b)
    G3, H = Flat(z((3, 1, 2, 4), f32)), Flat(z((2, 2, 4), f32))
    for bias in (None, z((3, 4), f32)):
        gru_step(G3, 0, 0, 2, 4, z((3, 2, 4), f32), bias, (TC, TC.at(0, 0)), (H, H.at(0, 0)), (H, H.at(1, 0)))
    from . import conv_kernels, crew, sequences  # noqa: PLC0415  (they import this module)

    sequences.warm_up()
    conv_kernels.warm_up()
    waits = crew.spinner()
    if waits is not None:
        waits[0](waits[1], np.zeros(1, np.int64), 0, 0, 1)
    return True
