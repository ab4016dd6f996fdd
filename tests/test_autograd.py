"""The backprop engine: ordering, accumulation, freeing, no_grad, retain_graph, gradcheck, sum_to."""
import gc
import weakref

import numpy as np
import pytest
import torch

import threestep.ops as ops
from threestep.autograd import Function, Tensor, config, gradcheck, is_grad_enabled, no_grad, sum_to, using_config
from threestep.autograd.config import Config
from threestep.errors import GradientError
from helpers import assert_close, check_against_torch, check_gradcheck, to_host


def leaf(a, dtype=np.float64):
    return Tensor(np.array(a, dtype=dtype), requires_grad=True)


# ---------------------------------------------------------------- graph shape and ordering
def test_deep_chain_backprops_without_recursion():
    x = leaf(1.0)
    y = x
    for _ in range(3334):
        y = ops.tanh(y * 1.0) + 0.0  # 3 ops a step: 10,002 Functions deep
    y.backward()
    # d/dx of 3334 nested tanh: product of (1 - tanh^2) along the chain; finite and positive.
    assert x.grad is not None and np.isfinite(x.grad) and 0 < x.grad < 1


def test_deep_chain_without_backward_is_freed():
    x = leaf(1.0)
    y = x
    for _ in range(10_000):
        y = y + 1.0
    ref = weakref.ref(y.creator)
    del y
    gc.collect()
    assert ref() is None


def test_tensor_used_twice_accumulates():
    x = leaf([1.0, -2.0, 3.0])
    y = x * x + x
    y.backward(np.ones(3))
    assert_close(x.grad, 2 * x.data + 1, 0, 1e-12, "d(x*x + x)/dx")


def test_diamond_graph():
    """x -> a; a feeds b and c at different depths; both paths must be summed before a's creator runs."""
    def f(x, tanh=ops.tanh, exp=ops.exp):
        a = x * 2.0
        b = tanh(exp(a) * 0.1)
        c = a * 3.0
        return (b * c).sum()

    def f_torch(x):
        return f(x, torch.tanh, torch.exp)
    check_against_torch(f, f_torch, [np.random.default_rng(0).standard_normal((2, 3))])
    check_gradcheck(f, [np.random.default_rng(1).standard_normal((2, 3))])


def test_fan_in_to_intermediate_of_different_generations():
    x = leaf(1.5)
    a = x * 2.0  # generation 1
    b = a * 3.0  # generation 2
    c = a + b  # uses a directly and through b
    c.backward()
    assert to_host(x.grad) == pytest.approx(2.0 + 6.0)


def test_leaves_accumulate_across_backward_calls():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, 2 * 2 * x.data, 0, 1e-12, "grad after two backward calls")
    x.zero_grad()
    assert x.grad is None


def test_intermediate_grads_freed_by_default():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = (y * y).sum()
    z.backward()
    assert y.grad is None
    assert x.grad is not None


def test_retain_grad_keeps_intermediate_grads():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = (y * y).sum()
    z.backward(retain_grad=True)
    assert_close(y.grad, 2 * y.data, 0, 1e-12, "y.grad")
    assert_close(x.grad, 18 * x.data, 0, 1e-12, "x.grad")


def test_intermediate_kept_alive_only_by_graph():
    x = leaf([0.5, -1.0])
    y = x * 2.0
    z = ops.exp(y).sum()
    del y
    z.backward()
    assert_close(x.grad, 2 * np.exp(2 * x.data), 0, 1e-12, "x.grad")


# ---------------------------------------------------------------- modes
def test_no_grad_records_no_graph():
    x = leaf([1.0, 2.0])
    with no_grad():
        assert not is_grad_enabled()
        y = ops.exp(x * 2.0).sum()
    assert is_grad_enabled()
    assert y.creator is None and y.requires_grad is False
    z = x * 2.0
    assert z.creator is not None and z.requires_grad


def test_constants_record_no_graph():
    c = Tensor(np.ones(3))
    y = c * 2.0 + c
    assert y.creator is None and not y.requires_grad


def test_config_restored_after_exception():
    with pytest.raises(ZeroDivisionError):
        with no_grad(), config.test_mode():
            1 / 0
    assert Config.enable_grad is True and Config.training is True
    with using_config("training", False):
        assert Config.training is False
    assert Config.training is True


def test_detach_cuts_the_graph():
    x = leaf([1.0, 2.0])
    y = (x * 2.0).detach()
    assert y.creator is None and not y.requires_grad
    (y * x).sum().backward()
    assert_close(x.grad, 2 * x.data, 0, 1e-12, "x.grad")


# ---------------------------------------------------------------- retain_graph and explicit grads
def test_retain_graph_allows_backward_twice():
    x = leaf([1.0, 2.0])
    y = ops.exp(x)
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    assert_close(x.grad, 2 * 2 * np.exp(2 * x.data), 0, 1e-12, "grad after two passes")


def test_retain_graph_with_retain_grad_twice_does_not_reuse_stale_grads():
    x = leaf([1.0, 2.0])
    y = x * 3.0
    z = (y * y).sum()
    z.backward(retain_graph=True, retain_grad=True)
    z.backward(retain_graph=True, retain_grad=True)
    assert_close(x.grad, 2 * 18 * x.data, 0, 1e-12, "x.grad")
    assert_close(y.grad, 2 * y.data, 0, 1e-12, "y.grad holds this pass's gradient")


def test_second_backward_without_retain_graph_raises():
    x = leaf([1.0, 2.0])
    z = (x * x).sum()
    z.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        z.backward()


def test_backward_on_non_scalar_with_explicit_grad():
    x = leaf(np.arange(6.0).reshape(2, 3))
    y = x * x
    g = np.random.default_rng(0).standard_normal((2, 3))
    y.backward(g)
    assert_close(x.grad, 2 * to_host(x.data) * g, 0, 1e-12, "x.grad")
    x2 = leaf(np.arange(6.0).reshape(2, 3))
    (x2 * 3.0).backward(Tensor(g))
    assert_close(x2.grad, 3 * g, 0, 1e-12, "x2.grad with a Tensor upstream grad")


def test_backward_on_a_leaf():
    x = leaf([1.0, 2.0])
    x.backward(np.array([3.0, 4.0]))
    assert_close(x.grad, [3.0, 4.0], 0, 0, "leaf grad")


# ---------------------------------------------------------------- memory
def test_backward_frees_saved_arrays():
    x = leaf(np.ones((3, 4)))
    y = ops.exp(x)  # keeps its output
    z = (y * x).sum()  # keeps both inputs
    saved = weakref.ref(y.creator)
    func = y.creator
    assert "y" in vars(func) and func.inputs
    z.backward()
    assert func.inputs == ()
    assert set(vars(func)) <= {"outputs", "generation", "needs_input_grad", "released"}, vars(func)
    del func
    del y
    gc.collect()
    assert saved() is None, "the Function of a freed intermediate is still alive"


def test_retain_graph_keeps_saved_arrays():
    x = leaf(np.ones(3))
    y = ops.exp(x)
    y.sum().backward(retain_graph=True)
    assert "y" in vars(y.creator) and y.creator.inputs


# ---------------------------------------------------------------- Function contract
class Spy(Function):
    """Records which input gradients the engine asked for (in a list: backward frees ``self``)."""

    def __init__(self, log):
        self.log = log

    def forward(self, a, b):
        self.log.append(self.needs_input_grad)
        return a * b

    def backward(self, gy):
        return (gy if self.needs_input_grad[0] else None), (gy if self.needs_input_grad[1] else None)


def test_needs_input_grad_tells_backward_what_to_compute():
    data, w = Tensor(np.ones(2)), leaf([1.0, 1.0])
    log = []
    Spy(log)(data, w).sum().backward()
    assert log == [(False, True)]
    assert data.grad is None and w.grad is not None


def test_linear_skips_input_gradient_for_data():
    x, W, b = Tensor(np.ones((2, 3))), leaf(np.ones((3, 4))), leaf(np.zeros(4))
    ops.linear(x, W, b).sum().backward()
    assert x.grad is None
    assert_close(W.grad, np.full((3, 4), 2.0), 0, 0, "W.grad")


class TwoOutputs(Function):
    def forward(self, x):
        return x * 2, x * 3

    def backward(self, g2, g3):
        return g2 * 2 + g3 * 3


def test_multi_output_function_with_an_unused_output():
    x = leaf([1.0, 2.0])
    a, b = TwoOutputs()(x)
    (a * a).sum().backward()  # b alive but unused
    assert_close(x.grad, 8 * x.data, 0, 1e-12, "x.grad")
    x2 = leaf([1.0, 2.0])
    a2, b2 = TwoOutputs()(x2)
    del b2
    gc.collect()
    a2.sum().backward()  # b2 is gone: its zero grad is built from the saved shape
    assert_close(x2.grad, [2.0, 2.0], 0, 0, "x2.grad")


def test_multi_output_function_both_used():
    x = leaf([1.0, 2.0])
    a, b = TwoOutputs()(x)
    (a * b).sum().backward()  # 6 x^2 -> 12 x
    assert_close(x.grad, 12 * x.data, 0, 1e-12, "x.grad")


# ---------------------------------------------------------------- gradcheck
class BrokenSquare(Function):
    """x^2 with a deliberately wrong backward (missing the factor 2)."""

    def forward(self, x):
        self.x = x
        return x * x

    def backward(self, gy):
        return gy * self.x


class NaNBackward(Function):
    def forward(self, x):
        return x * 1.0

    def backward(self, gy):
        return gy * np.nan


class NoGrad(Function):
    def forward(self, x):
        return x * 1.0

    def backward(self, gy):
        return None


def test_gradcheck_passes_on_correct_ops():
    x = np.random.default_rng(0).standard_normal((2, 3))
    assert gradcheck(lambda t: ops.tanh(t) * t, [x]) is True
    assert gradcheck(lambda t: ops.tanh(t) * t, [x], n_directions=3) is True


def test_gradcheck_reports_a_wrong_backward():
    x = np.random.default_rng(0).standard_normal((2, 3))
    with pytest.raises(GradientError) as info:
        gradcheck(lambda t: BrokenSquare()(t), [x])
    message = str(info.value)
    for part in ["input 0", "(2, 3)", "6 of 6 elements", "backward gave", "finite differences"]:
        assert part in message, message
    assert isinstance(info.value, AssertionError)
    with pytest.raises(GradientError, match="random direction"):
        gradcheck(lambda t: BrokenSquare()(t), [x], n_directions=2)


def test_gradcheck_catches_nan_gradients():
    x = np.ones((2, 2))
    with pytest.raises(GradientError):
        gradcheck(lambda t: NaNBackward()(t), [x])
    with pytest.raises(GradientError):
        gradcheck(lambda t: NaNBackward()(t), [x], n_directions=1)


def test_gradcheck_reports_missing_gradient():
    with pytest.raises(GradientError, match="no gradient"):
        gradcheck(lambda t: NoGrad()(t), [np.ones(3)])


def test_gradcheck_on_non_contiguous_input():
    x = np.asfortranarray(np.random.default_rng(0).standard_normal((3, 4)))
    check_gradcheck(lambda t: t * t, [x])
    check_gradcheck(lambda t: ops.exp(t), [x.T])


def test_gradcheck_runs_in_float64_and_leaves_inputs_alone():
    x = np.random.default_rng(0).standard_normal((2, 2)).astype(np.float32)
    before = x.copy()
    seen = []

    def f(t):
        seen.append(t.dtype)
        return t * t
    check_gradcheck(f, [x])
    assert set(seen) == {np.dtype(np.float64)}
    assert np.array_equal(x, before)


# ---------------------------------------------------------------- sum_to
@pytest.mark.parametrize("src, dst", [
    ((3, 4), (4,)), ((3, 4), (1, 4)), ((3, 4), (3, 1)), ((2, 3, 4), (3, 1)), ((2, 3, 4), ()),
    ((3, 4), (3, 4)), ((5, 1, 4), (1, 1, 4)), ((2, 3, 4), (1,)),
])
def test_sum_to(src, dst):
    g = np.random.default_rng(0).standard_normal(src)
    got = sum_to(g, dst)
    lead = len(src) - len(dst)
    axes = tuple(range(lead)) + tuple(i + lead for i, s in enumerate(dst) if s == 1 and src[i + lead] != 1)
    expected = g.sum(axis=axes, keepdims=True).reshape(dst)
    assert got.shape == dst
    assert_close(got, expected, 0, 1e-12, f"sum_to {src} -> {dst}")


def test_broadcast_gradients_are_unbroadcast_by_the_engine():
    a, b = leaf(np.ones((3, 1, 4))), leaf(np.ones(4))
    (a * b).backward(np.ones((3, 5, 4)))
    assert a.grad.shape == (3, 1, 4) and b.grad.shape == (4,)
    assert_close(a.grad, np.full((3, 1, 4), 5.0), 0, 0, "a.grad")
    assert_close(b.grad, np.full(4, 15.0), 0, 0, "b.grad")


# ---------------------------------------------------------------- Tensor basics
def test_tensor_keeps_dtype_and_repr():
    t = Tensor(np.ones((2, 2), np.float32), requires_grad=True, name="w")
    assert t.dtype == np.float32 and t.shape == (2, 2) and t.ndim == 2 and t.size == 4 and len(t) == 2
    assert "name='w'" in repr(t) and "requires_grad=True" in repr(t)
    assert Tensor(2.5).item() == 2.5
