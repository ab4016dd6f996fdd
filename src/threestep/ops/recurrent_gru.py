"""The GRU over whole sequences, reset_after (Keras 3 / PyTorch) or not (Keras 2.3).

Gate-major like the LSTM (``recurrent_gated``): G (3, T, N, units) holds x @ W + b for every step
(the input projection, one GEMM before the loop), each step adds h @ U and activates the
gates in place; backward runs the time loop in reverse over row blocks, one per thread.
"""
from .. import backend
from ..accel import fused, kernels, sequences
from ..accel.threads import even, run
from .recurrent_base import Recurrent


class GRU(Recurrent):
    """z, r = rec_act(.), h_t = z h_{t-1} + (1 - z) n with candidate

    * reset_after=True (Keras 3 / PyTorch): n = act(x W_h + b_xh + r (h U_h + b_hh)), b (2, 3 units);
    * reset_after=False (Keras 2.3): n = act(x W_h + (r h) U_h + b_h), b (3 units,).

    Returns (hs, h_last).
    """

    def __init__(self, activation, recurrent_activation, reset_after=True, optional=(), mask=None,
                 reverse=False):
        super().__init__(optional, mask, reverse)
        self.act, self.rec, self.reset_after = activation, recurrent_activation, reset_after

    def forward(self, *xs):
        a = self._unpack(xs)
        xp = backend.get_array_module(a["x"])
        b, after = a.get("b"), self.reset_after
        N, T, u = a["x"].shape[0], a["x"].shape[1], a["U"].shape[0]
        W4, U4 = self._gates(a["W"], 3), self._gates(a["U"], 3)
        rows = self._plan(N, xp)  # row blocks, one per thread (see _threads)
        bx = None if b is None else self._gates(b[0] if after else b, 3)
        bh = None if b is None or not after else self._gates(b[1], 3)[:, None, :]
        # halved: z, r come out of the GEMMs as a/2 (weights halved), so their sigmoid is one pass shorter
        halved = self.rec.halvable
        if halved:
            W4f, U4f = self._halved(W4, 2), self._halved(U4, 2)
            bx, bh = (None if v is None else self._halved(v, 2) for v in (bx, bh))
        else:
            W4f, U4f = W4, U4
        rec_act_ = self.rec.apply_halved_ if halved else self.rec.apply_
        self.inference = True not in self.needs_input_grad
        if (self.inference and self.m is None and after and halved and self.act.name == "tanh"
                and sequences.available(a["x"])):
            return self._infer_sequence(a, W4f, U4f, bx, bh, rows)
        self.G = self._project(a["x"], W4f, bx)
        self.Hs = Hs = self._states(xp, a, "h0", (N, u))
        # HU: reset_after keeps h U_h + b_hh (for dr); otherwise r * h (the GEMM input, for dU_h)
        # (inference, no gradient asked for: one step's, reused every step)
        self.HU = xp.empty((1 if self.inference else T, N, u), self.dtype)
        # Without a mask the outputs are the states after each step, which Hs holds already (and
        # backward only reads): the output is a view of them, not a copy
        self.hs = xp.zeros((N, T, u), self.dtype) if self.m is not None else None
        self.U4f, self.bh, self.rec_act_ = U4f, bh, rec_act_
        run(self._forward_rows, rows)
        hs, self.hs, self.U4f, self.bh, self.rec_act_ = self.hs, None, None, None, None
        if hs is None:
            hs = Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2)
        self.W4, self.U4 = W4, U4
        out = hs, Hs[0 if self.reverse else T].copy()
        if self.inference:  # nothing is kept for a backward that will not run
            self.G = self.Hs = self.HU = self.W4 = self.U4 = None
        return out

    def _infer_sequence(self, a, W4f, U4f, bx, bh, rows):
        """Inference without a mask on the CPU in float32 (reset_after, sigmoid gates, tanh): each
        row block's whole time loop in one Numba call (``sequences.gru_infer_sequence``), x W and
        h U one GEMM each per step over the three gates (gate blocks side by side); nothing is
        kept for backward."""
        xp = backend.get_array_module(U4f)
        x = xp.ascontiguousarray(a["x"])
        N, T = x.shape[:2]
        k, u = U4f.shape[0], U4f.shape[2]
        Wf = xp.ascontiguousarray(W4f.transpose(1, 0, 2).reshape(-1, k * u))
        Uf = xp.ascontiguousarray(U4f.transpose(1, 0, 2).reshape(u, k * u))
        bx, bh = (xp.zeros(k * u, self.dtype) if v is None else xp.ascontiguousarray(v.reshape(-1)) for v in (bx, bh))
        Hs = self._states(xp, a, "h0", (N, u))
        run(lambda part: sequences.gru_infer_sequence(x, Wf, Uf, bx, bh, Hs, self.reverse, part), rows)
        self.G = self.Hs = self.HU = self.W4 = self.U4 = None
        # The outputs are the states: a view of Hs, no copy (nothing else holds Hs)
        return Hs[1 - self.off:T + 1 - self.off].transpose(1, 0, 2), Hs[0 if self.reverse else T].copy()

    def _forward_rows(self, rows):
        """The forward time loop for the batch rows ``rows``."""
        xp = backend.get_array_module(self.G)
        G, Hs, HU, hs, U4f, bh, off = self.G, self.Hs, self.HU, self.hs, self.U4f, self.bh, self.off
        after = self.reset_after
        masked, rec_act_ = self.m is not None, self.rec_act_
        rec = xp.empty((3 if after else 2,) + Hs[0, rows].shape, self.dtype)
        tmp_h, rec_h = xp.empty_like(rec[0]), xp.empty_like(rec[0])
        numba_step = self._fused_step(rows, rec, tmp_h)
        # float32 on NumPy without a mask: the whole loop in one Numba call (its GEMMs inside)
        if (numba_step is not None and not masked
                and sequences.gru_sequence(G, Hs, HU, U4f, None if bh is None else bh.reshape(3, -1), off, rows)):
            return
        chain = numba_step is None and after and self.rec.halvable and self.act.name == "tanh"
        b_hh = () if bh is None else tuple(bh)
        step_of = (lambda t: 0) if self.inference else (lambda t: t)  # noqa: E731  where step t's HU goes
        for t in self.order:
            h = Hs[t + off, rows]
            k = step_of(t)
            g = G[:, t, rows]
            z, r, n = g
            if numba_step is not None or chain:  # the same math as below, in one Numba kernel (see
                xp.matmul(h, U4f, out=rec)       # kernels) or one kernel on CuPy (accel.fused)
                if chain:
                    h_new = tmp_h if masked else Hs[t + 1 - off, rows]
                    fused.gru_step_(z, r, n, *rec, h, HU[k, rows], h_new, *b_hh)
                else:
                    h_new = numba_step(t, k)
                if masked:
                    self._emit(t, h_new, hs, rows)
                    self._commit(t, Hs, h_new, rows)
                continue
            if after:
                hu = xp.matmul(h, U4f, out=rec)
                if bh is not None:
                    hu += bh
                g[:2] += hu[:2]
                rec_act_(g[:2])
                HU[k, rows] = hu[2]
                n += xp.multiply(r, HU[k, rows], out=rec_h)
            else:
                g[:2] += xp.matmul(h, U4f[:2], out=rec)
                rec_act_(g[:2])
                xp.multiply(r, h, out=HU[k, rows])
                n += xp.matmul(HU[k, rows], U4f[2], out=rec_h)
            self.act.apply_(n)
            h_new = tmp_h if masked else Hs[t + 1 - off, rows]
            xp.subtract(h, n, out=h_new)
            h_new *= z
            h_new += n
            if masked:
                self._emit(t, h_new, hs, rows)
                self._commit(t, Hs, h_new, rows)

    def _fused_step(self, rows, rec, tmp_h):
        """``step(t, k) -> h_t`` after ``rec = h @ U``: the reset_after step's elementwise math in one
        Numba kernel (``kernels``), or None where the NumPy code serves."""
        G, Hs, HU, bh = self.G, self.Hs, self.HU, self.bh
        if not (self.reset_after and self.rec.halvable and self.act.name == "tanh"
                and kernels.enabled(G, Hs, HU, rec, *([] if bh is None else [bh]))):
            return None
        r0, R, U = rows.start or 0, rec.shape[1], G.shape[3]
        fG, fH, fHU = kernels.Flat(G), kernels.Flat(Hs), kernels.Flat(HU)
        masked, off = self.m is not None, self.off
        fh = kernels.Flat(tmp_h) if masked else fH
        bias = None if bh is None else bh.reshape(3, U).copy()

        def step(t, k):  # k: where step t's HU is (t, or 0 in inference)
            new_h = (fh, fh.start) if masked else (fH, fH.at(t + 1 - off, r0))
            kernels.gru_step(fG, t, r0, R, U, rec, bias, (fHU, fHU.at(k, r0)), (fH, fH.at(t + off, r0)), new_h)
            return tmp_h if masked else None
        return step

    def backward(self, ghs, gh):
        xp = backend.get_array_module(ghs)
        G, HU, after = self.G, self.HU, self.reset_after
        T = G.shape[1]
        Hp = self.Hs[self.off:self.off + T]
        self.U4T = xp.ascontiguousarray(self.U4.transpose(0, 2, 1))
        self.dG = dG = xp.empty_like(G)  # derivatives of the activations, then the gates' gradients
        self.dHU = dHU = xp.empty_like(G) if after else None  # gradient of h U + b_hh
        self.ghs, self.dh = ghs, gh.astype(self.dtype)
        self.live = self._live(ghs)
        run(self._backward_rows, even(G.shape[2], self.parts))
        dh = self.dh
        self.ghs = self.dG = self.dHU = self.dh = None
        grads = {"h0": dh}
        self._input_grads(dG, self.W4, grads, bias=None if after else "b")
        if self.need["U"]:
            if after:
                grads["U"] = self._kernel_grad(Hp, dHU)
            else:  # the candidate's recurrent GEMM saw r * h, the gates' saw h
                d3, u = dG.reshape(3, -1, dG.shape[3]), Hp.shape[2]
                gates, cand = self._gemm_t(Hp.reshape(-1, u), d3[:2]), self._gemm_t(HU.reshape(-1, u), d3[2:])
                grads["U"] = xp.concatenate([gates, cand], axis=1)  # GRU blocks are in Keras order
        if after and self.need.get("b"):
            grads["b"] = xp.stack([self._colsum(d.reshape(3, -1, d.shape[3])) for d in (dG, dHU)])
        return self._finish(grads)

    def _backward_rows(self, rows):
        """The backward time loop for the batch rows ``rows``: fills dG[:, :, rows], dHU and dh[rows]."""
        xp = backend.get_array_module(self.dG)
        G, dG, dHU, HU, ghs, U4T, after = self.G, self.dG, self.dHU, self.HU, self.ghs, self.U4T, self.reset_after
        live = self.live
        # float32 on NumPy without a mask: the whole loop in one Numba call (its GEMMs inside, no GIL)
        if (after and self.m is None and self.rec.name == "sigmoid" and self.act.name == "tanh"
                and kernels.enabled(G, dG)
                and sequences.gru_back_sequence(dG, dHU, G, HU, self.Hs, ghs, live, self.dh, U4T, self.reverse, rows)):
            return
        Hp = self.Hs[self.off:self.off + G.shape[1]]
        rec = xp.empty((G.shape[0],) + self.dh[rows].shape, self.dtype)
        # Before the loop, one pass per gate folds in every factor that does not depend on the incoming
        # gradients: dG = [z' (h_{t-1} - n), r' HU, n' (1 - z)], HU = h U_h + b_hh (reset_after) or
        # r h; without reset_after dr's factor is r' h_{t-1}. Each step then multiplies in dh only.
        z_, r_, n_ = G[:, :, rows]
        dz_, dr_, dn_ = dG[:, :, rows]
        Hr = Hp[:, rows]
        self.rec.deriv(G[:2, :, rows], dG[:2, :, rows])
        self.act.deriv(n_, dn_)
        dz_ *= xp.subtract(Hr, n_)
        dr_ *= HU[:, rows] if after else Hr
        dn_ *= xp.subtract(1, z_)
        dh = self.dh[rows]
        # The step's gate math as one kernel on CuPy (accel.fused); for float32 NumPy with Numba the
        # in-place NumPy code below stays (faster on the CPU than the chain's temporaries).
        chain = after and self.m is None and not kernels.enabled(dG)
        for t in reversed(self.order):
            if chain:
                d, e = dG[:, t, rows], dHU[:, t, rows]
                gout = (ghs[rows, t],) if live is None or live[t] else ()
                dh = fused.gru_back_step_(*d, *e, G[0, t, rows], G[1, t, rows], dh, *gout)
                dh += xp.matmul(e, U4T, out=rec).sum(axis=0)
                continue
            g, skip = self._arrive(t, dh, ghs, rows, live)
            z, r = G[0, t, rows], G[1, t, rows]
            d = dG[:, t, rows]
            d[::2] *= g  # dz and dn
            dh_prev = g * z
            if after:
                d[1] *= d[2]
                e = dHU[:, t, rows]
                e[:2] = d[:2]
                xp.multiply(d[2], r, out=e[2])
                dh_prev += xp.matmul(e, U4T, out=rec).sum(axis=0)
            else:
                drh = d[2] @ U4T[2]
                d[1] *= drh
                drh *= r
                dh_prev += drh
                dh_prev += xp.matmul(d[:2], U4T[:2], out=rec[:2]).sum(axis=0)
            if skip is not None:
                dh_prev += skip
            dh = dh_prev
        self.dh[rows] = dh
