"""Elementwise math and activations: exp, log, sqrt, abs, tanh, sigmoid, relu.

Each keeps what its backward needs: exp, sqrt, tanh and sigmoid keep their output y
(their derivatives are functions of y), log and abs keep x, relu keeps its output (float32 on
NumPy, where a Numba kernel runs it) or else only the mask.
"""
from .. import backend
from ..autograd import Function
from ..accel import fused, kernels


class Exp(Function):
    """exp(x); backward: gy * exp(x) (the output itself, kept from forward)."""

    def forward(self, x):
        self.y = backend.get_array_module(x).exp(x)
        return self.y

    def backward(self, gy):
        return gy * self.y


class Log(Function):
    """Natural log; backward: gy / x."""

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).log(x)

    def backward(self, gy):
        return gy / self.x


class Sqrt(Function):
    """sqrt(x); backward: gy / (2 sqrt(x))."""

    def forward(self, x):
        self.y = backend.get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy):
        return gy / (2 * self.y)


class Abs(Function):
    """|x|; the subgradient at 0 is 0 (PyTorch's convention, sign(0) = 0)."""

    def forward(self, x):
        self.x = x
        return backend.get_array_module(x).abs(x)

    def backward(self, gy):
        return gy * backend.get_array_module(gy).sign(self.x)


class Tanh(Function):
    """tanh(x); backward: gy * (1 - tanh(x)^2), at most 1, so deep tanh nets shrink gradients less than sigmoid
    ones."""

    def forward(self, x):
        self.y = kernels.tanh(x)  # float32 on NumPy: one Numba pass; None: NumPy
        if self.y is None:
            self.y = backend.get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy):
        return gy * (1 - self.y * self.y)


def stable_sigmoid(x):
    """1/(1+e^-x) without overflow: e^-|x| <= 1 never overflows, and e^x/(1+e^x) for x < 0
    keeps full relative precision (tanh(x/2)/2 + 1/2 rounds sigmoid(-20) to 0 in float32)."""
    xp = backend.get_array_module(x)
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


class Sigmoid(Function):
    """1 / (1 + exp(-x)), computed without overflow; backward: gy * s * (1 - s), at most 1/4: the lecture's
    vanishing gradient."""

    def forward(self, x):
        self.y = kernels.sigmoid(x)  # float32 on NumPy: one Numba pass; None: NumPy
        if self.y is None:
            self.y = stable_sigmoid(x)
        return self.y

    def backward(self, gy):
        return gy * self.y * (1 - self.y)


class ReLU(Function):
    """max(0, x); the subgradient at 0 is 0 (as in PyTorch).

    ``maximum`` plus a separate mask: faster than ``x * (x > 0)``, whose bool-to-float cast
    is slow (figures: benchmarks/RESULTS.md, "Measurements behind the code").
    """

    def forward(self, x):
        self.y = kernels.relu(x)  # one Numba pass for float32; None: NumPy below
        if self.y is not None:
            return self.y
        if backend.on_gpu(x):  # one kernel each way: backward reads y > 0, which is x > 0
            self.y = backend.get_array_module(x).maximum(x, 0)
            return self.y
        self.mask = x > 0
        return backend.get_array_module(x).maximum(x, 0)

    def backward(self, gy):
        if self.y is not None:
            g = kernels.relu_grad(gy, self.y)
            return g if g is not None else fused.relu_grad(gy, self.y)
        return gy * self.mask


def exp(x):
    """Elementwise e^x as a graph node."""
    return Exp()(x)


def log(x):
    """Elementwise natural log as a graph node (clip probabilities first: log 0 is -inf)."""
    return Log()(x)


def sqrt(x):
    """Elementwise square root as a graph node."""
    return Sqrt()(x)


def abs(x):  # noqa: A001
    """Elementwise |x| as a graph node; the gradient is sign(x) (0 at 0)."""
    return Abs()(x)


def tanh(x):
    """Elementwise tanh as a graph node."""
    return Tanh()(x)


def sigmoid(x):
    """Elementwise logistic sigmoid as a graph node.

    Example:
        >>> sigmoid(Tensor(np.array([0.0])))
        Tensor([0.5], dtype=float64)
    """
    return Sigmoid()(x)


def relu(x):
    """Elementwise max(x, 0) as a graph node: the gradient is 1 where x > 0 and 0 elsewhere.

    The lecture's answer to vanishing gradients: active units pass the gradient unchanged.

    Example:
        >>> relu(Tensor(np.array([-1.0, 2.0]))).numpy()
        array([0., 2.])
    """
    return ReLU()(x)
