"""The recurrent ops' inference path (no gradient asked for): the LSTM keeps one step's gates and
act(c_t), the GRU one step's h U (or r * h), instead of every step's; both must return what the
recorded forward returns."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from threestep.autograd import Tensor, no_grad
from threestep.backend import to_numpy
from threestep.ops.recurrent import gru, lstm


def _inputs(rng, n, t, d, u, dtype, peephole):
    r = lambda *shape, s=1.0: (rng.standard_normal(shape) * s).astype(dtype)  # noqa: E731
    a = dict(x=r(n, t, d), W=r(d, 4 * u, s=0.5), U=r(u, 4 * u, s=0.8 / np.sqrt(u)), b=r(4 * u, s=0.3),
             h0=r(n, u, s=0.5), c0=r(n, u, s=0.5))
    if peephole:
        a["peephole"] = r(3, u, s=0.5)
    return a


@pytest.mark.parametrize("dtype, peephole, masked, reverse, threads", [
    (np.float32, False, False, False, 1),  # the Numba step kernel
    (np.float32, False, True, True, 1),
    (np.float32, False, False, False, 2),  # row blocks on two threads
    (np.float64, False, False, True, 1),  # the NumPy step
    (np.float64, True, True, False, 1),  # peepholes
])
def test_lstm_inference_returns_what_the_recorded_forward_returns(dtype, peephole, masked, reverse, threads):
    rng = np.random.default_rng(0)
    a = _inputs(rng, 80, 9, 5, 6, dtype, peephole)
    mask = rng.random((80, 9)) > 0.3 if masked else None
    with threadpool_limits(threads, user_api="blas"):
        recorded = lstm(**{k: Tensor(v, requires_grad=True) for k, v in a.items()}, mask=mask, reverse=reverse)
        with no_grad():
            inferred = lstm(**{k: Tensor(v) for k, v in a.items()}, mask=mask, reverse=reverse)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for r, i in zip(recorded, inferred):
        assert not i.requires_grad and i.shape == r.shape
        np.testing.assert_allclose(to_numpy(i.data), to_numpy(r.data), rtol=tol, atol=tol)


@pytest.mark.parametrize("dtype, reset_after, masked, reverse, threads", [
    (np.float32, True, False, False, 1),  # the whole-loop Numba kernel (inference: gru_infer_sequence)
    (np.float32, True, True, True, 1),  # the Numba step kernel (a mask)
    (np.float32, True, False, False, 2),  # row blocks on two threads
    (np.float32, True, False, True, 2),  # the same, reverse
    (np.float64, True, False, True, 1),  # the NumPy step
    (np.float64, False, True, False, 1),  # reset before the recurrent GEMM
])
def test_gru_inference_returns_what_the_recorded_forward_returns(dtype, reset_after, masked, reverse, threads):
    rng = np.random.default_rng(1)
    r = lambda *shape, s=1.0: (rng.standard_normal(shape) * s).astype(dtype)  # noqa: E731
    u = 6
    a = dict(x=r(80, 9, 5), W=r(5, 3 * u, s=0.5), U=r(u, 3 * u, s=0.8 / np.sqrt(u)),
             b=r(2, 3 * u, s=0.3) if reset_after else r(3 * u, s=0.3), h0=r(80, u, s=0.5))
    mask = rng.random((80, 9)) > 0.3 if masked else None
    with threadpool_limits(threads, user_api="blas"):
        recorded = gru(**{k: Tensor(v, requires_grad=True) for k, v in a.items()}, mask=mask, reverse=reverse,
                       reset_after=reset_after)
        with no_grad():
            inferred = gru(**{k: Tensor(v) for k, v in a.items()}, mask=mask, reverse=reverse, reset_after=reset_after)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    for rec, inf in zip(recorded, inferred):
        assert not inf.requires_grad and inf.shape == rec.shape
        np.testing.assert_allclose(to_numpy(inf.data), to_numpy(rec.data), rtol=tol, atol=tol)


def _one_kernel_vs_steps(monkeypatch, kernel, op, a, threads=1, **call):
    """``op``'s inference outputs with the whole-loop kernel ``sequences.<kernel>`` (which must run
    exactly where the op's arrays are NumPy's and Numba and NumPy's OpenBLAS are there) against
    the NumPy steps'; all float32, equal to the fast tanh's precision."""
    from threestep.accel import kernels, sequences

    served = sequences.available(Tensor(np.zeros(1, np.float32)).data)
    calls = []
    real = getattr(sequences, kernel)
    monkeypatch.setattr(sequences, kernel, lambda *args: calls.append(1) or real(*args))
    with threadpool_limits(threads, user_api="blas"), no_grad():
        fast = [to_numpy(t.data).copy() for t in op(**{k: Tensor(v) for k, v in a.items()}, **call)]
        assert bool(calls) == served and all(f.dtype == np.float32 for f in fast)
        monkeypatch.setattr(kernels, "available", lambda: False)
        slow = [to_numpy(t.data) for t in op(**{k: Tensor(v) for k, v in a.items()}, **call)]
    for f, s in zip(fast, slow):
        assert f.shape == s.shape
        np.testing.assert_allclose(f, s, rtol=2e-5, atol=2e-6)


def _f32(rng):
    return lambda *shape, s=1.0: (rng.standard_normal(shape) * s).astype(np.float32)


@pytest.mark.parametrize("reverse, states, threads, rows, bias", [
    (False, False, 1, 80, True), (True, True, 1, 80, True), (False, True, 2, 80, True), (True, False, 2, 3, True),
    (False, True, 1, 80, False), (True, True, 2, 80, False)])
def test_lstm_inference_in_one_kernel_matches_the_numpy_steps(reverse, states, threads, rows, bias, monkeypatch):
    """float32 without a mask: the whole time loop runs in one Numba call per row block
    (``sequences.lstm_sequence``, the GEMMs inside, their rows in two buffers that take turns);
    it returns what the NumPy steps return, the sequence output and the last states included,
    with and without a bias (the buffers' column of ones)."""
    a = _inputs(np.random.default_rng(2), rows, 9, 5, 6, np.float32, False)
    if not states:
        del a["h0"], a["c0"]
    if not bias:
        del a["b"]
    _one_kernel_vs_steps(monkeypatch, "lstm_sequence", lstm, a, threads, reverse=reverse)


@pytest.mark.parametrize("reverse, bias, threads, rows", [
    (False, True, 1, 80), (True, False, 1, 80), (False, False, 2, 80), (True, True, 2, 3)])
def test_gru_inference_in_one_kernel_matches_the_numpy_steps(reverse, bias, threads, rows, monkeypatch):
    """float32 without a mask, reset_after: the whole time loop runs in one Numba call per row
    block (``sequences.gru_infer_sequence``, x W and h U per step inside); it returns what the
    NumPy steps return, the sequence output included (a view of the states)."""
    r, u = _f32(np.random.default_rng(3)), 6
    a = dict(x=r(rows, 9, 5), W=r(5, 3 * u, s=0.5), U=r(u, 3 * u, s=0.8 / np.sqrt(u)), h0=r(rows, u, s=0.5))
    if bias:
        a["b"] = r(2, 3 * u, s=0.3)
    _one_kernel_vs_steps(monkeypatch, "gru_infer_sequence", gru, a, threads, reverse=reverse)


@pytest.mark.parametrize("reverse, bias, activation", [
    (False, True, "tanh"), (True, False, "tanh"), (True, True, "relu")])
def test_simple_rnn_inference_in_one_kernel_matches_the_numpy_steps(reverse, bias, activation, monkeypatch):
    """float32 without a mask: SimpleRNN inference runs in one Numba call
    (``sequences.rnn_infer_sequence``) and returns what the NumPy steps return."""
    from threestep.ops.recurrent import simple_rnn

    r, u = _f32(np.random.default_rng(4)), 6
    a = dict(x=r(40, 9, 5), W=r(5, u, s=0.5), U=r(u, u, s=0.8 / np.sqrt(u)), h0=r(40, u, s=0.5))
    if bias:
        a["b"] = r(u, s=0.3)
    _one_kernel_vs_steps(monkeypatch, "rnn_infer_sequence", simple_rnn, a, reverse=reverse, activation=activation)
