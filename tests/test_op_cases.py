"""The ops of ops/ (elementwise, arithmetic, reduce, shape, activations, clip, softmax) as
declarative ``OpTestCase`` classes (tests/op_harness.py): NumPy expected values, a float64
finite-difference gradient check and PyTorch as a second oracle."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from op_harness import OpTestCase
from threestep import ops


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


# ---------------------------------------------------------------------- elementwise
class TestExp(OpTestCase):
    op, expected, torch_op = staticmethod(ops.exp), staticmethod(np.exp), staticmethod(torch.exp)


class TestLog(OpTestCase):
    positive = True
    op, expected, torch_op = staticmethod(ops.log), staticmethod(np.log), staticmethod(torch.log)


class TestSqrt(OpTestCase):
    positive = True
    op, expected, torch_op = staticmethod(ops.sqrt), staticmethod(np.sqrt), staticmethod(torch.sqrt)


class TestAbs(OpTestCase):
    kinks = (0.0,)
    op, expected, torch_op = staticmethod(ops.abs), staticmethod(np.abs), staticmethod(torch.abs)


class TestTanh(OpTestCase):
    op, expected, torch_op = staticmethod(ops.tanh), staticmethod(np.tanh), staticmethod(torch.tanh)


class TestSigmoid(OpTestCase):
    shapes = [(4, 5)]

    def generate_inputs(self, rng, dtype):  # include large |x|, where a naive sigmoid overflows
        return [(rng.standard_normal(self.shapes[0]) * 20).astype(dtype)]

    op, expected, torch_op = staticmethod(ops.sigmoid), staticmethod(_sigmoid), staticmethod(torch.sigmoid)


class TestReLU(OpTestCase):
    kinks = (0.0,)
    op, torch_op = staticmethod(ops.relu), staticmethod(torch.relu)
    expected = staticmethod(lambda x: np.maximum(x, 0))


# ---------------------------------------------------------------------- arithmetic (with broadcasting)
class TestAddBroadcast(OpTestCase):
    shapes = [(3, 4), (4,)]
    op, expected, torch_op = staticmethod(ops.add), staticmethod(np.add), staticmethod(torch.add)


class TestSubBroadcast(OpTestCase):
    shapes = [(2, 1, 4), (3, 1)]
    op, expected, torch_op = staticmethod(ops.sub), staticmethod(np.subtract), staticmethod(torch.sub)


class TestMulBroadcast(OpTestCase):
    shapes = [(3, 4), (3, 1)]
    op, expected, torch_op = staticmethod(ops.mul), staticmethod(np.multiply), staticmethod(torch.mul)


class TestDiv(OpTestCase):
    shapes = [(3, 4), (1, 4)]

    def generate_inputs(self, rng, dtype):
        a, b = rng.standard_normal((3, 4)), rng.uniform(0.5, 2.0, (1, 4)) * rng.choice([-1, 1], (1, 4))
        return [a.astype(dtype), b.astype(dtype)]

    op, expected, torch_op = staticmethod(ops.div), staticmethod(np.divide), staticmethod(torch.div)


class TestNeg(OpTestCase):
    op, expected, torch_op = staticmethod(ops.neg), staticmethod(np.negative), staticmethod(torch.neg)


class TestPow(OpTestCase):
    positive = True
    op = staticmethod(lambda x: ops.pow(x, 2.5))
    expected = staticmethod(lambda x: x ** x.dtype.type(2.5))
    torch_op = staticmethod(lambda x: torch.pow(x, 2.5))


class TestMatMul(OpTestCase):
    shapes = [(3, 4), (4, 2)]
    forward_tol = dict(atol=1e-5, rtol=1e-5)
    op, expected, torch_op = staticmethod(ops.matmul), staticmethod(np.matmul), staticmethod(torch.matmul)


class TestMatMulBatched(OpTestCase):
    shapes = [(2, 3, 4), (4, 5)]
    forward_tol = dict(atol=1e-5, rtol=1e-5)
    op, expected, torch_op = staticmethod(ops.matmul), staticmethod(np.matmul), staticmethod(torch.matmul)


# ---------------------------------------------------------------------- reduce
class TestSumAll(OpTestCase):
    shapes = [(3, 4, 2)]
    forward_tol = dict(atol=1e-5, rtol=1e-5)
    op, expected, torch_op = staticmethod(ops.sum), staticmethod(np.sum), staticmethod(torch.sum)


class TestSumAxisKeepdims(OpTestCase):
    shapes = [(3, 4, 2)]
    op = staticmethod(lambda x: ops.sum(x, axis=(0, 2), keepdims=True))
    expected = staticmethod(lambda x: np.sum(x, axis=(0, 2), keepdims=True))
    torch_op = staticmethod(lambda x: torch.sum(x, dim=(0, 2), keepdim=True))


class TestMeanAxis(OpTestCase):
    shapes = [(3, 4, 2)]
    op = staticmethod(lambda x: ops.mean(x, axis=1))
    expected = staticmethod(lambda x: np.mean(x, axis=1))
    torch_op = staticmethod(lambda x: torch.mean(x, dim=1))


class TestMaxAxis(OpTestCase):
    shapes = [(3, 5)]
    op = staticmethod(lambda x: ops.max(x, axis=-1))
    expected = staticmethod(lambda x: np.max(x, axis=-1))
    torch_op = staticmethod(lambda x: torch.amax(x, dim=-1))


# ---------------------------------------------------------------------- shape
class TestReshape(OpTestCase):
    shapes = [(2, 6)]
    op = staticmethod(lambda x: ops.reshape(x, (3, 2, 2)))
    expected = staticmethod(lambda x: x.reshape(3, 2, 2))
    torch_op = staticmethod(lambda x: x.reshape(3, 2, 2))


class TestTranspose(OpTestCase):
    shapes = [(2, 3, 4)]
    op = staticmethod(lambda x: ops.transpose(x, (2, 0, 1)))
    expected = staticmethod(lambda x: np.transpose(x, (2, 0, 1)))
    torch_op = staticmethod(lambda x: x.permute(2, 0, 1))


class TestConcatenate(OpTestCase):
    shapes = [(2, 3), (2, 1), (2, 2)]
    op = staticmethod(lambda *xs: ops.concatenate(xs, axis=1))
    expected = staticmethod(lambda *xs: np.concatenate(xs, axis=1))
    torch_op = staticmethod(lambda *xs: torch.cat(xs, dim=1))


class TestStack(OpTestCase):
    shapes = [(2, 3), (2, 3)]
    op = staticmethod(lambda *xs: ops.stack(xs, axis=1))
    expected = staticmethod(lambda *xs: np.stack(xs, axis=1))
    torch_op = staticmethod(lambda *xs: torch.stack(xs, dim=1))


class TestGetItem(OpTestCase):
    shapes = [(4, 5)]
    op = staticmethod(lambda x: ops.getitem(x, (slice(1, 3), [0, 2, 2])))
    expected = staticmethod(lambda x: x[1:3, [0, 2, 2]])
    torch_op = staticmethod(lambda x: x[1:3, [0, 2, 2]])  # the repeated column accumulates its gradient


class TestFlatten(OpTestCase):
    shapes = [(2, 3, 2)]
    op = staticmethod(ops.flatten)
    expected = staticmethod(lambda x: x.reshape(2, -1))
    torch_op = staticmethod(lambda x: torch.flatten(x, 1))


# ---------------------------------------------------------------------- activations
class TestLeakyReLU(OpTestCase):
    kinks = (0.0,)
    op = staticmethod(lambda x: ops.leaky_relu(x, alpha=0.3))
    expected = staticmethod(lambda x: np.where(x > 0, x, x * x.dtype.type(0.3)))
    torch_op = staticmethod(lambda x: F.leaky_relu(x, 0.3))


class TestPReLU(OpTestCase):
    shapes = [(3, 4), (4,)]
    kinks = (0.0,)
    op = staticmethod(ops.prelu)
    expected = staticmethod(lambda x, a: np.where(x > 0, x, a * x))
    torch_op = staticmethod(lambda x, a: torch.where(x > 0, x, a * x))


class TestGeneralizedReLU(OpTestCase):
    kinks = (0.5, 1.2)

    def generate_inputs(self, rng, dtype):
        return [(rng.standard_normal((4, 5)) * 2).astype(dtype)]

    op = staticmethod(lambda x: ops.generalized_relu(x, negative_slope=0.1, max_value=1.2, threshold=0.5))
    expected = staticmethod(lambda x: np.where(x >= 1.2, x.dtype.type(1.2),
                                               np.where(x > 0.5, x, x.dtype.type(0.1) * (x - x.dtype.type(0.5)))))


class TestReLU6(OpTestCase):
    kinks = (0.0, 6.0)

    def generate_inputs(self, rng, dtype):
        return [(rng.standard_normal((4, 5)) * 5).astype(dtype)]

    op, torch_op = staticmethod(ops.relu6), staticmethod(F.relu6)
    expected = staticmethod(lambda x: np.clip(x, 0, 6))


class TestELU(OpTestCase):
    kinks = (0.0,)
    op = staticmethod(lambda x: ops.elu(x, alpha=0.7))
    expected = staticmethod(lambda x: np.where(x > 0, x, x.dtype.type(0.7) * np.expm1(x)))
    torch_op = staticmethod(lambda x: F.elu(x, 0.7))


class TestSELU(OpTestCase):
    kinks = (0.0,)
    op, torch_op = staticmethod(ops.selu), staticmethod(F.selu)
    expected = staticmethod(lambda x: (1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * np.expm1(x)))
                            .astype(x.dtype))


class TestSoftplus(OpTestCase):
    def generate_inputs(self, rng, dtype):  # large |x| too: softplus must not overflow
        return [(rng.standard_normal((4, 5)) * 30).astype(dtype)]

    op, torch_op = staticmethod(ops.softplus), staticmethod(F.softplus)
    expected = staticmethod(lambda x: np.logaddexp(x, x.dtype.type(0)))


class TestSoftsign(OpTestCase):
    op, torch_op = staticmethod(ops.softsign), staticmethod(F.softsign)
    expected = staticmethod(lambda x: x / (1 + np.abs(x)))


class TestHardSigmoid(OpTestCase):
    kinks = (-2.5, 2.5)

    def generate_inputs(self, rng, dtype):
        return [(rng.standard_normal((4, 5)) * 3).astype(dtype)]

    op = staticmethod(ops.hard_sigmoid)
    expected = staticmethod(lambda x: np.clip(x.dtype.type(0.2) * x + x.dtype.type(0.5), 0, 1))


class TestSwish(OpTestCase):
    op, torch_op = staticmethod(ops.swish), staticmethod(F.silu)
    expected = staticmethod(lambda x: x * _sigmoid(x))


class TestClip(OpTestCase):
    kinks = (-0.5, 0.8)
    op = staticmethod(lambda x: ops.clip(x, -0.5, 0.8))
    expected = staticmethod(lambda x: np.clip(x, -0.5, 0.8))
    torch_op = staticmethod(lambda x: torch.clamp(x, -0.5, 0.8))


class TestSoftmax(OpTestCase):
    shapes = [(3, 5)]
    op, torch_op = staticmethod(ops.softmax), staticmethod(lambda x: torch.softmax(x, dim=-1))

    @staticmethod
    def expected(x):
        e = np.exp(x - x.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)


class TestLogSoftmax(OpTestCase):
    shapes = [(3, 5)]
    op, torch_op = staticmethod(ops.log_softmax), staticmethod(lambda x: torch.log_softmax(x, dim=-1))

    @staticmethod
    def expected(x):
        z = x - x.max(axis=-1, keepdims=True)
        return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


# ---------------------------------------------------------------------- the harness itself
class _WrongGradient(OpTestCase):
    """exp whose backward is off by a factor of 2: the harness must notice."""

    @staticmethod
    def op(x):
        from threestep.autograd import Function

        class Exp2(Function):
            def forward(self, a):
                self.y = np.exp(a)
                return self.y

            def backward(self, gy):
                return 2 * gy * self.y

        return Exp2()(x)

    expected = staticmethod(np.exp)
    torch_op = staticmethod(torch.exp)


def test_the_harness_catches_a_wrong_backward():
    with pytest.raises(AssertionError, match="finite differences"):
        _WrongGradient().test_backward()
    with pytest.raises(AssertionError, match="against PyTorch"):
        _WrongGradient().test_against_torch()


def test_the_harness_catches_a_wrong_forward():
    class WrongForward(OpTestCase):
        op, expected = staticmethod(ops.tanh), staticmethod(np.sin)

    with pytest.raises(AssertionError, match="forward"):
        WrongForward().test_forward()
