"""The plain recurrent cells over whole sequences: Elman (SimpleRNN) and Jordan networks."""
from .. import backend
from ..accel import fused, kernels, sequences
from .recurrent_base import Recurrent


class SimpleRNN(Recurrent):
    """h_t = act(x_t W + h_{t-1} U + b) over a whole sequence: the lecture's Elman network.

    Forward keeps the activations H (T, N, units) and the states fed into each step;
    backward: da_t = (dh_t) * act'(h_t), dh_{t-1} = da_t U^T, and dU = sum_t h_{t-1}^T da_t.
    Returns (hs (N, T, units), h_last (N, units)).
    """

    def __init__(self, activation, optional=(), mask=None, reverse=False):
        super().__init__(optional, mask, reverse)
        self.act = activation

    def forward(self, *xs):
        a = self._unpack(xs)
        xp = backend.get_array_module(a["x"])
        U = a["U"]
        N, T, u = a["x"].shape[0], a["x"].shape[1], U.shape[0]
        if True not in self.needs_input_grad and self.m is None and sequences.available(a["x"]):  # inference
            out = self._infer_sequence(a, xp)
            if out is not None:
                return out
        self.W4 = self._gates(a["W"], 1)
        self.H = H = self._project(a["x"], self.W4, self._gates(a["b"], 1) if "b" in a else None)[0]
        self.Hs = Hs = self._states(xp, a, "h0", (N, u))
        # Without a mask the outputs are the states after each step, which Hs holds already (and
        # backward only reads): the output is a view of them, not a copy
        hs = xp.zeros((N, T, u), self.dtype) if self.m is not None else None
        rec = xp.empty((N, u), self.dtype)
        chain = self.m is None and self.act.name in ("tanh", "relu") and not kernels.enabled(H)
        # float32 on NumPy without a mask: the whole time loop (GEMM, add, activation, the state's
        # copy) in one Numba call
        stepped = self.m is None and sequences.rnn_sequence_(H, Hs, U, self.reverse, self.act.name)
        for t in () if stepped else self.order:
            if chain:  # one kernel on CuPy (accel.fused)
                fused.rnn_step_(H[t], xp.matmul(Hs[t + self.off], U, out=rec), Hs[t + 1 - self.off],
                                activation=self.act.name)
                continue
            xp.matmul(Hs[t + self.off], U, out=rec)
            # float32 on NumPy: add, activation and the state's copy in one Numba pass
            stepped = self.m is None and kernels.rnn_step_(H[t], rec, Hs[t + 1 - self.off], self.act.name)
            if stepped:
                continue
            H[t] += rec
            self.act.apply_(H[t])
            if self.m is None:
                Hs[t + 1 - self.off] = H[t]
            else:
                self._emit(t, H[t], hs)
                self._commit(t, Hs, H[t])
        if hs is None:
            hs = Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2)
        self.U = U
        return hs, Hs[0 if self.reverse else T].copy()

    def _infer_sequence(self, a, xp):
        """Inference without a mask on the CPU in float32: the whole time loop in one Numba call
        (``sequences.rnn_infer_sequence``, x_t W and h U per step inside), or None where it does
        not serve; nothing is kept for backward."""
        x, W, U = (xp.ascontiguousarray(a[n]) for n in ("x", "W", "U"))
        N, T = x.shape[:2]
        u = U.shape[0]
        b = xp.ascontiguousarray(a["b"]) if "b" in a else xp.zeros(u, self.dtype)
        Hs = self._states(xp, a, "h0", (N, u))
        if not sequences.rnn_infer_sequence(x, W, U, b, Hs, self.reverse, self.act.name):
            return None
        # The outputs are the states: a view of Hs, no copy (nothing else holds Hs)
        return Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2), Hs[0 if self.reverse else T].copy()

    def backward(self, ghs, gh):
        H, U = self.H, self.U
        xp = backend.get_array_module(H)
        dh = gh.astype(self.dtype)
        if self.m is None and kernels.enabled(H):  # float32 NumPy: the whole loop in one Numba call
            dA = xp.empty_like(H)
            ghs = xp.ascontiguousarray(ghs, dtype=self.dtype)
            if sequences.rnn_back_sequence(dA, H, ghs, self._live(ghs), dh, U, self.reverse, self.act.name):
                return self._weight_grads(dA, dh)
        dA = self.act.deriv(H, xp.empty_like(H))
        for t in reversed(self.order):
            if self.m is None and not kernels.enabled(dA):  # one kernel on CuPy (accel.fused)
                fused.rnn_back_step_(dA[t], dh, ghs[:, t])
                dh = dA[t] @ U.T
                continue
            g, skip = self._arrive(t, dh, ghs)
            dA[t] *= g
            dh = dA[t] @ U.T
            if skip is not None:
                dh += skip
        return self._weight_grads(dA, dh)

    def _weight_grads(self, dA, dh):
        """The gradients of the inputs, the weights and the initial state from every step's dA."""
        grads = {"h0": dh}
        self._input_grads(dA[None], self.W4, grads)
        if self.need["U"]:
            grads["U"] = self._kernel_grad(self.Hs[self.off:self.off + dA.shape[0]], dA[None])
        return self._finish(grads)


class Jordan(Recurrent):
    """The lecture's Jordan network, "the output goes to memory":

        h_t = act(x_t W + y_{t-1} U + b),   y_t = out_act(h_t Wy + by).

    U is (output_dim, units); y_0 defaults to zeros. Returns (hs (N, T, units),
    ys (N, T, output_dim), y_last (N, output_dim)); a masked step carries y and outputs zeros.
    """

    required = ("x", "W", "U", "Wy")

    def __init__(self, activation, output_activation, optional=(), mask=None, reverse=False):
        super().__init__(optional, mask, reverse)
        self.act, self.out_act = activation, output_activation

    def forward(self, *xs):
        a = self._unpack(xs)
        xp = backend.get_array_module(a["x"])
        U, Wy = a["U"], a["Wy"]
        N, T = a["x"].shape[:2]
        u, o = U.shape[1], U.shape[0]
        self.W4 = self._gates(a["W"], 1)
        self.H = H = self._project(a["x"], self.W4, self._gates(a["b"], 1) if "b" in a else None)[0]
        self.Y = Y = xp.empty((T, N, o), self.dtype)  # y_t before masking
        self.Ys = Ys = self._states(xp, a, "y0", (N, o))
        hs = (xp.zeros if self.m is not None else xp.empty)((N, T, u), self.dtype)
        ys = (xp.zeros if self.m is not None else xp.empty)((N, T, o), self.dtype)
        rec = xp.empty((N, u), self.dtype)
        by = a.get("by")
        for t in self.order:
            H[t] += xp.matmul(Ys[t + self.off], U, out=rec)
            self.act.apply_(H[t])
            xp.matmul(H[t], Wy, out=Y[t])
            if by is not None:
                Y[t] += by
            self.out_act.apply_(Y[t])
            self._emit(t, H[t], hs)
            self._emit(t, Y[t], ys)
            if self.m is None:
                Ys[t + 1 - self.off] = Y[t]
            else:
                self._commit(t, Ys, Y[t])
        self.U, self.Wy = U, Wy
        return hs, ys, Ys[0 if self.reverse else T].copy()

    def backward(self, ghs, gys, gy):
        xp = backend.get_array_module(gys)
        H, Y, U, Wy = self.H, self.Y, self.U, self.Wy
        dA, dO = self.act.deriv(H, xp.empty_like(H)), xp.empty_like(Y)
        dy = gy.astype(self.dtype)
        for t in reversed(self.order):
            g, skip = self._arrive(t, dy, gys)
            dO[t] = self.out_act.grad(g, Y[t])
            dh = dO[t] @ Wy.T
            dh += ghs[:, t] if self.m is None else ghs[:, t] * self.m[t]
            dA[t] *= dh
            dy = dA[t] @ U.T
            if skip is not None:
                dy += skip
        grads = {"y0": dy}
        self._input_grads(dA[None], self.W4, grads)
        d2 = dO.reshape(-1, Y.shape[2])
        if self.need["U"]:
            grads["U"] = self._kernel_grad(self.Ys[self.off:self.off + Y.shape[0]], dA[None])
        if self.need["Wy"]:
            grads["Wy"] = H.reshape(-1, H.shape[2]).T @ d2
        if self.need.get("by"):
            grads["by"] = d2.sum(axis=0)
        return self._finish(grads)
