"""The fused Numba kernels (accel.kernels) against the NumPy path they replace, in float32."""
import os
import subprocess
import sys

import numpy as np
import pytest

import threestep.accel.threads as threads
import threestep.accel.kernels as kernels
import threestep.accel.sequences as sequences
from threestep.accel import switches
from threestep.autograd import Tensor
from threestep.errors import DataError
from test_recurrent_ops import general_mask, make_inputs
from test_recurrent_threads import run_cell
from helpers import numpy_only

needs_numba = pytest.mark.skipif(not kernels.available(), reason="Numba is not installed or THREESTEP_NUMBA=0")
pytestmark = numpy_only("the Numba kernels are CPU code for NumPy arrays; under CuPy the ops never call them")


@needs_numba
def test_fast_tanh_matches_float64_tanh():
    x = np.concatenate([np.linspace(-12, 12, 200_001), [0.0, 1e-30, -1e-30, 7.9, 8.0, 50.0, -50.0]])
    a = x.astype(np.float32).reshape(1, -1)
    kernels.tanh_(a)
    ref = np.tanh(x.astype(np.float32).astype(np.float64))
    assert np.abs(a.ravel() - ref).max() < 5e-7
    assert np.all(np.abs(a) <= 1)
    np.testing.assert_allclose(a.ravel()[x.size - 2:], [1, -1], atol=2.5e-7)  # saturated
    sym = -x.astype(np.float32).reshape(1, -1)
    kernels.tanh_(sym)
    np.testing.assert_array_equal(sym, -a)  # odd


@needs_numba
def test_tanh_on_a_strided_view_touches_only_the_view():
    buf = np.full((5, 12), 3.0, np.float32)
    view = buf[1:4, 2:7]
    kernels.tanh_(view)
    np.testing.assert_allclose(view, np.tanh(np.float32(3.0)), rtol=1e-6)
    outside = np.ones_like(buf, bool)
    outside[1:4, 2:7] = False
    assert np.all(buf[outside] == 3.0)


def _fused_vs_numpy(kind, arrays, monkeypatch, **call):
    """(fused outputs, grads), (NumPy outputs, grads), and how often each fused kernel ran."""
    counts = {}
    for name in ("lstm_step", "lstm_back_step", "gru_step", "lstm_train_sequence", "lstm_back_sequence",
                 "gru_sequence", "gru_back_sequence"):
        module = sequences if name.endswith("_sequence") else kernels
        real = getattr(module, name)

        def counted(*a, _real=real, _name=name):
            counts[_name] = counts.get(_name, 0) + 1
            return _real(*a)
        monkeypatch.setattr(module, name, counted)
    fused = run_cell(kind, arrays, **call)
    monkeypatch.setattr(kernels, "available", lambda: False)
    plain = run_cell(kind, arrays, **call)
    return fused, plain, counts


@needs_numba
@pytest.mark.parametrize("blocks", [1, 3], ids=["one-block", "three-blocks"])
@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("kind,bias", [("lstm", True), ("gru", True), ("gru", False)],
                         ids=["lstm", "gru", "gru-nobias"])
def test_fused_steps_match_the_numpy_path(kind, bias, masked, reverse, blocks, monkeypatch):
    """Outputs and every gradient of the LSTM and GRU with the Numba step kernels equal the
    NumPy path's in float32 (to the fast tanh's ~3e-7), for masks, reverse time and row blocks."""
    rng = np.random.default_rng(0)
    n, t = 7, 9
    arrays = {k: v for k, v in make_inputs(rng, kind, n=n, t=t, dtype=np.float32, bias=bias).items()
              if v is not None}
    call = {"mask": general_mask(rng, n=n, t=t) if masked else None, "reverse": reverse}
    if blocks > 1:
        monkeypatch.setattr(threads, "MIN_ROWS", 2)
        monkeypatch.setattr(threads, "blas_threads", lambda: blocks)
    (outs, grads), (ref_outs, ref_grads), counts = _fused_vs_numpy(kind, arrays, monkeypatch, **call)
    if kind == "lstm" and not masked:  # each block's whole time loops in one call each
        assert counts.get("lstm_train_sequence") == counts.get("lstm_back_sequence") == blocks
        assert "lstm_step" not in counts and "lstm_back_step" not in counts
    elif not masked:  # the GRU's time loops: one call each per block (backward: reset_after, with a bias)
        assert counts.get("gru_sequence") == blocks and "gru_step" not in counts
        assert counts.get("gru_back_sequence") == blocks
    else:  # the forward step kernel ran every step of every block
        assert counts.get("lstm_step" if kind == "lstm" else "gru_step") == t * blocks
    for a, b in zip(outs, ref_outs):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    for k in arrays:
        scale = np.abs(ref_grads[k]).max()
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-4, atol=1e-5 * scale, err_msg=k)


@needs_numba
def test_float64_peepholes_and_other_activations_keep_the_numpy_path(monkeypatch):
    """The forward kernels know only sigmoid gates and tanh; the backward kernels only need the
    stored derivative factors, so they serve any activation, but not float64 or peepholes.
    Without a mask each time loop is one call (``*_sequence``), else one call per step."""
    rng = np.random.default_rng(0)
    calls = {"lstm_step": 0, "lstm_back_step": 0, "lstm_train_sequence": 0, "lstm_back_sequence": 0}
    for name in calls:
        module = sequences if name.endswith("_sequence") else kernels
        real = getattr(module, name)

        def counted(*a, _real=real, _name=name):
            calls[_name] += 1
            return _real(*a)
        monkeypatch.setattr(module, name, counted)
    for dtype, kwargs, forward, back in [(np.float64, {}, 0, 0), (np.float32, {"peephole": True}, 0, 0),
                                         (np.float32, {"activation": "relu"}, 0, 1),
                                         (np.float32, {"recurrent_activation": "hard_sigmoid"}, 0, 1),
                                         (np.float32, {}, 1, 1), (np.float32, {"mask": "mask"}, 3, 0)]:
        for name in calls:
            calls[name] = 0
        arrays = {k: v for k, v in make_inputs(rng, "lstm", n=4, t=3, dtype=dtype,
                                               peephole=kwargs.get("peephole", False)).items() if v is not None}
        call = {k: v for k, v in kwargs.items() if k != "peephole"}
        masked = "mask" in call
        if masked:
            call["mask"] = general_mask(rng, n=4, t=3)
        outs, grads = run_cell("lstm", arrays, **call)
        expected = ({"lstm_step": forward, "lstm_back_step": back, "lstm_train_sequence": 0, "lstm_back_sequence": 0}
                    if masked else
                    {"lstm_step": 0, "lstm_back_step": 0, "lstm_train_sequence": forward, "lstm_back_sequence": back})
        assert calls == expected, (dtype, kwargs)
        assert all(np.isfinite(g).all() for g in grads.values())


@needs_numba
def test_gru_kernel_serves_only_reset_after_sigmoid_tanh_float32(monkeypatch):
    """The step kernel (with a mask: once per step) and the whole-loop kernels (without: forward
    and backward once each)."""
    rng = np.random.default_rng(0)
    calls = []
    for module, name in ((kernels, "gru_step"), (sequences, "gru_sequence"), (sequences, "gru_back_sequence")):
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real, _n=name: (calls.append(_n), _r(*a))[1])
    for dtype, call, expected in [(np.float64, {}, []), (np.float32, {"reset_after": False}, []),
                                  (np.float32, {"recurrent_activation": "hard_sigmoid"}, []),
                                  (np.float32, {"activation": "relu"}, []),
                                  (np.float32, {}, ["gru_sequence", "gru_back_sequence"]),
                                  (np.float32, {"mask": "mask"}, ["gru_step"] * 3)]:
        calls.clear()
        arrays = {k: v for k, v in make_inputs(rng, "gru", n=4, t=3, dtype=dtype,
                                               reset_after=call.get("reset_after", True)).items() if v is not None}
        if "mask" in call:
            call = {"mask": general_mask(rng, n=4, t=3)}
        run_cell("gru", arrays, **call)
        assert calls == expected, (dtype, call)


def test_threestep_numba_0_turns_the_kernels_off():
    env = dict(os.environ, THREESTEP_NUMBA="0")
    out = subprocess.run([sys.executable, "-c", "import threestep.accel.kernels as k; print(k.available())"],
                         env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_enabled_only_for_numpy_float32():
    if not kernels.available():
        assert not kernels.enabled(np.zeros(3, np.float32))
        return
    assert kernels.enabled(np.zeros(3, np.float32), np.zeros((2, 2), np.float32))
    assert not kernels.enabled(np.zeros(3, np.float64))
    assert not kernels.enabled(np.zeros(3, np.float32), np.zeros(3, np.float64))


# ---------------------------------------------------------------- ReLU and the optimizer updates
@needs_numba
def test_relu_kernel_matches_numpy_relu_including_the_kink(monkeypatch):
    from threestep.ops import relu

    x = np.random.default_rng(0).standard_normal((6, 5, 4)).astype(np.float32)
    x[0, 0, :2] = 0.0  # subgradient 0 at the kink, as PyTorch
    gy = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)

    def run():
        t = Tensor(x.copy(), requires_grad=True)
        y = relu(t)
        (y * Tensor(gy)).sum().backward()
        return y.numpy(), t.grad
    y, g = run()
    monkeypatch.setattr(kernels, "available", lambda: False)
    y_ref, g_ref = run()
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_array_equal(g, g_ref)
    assert g[0, 0, 0] == 0 and g[0, 0, 1] == 0


@needs_numba
def test_relu_kernel_is_used_for_float32_only(monkeypatch):
    from threestep.ops import relu

    calls = []
    real = kernels._nb[0].relu
    monkeypatch.setattr(kernels._nb[0], "relu", lambda *a: (calls.append(a[0].dtype), real(*a))[1])
    relu(Tensor(np.ones((2, 3), np.float32)))
    relu(Tensor(np.ones((2, 3), np.float64)))
    relu(Tensor(np.ones((4, 6), np.float32)[:, ::2]))  # not contiguous: NumPy path
    assert calls == [np.float32]


@needs_numba
@pytest.mark.parametrize("make", [lambda O: O.SGD(0.1), lambda O: O.SGD(0.1, momentum=0.9),
                                  lambda O: O.SGD(0.1, momentum=0.9, nesterov=True), lambda O: O.Adam(0.01),
                                  lambda O: O.Adam(0.01, amsgrad=True), lambda O: O.Nadam(0.01),
                                  lambda O: O.RMSprop(0.01), lambda O: O.RMSprop(0.01, centered=True),
                                  lambda O: O.RMSprop(0.01, momentum=0.5), lambda O: O.Adagrad(0.1),
                                  lambda O: O.AdamW(0.01, weight_decay=0.1)],
                         ids=["sgd", "momentum", "nesterov", "adam", "amsgrad", "nadam", "rmsprop",
                              "rmsprop-centered", "rmsprop-momentum", "adagrad", "adamw"])
def test_optimizer_kernels_match_the_numpy_updates(make, monkeypatch):
    """Five steps of each optimizer on float32 parameters: the Numba updates (momentum,
    Nesterov, Adam and AdamW, plain RMSprop, Adagrad) and BLAS's axpy (plain SGD) equal the NumPy
    code's to float32 rounding; AMSGrad, Nadam and centered or momentum RMSprop keep NumPy."""
    import threestep.optimizers as O
    from threestep.accel import blas as _blas

    rng = np.random.default_rng(0)
    shapes = [(7, 5), (5,), (3, 2, 4), (130, 128)]  # the last one is large enough for BLAS's axpy
    p0 = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(5)]
    counted = {"n": 0, "axpy_": 0}
    for owner, name in ((kernels._nb[0], "sgd"), (kernels._nb[0], "sgd_momentum"), (kernels._nb[0], "adam"),
                        (kernels._nb[0], "rmsprop"), (kernels._nb[0], "adagrad"), (_blas, "axpy_")):
        real = getattr(owner, name)

        def count(*a, _r=real, _name=name):
            counted["n"] += 1
            counted["axpy_"] += _name == "axpy_"
            return _r(*a)
        monkeypatch.setattr(owner, name, count)

    def run():
        params = [Tensor(p.copy(), requires_grad=True) for p in p0]
        opt = make(O)
        for step in grads:
            for p, g in zip(params, step):
                p.grad = g.copy()
            opt.apply_gradients(params)
        return [p.data for p in params]
    fast = run()
    used, axpys = counted["n"], counted["axpy_"]
    blas_served = bool(_blas._axpy and _blas._axpy[0] is not None)
    monkeypatch.setattr(kernels, "available", lambda: False)
    monkeypatch.setattr(_blas, "_axpy", [None])
    ref = run()
    kind = make(O)
    numpy_only = (isinstance(kind, O.Nadam) or getattr(kind, "amsgrad", False)
                  or (isinstance(kind, O.RMSprop) and (kind.centered or kind.momentum)))
    plain_sgd = isinstance(kind, O.SGD) and not kind.momentum
    calls = 5 * len(shapes)  # one per parameter and step
    # plain SGD: steps 2-5 (the first follows no step) try BLAS's axpy for the large parameter, the
    # others take Numba; where BLAS is not served Numba follows the attempt
    attempts = 4 if plain_sgd else 0
    assert used == (0 if numpy_only else calls + (0 if blas_served else attempts))
    assert axpys == attempts
    for a, b in zip(fast, ref):
        assert a.dtype == np.float32
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=1e-6)  # values ~N(0, 1): a few ulps of 1


def test_flat_addresses_views_of_the_root_buffer():
    G = np.arange(4 * 5 * 6 * 7, dtype=np.float32).reshape(4, 5, 6, 7)
    view = G[:, 2, 1:4]
    f = kernels.Flat(view)
    assert f.buf.base is not None and np.shares_memory(f.buf, G)
    assert f.buf[f.at(3, 2)] == view[3, 2, 0]
    cols = np.zeros((3, 4, 10), np.float32)[:, :, 2:7]  # rows of a column block (the RNN's h)
    fc = kernels.Flat(cols)
    assert fc.start == 2 and fc.strides == (40, 10, 1)
    other = np.zeros(64, np.uint8).view(np.float32).reshape(4, 4)[1:3]  # another dtype's buffer
    fo = kernels.Flat(other)
    assert fo.start == 0 and np.shares_memory(fo.buf, other)
    with pytest.raises(ValueError):
        kernels.Flat(np.zeros((4, 6), np.float32)[:, ::2])


@needs_numba
def test_warm_up_compiles_every_kernel():
    assert kernels.warm_up() is True
    # every jitted kernel now has a compiled specialization
    from threestep.accel import _numba_kernels as nk, _numba_sequences as ns
    jitted = [f for m in (nk, ns) for n, f in vars(m).items()
              if hasattr(f, "signatures") and not n.startswith("_") and f.__module__ == m.__name__]
    assert len(jitted) >= 13 and all(f.signatures for f in jitted)


@needs_numba
def test_nan_and_inf_come_out_of_the_kernels_as_from_numpy():
    """TerminateOnNaN and debug_numerics look for nan: the kernels must not swallow it."""
    a = np.array([[np.nan, np.inf, -np.inf, 0.5, -3.0, 0.0]], np.float32)
    t = a.copy()
    kernels.tanh_(t)
    assert np.isnan(t[0, 0])
    np.testing.assert_allclose(t[0, 1:], np.tanh(a[0, 1:]), atol=3e-7)
    y = kernels.relu(a)
    assert np.isnan(y[0, 0]) and y[0, 1] == np.inf and y[0, 2] == 0
    g = kernels.relu_grad(np.full_like(a, 2.0), y)  # PyTorch: 0 where y <= 0, else the gradient
    np.testing.assert_array_equal(g, [[2, 2, 0, 2, 0, 0]])
    p, grad = np.ones((2, 3), np.float32), np.full((2, 3), np.nan, np.float32)
    assert kernels.sgd_(p, grad, 0.1) and np.isnan(p).all()


@needs_numba
def test_a_nan_input_reaches_the_lstm_and_gru_outputs():
    rng = np.random.default_rng(0)
    for kind in ("lstm", "gru"):
        arrays = {k: v for k, v in make_inputs(rng, kind, n=4, t=3, dtype=np.float32).items() if v is not None}
        arrays["x"][1, 0, 0] = np.nan
        outs, _ = run_cell(kind, arrays)
        assert np.isnan(outs[0][1]).all() and np.isfinite(outs[0][[0, 2, 3]]).all(), kind


def test_kernels_that_cannot_load_fall_back_to_numpy_with_a_warning(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def failing(name, *args, **kwargs):
        if name.endswith("_numba_kernels") or (args and args[2] and "_numba_kernels" in args[2]):
            raise RuntimeError("cannot cache function: no locator available")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(kernels, "_nb", [])
    monkeypatch.setattr(switches, "NUMBA", True)  # the suite may run with the kernels off
    monkeypatch.delitem(sys.modules, "threestep.accel._numba_kernels", raising=False)
    monkeypatch.setattr(builtins, "__import__", failing)
    with pytest.warns(RuntimeWarning, match="Numba kernels could not be loaded"):
        assert kernels.available() is False
    assert kernels.enabled(np.zeros(3, np.float32)) is False


@needs_numba
@pytest.mark.parametrize("make", [lambda b: b[2], lambda b: b[1:3, 2, 1:5], lambda b: b[:, 1, :, 2:6],
                                  lambda b: b[0, 0, 0, ::2]], ids=["2d", "2d-view", "3d-view", "strided"])
def test_row_kernels_match_numpy_tanh_and_sigmoid_in_place(make):
    rng = np.random.default_rng(0)
    base = (rng.standard_normal((4, 3, 5, 7)) * 3).astype(np.float32)
    for kernel, ref in [(kernels.tanh_, np.tanh), (kernels.sigmoid_of_half_, lambda v: 1 / (1 + np.exp(-2 * v)))]:
        b = base.copy()
        view = make(b)
        expected = ref(view.astype(np.float64))
        served = kernel(view)
        if view.strides[-1] != view.itemsize:  # not unit-stride rows: left to NumPy, untouched
            assert not served and np.array_equal(b, base)
            continue
        assert served
        np.testing.assert_allclose(view, expected, atol=4e-7)
        positions = np.arange(b.size).reshape(b.shape)
        assert set(positions[b != base]) <= set(make(positions).ravel())  # nothing outside the view


@needs_numba
@pytest.mark.parametrize("kind,call,opts", [("rnn", {}, {}), ("lstm", {}, {"peephole": True}),
                                            ("gru", {"reset_after": False}, {"reset_after": False}),
                                            ("lstm", {"activation": "relu"}, {}), ("rnn", {"mask": "mask"}, {}),
                                            ("rnn", {"activation": "relu", "reverse": True}, {})],
                         ids=["simple-rnn", "lstm-peephole", "gru-keras2", "lstm-relu", "simple-rnn-masked",
                              "simple-rnn-relu-reverse"])
def test_activation_kernels_in_the_other_cells_match_numpy(kind, call, opts, monkeypatch):
    """SimpleRNN, the peephole LSTM and the Keras-2 GRU reach the row kernels through their
    activations; the results equal the NumPy path's in float32."""
    rng = np.random.default_rng(0)
    arrays = {k: v for k, v in make_inputs(rng, kind, n=5, t=6, dtype=np.float32, **opts).items() if v is not None}
    call = dict(call)
    if call.get("mask") == "mask":
        call["mask"] = general_mask(rng, n=5, t=6)
    served = []
    # rnn_step_ / rnn_sequence_: SimpleRNN's whole step or time loop, unmasked
    for name in ("tanh_", "sigmoid_of_half_", "rnn_step_", "rnn_sequence_"):
        module = sequences if name == "rnn_sequence_" else kernels
        real = getattr(module, name)
        monkeypatch.setattr(module, name, lambda *a, _r=real: (served.append(1) or _r(*a)))
    outs, grads = run_cell(kind, arrays, **call)
    assert served  # the activations went through the kernels
    monkeypatch.setattr(kernels, "available", lambda: False)
    ref_outs, ref_grads = run_cell(kind, arrays, **call)
    for a, b in zip(outs, ref_outs):
        np.testing.assert_allclose(a, b, rtol=2e-5, atol=2e-6)
    for k in arrays:
        scale = np.abs(ref_grads[k]).max()
        np.testing.assert_allclose(grads[k], ref_grads[k], rtol=1e-4, atol=1e-5 * scale, err_msg=k)


@needs_numba
def test_sigmoid_and_tanh_kernels_match_float64_and_keep_nan():
    from threestep.ops.elementwise import stable_sigmoid

    x = np.concatenate([np.linspace(-90, 90, 400_000), [np.nan, np.inf, -np.inf, 0.0, -1e-30]]).astype(np.float32)
    y = kernels.sigmoid(x.reshape(-1, 5))
    ref = stable_sigmoid(x.astype(np.float64)).reshape(-1, 5)
    finite = np.isfinite(ref) & (ref > 1e-37)  # below float32's normal range the kernel returns 0
    np.testing.assert_allclose(y[finite], ref[finite], rtol=3e-7)  # relative precision also for x << 0
    assert np.all(y[ref <= 1e-37] <= 1e-37)
    assert np.isnan(y.ravel()[-5]) and y.ravel()[-4] == 1 and y.ravel()[-3] == 0
    t = kernels.tanh(x.reshape(-1, 5))
    np.testing.assert_allclose(t.ravel()[:-5], np.tanh(x[:-5].astype(np.float64)), atol=3e-7)
    assert np.isnan(t.ravel()[-5])


@needs_numba
@pytest.mark.parametrize("name", ["sigmoid", "tanh"])
def test_sigmoid_and_tanh_ops_use_the_kernels_and_match_numpy(name, monkeypatch):
    import threestep.ops as ops

    x = (np.random.default_rng(0).standard_normal((6, 7)) * 4).astype(np.float32)
    gy = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    calls = []
    real = getattr(kernels._nb[0], name)
    monkeypatch.setattr(kernels._nb[0], name, lambda *a: (calls.append(1), real(*a))[1])

    def run():
        t = Tensor(x.copy(), requires_grad=True)
        y = getattr(ops, name)(t)
        (y * Tensor(gy)).sum().backward()
        return y.numpy(), t.grad
    y, g = run()
    assert calls == [1]
    monkeypatch.setattr(kernels, "available", lambda: False)
    y_ref, g_ref = run()
    np.testing.assert_allclose(y, y_ref, rtol=3e-7, atol=3e-7)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-6)


# ---------------------------------------------------------------- softmax-CE, Dense+ReLU, finiteness
def _sparse_ce(logits, labels, gy, retain=False):
    from threestep.ops import softmax_cross_entropy

    z = Tensor(logits.copy(), requires_grad=True)
    loss = softmax_cross_entropy(z, Tensor(labels))
    (loss * Tensor(gy)).sum().backward(retain_graph=retain)
    if retain:
        first = z.grad.copy()
        (loss * Tensor(gy)).sum().backward()
        np.testing.assert_allclose(z.grad, 2 * first, rtol=1e-6)  # backward did not spoil the saved p
        z.grad = first
    return loss.numpy(), z.grad


@needs_numba
@pytest.mark.parametrize("shape", [(100, 10), (3, 4, 5)], ids=["2d", "3d"])
def test_softmax_ce_mean_in_one_node_equals_the_mean_op(shape):
    """reduction="mean" (fit's plain loss) gives ops.mean's value and gradient exactly, on the
    float32 kernel path too; an unknown reduction is a clear error."""
    from threestep import ops
    from threestep.errors import ConfigError

    rng = np.random.default_rng(1)
    logits = (2 * rng.standard_normal(shape)).astype(np.float32)
    labels = Tensor(rng.integers(0, shape[-1], shape[:-1]))
    z1, z2 = Tensor(logits.copy(), requires_grad=True), Tensor(logits.copy(), requires_grad=True)
    one = ops.softmax_cross_entropy(z1, labels, reduction="mean")
    two = ops.mean(ops.softmax_cross_entropy(z2, labels))
    assert one.shape == () and one.dtype == np.float32
    one.backward()
    two.backward()
    np.testing.assert_array_equal(one.numpy(), two.numpy())
    np.testing.assert_array_equal(z1.grad, z2.grad)
    with pytest.raises(ConfigError, match="reduction must be 'none' or 'mean'"):
        ops.softmax_cross_entropy(z1, labels, reduction="sum")


@needs_numba
@pytest.mark.parametrize("shape", [(7, 10), (3, 4, 5), (2, 1000)], ids=["2d", "3d", "wide"])
def test_softmax_ce_kernel_matches_the_numpy_path(shape, monkeypatch):
    rng = np.random.default_rng(0)
    logits = (3 * rng.standard_normal(shape)).astype(np.float32)
    logits.reshape(-1, shape[-1])[0, 0] = 80.0  # large logits stay finite (max subtracted)
    labels = rng.integers(0, shape[-1], shape[:-1])
    gy = rng.standard_normal(shape[:-1]).astype(np.float32)
    calls = []
    real = kernels.softmax_ce
    monkeypatch.setattr(kernels, "softmax_ce", lambda *a: calls.append(1) or real(*a))
    loss, grad = _sparse_ce(logits, labels, gy, retain=True)
    assert calls, "the kernel did not serve float32 sparse labels"
    monkeypatch.setattr(kernels, "available", lambda: False)
    loss_ref, grad_ref = _sparse_ce(logits, labels, gy, retain=True)
    np.testing.assert_allclose(loss, loss_ref, rtol=2e-6, atol=2e-6)
    np.testing.assert_allclose(grad, grad_ref, rtol=2e-6, atol=2e-7)


@needs_numba
def test_softmax_ce_kernel_keeps_nan_and_leaves_bad_labels_to_numpy():
    logits = np.zeros((3, 4), np.float32)
    logits[1, 2] = np.nan
    loss, _ = _sparse_ce(logits, np.array([0, 1, 3]), np.ones(3, np.float32))
    assert np.isnan(loss[1]) and np.isfinite(loss[[0, 2]]).all()
    np.testing.assert_allclose(loss[[0, 2]], np.log(4), rtol=1e-6)
    assert kernels.softmax_ce(logits, np.array([0, 4, 1])) is None  # outside [0, C): not served
    with pytest.raises(DataError, match=r"0\.\.3"):  # ... and the op refuses them, naming the range
        _sparse_ce(logits, np.array([0, 4, 1]), np.ones(3, np.float32))
    assert kernels.softmax_ce(logits.astype(np.float64), np.array([0, 1, 3])) is None


@needs_numba
def test_bias_relu_kernel_in_place():
    rng = np.random.default_rng(0)
    y = rng.standard_normal((5, 3, 7)).astype(np.float32)
    b = rng.standard_normal(7).astype(np.float32)
    y[0, 0, 0] = np.nan
    out = y.copy()
    assert kernels.bias_relu_(out, b)
    np.testing.assert_array_equal(out, np.maximum(y + b, 0))  # NumPy's maximum keeps nan too
    out = y.copy()
    assert kernels.bias_relu_(out)
    np.testing.assert_array_equal(out, np.maximum(y, 0))
    assert not kernels.bias_relu_(y.astype(np.float64), b.astype(np.float64))
    assert not kernels.bias_relu_(y[:, :, ::2].copy(), b)  # the bias does not fit the last axis


@needs_numba
def test_dense_relu_is_one_fused_node_equal_to_dense_then_relu(monkeypatch):
    from threestep import layers as L
    from threestep.ops.nn import Linear

    rng = np.random.default_rng(0)
    x = rng.standard_normal((8, 6)).astype(np.float32)
    fused, plain = L.Dense(5, activation="relu", bias_initializer="random_normal"), L.Dense(5)
    y = fused(Tensor(x))
    plain(Tensor(x))
    plain.set_weights(fused.get_weights())
    assert isinstance(y.creator, Linear) and y.creator.relu
    calls = []
    real = kernels.bias_relu_
    monkeypatch.setattr(kernels, "bias_relu_", lambda *a: calls.append(1) or real(*a))
    y = fused(Tensor(x))
    y2 = L.Activation("relu")(plain(Tensor(x)))
    assert calls == [1]
    np.testing.assert_array_equal(y.numpy(), y2.numpy())
    gy = rng.standard_normal(y.shape).astype(np.float32)
    (y * Tensor(gy)).sum().backward()
    (y2 * Tensor(gy)).sum().backward()
    for a, b in zip(fused.weights, plain.weights):
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-6, atol=1e-6)


@needs_numba
@pytest.mark.parametrize("where", [0, 4095, 4096, 10_000 - 1])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_all_finite_finds_every_nan_and_inf(where, bad):
    a = np.random.default_rng(0).standard_normal(10_000).astype(np.float32) * 1e30
    assert kernels.all_finite(a) is True
    a[where] = bad
    assert kernels.all_finite(a) is False
    assert kernels.all_finite(a.astype(np.float64)) is None  # float64: NumPy's isfinite runs
    small = a[where - 7:where + 1] if where >= 7 else a[:8]  # shorter than a block: the tail loop alone
    assert kernels.all_finite(small) is False
    assert kernels.all_finite(np.zeros(0, np.float32)) is True


def test_fit_still_names_the_first_nan_in_float32_inputs():
    from threestep.errors import DataError
    from threestep.models import checks

    x = np.ones((4, 3), np.float32)
    x[2, 1] = np.nan
    with pytest.raises(DataError, match=r"1 NaN or infinite value\(s\); the first is at index \(2, 1\)"):
        checks.check_finite(x, "x", "fit")


@needs_numba
def test_relu_grad_bias_kernel_matches_numpy_row_sums():
    rng = np.random.default_rng(0)
    y = np.maximum(rng.standard_normal((3, 40, 9)), 0).astype(np.float32)
    gy = rng.standard_normal(y.shape).astype(np.float32)
    g, gb = kernels.relu_grad_bias(gy, y, True)
    ref = gy * (y > 0)
    np.testing.assert_array_equal(g, ref)
    np.testing.assert_array_equal(gb, ref.reshape(-1, 9).sum(axis=0))  # same order of additions
    g2, none = kernels.relu_grad_bias(gy, y, False)
    assert none is None and np.array_equal(g2, ref)
    assert kernels.relu_grad_bias(gy.astype(np.float64), y.astype(np.float64), True) is None


# ---------------------------------------------------------------- max pooling
def _numpy_pooling(monkeypatch):
    """From here on max pooling takes the NumPy path (``maxout.max_of_pieces``): the kernels
    decline. (Patching ``kernels.available`` would not do: once loaded, the kernels are used.)"""
    monkeypatch.setattr(kernels, "max_pool", lambda *a, **k: None)
    monkeypatch.setattr(kernels, "max_pool_grad", lambda *a, **k: False)


def _pool_run(op, x, gy):
    t = Tensor(x.copy(), requires_grad=True)
    y = op(t)
    (y * Tensor(gy)).sum().backward()
    return y.numpy(), t.grad


@needs_numba
@pytest.mark.parametrize("shape,pool,strides,padding", [
    ((3, 26, 26, 5), 2, None, "valid"),  # the lecture CNN's tiled 2x2
    ((2, 7, 9, 3), 3, 2, "valid"),  # overlapping windows: gradients add up
    ((2, 7, 9, 3), (2, 3), None, "same"),  # -inf padding, never selected
    ((2, 9, 9, 4), 2, 3, "valid"),  # strides > pool: cells no window sees get 0
    ((4, 11, 6), 3, 2, "same"),  # 1-D pooling
], ids=["tiled", "overlap", "same", "gaps", "1d"])
def test_max_pool_kernel_matches_the_numpy_path(shape, pool, strides, padding, monkeypatch):
    from threestep import ops

    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    x.reshape(-1)[::7] = 0.5  # ties: the first maximum of a window wins
    x.reshape(-1)[5] = np.nan
    def op(t):
        return ops.max_pool(t, pool, strides, padding)
    with_nan = op(Tensor(x))
    gy = rng.standard_normal(with_nan.shape).astype(np.float32)
    served = []
    for name in ("max_pool", "max_pool_grad"):
        def spy(*a, _real=getattr(kernels, name), _name=name):
            out = _real(*a)
            served.append((_name, out is not None and out is not False))
            return out
        monkeypatch.setattr(kernels, name, spy)
    y, g = _pool_run(op, x, gy)
    assert served == [("max_pool", True), ("max_pool_grad", True)], served
    _numpy_pooling(monkeypatch)
    y_ref, g_ref = _pool_run(op, x, gy)
    np.testing.assert_array_equal(y, y_ref)  # nan included
    np.testing.assert_array_equal(g, g_ref)


@needs_numba
@pytest.mark.parametrize("cell", range(4))
@pytest.mark.parametrize("strides", [2, 1])
def test_two_by_two_windows_pick_the_first_nan_and_the_first_maximum(cell, strides, monkeypatch):
    """2 x 2 windows take their own pass (each cell's four values compared at once): a nan in any
    of the four cells wins, the first of two nans and the first of equal maxima take the
    gradient, as on the NumPy path."""
    from threestep import ops

    rng = np.random.default_rng(cell)
    x = rng.standard_normal((2, 4, 6, 3)).astype(np.float32)
    r, c = divmod(cell, 2)
    x[0, r, c, 0] = np.nan  # window (0, 0): one nan
    x[0, r, 2 + c, 1] = x[0, 1, 3, 1] = np.nan  # window (0, 1): two nans, one of them in the last cell
    x[1, 2:, 4:, 2] = 7.0  # window (1, 2): four equal maxima
    x[1, r, c, 0] = 9.0  # a maximum in the cell
    gy = rng.standard_normal(ops.max_pool(Tensor(x), 2, strides).shape).astype(np.float32)
    y, g = _pool_run(lambda t: ops.max_pool(t, 2, strides), x, gy)
    _numpy_pooling(monkeypatch)
    y_ref, g_ref = _pool_run(lambda t: ops.max_pool(t, 2, strides), x, gy)
    np.testing.assert_array_equal(y, y_ref)
    np.testing.assert_allclose(g, g_ref, rtol=1e-6, atol=1e-6)  # overlapping windows add in another order


# ---------------------------------------------------------------- BLAS axpy (plain SGD)
def test_blas_axpy_updates_in_place_like_the_numba_kernel():
    from threestep.accel import blas as _blas

    rng = np.random.default_rng(0)
    for n in (1, 7, 33, 1000, 300_000):  # 300k: OpenBLAS splits it over its threads
        p = rng.standard_normal(n).astype(np.float32)
        g = rng.standard_normal(n).astype(np.float32)
        q = p.copy()
        if not _blas.axpy_(p, g, -0.01):
            pytest.skip("NumPy's OpenBLAS could not be identified here (e.g. MKL or a second OpenBLAS)")
        np.testing.assert_allclose(p, q - np.float32(0.01) * g, rtol=1e-6, atol=1e-7)
        if kernels.available():
            kernels.sgd_(q, g, 0.01)
            np.testing.assert_array_max_ulp(p, q, maxulp=1)  # fused multiply-adds (scalar tails may not fuse)
    a = np.ones((4, 6), np.float32)
    for y, x in [(a.astype(np.float64), a.astype(np.float64)), (a[:, ::2].copy(), a[:, ::2]), (a, a[:2]),
                 (a.T.copy().T, a)]:
        assert not _blas.axpy_(y, x, 1.0)  # float64, strided, mismatched shapes, not C-contiguous
    frozen = np.ones(3, np.float32)
    frozen.flags.writeable = False
    assert not _blas.axpy_(frozen, np.ones(3, np.float32), 1.0)


def test_blas_axpy_finds_numpys_own_openblas():
    from threestep.accel import blas as _blas

    blas = np.__config__.CONFIG.get("Build Dependencies", {}).get("blas", {}).get("name", "")
    if "scipy-openblas" not in str(blas):
        pytest.skip(f"NumPy was built against {blas!r}, not the OpenBLAS its wheels bundle")
    path = _blas._numpy_openblas()
    assert path is not None and "numpy" in path and "openblas" in path.lower()


def test_threestep_blas_update_0_turns_axpy_and_the_folded_gemm_off():
    code = ("import numpy as np; from threestep.accel import blas as _blas; o = np.ones((3, 3), np.float32); "
            "print(_blas.axpy_(np.ones(3, np.float32), np.ones(3, np.float32), 1.0), "
            "_blas.gemm_update_(o.copy(), o, o, 1.0))")
    env = dict(os.environ, THREESTEP_BLAS_UPDATE="0")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.stdout.strip() == "False False", out.stderr


def test_sgd_uses_blas_threads_only_after_steps_without_row_parallel_loops(monkeypatch):
    """A threaded saxpy right before a recurrent layer's row-parallel loop slows that loop (its
    workers keep spinning): SGD takes the BLAS path only after a step that ran no such loop."""
    import threestep.optimizers as O
    from threestep.accel import blas as _blas, threads as _threads

    calls = []
    real = _blas.axpy_
    monkeypatch.setattr(_blas, "axpy_", lambda *a: calls.append(1) or real(*a))
    p = Tensor(np.ones((128, 130), np.float32), requires_grad=True)  # large enough for the BLAS path
    opt = O.SGD(0.1)

    def step():
        p.grad = np.ones((128, 130), np.float32)
        opt.apply_gradients([p])
    for _ in range(3):
        step()
    assert len(calls) == 2  # not on the first step (nothing known about the model yet), then each step
    _threads.run(lambda part: None, [slice(0, 1), slice(1, 2)])  # a row-parallel loop in this step
    step()
    assert len(calls) == 2
    step()
    assert len(calls) == 3
    np.testing.assert_allclose(p.data, 1 - 5 * 0.1, rtol=1e-6)  # every path made the same update


@needs_numba
@pytest.mark.parametrize("only_last", [False, True], ids=["all-outputs", "last-state-only"])
@pytest.mark.parametrize("activation,reverse,h0", [("tanh", False, True), ("relu", True, False),
                                                   ("tanh", True, False)])
def test_simple_rnn_backward_loop_in_one_call_matches_the_numpy_steps(activation, reverse, h0, only_last,
                                                                      monkeypatch):
    """SimpleRNN's backward time loop in one Numba call (``sequences.rnn_back_sequence``): every
    gradient equals the NumPy steps', whether the sequence output receives a gradient at every
    step or only the last state does (then the loop reads no output gradient)."""
    from test_recurrent_ops import OURS

    rng = np.random.default_rng(5)
    arrays = {k: v for k, v in make_inputs(rng, "rnn", n=6, t=7, dtype=np.float32, h0=h0).items()
              if v is not None}

    def grads():
        ts = {k: Tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
        hs, h_last = OURS["rnn"](**ts, activation=activation, reverse=reverse)
        g = np.random.default_rng(1)
        loss = (h_last * Tensor(g.standard_normal(h_last.shape).astype(np.float32))).sum()
        if not only_last:
            loss = loss + (hs * Tensor(g.standard_normal(hs.shape).astype(np.float32))).sum()
        loss.backward()
        return {k: t.grad for k, t in ts.items()}

    ran = []
    real = sequences.rnn_back_sequence
    monkeypatch.setattr(sequences, "rnn_back_sequence", lambda *a: ran.append(real(*a)) or ran[-1])
    fused = grads()
    assert ran == [True]
    monkeypatch.setattr(kernels, "available", lambda: False)
    plain = grads()
    assert ran == [True]  # the NumPy steps ran the second time
    for k in arrays:
        scale = np.abs(plain[k]).max()
        np.testing.assert_allclose(fused[k], plain[k], rtol=1e-4, atol=1e-5 * scale, err_msg=k)


@needs_numba
@pytest.mark.parametrize("name", ["adam", "rmsprop", "sgd_momentum", "add_flush", "flush"])
def test_optimizer_state_never_holds_subnormal_numbers(name):
    """A decaying state (Adam's m and v, RMSprop's average, momentum) that would fall below the
    smallest normal float32 is stored as 0, as TensorFlow's flush-to-zero CPU kernels store it
    (x86 computes on subnormal numbers tens of times slower); normal values and nan stay."""
    tiny = np.finfo(np.float32).tiny
    state = np.array([1.1 * tiny, -1.1 * tiny, 0.5, np.nan, 0.0], np.float32)  # 0.9 * 1.1 tiny is subnormal
    p, g = np.ones(5, np.float32), np.zeros(5, np.float32)
    f = np.float32
    nb = kernels._nb[0]
    if name == "adam":
        m, v = state.copy(), np.abs(state)
        nb.adam(p, g, m, v, f(1e-3), f(0.9), f(0.1), f(0.9), f(0.1), f(1e-7), f(1.0))
        kept = [m, v]
    elif name == "rmsprop":
        a = np.abs(state)
        nb.rmsprop(p, g, a, f(1e-3), f(0.9), f(0.1), f(1e-7))
        kept = [a]
    elif name == "sgd_momentum":
        v = state.copy()
        nb.sgd_momentum(p, g, v, f(0.1), f(0.9), False)
        kept = [v]
    else:  # momentum's velocity after its GEMM: v holds 0.9 * the old v already
        v = (state * f(0.9)).astype(np.float32)
        nb.add_flush(p, v) if name == "add_flush" else nb.flush(v)
        kept = [v]
    for s in kept:
        assert s[0] == 0 and s[1] == 0 and s[4] == 0
        assert s[2] > 0.4 and np.isnan(s[3])
        assert not ((s != 0) & (np.abs(s) < tiny)).any()


@needs_numba
@pytest.mark.parametrize("optimizer", ["adam", "rmsprop", "momentum"])
def test_state_of_weights_whose_gradient_stopped_decays_to_zero_not_to_subnormals(optimizer):
    """In training (float32, the Numba updates): a feature seen only in the first batches, whose
    kernel row's gradient is 0 from then on, so the optimizer's state for it decays by a factor per
    step. After 1,000 steps it is 0 (stored as 0 once below the smallest normal float32), not a
    subnormal number that x86 computes on tens of times slower."""
    from threestep import backend, layers
    from threestep.models import Sequential
    from threestep.optimizers import SGD, Adam, RMSprop

    backend.set_seed(0)
    n = 1000
    x = np.random.default_rng(0).standard_normal((n, 4)).astype(np.float32)
    x[8:, 0] = 0  # feature 0 only in the first 8 samples
    model = Sequential([layers.Dense(3, activation="softmax", input_dim=4)])
    make = {"adam": lambda: Adam(0.01), "rmsprop": lambda: RMSprop(0.01),
            "momentum": lambda: SGD(0.01, momentum=0.9)}[optimizer]
    model.compile(loss="sparse_categorical_crossentropy", optimizer=make())
    model.fit(x, np.random.default_rng(1).integers(0, 3, n), batch_size=1, epochs=1, shuffle=False, verbose=0)
    tiny = np.finfo(np.float32).tiny
    for name, slots in model.optimizer.slots.items():
        for s in slots:
            s = backend.to_numpy(s)
            assert not ((s != 0) & (np.abs(s) < tiny)).any(), name
        row = backend.to_numpy(slots[0])[0]  # the kernel's row for feature 0
        if name != "v":  # (Adam's v decays by 0.999 per step: still normal after 1,000 steps)
            assert (row == 0).all(), name
