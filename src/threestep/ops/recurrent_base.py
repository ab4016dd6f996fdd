"""What the whole-sequence recurrent ops share: in-place activations, the time loop's
bookkeeping (optional inputs, masks, direction) and the input-side GEMMs of BPTT.

A recurrent ``Function`` here runs a whole sequence: forward projects every step's input
at once (``x @ W + b``), loops over time with one recurrent GEMM per step, and keeps the
gate activations in one preallocated gate-major array G (k gates, T, N, units), so every
gate of every step is a contiguous (N, units) block; backward loops over time in reverse
and finishes with one GEMM per gate block each for dW, dx and dU over all steps
(backpropagation through time). Batched over the k gate blocks, these GEMMs cost the same
as one (N, k*units) GEMM, while the elementwise gate math runs faster on contiguous blocks
than on the strided gate columns of an (N, k*units) array. The LSTM goes
one step further (``_stacked``): each step's single GEMM [x_t, h, 1] @ [W; U; b] writes the
gates' pre-activations straight into G, which beats a separate x @ W whose inner dimension
(the input features, e.g. 28) is too small for the BLAS to run fast (figures: benchmarks/RESULTS.md, "Measurements behind the code").

With more than one BLAS thread allowed, the gated cells split the batch into row blocks that
run the time loops in parallel threads (``_threads``), and the GEMMs before and after the
loops are split over the same threads (``_split``) with the BLAS pool at one thread.
"""
from .. import backend
from ..autograd import Function
from ..errors import unknown_name
from ..accel import kernels
from ..accel.threads import blocks, even, run


# ---------------------------------------------------------------- activations
# Each activation has an in-place forward (the gate buffers are preallocated) and a
# derivative written in terms of its OUTPUT y, so backward needs only the stored gates.
def _tanh_(a):
    if not kernels.tanh_(a):  # float32 on NumPy: one Numba pass (see kernels)
        backend.get_array_module(a).tanh(a, out=a)


def _sigmoid_(a):
    # sigmoid(a) = (1 + tanh(a/2)) / 2: in place and overflow-free, faster than
    # stable_sigmoid's exp/where; only its relative precision below ~1e-7 differs.
    a *= 0.5
    _sigmoid_of_half_(a)


def _sigmoid_of_half_(a):
    """sigmoid(2 a) in place: the sigmoid of a pre-activation whose weights were halved in advance."""
    if kernels.sigmoid_of_half_(a):  # float32 on NumPy: one Numba pass (see kernels)
        return
    backend.get_array_module(a).tanh(a, out=a)
    a *= 0.5
    a += 0.5


def _relu_(a):
    backend.get_array_module(a).maximum(a, 0, out=a)


def _linear_(a):
    pass


def _hard_sigmoid_(a):  # Keras: clip(0.2 a + 0.5, 0, 1)
    a *= 0.2
    a += 0.5
    backend.get_array_module(a).clip(a, 0, 1, out=a)


def _softmax_(a):
    xp = backend.get_array_module(a)
    a -= a.max(axis=-1, keepdims=True)
    xp.exp(a, out=a)
    a /= a.sum(axis=-1, keepdims=True)


# f'(pre-activation) from the output y, written into ``out`` (one pass over the stored gates
# before the backward time loop). Slopes at kinks follow PyTorch: relu'(0) = 0, and a
# saturated hard sigmoid has slope 0 at its boundaries (as ops.HardSigmoid).
def _tanh_deriv(y, out):
    backend.get_array_module(y).multiply(y, y, out=out)
    backend.get_array_module(y).subtract(1, out, out=out)


def _sigmoid_deriv(y, out):
    backend.get_array_module(y).subtract(1, y, out=out)
    out *= y


def _relu_deriv(y, out):
    backend.get_array_module(y).greater(y, 0, out=out)


def _linear_deriv(y, out):
    out[...] = 1


def _hard_sigmoid_deriv(y, out):
    xp = backend.get_array_module(y)
    xp.multiply((y > 0) & (y < 1), y.dtype.type(0.2), out=out)


_DERIVS = {"tanh": _tanh_deriv, "sigmoid": _sigmoid_deriv, "relu": _relu_deriv, "linear": _linear_deriv,
           "hard_sigmoid": _hard_sigmoid_deriv, "softmax": None}
_FORWARDS = {"tanh": _tanh_, "sigmoid": _sigmoid_, "relu": _relu_, "linear": _linear_,
             "hard_sigmoid": _hard_sigmoid_, "softmax": _softmax_}


class Activation:
    """A named activation: ``apply_(a)`` in place; ``deriv(y, out)`` writes f'(a) from y = f(a)
    into out and returns it; ``grad(g, y)`` = g * f'(a) (softmax: the Jacobian-vector product)."""

    def __init__(self, name):
        self.name = name
        self.apply_ = _FORWARDS[name]
        self._deriv = _DERIVS[name]
        # The sigmoid's first step, a/2, can be folded into the weights that make a: halving a
        # weight is exact in binary floating point, so x@(W/2) is bitwise (x@W)/2 and a pass over
        # the gates per time step is saved. ``apply_halved_`` then finishes the activation.
        self.halvable = name == "sigmoid"
        self.apply_halved_ = _sigmoid_of_half_ if self.halvable else None

    def apply_to(self, src, out):
        """out = f(src) (out must not overlap src unless it is src): one pass for tanh."""
        if self.name == "tanh" and not kernels.enabled(out):
            backend.get_array_module(src).tanh(src, out=out)
        else:
            out[...] = src
            self.apply_(out)
        return out

    def deriv(self, y, out):
        self._deriv(y, out)
        return out

    def grad(self, g, y):
        if self.name == "softmax":
            return y * (g - (g * y).sum(axis=-1, keepdims=True))
        return g * self.deriv(y, backend.get_array_module(y).empty_like(y))

    def __repr__(self):
        return f"Activation({self.name!r})"


def get_activation(name, argument="activation", allow_softmax=False):
    """The ``Activation`` for a name (None means 'linear', as in Keras); ConfigError otherwise."""
    name = "linear" if name is None else name
    valid = [n for n in _FORWARDS if allow_softmax or n != "softmax"]
    if name not in valid:
        raise unknown_name(argument, name, valid)
    return Activation(name)


# ---------------------------------------------------------------- the shared time loop
class Recurrent(Function):
    """Bookkeeping shared by the whole-sequence cells.

    Inputs are ``(*required, *optional)``: ``required`` names the positional Tensors every
    call passes (x first), ``optional`` the names of the optional Tensors present in this
    call, in order (absent ones are not passed at all, so no None reaches the engine).
    ``mask`` is a boolean (N, T) array or None; ``reverse`` runs from t = T-1 down to 0.
    """

    required = ("x", "W", "U")
    gate_order = None  # internal order of the Keras gate blocks (None: Keras order)
    parts = 1  # parallel parts of the work (see _threads); ``_plan`` sets it per call

    def __init__(self, optional=(), mask=None, reverse=False):
        self.optional, self.mask, self.reverse = tuple(optional), mask, bool(reverse)

    def _unpack(self, xs):
        """The inputs by name, all in one float dtype; sets need, dtype, order and the mask."""
        xp = backend.get_array_module(*xs)
        names = self.required + self.optional
        self.in_dtypes = {n: a.dtype for n, a in zip(names, xs)}
        self.need = dict(zip(names, self.needs_input_grad))
        self.dtype = xp.result_type(*[a.dtype for a in xs])
        a = {n: v.astype(self.dtype, copy=False) for n, v in zip(names, xs)}
        N, T = a["x"].shape[:2]
        self.order = range(T - 1, -1, -1) if self.reverse else range(T)
        self.off = int(self.reverse)
        self.m = None
        if self.mask is not None:  # time-major columns: m[t] is (N, 1)
            self.m = xp.ascontiguousarray(xp.asarray(self.mask).T)[..., None]
        return a

    def _plan(self, n, xp):
        """Decide once per call how many threads share the work of n batch rows (see _threads); the
        row blocks for the time loops, the same number of parts for the GEMMs around them."""
        rows = blocks(n, xp)
        self.parts = len(rows)
        return rows

    def _split(self, fn, n):
        """``fn(part)`` over ``self.parts`` slices of range(n), in parallel where parts > 1. Keeping
        every GEMM of a parallel call on these threads (with the BLAS pool at one thread) keeps the
        BLAS's own workers, which busy-wait after each threaded call, from taking the cores."""
        run(fn, even(n, self.parts))

    def _gemm_t(self, A, d3):
        """A^T @ d3 per gate block, (rows, k*u) in Keras layout: A (M, rows), d3 (k, M, u). Over
        several threads each takes whole gate blocks where they divide evenly (contiguous
        operands), else a share of every block's columns."""
        xp = backend.get_array_module(d3)
        k = d3.shape[0]
        out = xp.empty((k, A.shape[1], d3.shape[2]), self.dtype)
        At = A.T
        if self.parts > 1 and k % self.parts == 0:
            run(lambda g: xp.matmul(At, d3[g], out=out[g]), even(k, self.parts))
        else:
            self._split(lambda c: xp.matmul(At, d3[..., c], out=out[..., c]), d3.shape[2])
        return self._keras(out)

    def _colsum(self, d3):
        """d3 (k, M, u) summed over M, in Keras layout (k*u,): a vector of ones times each gate
        block, one GEMV each. (NumPy's sums over M of a share of the columns per thread read
        strided rows and ran slower on two threads than on one: benchmarks/RESULTS.md.)"""
        xp = backend.get_array_module(d3)
        return self._keras(xp.matmul(xp.ones(d3.shape[1], self.dtype), d3))

    def _gates(self, M, k):
        """A Keras kernel (rows, k*u) or bias (k*u,) as k contiguous gate blocks (k, rows, u) or
        (k, u), in the cell's internal gate order."""
        xp = backend.get_array_module(M)
        u = M.shape[-1] // k
        M4 = xp.moveaxis(M.reshape(M.shape[:-1] + (k, u)), -2, 0)
        if self.gate_order is not None:  # stacked views: a list index would be a host->device copy on CuPy
            return xp.stack([M4[j] for j in self.gate_order])
        return xp.ascontiguousarray(M4)

    @staticmethod
    def _halved(M4, k):
        """A copy of gate blocks M4 (k_all, ...) with the first ``k`` blocks halved (see Activation)."""
        M = M4.copy()
        M[:k] *= 0.5
        return M

    def _keras(self, g4):
        """Gate blocks (k, rows, u) or (k, u) back to the Keras layout (rows, k*u) or (k*u,)."""
        xp = backend.get_array_module(g4)
        if self.gate_order is not None:
            g4 = xp.stack([g4[self.gate_order.index(j)] for j in range(len(self.gate_order))])
        k, u = g4.shape[0], g4.shape[-1]
        return xp.moveaxis(g4, 0, -2).reshape(g4.shape[1:-1] + (k * u,))

    def _project(self, x, W4, b4=None):
        """x @ W (+ b) for every step, gate-major (k, T, N, u): one GEMM per gate block."""
        N, T, D = x.shape
        xp = backend.get_array_module(x)
        xt = x.transpose(1, 0, 2).reshape(T * N, D)
        self.xt = xt if self.need["W"] else None
        G = xp.empty((W4.shape[0], T * N, W4.shape[2]), self.dtype)

        def part(rows):
            xp.matmul(xt[rows], W4, out=G[:, rows])
            if b4 is not None:
                G[:, rows] += b4[:, None, :]
        self._split(part, T * N)
        return G.reshape(W4.shape[0], T, N, W4.shape[2])

    def _kernel_grad(self, A, dG):
        """sum over steps of A_t^T dG_t, as one GEMM per gate block: A (T, N, rows) -> (rows, k*u)."""
        k, T, N, u = dG.shape
        return self._gemm_t(A.reshape(T * N, -1), dG.reshape(k, T * N, u))

    def _states(self, xp, a, name, shape):
        """A (T+1, *shape) buffer of states in time order, holding the initial state ``a[name]``
        (or zeros): step t starts from S[t + off] and leaves S[t + 1 - off] (off = reverse)."""
        S = xp.empty((len(self.order) + 1,) + shape, self.dtype)
        S[len(self.order) if self.reverse else 0] = a[name] if name in a else 0
        return S

    # ``rows`` (a slice of the batch) lets a row block run its own time loop (see _threads).
    def _commit(self, t, S, new, rows=slice(None)):
        """At masked rows the state after step t is the one it started from."""
        xp = backend.get_array_module(new)
        nxt = S[t + 1 - self.reverse, rows]
        xp.copyto(nxt, S[t + self.reverse, rows])
        xp.copyto(nxt, new, where=self.m[t, rows])

    def _emit(self, t, new, out, rows=slice(None)):
        """Write step t's output: the new value, or zero at a masked step."""
        if self.m is None:
            out[rows, t] = new
        else:
            backend.get_array_module(new).multiply(new, self.m[t, rows], out=out[rows, t])

    def _live(self, gout):
        """Which steps' outputs receive a gradient (the others are zeros, e.g. only the last state
        is used), so that backward skips adding zeros: a boolean per step, or None for all.
        When nothing used the sequence output (output 0) the engine says so and nothing is read;
        on the GPU a used one counts as live everywhere, since reading it would wait for the
        device in the middle of backward."""
        if 0 in self.zero_grads:
            return [False] * gout.shape[1]
        if backend.on_gpu(gout):
            return None
        return gout.any(axis=(0, 2)).tolist()

    def _arrive(self, t, dstate, gout, rows=slice(None), live=None):
        """Split the gradient of the state after step t (plus the output's, ``gout``) into the
        part reaching the step's new value and the part that skips a masked step (or None).
        ``live[t]`` False: gout[:, t] is zero (the result may then be ``dstate`` itself)."""
        g = dstate + gout[rows, t] if live is None or live[t] else dstate
        if self.m is None:
            return g, None
        m = self.m[t, rows]
        return g * m, dstate * ~m

    def _stacked(self, xp, x, W4, U4, b4):
        """XH (T+1, N, D+u[+1]) and WU (k, D+u[+1], u) for one GEMM per step, [x_t, h, 1] @ [W; U; b].

        Row t + off of XH holds step t's input x_t beside the state step t starts from (its state
        columns are filled by the time loop); the one row no step reads as input holds x = 0.
        The column of ones (and the bias row of WU) exist only when there is a bias.
        """
        N, T, D = x.shape
        k, u = U4.shape[0], U4.shape[2]
        K = D + u + (b4 is not None)
        WU = xp.empty((k, K, u), self.dtype)
        WU[:, :D], WU[:, D:D + u] = W4, U4
        XH = xp.empty((T + 1, N, K), self.dtype)
        XH[self.off:self.off + T, :, :D] = x.transpose(1, 0, 2)
        XH[T if self.off == 0 else 0, :, :D] = 0
        if b4 is not None:
            WU[:, K - 1] = b4
            XH[:, :, K - 1] = 1
        return XH, WU

    def _stacked_grads(self, dG, grads):
        """dW, dU and db at once: XH^T @ dG over all steps (rows of the rows each step read)."""
        if not any(self.need.get(n) for n in ("W", "U", "b")):
            return
        k, T, N, u = dG.shape
        XH = self.XH[self.off:self.off + T]
        D = XH.shape[2] - u - ("b" in self.need)
        full = self._gemm_t(XH.reshape(T * N, -1), dG.reshape(k, T * N, u))
        grads["W"], grads["U"] = full[:D], full[D:D + u]
        if "b" in self.need:
            grads["b"] = full[D + u]

    def _input_grads(self, dG, W4, grads, bias="b", kernel=True):
        """dx = dG @ W^T, dW = x^T @ dG and db = sum dG over all steps, one GEMM per gate block
        (``kernel=False``: dx only)."""
        k, T, N, u = dG.shape
        d3 = dG.reshape(k, T * N, u)
        xp = backend.get_array_module(dG)
        if self.need["x"]:
            gx = xp.empty((T * N, W4.shape[1]), self.dtype)

            def part(rows):
                xp.matmul(d3[0, rows], W4[0].T, out=gx[rows])
                for j in range(1, k):
                    gx[rows] += d3[j, rows] @ W4[j].T
            self._split(part, T * N)
            grads["x"] = xp.ascontiguousarray(gx.reshape(T, N, W4.shape[1]).transpose(1, 0, 2))
        if kernel and self.need["W"]:
            grads["W"] = self._gemm_t(self.xt, d3)
        if bias is not None and self.need.get(bias):
            grads[bias] = self._colsum(d3)

    def _finish(self, grads):
        """The gradients in input order, each in its input's dtype (None where not needed)."""
        out = []
        for n in self.required + self.optional:
            g = grads.get(n) if self.need[n] else None
            out.append(None if g is None else g.astype(self.in_dtypes[n], copy=False))
        return tuple(out)
