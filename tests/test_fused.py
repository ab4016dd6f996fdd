"""accel.fused: the elementwise chains written once, one cupy.fuse kernel on CuPy, NumPy elsewhere.

On the fake device (tests/fakecupy: its ``cupy.fuse`` traces the function with proxies that allow
only what real CuPy fusion allows, and counts one kernel launch per call) every chain must give
NumPy's numbers and launch one kernel; ``THREESTEP_CUPY_FUSE=0`` runs it op by op. The chains'
math on NumPy is the reference the optimizer and recurrent tests check against PyTorch.
"""
import warnings

import numpy as np
import pytest

from threestep import backend
from threestep.accel import fused, switches

rng = np.random.default_rng(0)


def _arrays(n, shape=(3, 5)):
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(n)]


def _positive(a):
    return np.abs(a) + np.float32(0.1)


# (chain, arrays, scalars, static): every array argument may be written in place
CASES = {
    "add_scaled_": (fused.add_scaled_, _arrays(2), (-0.1,), {}),
    "sgd_momentum_": (fused.sgd_momentum_, _arrays(3), (0.1, 0.9), {}),
    "sgd_nesterov_": (fused.sgd_momentum_, _arrays(3), (0.1, 0.9), {"nesterov": True}),
    "adam_": (fused.adam_, _arrays(3) + [_positive(_arrays(1)[0])], (0.01, 0.9, 0.1, 0.999, 0.001, 1e-7, 0.99), {}),
    "amsgrad_": (fused.adam_, _arrays(3) + [_positive(a) for a in _arrays(2)],
                 (0.01, 0.9, 0.1, 0.999, 0.001, 1e-7, 1.0), {"amsgrad": True}),
    "adamax_": (fused.adamax_, _arrays(3) + [_positive(_arrays(1)[0])], (0.01, 0.9, 0.1, 0.999, 1e-7), {}),
    "nadam_": (fused.nadam_, _arrays(3) + [_positive(_arrays(1)[0])], (0.9, 0.1, 0.999, 0.001, 0.002, 1e-7, 0.01, 0.02), {}),
    "rmsprop_": (fused.rmsprop_, _arrays(2) + [_positive(_arrays(1)[0])], (0.01, 0.9, 0.1, 1e-7), {}),
    "rmsprop_centered_momentum_": (fused.rmsprop_, _arrays(2) + [_positive(_arrays(1)[0])] + _arrays(2),
                                   (0.01, 0.9, 0.1, 1e-7), {"centered": True, "momentum": True}),
    "adagrad_": (fused.adagrad_, _arrays(2) + [_positive(_arrays(1)[0])], (0.01, 1e-7), {}),
    "adadelta_": (fused.adadelta_, _arrays(2) + [_positive(a) for a in _arrays(2)], (1.0, 0.95, 0.05, 1e-7), {}),
    "bias_relu_": (fused.bias_relu_, _arrays(1) + _arrays(1, (5,)), (), {}),
    "relu_grad": (fused.relu_grad, _arrays(2), (), {}),
    "lstm_step_": (fused.lstm_step_, _arrays(8), (), {}),
    "lstm_back_step_": (fused.lstm_back_step_, _arrays(9), (), {}),
    "lstm_back_step_no_output_": (fused.lstm_back_step_, _arrays(8), (), {}),
    "gru_step_": (fused.gru_step_, _arrays(9) + _arrays(3, (1, 5)), (), {}),
    "gru_step_no_bias_": (fused.gru_step_, _arrays(9), (), {}),
    "gru_back_step_": (fused.gru_back_step_, _arrays(10), (), {}),
    "rnn_step_": (fused.rnn_step_, _arrays(3), (), {}),
    "rnn_step_relu_": (fused.rnn_step_, _arrays(3), (), {"activation": "relu"}),
    "rnn_back_step_": (fused.rnn_back_step_, _arrays(3), (), {}),
    "rnn_back_step_no_output_": (fused.rnn_back_step_, _arrays(2), (), {}),
    "exp_shifted": (fused.exp_shifted, _arrays(1) + _arrays(1, (3, 1)), (), {}),
    "ce_from_parts": (fused.ce_from_parts, [_positive(_arrays(1, (3, 1))[0])] + _arrays(2, (3, 1)), (), {}),
    "exp_sum": (fused.exp_sum, _arrays(1) + _arrays(1, (3, 1)), (), {}),
    "ce_mean": (fused.ce_mean, _arrays(2, (3, 5))[:1] + _arrays(1, (3, 1)) + [_positive(_arrays(1, (3, 1))[0]),
                np.array([[0], [4], [2]]), np.arange(5)], (np.float32(3),), {}),
    "ce_grad_logits": (fused.ce_grad_logits, _arrays(1) + _arrays(1, (3, 1)) + [_positive(_arrays(1, (3, 1))[0]),
                       np.array([[0], [4], [2]]), np.arange(5)] + _arrays(1, (3, 1)), (3.0,), {}),
    "ce_grad": (fused.ce_grad, [_positive(_arrays(1)[0]), _positive(_arrays(1, (3, 1))[0]), np.array([[0], [4], [2]]),
                                np.arange(5)] + _arrays(1, (3, 1)), (1.0,), {}),
    "max_of_pieces": (fused.max_of_pieces, _arrays(4), (), {}),
    "max_of_two_pieces": (fused.max_of_pieces, _arrays(2), (), {}),
    "scatter_to_pieces_": (fused.scatter_to_pieces_, _arrays(1) + [rng.integers(0, 3, (3, 5)).astype(np.uint8)]
                           + _arrays(3), (), {}),
    "ce_grad_mean": (fused.ce_grad, [_positive(_arrays(1)[0]), _positive(_arrays(1, (3, 1))[0]), np.array([[0], [4], [2]]),
                                     np.arange(5), np.array(1.0, np.float32)], (3.0,), {}),
}


def _call(chain, arrays, scalars, static):
    """The chain's arguments in its order: the scalars go after the leading arrays the chain
    names before them (optimizers: w, g and the slots first; rmsprop's momentum state last)."""
    name = chain.__name__
    if name == "rmsprop_" and static.get("momentum"):
        w, g, a, mg, m = arrays
        return chain(w, g, a, *scalars, mg, m, 0.9, **static)
    if name == "adam_" and static.get("amsgrad"):
        return chain(*arrays[:4], *scalars, arrays[4], **static)
    return chain(*arrays, *scalars, **static)


def _run(chain, arrays, scalars, static):
    args = [a.copy() for a in arrays]
    return args, _call(chain, args, scalars, static)


@pytest.fixture
def cp(fake_cupy):
    """The fake ``cupy``, as the backend for the test."""
    previous = backend.backend_name()
    backend.set_backend("cupy")
    yield fake_cupy
    backend.set_backend(previous)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_chain_is_one_kernel_on_the_device_with_numpys_numbers(case, cp, monkeypatch):
    chain, arrays, scalars, static = CASES[case]
    want_args, want_out = _run(chain, arrays, scalars, static)
    args = [cp.asarray(a.copy()) for a in arrays]
    cp._fake_reset_counts()
    got_out = _call(chain, args, scalars, static)
    counts = cp._fake_reset_counts()
    assert counts == {"kernels": 1, "h2d": 0, "d2h": 0}, counts
    for got, want in zip(args, want_args):
        assert type(got) is cp.ndarray
        np.testing.assert_array_equal(got.get(), want)  # the in-place results, bit for bit
    if want_out is None:
        assert got_out is None
    else:
        wants, gots = (want_out, got_out) if isinstance(want_out, tuple) else ((want_out,), (got_out,))
        assert len(gots) == len(wants)
        for got, want in zip(gots, wants):
            assert type(got) is cp.ndarray and got.dtype == want.dtype and want.dtype in (np.float32, np.uint8)
            np.testing.assert_array_equal(got.get(), want)

    # THREESTEP_CUPY_FUSE=0: the same function op by op on the device, for a GPU's A/B
    monkeypatch.setattr(switches, "CUPY_FUSE", False)
    args = [cp.asarray(a.copy()) for a in arrays]
    cp._fake_reset_counts()
    _call(chain, args, scalars, static)
    assert cp._fake_reset_counts()["kernels"] > 1
    for got, want in zip(args, want_args):
        np.testing.assert_array_equal(got.get(), want)


def test_a_chain_keeps_float64_on_numpy():
    """On NumPy the chain is the reference path (float64 gradient checks): no float32 anywhere."""
    w, g = np.ones(4), np.full(4, 2.0)
    fused.add_scaled_(w, g, -0.1)
    assert w.dtype == np.float64 and w[0] == 1.0 - 0.1 * 2.0


@pytest.mark.parametrize("name, kwargs", [("SGD", {}), ("SGD", {"momentum": 0.9}), ("SGD", {"momentum": 0.9, "nesterov": True}),
                                          ("Adam", {}), ("Adam", {"amsgrad": True}), ("AdamW", {}), ("Adamax", {}),
                                          ("Nadam", {}), ("RMSprop", {}), ("RMSprop", {"momentum": 0.5, "centered": True}),
                                          ("Adagrad", {}), ("Adadelta", {})])
def test_every_optimizer_updates_a_parameter_in_one_kernel_on_the_device(name, kwargs, fake_cupy):
    """Each step of each optimizer: one launch per parameter on CuPy (was 2 to 12), the same
    numbers as on NumPy."""
    from threestep import optimizers
    from threestep.autograd import Tensor

    cp = fake_cupy
    ws, gs = _arrays(2, (4, 3)), [_arrays(1, (4, 3))[0] for _ in range(3)]
    results = {}
    previous = backend.backend_name()
    try:
        for device in ("numpy", "cupy"):
            backend.set_backend(device)
            params = [Tensor(w.copy(), requires_grad=True) for w in ws]
            opt = getattr(optimizers, name)(**kwargs)
            launches = []
            for g in gs:
                for p in params:
                    p.grad = backend.on_device(g)
                if device == "cupy":
                    cp._fake_reset_counts()
                opt.apply_gradients(params)
                if device == "cupy":
                    launches.append(cp._fake_reset_counts()["kernels"])
            results[device] = [backend.to_numpy(p.data) for p in params]
        assert launches[1:] == [len(ws)] * (len(gs) - 1), launches  # from the second step (slots exist)
        for got, want in zip(results["cupy"], results["numpy"]):
            np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-7)
    finally:
        backend.set_backend(previous)


def test_max_of_pieces_chain_keeps_the_op_by_op_rules(cp):
    """Ties go to the first piece and a NaN wins at its first piece (as argmax), on the device
    without a host sync, exactly as the NumPy code of ops.maxout decides."""
    from threestep.ops import maxout

    pieces = [np.array([1, 2, 5, np.nan, 0, 3], np.float32), np.array([1, 4, 5, 1, np.nan, 3], np.float32),
              np.array([0, 4, 6, np.nan, np.nan, 3], np.float32)]
    want_y, want_idx = maxout.max_of_pieces([p.copy() for p in pieces])  # NumPy arrays: the NumPy code
    cp._fake_reset_counts()
    y, idx = maxout.max_of_pieces([cp.asarray(p) for p in pieces])
    counts = cp._fake_reset_counts()
    assert counts["kernels"] == 1 and counts["d2h"] == 0, counts
    np.testing.assert_array_equal(idx.get(), want_idx)
    np.testing.assert_array_equal(idx.get(), [0, 1, 2, 0, 1, 0])
    np.testing.assert_array_equal(y.get(), want_y)


def test_a_chain_cupy_cannot_fuse_runs_op_by_op_after_one_warning(cp):
    """Should a CuPy version's tracer refuse a chain, the step still runs (the same function op by
    op), with one warning naming it; a genuine error still raises."""
    @fused.chain
    def uses_shape(xp, a, b):  # ``shape`` is refused inside cupy.fuse
        a += b * a.shape[0]

    a, b = cp.ones((2, 3), np.float32), cp.ones((2, 3), np.float32)
    with pytest.warns(RuntimeWarning, match="could not fuse uses_shape"):
        uses_shape(a, b)
    np.testing.assert_array_equal(a.get(), np.full((2, 3), 3.0, np.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no second warning: remembered as unfusable
        uses_shape(a, b)
        np.testing.assert_array_equal(a.get(), np.full((2, 3), 5.0, np.float32))
        with pytest.raises(ValueError, match="broadcast"):  # a genuine error raises, and warns of nothing
            fused.add_scaled_(cp.ones((2, 3), np.float32), cp.ones((4,), np.float32), 1.0)
    w = cp.ones((2, 3), np.float32)
    cp._fake_reset_counts()
    fused.add_scaled_(w, w, 1.0)  # and the chain it failed in stays fused
    assert cp._fake_reset_counts()["kernels"] == 1


@pytest.mark.gpu
@pytest.mark.parametrize("case", sorted(CASES))
def test_each_chain_fuses_under_real_cupy(case, gpu_cupy):
    """On a GPU machine (``pytest -m gpu``; benchmarks/gpu_check.sh runs it): every chain compiles
    as one ``cupy.fuse`` kernel (an unfusable one would warn and run op by op: an error here) and
    gives NumPy's numbers to the GPU's rounding of tanh, exp and sqrt."""
    cp = gpu_cupy
    chain, arrays, scalars, static = CASES[case]
    want_args, want_out = _run(chain, arrays, scalars, static)
    args = [cp.asarray(a.copy()) for a in arrays]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got_out = _call(chain, args, scalars, static)
    wants = list(want_args) + ([] if want_out is None else list(want_out if isinstance(want_out, tuple) else (want_out,)))
    gots = list(args) + ([] if got_out is None else list(got_out if isinstance(got_out, tuple) else (got_out,)))
    assert len(gots) == len(wants)
    for got, want in zip(gots, wants):
        assert got.dtype == want.dtype, (got.dtype, want.dtype)
        np.testing.assert_allclose(cp.asnumpy(got), want, rtol=2e-6, atol=1e-6)
