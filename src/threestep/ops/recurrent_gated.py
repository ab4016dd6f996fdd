"""The LSTM over whole sequences (optionally with peepholes); the GRU is in ``recurrent_gru``.

Keras weight layout: W (D, k*units), U (units, k*units), gate blocks LSTM [i, f, c, o] and
GRU [z, r, h]. Internally the gates are gate-major, G (k, T, N, units): the gates are
activated in place in the buffer that held x @ W + b, and backward first turns a copy of it
into the activations' derivatives times every factor that does not depend on the incoming
gradients (a few passes over all steps), so each step of the backward time loop only
multiplies in dh (and dc). Both time loops run on row blocks of the batch, one per thread
where more than one is allowed (``_threads``); the same rows follow the same operations.
"""
from .. import backend
from ..accel import fused, kernels, sequences
from ..accel.threads import even, run
from .recurrent_base import Recurrent


class LSTM(Recurrent):
    """The lecture's LSTM: gates i, f, o = rec_act(.), candidate g = act(.),
    c_t = f c_{t-1} + i g, h_t = o act(c_t).

    With ``peephole`` (3, units) = [p_i, p_f, p_o] (diagonal, as the lecture draws it), i and f
    also see p * c_{t-1} and o sees p_o * c_t. Forward keeps the gates G (4, T, N, units), the
    states h and c in time order (T+1, N, units), and act(c_t). Returns (hs, h_last, c_last).
    """

    gate_order = (0, 1, 3, 2)  # internal [i, f, o, c]: the three sigmoid gates side by side

    def __init__(self, activation, recurrent_activation, optional=(), mask=None, reverse=False):
        super().__init__(optional, mask, reverse)
        self.act, self.rec = activation, recurrent_activation

    def forward(self, *xs):
        a = self._unpack(xs)
        xp = backend.get_array_module(a["x"])
        N, T, u = a["x"].shape[0], a["x"].shape[1], a["U"].shape[0]
        p = a.get("peephole")
        rows = self._plan(N, xp)  # row blocks, one per thread (see _threads)
        # Inference (no gradient asked for): one step's gates and act(c_t), reused every step,
        # instead of all T steps' kept for backward.
        self.inference = True not in self.needs_input_grad
        if (self.inference and self.m is None and p is None and self.rec.halvable and self.act.name == "tanh"
                and sequences.available(a["x"], a["U"])):
            return self._infer_sequence(a, rows)
        W4, U4 = self._gates(a["W"], 4), self._gates(a["U"], 4)
        b4 = self._gates(a["b"], 4) if "b" in a else None
        # One GEMM per step makes all four gates' pre-activations: [x_t, h, 1] @ [W; U; b], in the
        # rows XH (T+1, N, D+u+1) that hold each step's input next to the state it starts from
        # (Hs is the state columns of XH). Backward gets dW, dU and db from one GEMM over XH too.
        D = a["x"].shape[2]
        XH, WU = self._stacked(xp, a["x"], W4, U4, b4)
        self.XH = XH
        self.Hs = Hs = XH[:, :, D:D + u]
        Hs[T if self.reverse else 0] = a["h0"] if "h0" in a else 0
        # halved: i, f, o come out of the GEMM as a/2 (weights halved), so their sigmoid is one pass shorter
        halved = self.rec.halvable and p is None
        if halved:
            WU[:3] *= 0.5
        steps = 1 if self.inference else T
        self.G = xp.empty((4, steps, N, u), self.dtype)
        self.Cs = self._states(xp, a, "c0", (N, u))
        self.TC = xp.empty((steps, N, u), self.dtype)  # act(c_t)
        # Without a mask the outputs are the states after each step, which XH holds already (and
        # backward only reads): the output is a view of them, not a copy
        self.hs = xp.zeros((N, T, u), self.dtype) if self.m is not None else None
        self.WU, self.halved, self.W4, self.U4, self.p, self.D = WU, halved, W4, U4, p, D
        run(self._forward_rows, rows)
        hs, self.hs, self.WU = self.hs, None, None
        if hs is None:
            hs = Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2)
        last = 0 if self.reverse else T
        out = hs, Hs[last].copy(), self.Cs[last].copy()
        if self.inference:  # nothing is kept for a backward that will not run
            self.G = self.TC = self.Cs = self.XH = self.Hs = None
        return out

    def _infer_sequence(self, a, rows):
        """Inference without a mask on the CPU in float32: each row block's whole time loop in one
        Numba call (``sequences.lstm_sequence``), one GEMM [x_t, h, 1] @ [W; U; b] per step over all
        four gates, its rows in one of two small buffers that stay in cache (x_t copied in as the
        step starts); nothing is kept for backward. The outputs are the states Hs (T+1, N, u)."""
        xp = backend.get_array_module(a["x"])
        x = xp.ascontiguousarray(a["x"])
        N, T, D = x.shape
        u = a["U"].shape[0]
        WU = self._infer_weights(xp, a["W"], a["U"], a.get("b"))
        XH = xp.empty((2, N, WU.shape[0]), self.dtype)
        XH[0, :, D:D + u] = a["h0"] if "h0" in a else 0
        if "b" in a:
            XH[:, :, -1] = 1
        Hs = xp.empty((T + 1, N, u), self.dtype)
        Hs[T if self.reverse else 0] = XH[0, :, D:D + u]
        C = xp.array(a["c0"], self.dtype) if "c0" in a else xp.zeros((N, u), self.dtype)
        run(lambda part: sequences.lstm_sequence(x, WU, XH, C, Hs, self.reverse, part), rows)
        self.XH = self.Hs = self.Cs = None
        return Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2), Hs[0 if self.reverse else T].copy(), C

    def _infer_weights(self, xp, W, U, b):
        """[W; U; b] as one (K, 4u) matrix for ``lstm_sequence``: gate blocks [i/2, f/2, o/2, g]
        side by side (Keras's [i, f, c, o] reordered, the sigmoid gates' columns halved, see
        ``halved`` in forward), the bias row last where there is one. Built straight from the
        Keras-layout weights (one pass over each), each call: weights may change between calls."""
        u = U.shape[0]
        parts = [W, U] + ([b.reshape(1, -1)] if b is not None else [])
        WU = xp.empty((sum(len(m) for m in parts), 4, u), self.dtype)
        lo = 0
        for m in parts:
            src, dst = m.reshape(len(m), 4, u), WU[lo:lo + len(m)]
            for j, k in enumerate(self.gate_order):  # the sigmoid gates first (halved), the candidate last
                if j < 3:
                    xp.multiply(src[:, k], 0.5, out=dst[:, j])
                else:
                    dst[:, j] = src[:, k]
            lo += len(m)
        return WU.reshape(lo, 4 * u)

    def _forward_rows(self, rows):
        """The forward time loop for the batch rows ``rows``."""
        xp = backend.get_array_module(self.G)
        G, XH, WU, Hs, Cs, TC, hs = self.G, self.XH, self.WU, self.Hs, self.Cs, self.TC, self.hs
        p, off = self.p, self.off
        masked = self.m is not None
        tmp_h, tmp_c, tmp_ic = (xp.empty_like(Hs[0, rows]) for _ in range(3))
        numba_step = self._fused_step(rows, tmp_c, tmp_h)
        # float32 on NumPy without a mask: the whole loop in one Numba call (its GEMMs inside)
        if (numba_step is not None and not masked and not self.inference
                and sequences.lstm_train_sequence(XH, WU, G, Cs, TC, self.D, self.reverse, rows)):
            return
        chain = numba_step is None and self.halved and self.act.name == "tanh"  # one kernel on CuPy
        step_of = (lambda t: 0) if self.inference else (lambda t: t)  # noqa: E731  where step t's gates go
        for t in self.order:
            c = Cs[t + off, rows]
            k = step_of(t)
            g = xp.matmul(XH[t + off, rows], WU, out=G[:, k, rows])
            if numba_step is not None or chain:
                if chain:
                    c_new = tmp_c if masked else Cs[t + 1 - off, rows]
                    h_new = tmp_h if masked else Hs[t + 1 - off, rows]
                    fused.lstm_step_(*g, c, c_new, TC[k, rows], h_new)
                else:
                    c_new, h_new = numba_step(t, k)
                if masked:
                    self._emit(t, h_new, hs, rows)
                    self._commit(t, Hs, h_new, rows)
                    self._commit(t, Cs, c_new, rows)
                continue
            i, f, o, cand = g
            if self.halved:
                self.rec.apply_halved_(g[:3])
            elif p is None:
                self.rec.apply_(g[:3])
            else:
                i += p[0] * c
                f += p[1] * c
                self.rec.apply_(g[:2])
            self.act.apply_(cand)
            c_new = tmp_c if masked else Cs[t + 1 - off, rows]
            xp.multiply(f, c, out=c_new)
            c_new += xp.multiply(i, cand, out=tmp_ic)
            if p is not None:
                o += p[2] * c_new
                self.rec.apply_(o)
            self.act.apply_to(c_new, TC[k, rows])
            h_new = tmp_h if masked else Hs[t + 1 - off, rows]
            xp.multiply(o, TC[k, rows], out=h_new)
            if masked:
                self._emit(t, h_new, hs, rows)
                self._commit(t, Hs, h_new, rows)
                self._commit(t, Cs, c_new, rows)

    def _fused_step(self, rows, tmp_c, tmp_h):
        """``step(t, k) -> (c_t, h_t)``: the step's elementwise math in one Numba kernel (``kernels``),
        or None where the NumPy code serves (float64, CuPy, peepholes, other activations)."""
        G, Cs, Hs, TC = self.G, self.Cs, self.Hs, self.TC
        if not (self.halved and self.act.name == "tanh" and kernels.enabled(G, Cs, self.XH, TC)):
            return None
        r0, R, U = rows.start or 0, Cs[0, rows].shape[0], G.shape[3]
        fG, fC, fTC, fH = kernels.Flat(G), kernels.Flat(Cs), kernels.Flat(TC), kernels.Flat(Hs)
        masked, off = self.m is not None, self.off
        fc, fh = (kernels.Flat(tmp_c), kernels.Flat(tmp_h)) if masked else (fC, fH)

        def step(t, k):  # k: where step t's gates and act(c_t) are (t, or 0 in inference)
            new_c = (fc, fc.start) if masked else (fC, fC.at(t + 1 - off, r0))
            new_h = (fh, fh.start) if masked else (fH, fH.at(t + 1 - off, r0))
            kernels.lstm_step(fG, k, r0, R, U, (fC, fC.at(t + off, r0)), new_c,
                              (fTC, fTC.at(k, r0)), new_h)
            return (tmp_c, tmp_h) if masked else (None, None)
        return step

    def backward(self, ghs, gh, gc):
        xp = backend.get_array_module(ghs)
        G, TC = self.G, self.TC
        self.U4T = xp.ascontiguousarray(self.U4.transpose(0, 2, 1))
        self.dG = dG = xp.empty_like(G)  # derivatives of the activations, then the gates' gradients
        self.dTC = xp.empty_like(TC)
        self.ghs, self.dh, self.dc = ghs, gh.astype(self.dtype), gc.astype(self.dtype)
        self.live = self._live(ghs)
        run(self._backward_rows, even(G.shape[2], self.parts))
        dh, dc = self.dh, self.dc
        self.ghs = self.dG = self.dTC = self.dh = self.dc = None
        grads = {"h0": dh, "c0": dc}
        self._input_grads(dG, self.W4, grads, bias=None, kernel=False)
        self._stacked_grads(dG, grads)
        p = self.p
        if p is not None and self.need["peephole"]:
            T = G.shape[1]  # c_{t-1} and c_t; at masked rows do = 0 anyway
            Cp, C_new = self.Cs[self.off:self.off + T], self.Cs[1 - self.off:1 - self.off + T]
            grads["peephole"] = xp.stack([(dG[0] * Cp).sum(axis=(0, 1)), (dG[1] * Cp).sum(axis=(0, 1)),
                                          (dG[2] * C_new).sum(axis=(0, 1))])
        return self._finish(grads)

    def _backward_rows(self, rows):
        """The backward time loop for the batch rows ``rows``: fills dG[:, :, rows], dh[rows] and dc[rows]."""
        xp = backend.get_array_module(self.dG)
        G, dG, p, TC, dTC, m, ghs, U4T = self.G, self.dG, self.p, self.TC, self.dTC, self.m, self.ghs, self.U4T
        live = self.live
        Cp = self.Cs[self.off:self.off + G.shape[1]]
        rec = xp.empty((G.shape[0],) + self.dh[rows].shape, self.dtype)
        numba = (m is None and p is None and kernels.enabled(G, dG, dTC, ghs, self.dh, self.dc)
                 and all(a.flags.c_contiguous for a in (ghs, self.dh, self.dc)))
        if (numba and self.rec.name == "sigmoid" and self.act.name == "tanh"
                and sequences.lstm_back_sequence(dG, G, ghs, live, TC, self.dh, self.dc, U4T, self.reverse, rows,
                                               self.Cs)):
            return  # the whole loop in one Numba call, the derivative factors made inside it
        # Before the loop, one pass per gate over the block's stored gates folds in every factor that
        # does not depend on the incoming gradients: dG = [i' g, f' c_{t-1}, o' act(c_t), g' i]
        # and dTC = o act'(c_t), so each step only multiplies in dh and dc (fewer, larger NumPy calls).
        i_, f_, o_, c_ = G[:, :, rows]
        di_, df_, do_, dc_ = dG[:, :, rows]
        self.rec.deriv(G[:3, :, rows], dG[:3, :, rows])
        self.act.deriv(c_, dc_)
        self.act.deriv(TC[:, rows], dTC[:, rows])
        di_ *= c_
        df_ *= Cp[:, rows]
        do_ *= TC[:, rows]
        dc_ *= i_
        dTC[:, rows] *= o_
        dh, dc = self.dh[rows], self.dc[rows]
        if numba and sequences.lstm_back_sequence(dG, G, ghs, live, dTC, self.dh, self.dc, U4T, self.reverse, rows):
            return  # the whole loop in one Numba call, its GEMMs inside; dh and dc were updated in place
        if numba:
            fG, fdG, fdTC, fgo = kernels.Flat(G), kernels.Flat(dG), kernels.Flat(dTC), kernels.Flat(ghs)
            r0 = rows.start or 0
        for t in reversed(self.order):
            if numba:  # the same math as below, in one Numba kernel (see kernels)
                kernels.lstm_back_step(fdG, fG, t, r0, dh, fgo, live[t], fdTC, dc)
                dh = xp.matmul(dG[:, t, rows], U4T, out=rec).sum(axis=0)
                continue
            if m is None and p is None:  # the same math again, as one kernel on CuPy (accel.fused)
                d = dG[:, t, rows]
                gout = (ghs[rows, t],) if live is None or live[t] else ()
                dc = fused.lstm_back_step_(*d, G[1, t, rows], dTC[t, rows], dc, dh, *gout)
                dh = xp.matmul(d, U4T, out=rec).sum(axis=0)
                continue
            g, skip = self._arrive(t, dh, ghs, rows, live)
            f = G[1, t, rows]
            d = dG[:, t, rows]
            d[2] *= g
            dc_new = xp.multiply(g, dTC[t, rows])
            dc_new += dc if m is None else dc * m[t, rows]
            if p is not None:
                dc_new += d[2] * p[2]
            d[:2] *= dc_new
            d[3] *= dc_new
            dc_prev = dc_new * f
            if p is not None:
                dc_prev += d[0] * p[0]
                dc_prev += d[1] * p[1]
            dh = xp.matmul(d, U4T, out=rec).sum(axis=0)
            if skip is not None:
                dh += skip
                dc_prev += dc * ~m[t, rows]
            dc = dc_prev
        self.dh[rows], self.dc[rows] = dh, dc
