"""Whole-sequence recurrent ops (``threestep.ops.recurrent``): SimpleRNN, LSTM, GRU, Jordan.

Oracles, all in float64 on 50-step sequences:
  * ``torch.nn.RNN / LSTM / GRU`` run through ``torch.func.functional_call`` with parameters
    built from the same leaf tensors as ours (Keras -> torch layout: transposed, GRU blocks
    [z, r, h] -> [r, z, n], our single bias = b_ih with b_hh = 0), right-padded masks as
    packed sequences, ``reverse`` as the backward half of a bidirectional module;
  * hand-written torch loops (below) for general masks (holes, left padding, all-masked
    rows), peepholes, GRU reset_after=False, the Jordan network and Keras activations;
  * float64 finite differences on 4-step sequences, and the ``*_simple`` twins built from
    primitive ops.
Outputs, final states and the gradients of every input are compared after backpropagating
one random upstream gradient through all outputs at once.
"""
import numpy as np
import pytest
import torch
from torch.func import functional_call
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import assert_close, check_gradcheck
from threestep.autograd import Tensor
from threestep.errors import ConfigError, ShapeError
from threestep.ops.recurrent import gru, jordan, lstm, simple_rnn
from threestep.ops.recurrent_simple import gru_simple, jordan_simple, lstm_simple, simple_rnn_simple

COVERED_OPS = {"simple_rnn", "lstm", "gru", "jordan"}  # read by test_ops.test_every_exported_op_has_a_case
N, T, D, UNITS, OUT = 4, 50, 3, 5, 3
OURS = {"rnn": simple_rnn, "lstm": lstm, "gru": gru, "jordan": jordan}
SIMPLE = {"rnn": simple_rnn_simple, "lstm": lstm_simple, "gru": gru_simple, "jordan": jordan_simple}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}


# ---------------------------------------------------------------- inputs
def make_inputs(rng, kind, n=N, t=T, d=D, u=UNITS, bias=True, h0=True, peephole=False, reset_after=True,
                dtype=np.float64):
    """Keras-layout NumPy inputs for one cell; weights scaled so 50 steps neither explode nor die."""
    def r(*shape, scale=1.0):
        return (rng.standard_normal(shape) * scale).astype(dtype)

    if kind == "jordan":
        a = dict(x=r(n, t, d), W=r(d, u, scale=0.6), U=r(OUT, u, scale=0.6), b=r(u, scale=0.3),
                 Wy=r(u, OUT, scale=0.6), by=r(OUT, scale=0.3))
        if h0:
            a["y0"] = r(n, OUT, scale=0.5)
        if not bias:
            a["b"] = a["by"] = None
        return a
    k = GATES[kind]
    a = dict(x=r(n, t, d), W=r(d, k * u, scale=0.5), U=r(u, k * u, scale=0.8 / np.sqrt(u)))
    if bias:
        a["b"] = r(2, 3 * u, scale=0.3) if kind == "gru" and reset_after else r(k * u, scale=0.3)
    if h0:
        a["h0"] = r(n, u, scale=0.5)
        if kind == "lstm":
            a["c0"] = r(n, u, scale=0.5)
    if peephole:
        a["peephole"] = r(3, u, scale=0.5)
    return a


def right_padded(lengths, t=T):
    return np.arange(t)[None, :] < np.asarray(lengths)[:, None]


def general_mask(rng, n=N, t=T):
    """Holes, left padding, a full row and an all-masked row."""
    m = rng.random((n, t)) > 0.3
    m[0] = True
    m[1, : t // 3] = False
    if n > 3:
        m[3] = False
    return m


# ---------------------------------------------------------------- comparison harness
def compare(our_fn, ref_fn, arrays, atol=1e-10, rtol=1e-9, grad_atol=1e-9, grad_rtol=1e-8, seed=1, **kwargs):
    """Forward values of every output, then the gradients of every float input after
    backpropagating the same random upstream gradients through all outputs of both."""
    ours = {k: Tensor(v.copy(), requires_grad=True) for k, v in arrays.items() if v is not None}
    refs = {k: torch.from_numpy(v.copy()).requires_grad_() for k, v in arrays.items() if v is not None}
    absent = {k: None for k, v in arrays.items() if v is None}
    outs, expected = our_fn(**ours, **absent, **kwargs), ref_fn(**refs, **absent, **kwargs)
    assert len(outs) == len(expected)
    rng = np.random.default_rng(seed)
    loss, ref_loss = 0, 0
    for j, (o, e) in enumerate(zip(outs, expected)):
        assert o.dtype == arrays["x"].dtype, f"output {j} dtype {o.dtype}"
        assert_close(o.numpy(), e.detach().numpy(), atol, rtol, f"output {j}")
        g = rng.standard_normal(o.shape).astype(o.dtype)
        loss = loss + (o * Tensor(g)).sum()
        ref_loss = ref_loss + (e * torch.from_numpy(g)).sum()
    loss.backward()
    ref_loss.backward()
    for k, t in ours.items():
        want = np.zeros(t.shape) if refs[k].grad is None else refs[k].grad.numpy()
        assert t.grad is not None, f"no gradient for {k}"
        assert t.grad.dtype == t.dtype, f"grad of {k}: dtype {t.grad.dtype}, input {t.dtype}"
        assert_close(t.grad, want, grad_atol, grad_rtol, f"grad of {k} (shape {t.shape})")
    return outs


# ---------------------------------------------------------------- oracle 1: torch.nn modules
def _keras_to_torch_blocks(a, kind, u):
    """Gate blocks along the last axis, Keras order -> torch order (only GRU differs)."""
    if kind != "gru":
        return a
    z, r, h = a.split(u, dim=-1)
    return torch.cat([r, z, h], dim=-1)


def torch_nn(kind, nonlinearity="tanh"):
    """A function with our op's signature that runs torch.nn.{RNN,LSTM,GRU}."""
    def run(x, W, U, b=None, h0=None, c0=None, mask=None, reverse=False, **_):
        n, t, d = x.shape
        u = U.shape[0]
        cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
        module = cls(d, u, batch_first=True, bidirectional=reverse,
                     **({"nonlinearity": nonlinearity} if kind == "rnn" else {})).double()
        zeros = torch.zeros(W.shape[1], dtype=x.dtype)
        b_ih, b_hh = (zeros, zeros) if b is None else (b[0], b[1]) if b.dim() == 2 else (b, zeros)
        suffix = "_reverse" if reverse else ""
        params = {k: v.detach() for k, v in module.named_parameters()}
        for name, value in (("weight_ih", W.T), ("weight_hh", U.T), ("bias_ih", b_ih), ("bias_hh", b_hh)):
            blocks = _keras_to_torch_blocks(value.T if value.dim() == 2 else value, kind, u)
            params[f"{name}_l0{suffix}"] = blocks.T if value.dim() == 2 else blocks
        hx = []
        for s in (h0, c0) if kind == "lstm" else (h0,):
            s = torch.zeros(n, u, dtype=x.dtype) if s is None else s
            hx.append(torch.stack([torch.zeros_like(s), s]) if reverse else s[None])
        inp = x
        if mask is not None:
            lengths = mask.sum(axis=1)
            assert (mask == right_padded(lengths, t)).all(), "torch.nn oracle takes right-padded masks only"
            inp = pack_padded_sequence(x, torch.from_numpy(lengths), batch_first=True, enforce_sorted=False)
        out, hn = functional_call(module, params, (inp, tuple(hx) if kind == "lstm" else hx[0]))
        if mask is not None:
            out = pad_packed_sequence(out, batch_first=True, total_length=t)[0]
        out = out[..., u:] if reverse else out
        d_ = 1 if reverse else 0
        return (out, hn[0][d_], hn[1][d_]) if kind == "lstm" else (out, hn[d_])
    return run


NN_CASES = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", "tanh"), ("gru", "tanh")]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "padded"])
@pytest.mark.parametrize("kind,act", NN_CASES, ids=[f"{k}-{a}" for k, a in NN_CASES])
def test_against_torch_nn(kind, act, masked, reverse, rng):
    arrays = make_inputs(rng, kind)
    mask = right_padded([T, 17, 1, 40]) if masked else None
    kwargs = dict(activation=act) if kind == "rnn" else {}
    compare(OURS[kind], torch_nn(kind, act), arrays, mask=mask, reverse=reverse, **kwargs)


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_against_torch_nn_without_bias_and_initial_state(kind, rng):
    arrays = make_inputs(rng, kind, bias=False, h0=False)
    compare(OURS[kind], torch_nn(kind), arrays)


# ---------------------------------------------------------------- oracle 2: hand-written torch loops
T_ACTS = {"tanh": torch.tanh, "sigmoid": torch.sigmoid, "relu": torch.relu, "linear": lambda a: a,
          "hard_sigmoid": lambda a: torch.clamp(0.2 * a + 0.5, 0, 1), "softmax": lambda a: torch.softmax(a, -1)}


def torch_scan(step, x, states, mask, reverse):
    n, t = x.shape[:2]
    outs = [None] * t
    for s in (reversed(range(t)) if reverse else range(t)):
        new_outs, new = step(x[:, s], states)
        if mask is not None:
            m = torch.from_numpy(mask[:, s, None])
            new = [torch.where(m, a, b) for a, b in zip(new, states)]
            new_outs = [torch.where(m, o, torch.zeros_like(o)) for o in new_outs]
        outs[s], states = new_outs, new
    return [torch.stack([o[k] for o in outs], dim=1) for k in range(len(outs[0]))], states


def _z(x, u):
    return torch.zeros(x.shape[0], u, dtype=x.dtype)


def loop_rnn(x, W, U, b=None, h0=None, activation="tanh", mask=None, reverse=False):
    act = T_ACTS[activation]
    b = 0 if b is None else b
    def step(xt, s):
        h = act(xt @ W + s[0] @ U + b)
        return [h], [h]

    (hs,), (h,) = torch_scan(step, x, [_z(x, U.shape[0]) if h0 is None else h0], mask, reverse)
    return hs, h


def loop_lstm(x, W, U, b=None, h0=None, c0=None, mask=None, reverse=False, activation="tanh",
              recurrent_activation="sigmoid", peephole=None):
    act, ra, u = T_ACTS[activation], T_ACTS[recurrent_activation], U.shape[0]
    b = 0 if b is None else b

    def step(xt, s):
        h, c = s
        i, f, g, o = (xt @ W + h @ U + b).split(u, dim=1)
        if peephole is not None:
            i, f = i + peephole[0] * c, f + peephole[1] * c
        c = ra(f) * c + ra(i) * act(g)
        if peephole is not None:
            o = o + peephole[2] * c
        return [ra(o) * act(c)], [ra(o) * act(c), c]

    states = [_z(x, u) if h0 is None else h0, _z(x, u) if c0 is None else c0]
    (hs,), (h, c) = torch_scan(step, x, states, mask, reverse)
    return hs, h, c


def loop_gru(x, W, U, b=None, h0=None, mask=None, reverse=False, activation="tanh",
             recurrent_activation="sigmoid", reset_after=True):
    act, ra, u = T_ACTS[activation], T_ACTS[recurrent_activation], U.shape[0]
    if b is None:
        b = torch.zeros((2, 3 * u) if reset_after else (3 * u,), dtype=x.dtype)
    Uz, Ur, Uh = U.split(u, dim=1)

    def step(xt, s):
        h = s[0]
        xz, xr, xh = (xt @ W + (b[0] if reset_after else b)).split(u, dim=1)
        if reset_after:
            hz, hr, hh = (h @ U + b[1]).split(u, dim=1)
            z, r = ra(xz + hz), ra(xr + hr)
            n = act(xh + r * hh)
        else:
            z, r = ra(xz + h @ Uz), ra(xr + h @ Ur)
            n = act(xh + (r * h) @ Uh)
        h = z * h + (1 - z) * n
        return [h], [h]

    (hs,), (h,) = torch_scan(step, x, [_z(x, u) if h0 is None else h0], mask, reverse)
    return hs, h


def loop_jordan(x, W, U, b, Wy, by, y0=None, activation="tanh", output_activation="softmax", mask=None,
                reverse=False):
    act, out_act = T_ACTS[activation], T_ACTS[output_activation]
    b = 0 if b is None else b
    by = 0 if by is None else by

    def step(xt, s):
        h = act(xt @ W + s[0] @ U + b)
        y = out_act(h @ Wy + by)
        return [h, y], [y]

    (hs, ys), (y,) = torch_scan(step, x, [_z(x, Wy.shape[1]) if y0 is None else y0], mask, reverse)
    return hs, ys, y


LOOPS = {"rnn": loop_rnn, "lstm": loop_lstm, "gru": loop_gru, "jordan": loop_jordan}
# (id, kind, make_inputs options, op keyword arguments)
LOOP_CASES = [
    ("rnn", "rnn", {}, {}),
    ("lstm", "lstm", {}, {}),
    ("lstm-peephole", "lstm", dict(peephole=True), {}),
    ("gru-reset-after", "gru", {}, {}),
    ("gru-reset-before", "gru", dict(reset_after=False), dict(reset_after=False)),
    ("jordan-softmax", "jordan", {}, {}),
]


@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "generalmask"])
@pytest.mark.parametrize("case", LOOP_CASES, ids=[c[0] for c in LOOP_CASES])
def test_against_torch_loop(case, masked, reverse, rng):
    _, kind, opts, kwargs = case
    arrays = make_inputs(rng, kind, **opts)
    mask = general_mask(rng) if masked else None
    compare(OURS[kind], LOOPS[kind], arrays, mask=mask, reverse=reverse, **kwargs)


ACT_CASES = [
    ("rnn-sigmoid", "rnn", {}, dict(activation="sigmoid")),
    ("rnn-hard_sigmoid", "rnn", {}, dict(activation="hard_sigmoid")),
    ("rnn-linear", "rnn", {}, dict(activation="linear")),
    ("lstm-keras2.2-hard_sigmoid", "lstm", {}, dict(recurrent_activation="hard_sigmoid")),
    ("lstm-relu-peephole-nobias", "lstm", dict(peephole=True, bias=False, h0=False), dict(activation="relu")),
    ("gru-hard_sigmoid-before", "gru", dict(reset_after=False), dict(recurrent_activation="hard_sigmoid",
                                                                      reset_after=False)),
    ("gru-linear-after-nobias", "gru", dict(bias=False), dict(activation="linear")),
    ("jordan-relu-sigmoid", "jordan", {}, dict(activation="relu", output_activation="sigmoid")),
    ("jordan-linear-nobias", "jordan", dict(bias=False, h0=False), dict(output_activation="linear")),
]


@pytest.mark.parametrize("case", ACT_CASES, ids=[c[0] for c in ACT_CASES])
def test_activations_and_options_against_torch_loop(case, rng):
    _, kind, opts, kwargs = case
    arrays = make_inputs(rng, kind, **opts)
    compare(OURS[kind], LOOPS[kind], arrays, mask=general_mask(rng), **kwargs)


def test_loop_oracle_agrees_with_torch_nn(rng):
    """The hand-written loops are themselves right: LSTM and GRU loops vs torch.nn."""
    for kind in ("lstm", "gru"):
        arrays = {k: torch.from_numpy(v) for k, v in make_inputs(rng, kind, t=8).items()}
        for a, b in zip(LOOPS[kind](**arrays), torch_nn(kind)(**arrays)):
            assert_close(a.detach().numpy(), b.detach().numpy(), 1e-12, 1e-10, f"{kind} loop vs torch.nn")


# ---------------------------------------------------------------- finite differences and twins
GRAD_CASES = [
    ("rnn", "rnn", {}, {}),
    ("rnn-relu-reverse", "rnn", {}, dict(activation="relu", reverse=True)),
    ("lstm", "lstm", {}, {}),
    ("lstm-peephole-reverse", "lstm", dict(peephole=True), dict(reverse=True)),
    ("gru-reset-after", "gru", {}, {}),
    ("gru-reset-before-reverse", "gru", dict(reset_after=False), dict(reset_after=False, reverse=True)),
    ("jordan", "jordan", {}, {}),
    ("jordan-sigmoid-reverse", "jordan", {}, dict(output_activation="sigmoid", reverse=True)),
]


def _all_outputs(kind, names, kwargs):
    """One (N, T) tensor that depends on every output (gradcheck differentiates one output)."""
    def f(*tensors):
        total = 0
        for j, o in enumerate(OURS[kind](**dict(zip(names, tensors)), **kwargs)):
            total = total + o.sum(axis=-1, keepdims=o.ndim == 2) * (j + 0.5)  # final states: (N, 1)
        return total
    return f


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_gradcheck(case, rng):
    _, kind, opts, kwargs = case
    arrays = make_inputs(rng, kind, n=2, t=4, u=3, **opts)
    mask = np.array([[True, False, True, True], [False, True, True, False]])
    names = list(arrays)
    check_gradcheck(_all_outputs(kind, names, dict(kwargs, mask=mask)), [arrays[k] for k in names])


@pytest.mark.parametrize("case", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_fused_matches_simple_twin(case, rng):
    """The fused op against its ``*_simple`` twin (a graph of primitive ops per step)."""
    _, kind, opts, kwargs = case
    arrays = {k: v for k, v in make_inputs(rng, kind, t=7, **opts).items() if v is not None}
    mask = general_mask(rng, t=7)
    fused, twin = ({k: Tensor(v.copy(), requires_grad=True) for k, v in arrays.items()} for _ in range(2))
    outs_f, outs_s = OURS[kind](**fused, mask=mask, **kwargs), SIMPLE[kind](**twin, mask=mask, **kwargs)
    g = np.random.default_rng(1)
    loss_f = loss_s = 0
    for j, (a, b) in enumerate(zip(outs_f, outs_s)):
        assert_close(a.data, b.data, 1e-12, 1e-10, f"output {j}")
        gy = Tensor(g.standard_normal(a.shape))
        loss_f, loss_s = loss_f + (a * gy).sum(), loss_s + (b * gy).sum()
    loss_f.backward()
    loss_s.backward()
    for k in arrays:
        assert_close(fused[k].grad, twin[k].grad, 1e-11, 1e-9, f"grad of {k}")


# ---------------------------------------------------------------- long sequences, dtypes, grads asked for
LONG_CASES = [("rnn", {}, {}), ("lstm", dict(peephole=True), {}), ("gru", {}, {}),
              ("gru", dict(reset_after=False), dict(reset_after=False)), ("jordan", {}, {})]


@pytest.mark.parametrize("kind,opts,kwargs", LONG_CASES, ids=["rnn", "lstm-peephole", "gru", "gru-before", "jordan"])
def test_thousand_steps_backward(kind, opts, kwargs, rng):
    arrays = make_inputs(rng, kind, n=2, t=1000, u=8, dtype=np.float32, **opts)
    ts = {k: Tensor(v, requires_grad=True) for k, v in arrays.items()}
    mask = np.ones((2, 1000), bool)
    mask[1, 600:] = False
    outs = OURS[kind](**ts, mask=mask, **kwargs)
    loss = outs[0].sum() + outs[-1].sum()
    loss.backward()
    for k, t in ts.items():
        assert t.grad is not None and t.grad.shape == t.shape, k
        assert np.isfinite(t.grad).all(), f"{k}: non-finite gradient after 1,000 steps"
    assert ts["x"].grad[0, 0].any(), "the first step got no gradient"


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "jordan"])
def test_float32_stays_float32(kind, rng):
    a64 = make_inputs(rng, kind, t=20, peephole=kind == "lstm")
    out32 = compare(OURS[kind], LOOPS[kind], {k: v.astype(np.float32) for k, v in a64.items()},
                    atol=1e-5, rtol=1e-4, grad_atol=1e-4, grad_rtol=1e-3, mask=general_mask(rng, t=20))
    assert all(o.dtype == np.float32 for o in out32)


def test_only_requested_gradients(rng):
    a = make_inputs(rng, "lstm", t=10)
    x, W, U, b = Tensor(a["x"]), Tensor(a["W"], requires_grad=True), Tensor(a["U"]), Tensor(a["b"])
    hs, h, c = lstm(x, W, U, b)  # x is input data: no gradient computed for it
    h.sum().backward()
    assert x.grad is None and U.grad is None and b.grad is None
    Wt = torch.from_numpy(a["W"]).requires_grad_()
    loop_lstm(torch.from_numpy(a["x"]), Wt, torch.from_numpy(a["U"]), torch.from_numpy(a["b"]))[1].sum().backward()
    assert_close(W.grad, Wt.grad.numpy(), 1e-10, 1e-9, "grad of W")


def test_retain_graph_backward_twice_accumulates(rng):
    a = make_inputs(rng, "gru", t=10)
    W = Tensor(a["W"], requires_grad=True)
    hs, h = gru(Tensor(a["x"]), W, Tensor(a["U"]), Tensor(a["b"]))
    h.sum().backward(retain_graph=True)
    first = W.grad.copy()
    h.sum().backward()
    assert_close(W.grad, 2 * first, 1e-12, 1e-12, "second backward")


def test_reverse_is_forward_on_the_flipped_sequence(rng):
    a = make_inputs(rng, "lstm", t=12)
    mask = general_mask(rng, t=12)
    fwd = lstm(Tensor(a["x"][:, ::-1].copy()), Tensor(a["W"]), Tensor(a["U"]), Tensor(a["b"]),
               mask=mask[:, ::-1].copy())
    rev = lstm(Tensor(a["x"]), Tensor(a["W"]), Tensor(a["U"]), Tensor(a["b"]), mask=mask, reverse=True)
    assert_close(rev[0].data, fwd[0].data[:, ::-1], 1e-12, 1e-12, "hs")
    assert_close(rev[1].data, fwd[1].data, 1e-12, 1e-12, "h_last")


def test_masked_outputs_are_zero_and_state_carries(rng):
    a = make_inputs(rng, "rnn", t=6)
    mask = np.array([[True, True, False, False, True, False]] * N)
    hs, h = simple_rnn(*(Tensor(a[k]) for k in ("x", "W", "U", "b", "h0")), mask=mask)
    assert not hs.data[:, [2, 3, 5]].any()
    assert_close(h.data, hs.data[:, 4], 0, 0, "h_last is the state after the last real step")


def test_integer_mask_and_empty_sequence(rng):
    a = make_inputs(rng, "gru", t=6)
    args = [Tensor(a[k]) for k in ("x", "W", "U", "b", "h0")]
    mask = general_mask(rng, t=6)
    hs_bool, _ = gru(*args, mask=mask)
    hs_int, _ = gru(*args, mask=mask.astype(np.int64))
    assert_close(hs_int.data, hs_bool.data, 0, 0, "0/1 mask")
    h0 = Tensor(a["h0"], requires_grad=True)
    hs, h = gru(Tensor(np.zeros((N, 0, D))), args[1], args[2], args[3], h0)
    assert hs.shape == (N, 0, UNITS)
    assert_close(h.data, a["h0"], 0, 0, "no steps: h_last = h0")
    h.sum().backward()
    assert_close(h0.grad, np.ones_like(a["h0"]), 0, 0, "grad of h0")


# ---------------------------------------------------------------- bad inputs
def _tensors(a):
    return {k: Tensor(v) for k, v in a.items()}


def test_two_dimensional_x_is_a_shape_error(rng):
    a = _tensors(make_inputs(rng, "lstm", t=5))
    with pytest.raises(ShapeError, match=r"expected x of shape \(batch, time, features\).*\(4, 3\)"):
        lstm(Tensor(np.zeros((4, 3))), a["W"], a["U"])


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru", "jordan"])
def test_mask_shape_mismatch_names_both_shapes(kind, rng):
    a = _tensors(make_inputs(rng, kind, t=5))
    with pytest.raises(ShapeError, match=r"mask.*\(4, 5\).*\(4, 6\)"):
        OURS[kind](**a, mask=np.ones((4, 6), bool))


@pytest.mark.parametrize("kind,name,shape,match", [
    ("lstm", "U", (5, 15), r"U must have shape \(units, 4 \* units\); received \(5, 15\)"),
    ("lstm", "W", (3, 16), r"W must have shape \(3, 20\).*received \(3, 16\)"),
    ("rnn", "W", (4, 5), r"W must have shape \(3, 5\).*received \(4, 5\)"),
    ("gru", "b", (15,), r"b must have shape \(2, 15\).*reset_after=True.*received \(15,\)"),
    ("lstm", "h0", (4, 6), r"h0 must have shape \(4, 5\).*received \(4, 6\)"),
    ("lstm", "peephole", (5,), r"peephole must have shape \(3, 5\)"),
    ("jordan", "U", (5, 5), r"U must have shape \(3, 5\)"),
])
def test_inconsistent_weight_shapes(kind, name, shape, match, rng):
    a = _tensors(make_inputs(rng, kind, t=5))
    a[name] = Tensor(np.zeros(shape))
    with pytest.raises(ShapeError, match=match):
        OURS[kind](**a)


def test_unknown_activation_lists_valid_names(rng):
    a = _tensors(make_inputs(rng, "rnn", t=5))
    with pytest.raises(ConfigError, match="Unknown activation: 'swish'.*'hard_sigmoid'"):
        simple_rnn(**a, activation="swish")
    with pytest.raises(ConfigError, match="softmax"):
        lstm(**_tensors(make_inputs(rng, "lstm", t=5)), recurrent_activation="softmax")
