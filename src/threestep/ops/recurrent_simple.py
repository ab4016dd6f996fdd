"""Readable twins of the fused recurrent ops, one small graph of primitive ops per time step.

Same signatures and semantics as ``recurrent.py`` (masks, reverse, Keras layouts); backprop
through time comes from the engine. Slow and memory-hungry: they define what the fused
kernels must compute, and the tests compare the two.
"""
from .. import backend
from ..autograd import Tensor
from .activations import hard_sigmoid
from .arithmetic import matmul
from .elementwise import relu, sigmoid, tanh
from .nn import softmax
from .shape import getitem, stack

_ACTS = {"tanh": tanh, "sigmoid": sigmoid, "relu": relu, "linear": lambda a: a,
         "hard_sigmoid": hard_sigmoid, "softmax": softmax}


def _act(name):
    return _ACTS["linear" if name is None else name]


def _cols(a, j, u):
    """Gate block j (columns j*u .. (j+1)*u) of a (N, k*u) tensor."""
    return getitem(a, (slice(None), slice(j * u, (j + 1) * u)))


def _affine(x, W, b):
    y = matmul(x, W)
    return y if b is None else y + b


def _zeros(x, n):
    xp = backend.get_array_module(x.data)
    return Tensor(xp.zeros((x.shape[0], n), x.dtype))


def _scan(step, x, states, mask=None, reverse=False):
    """Run ``step(x_t, states) -> (outputs, states)`` over time. At a masked step the states
    carry over and the outputs are zero. Returns (stacked outputs (N, T, .) each, states)."""
    T = x.shape[1]
    outs = [None] * T
    xp = backend.get_array_module(x.data)
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        new_outs, new = step(getitem(x, (slice(None), t)), states)
        if mask is not None:
            m = Tensor(xp.asarray(mask[:, t, None], dtype=x.dtype))
            new = [n * m + s * (1 - m) for n, s in zip(new, states)]
            new_outs = [o * m for o in new_outs]
        outs[t], states = new_outs, new
    return [stack([o[k] for o in outs], axis=1) for k in range(len(outs[0]))], states


def simple_rnn_simple(x, W, U, b=None, h0=None, activation="tanh", mask=None, reverse=False):
    act = _act(activation)

    def step(xt, states):
        h = act(_affine(xt, W, b) + matmul(states[0], U))
        return [h], [h]

    (hs,), (h,) = _scan(step, x, [_zeros(x, U.shape[0]) if h0 is None else h0], mask, reverse)
    return hs, h


def lstm_simple(x, W, U, b=None, h0=None, c0=None, mask=None, reverse=False, activation="tanh",
                recurrent_activation="sigmoid", peephole=None):
    act, ra, u = _act(activation), _act(recurrent_activation), U.shape[0]
    p = None if peephole is None else [getitem(peephole, j) for j in range(3)]

    def step(xt, states):
        h, c = states
        z = _affine(xt, W, b) + matmul(h, U)
        i, f, g, o = (_cols(z, j, u) for j in range(4))
        if p is not None:
            i, f = i + p[0] * c, f + p[1] * c
        c = ra(f) * c + ra(i) * act(g)
        if p is not None:
            o = o + p[2] * c
        h = ra(o) * act(c)
        return [h], [h, c]

    h0 = _zeros(x, u) if h0 is None else h0
    c0 = _zeros(x, u) if c0 is None else c0
    (hs,), (h, c) = _scan(step, x, [h0, c0], mask, reverse)
    return hs, h, c


def gru_simple(x, W, U, b=None, h0=None, mask=None, reverse=False, activation="tanh",
               recurrent_activation="sigmoid", reset_after=True):
    act, ra, u = _act(activation), _act(recurrent_activation), U.shape[0]
    bx, bh = (None, None) if b is None else (getitem(b, 0), getitem(b, 1)) if reset_after else (b, None)

    def step(xt, states):
        h = states[0]
        xz = _affine(xt, W, bx)
        if reset_after:
            hu = _affine(h, U, bh)
            z, r = ra(_cols(xz, 0, u) + _cols(hu, 0, u)), ra(_cols(xz, 1, u) + _cols(hu, 1, u))
            n = act(_cols(xz, 2, u) + r * _cols(hu, 2, u))
        else:
            z = ra(_cols(xz, 0, u) + matmul(h, _cols(U, 0, u)))
            r = ra(_cols(xz, 1, u) + matmul(h, _cols(U, 1, u)))
            n = act(_cols(xz, 2, u) + matmul(r * h, _cols(U, 2, u)))
        h = z * h + (1 - z) * n
        return [h], [h]

    (hs,), (h,) = _scan(step, x, [_zeros(x, u) if h0 is None else h0], mask, reverse)
    return hs, h


def jordan_simple(x, W, U, b, Wy, by, y0=None, activation="tanh", output_activation="softmax", mask=None,
                  reverse=False):
    act, out_act = _act(activation), _act(output_activation)

    def step(xt, states):
        h = act(_affine(xt, W, b) + matmul(states[0], U))
        y = out_act(_affine(h, Wy, by))
        return [h, y], [y]

    (hs, ys), (y,) = _scan(step, x, [_zeros(x, Wy.shape[1]) if y0 is None else y0], mask, reverse)
    return hs, ys, y
