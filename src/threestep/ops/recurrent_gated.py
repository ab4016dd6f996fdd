"""The gated recurrent cells over whole sequences: LSTM (optionally with peepholes) and GRU.

Keras weight layout: W (D, k*units), U (units, k*units), gate blocks LSTM [i, f, c, o] and
GRU [z, r, h]. Internally the gates are gate-major, G (k, T, N, units): the gates are
activated in place in the buffer that held x @ W + b, and backward first turns a copy of it
into the activations' derivatives (one pass over all steps), so each step of the backward
time loop only multiplies in the incoming gradients.
"""
from .. import backend
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
        W4, U4, p = self._gates(a["W"], 4), self._gates(a["U"], 4), a.get("peephole")
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
        self.G = G = xp.empty((4, T, N, u), self.dtype)
        self.Cs = Cs = self._states(xp, a, "c0", (N, u))
        self.TC = TC = xp.empty((T, N, u), self.dtype)  # act(c_t)
        hs = (xp.zeros if self.m is not None else xp.empty)((N, T, u), self.dtype)
        tmp_h, tmp_c, tmp_ic = (xp.empty((N, u), self.dtype) for _ in range(3))
        for t in self.order:
            h, c = Hs[t + self.off], Cs[t + self.off]
            g = xp.matmul(XH[t + self.off], WU, out=G[:, t])
            i, f, o, cand = g
            if halved:
                self.rec.apply_halved_(g[:3])
            elif p is None:
                self.rec.apply_(g[:3])
            else:
                i += p[0] * c
                f += p[1] * c
                self.rec.apply_(g[:2])
            self.act.apply_(cand)
            c_new = Cs[t + 1 - self.off] if self.m is None else tmp_c
            xp.multiply(f, c, out=c_new)
            c_new += xp.multiply(i, cand, out=tmp_ic)
            if p is not None:
                o += p[2] * c_new
                self.rec.apply_(o)
            self.act.apply_to(c_new, TC[t])
            h_new = Hs[t + 1 - self.off] if self.m is None else tmp_h
            xp.multiply(o, TC[t], out=h_new)
            self._emit(t, h_new, hs)
            if self.m is not None:
                self._commit(t, Hs, h_new)
                self._commit(t, Cs, c_new)
        self.W4, self.U4, self.p = W4, U4, p
        last = 0 if self.reverse else T
        return hs, Hs[last].copy(), Cs[last].copy()

    def backward(self, ghs, gh, gc):
        xp = backend.get_array_module(ghs)
        G, p, TC, m = self.G, self.p, self.TC, self.m
        T = G.shape[1]
        Cp = self.Cs[self.off:self.off + T]
        U4T = xp.ascontiguousarray(self.U4.transpose(0, 2, 1))
        dG = xp.empty_like(G)  # derivatives of the activations, then the gates' gradients
        self.rec.deriv(G[:3], dG[:3])
        self.act.deriv(G[3], dG[3])
        dTC = self.act.deriv(TC, xp.empty_like(TC))
        rec = xp.empty((G.shape[0],) + G.shape[2:], self.dtype)
        dh, dc = gh.astype(self.dtype), gc.astype(self.dtype)
        for t in reversed(self.order):
            g, skip = self._arrive(t, dh, ghs)
            i, f, o, cand = G[:, t]
            di, df, do, dcand = dG[:, t]
            do *= g
            do *= TC[t]
            dc_new = g * o
            dc_new *= dTC[t]
            dc_new += dc if m is None else dc * m[t]
            if p is not None:
                dc_new += do * p[2]
            di *= dc_new
            di *= cand
            df *= dc_new
            df *= Cp[t]
            dcand *= dc_new
            dcand *= i
            dc_prev = dc_new * f
            if p is not None:
                dc_prev += di * p[0]
                dc_prev += df * p[1]
            dh = xp.matmul(dG[:, t], U4T, out=rec).sum(axis=0)
            if skip is not None:
                dh += skip
                dc_prev += dc * ~m[t]
            dc = dc_prev
        grads = {"h0": dh, "c0": dc}
        self._input_grads(dG, self.W4, grads, bias=None, kernel=False)
        self._stacked_grads(dG, grads)
        if p is not None and self.need["peephole"]:
            C_new = self.Cs[1 - self.off:1 - self.off + T]  # c_t; at masked rows do = 0 anyway
            grads["peephole"] = xp.stack([(dG[0] * Cp).sum(axis=(0, 1)), (dG[1] * Cp).sum(axis=(0, 1)),
                                          (dG[2] * C_new).sum(axis=(0, 1))])
        return self._finish(grads)


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
        self.G = G = self._project(a["x"], W4f, bx)
        self.Hs = Hs = self._states(xp, a, "h0", (N, u))
        # HU: reset_after keeps h U_h + b_hh (for dr); otherwise r * h (the GEMM input, for dU_h)
        self.HU = HU = xp.empty((T, N, u), self.dtype)
        hs = (xp.zeros if self.m is not None else xp.empty)((N, T, u), self.dtype)
        rec = xp.empty((3 if after else 2, N, u), self.dtype)
        tmp_h, rec_h = xp.empty((N, u), self.dtype), xp.empty((N, u), self.dtype)
        for t in self.order:
            h = Hs[t + self.off]
            g = G[:, t]
            z, r, n = g
            if after:
                hu = xp.matmul(h, U4f, out=rec)
                if bh is not None:
                    hu += bh
                g[:2] += hu[:2]
                rec_act_(g[:2])
                HU[t] = hu[2]
                n += xp.multiply(r, HU[t], out=rec_h)
            else:
                g[:2] += xp.matmul(h, U4f[:2], out=rec)
                rec_act_(g[:2])
                xp.multiply(r, h, out=HU[t])
                n += xp.matmul(HU[t], U4f[2], out=rec_h)
            self.act.apply_(n)
            h_new = Hs[t + 1 - self.off] if self.m is None else tmp_h
            xp.subtract(h, n, out=h_new)
            h_new *= z
            h_new += n
            self._emit(t, h_new, hs)
            if self.m is not None:
                self._commit(t, Hs, h_new)
        self.W4, self.U4 = W4, U4
        return hs, Hs[0 if self.reverse else T].copy()

    def backward(self, ghs, gh):
        xp = backend.get_array_module(ghs)
        G, HU, after = self.G, self.HU, self.reset_after
        T = G.shape[1]
        Hp = self.Hs[self.off:self.off + T]
        U4T = xp.ascontiguousarray(self.U4.transpose(0, 2, 1))
        dG = xp.empty_like(G)  # derivatives of the activations, then the gates' gradients
        self.rec.deriv(G[:2], dG[:2])
        self.act.deriv(G[2], dG[2])
        dHU = xp.empty_like(G) if after else None  # gradient of h U + b_hh
        rec = xp.empty((G.shape[0],) + G.shape[2:], self.dtype)
        dh = gh.astype(self.dtype)
        for t in reversed(self.order):
            g, skip = self._arrive(t, dh, ghs)
            z, r, n = G[:, t]
            dz, dr, dn = dG[:, t]
            tmp = 1 - z
            tmp *= g
            dn *= tmp
            xp.subtract(Hp[t], n, out=tmp)
            tmp *= g
            dz *= tmp
            dh_prev = g * z
            if after:
                dr *= dn
                dr *= HU[t]
                dHU[:2, t] = dG[:2, t]
                xp.multiply(dn, r, out=dHU[2, t])
                dh_prev += xp.matmul(dHU[:, t], U4T, out=rec).sum(axis=0)
            else:
                drh = dn @ U4T[2]
                dr *= drh
                dr *= Hp[t]
                drh *= r
                dh_prev += drh
                dh_prev += xp.matmul(dG[:2, t], U4T[:2], out=rec[:2]).sum(axis=0)
            if skip is not None:
                dh_prev += skip
            dh = dh_prev
        grads = {"h0": dh}
        self._input_grads(dG, self.W4, grads, bias=None if after else "b")
        if self.need["U"]:
            if after:
                grads["U"] = self._kernel_grad(Hp, dHU)
            else:  # the candidate's recurrent GEMM saw r * h, the gates' saw h
                d3, u = dG.reshape(3, -1, dG.shape[3]), Hp.shape[2]
                gU = xp.empty((3, u, u), self.dtype)
                xp.matmul(Hp.reshape(-1, u).T, d3[:2], out=gU[:2])
                xp.matmul(HU.reshape(-1, u).T, d3[2], out=gU[2])
                grads["U"] = self._keras(gU)
        if after and self.need.get("b"):
            sums = (self._keras(d.reshape(3, -1, d.shape[3]).sum(axis=1)) for d in (dG, dHU))
            grads["b"] = xp.stack(list(sums))
        return self._finish(grads)
