"""The recurrent layers' step-by-step path, built from primitive ops.

The fused whole-sequence ops (``ops.simple_rnn``, ``ops.lstm``, ``ops.gru``) carry the
work. This loop is their readable twin and the path for what they do not do:
``recurrent_dropout``, where each gate multiplies h_{t-1} by its own dropout mask, drawn
once per sequence (the same units dropped at every step, Gal & Ghahramani 2016, as Keras
does). Contract as the fused ops: x (N, T, D); ``mask`` (N, T) boolean or None (a masked
step carries the state and outputs zeros); ``reverse`` consumes t = T-1 .. 0 while hs[:, t]
stays the state after step t; ``rec_masks`` is one (N, units) array per gate or None.
"""
from .. import ops
from . import activations


def _act(name):
    return activations.get(name)


def _steps(x, reverse):
    order = range(x.shape[1] - 1, -1, -1) if reverse else range(x.shape[1])
    return [(t, ops.getitem(x, (slice(None), t))) for t in order]


def _carry(new, old, m):
    """The new state where the step is real, the old one where it is masked."""
    return new if m is None else new * m + old * (1 - m)


def _gate(h, rec_masks, k):
    return h if rec_masks is None else h * rec_masks[k]


def _finish(outputs, x, reverse):
    if reverse:
        outputs = outputs[::-1]
    return ops.stack(outputs, axis=1)


def _zeros(x, units):
    from .. import backend  # noqa: PLC0415
    from ..autograd import Tensor  # noqa: PLC0415

    return Tensor(backend.get_array_module(x.data).zeros((x.shape[0], units), x.dtype))


def _step_mask(mask, t, dtype):
    return None if mask is None else mask[:, t:t + 1].astype(dtype)


def simple_rnn_loop(x, W, U, b, h0, activation, mask, reverse, rec_masks=None):
    """h_t = act(x_t W + (h_{t-1} * m) U + b). Returns (hs, h_last)."""
    units = U.shape[0]
    h = h0 if h0 is not None else _zeros(x, units)
    act, outputs = _act(activation), []
    for t, xt in _steps(x, reverse):
        z = ops.matmul(xt, W) + ops.matmul(_gate(h, rec_masks, 0), U)
        new = act(z + b if b is not None else z)
        m = _step_mask(mask, t, x.dtype)
        h = _carry(new, h, m)
        outputs.append(new if m is None else new * m)
    return _finish(outputs, x, reverse), h


def lstm_loop(x, W, U, b, h0, c0, activation, recurrent_activation, mask, reverse, rec_masks=None):
    """Keras's LSTM step with gate blocks [i, f, c, o]. Returns (hs, h_last, c_last)."""
    units = U.shape[0]
    h = h0 if h0 is not None else _zeros(x, units)
    c = c0 if c0 is not None else _zeros(x, units)
    act, rec, outputs = _act(activation), _act(recurrent_activation), []
    blocks = [slice(k * units, (k + 1) * units) for k in range(4)]
    Us = [ops.getitem(U, (slice(None), s)) for s in blocks]
    for t, xt in _steps(x, reverse):
        zx = ops.matmul(xt, W)
        if b is not None:
            zx = zx + b
        z = [ops.getitem(zx, (slice(None), s)) + ops.matmul(_gate(h, rec_masks, k), Us[k])
             for k, s in enumerate(blocks)]
        i, f, o = rec(z[0]), rec(z[1]), rec(z[3])
        c_new = f * c + i * act(z[2])
        h_new = o * act(c_new)
        m = _step_mask(mask, t, x.dtype)
        h, c = _carry(h_new, h, m), _carry(c_new, c, m)
        outputs.append(h_new if m is None else h_new * m)
    return _finish(outputs, x, reverse), h, c


def gru_loop(x, W, U, b, h0, activation, recurrent_activation, reset_after, mask, reverse, rec_masks=None):
    """Keras's GRU step, gate blocks [z, r, h], either reset_after form. Returns (hs, h_last)."""
    units = U.shape[0]
    h = h0 if h0 is not None else _zeros(x, units)
    act, rec, outputs = _act(activation), _act(recurrent_activation), []
    blocks = [slice(k * units, (k + 1) * units) for k in range(3)]
    Us = [ops.getitem(U, (slice(None), s)) for s in blocks]
    b_in = b_rec = None
    if b is not None:
        b_in, b_rec = (ops.getitem(b, 0), ops.getitem(b, 1)) if reset_after else (b, None)
    for t, xt in _steps(x, reverse):
        zx = ops.matmul(xt, W)
        if b_in is not None:
            zx = zx + b_in
        xz, xr, xh = (ops.getitem(zx, (slice(None), s)) for s in blocks)
        rz = ops.matmul(_gate(h, rec_masks, 0), Us[0])
        rr = ops.matmul(_gate(h, rec_masks, 1), Us[1])
        if b_rec is not None:
            rz, rr = rz + ops.getitem(b_rec, blocks[0]), rr + ops.getitem(b_rec, blocks[1])
        z, r = rec(xz + rz), rec(xr + rr)
        if reset_after:
            rh = ops.matmul(_gate(h, rec_masks, 2), Us[2])
            if b_rec is not None:
                rh = rh + ops.getitem(b_rec, blocks[2])
            hh = act(xh + r * rh)
        else:
            hh = act(xh + ops.matmul(r * _gate(h, rec_masks, 2), Us[2]))
        new = z * h + (1 - z) * hh
        m = _step_mask(mask, t, x.dtype)
        h = _carry(new, h, m)
        outputs.append(new if m is None else new * m)
    return _finish(outputs, x, reverse), h
