"""Arithmetic with broadcasting: add, sub, mul, div, neg, pow, matmul.

Backward returns gradients in the broadcast shape; the engine sums them back down to each
input's shape in one place (``autograd.sum_to``).
"""
from ..autograd import Function


class Add(Function):
    """a + b with broadcasting; backward passes the gradient unchanged to both inputs."""

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    """a - b with broadcasting; backward: gy to a, -gy to b."""

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    """a * b elementwise with broadcasting; backward: gy * b to a, gy * a to b (each input's gradient is scaled
    by the other)."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = gy * self.b if self.needs_input_grad[0] else None
        gb = gy * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    """a / b with broadcasting; backward: gy / b to a, -gy * a / b^2 to b."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b if self.needs_input_grad[0] else None
        gb = -gy * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
    """-x; backward: -gy."""

    def forward(self, x):
        return -x

    def backward(self, gy):
        return -gy


class Pow(Function):
    """x ** p; p may be a tensor (then dL/dp = y log x, defined for x > 0)."""

    def forward(self, x, p):
        self.x, self.p = x, p
        self.y = x ** p
        return self.y

    def backward(self, gy):
        gx = gy * self.p * self.x ** (self.p - 1) if self.needs_input_grad[0] else None
        gp = None
        if self.needs_input_grad[1]:
            from .. import backend  # local: only the rare tensor-exponent case needs it

            xp = backend.get_array_module(self.x)
            safe = xp.where(self.x > 0, self.x, 1)
            gp = gy * self.y * xp.log(safe)
        return gx, gp


class MatMul(Function):
    """Matrix product with NumPy's ``@`` semantics for 2-D and batched (N-D) operands."""

    def forward(self, a, b):
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy):
        a, b = self.a, self.b
        ga = gb = None
        if self.needs_input_grad[0]:
            if b.ndim == 1:
                ga = gy[..., None] * b
            elif a.ndim == 1:  # gy is a stack of row vectors when b is batched: (..., 1, m) @ (..., m, k)
                ga = (gy[..., None, :] @ b.swapaxes(-1, -2))[..., 0, :]
            else:
                ga = gy @ b.swapaxes(-1, -2)
        if self.needs_input_grad[1]:
            if a.ndim == 1:
                gb = a[:, None] * gy[..., None, :] if b.ndim > 1 else gy * a
            elif b.ndim == 1:
                gb = (a * gy[..., None]).reshape(-1, a.shape[-1]).sum(0)
            else:
                gb = a.swapaxes(-1, -2) @ gy
        return ga, gb


def add(a, b):
    """a + b as a graph node (what ``Tensor.__add__`` calls).

    Example:
        >>> add(Tensor(np.array([1.0])), Tensor(np.array([2.0])))
        Tensor([3.], dtype=float64)
    """
    return Add()(a, b)


def sub(a, b):
    """a - b as a graph node (``Tensor.__sub__``)."""
    return Sub()(a, b)


def mul(a, b):
    """a * b elementwise as a graph node (``Tensor.__mul__``)."""
    return Mul()(a, b)


def div(a, b):
    """a / b as a graph node (``Tensor.__truediv__``)."""
    return Div()(a, b)


def neg(x):
    """-x as a graph node (``Tensor.__neg__``)."""
    return Neg()(x)


def pow(x, p):  # noqa: A001  (mirrors the operator's name, like torch.pow)
    """x ** p as a graph node (``Tensor.__pow__``); p may be a number or a Tensor (then dL/dp = y log x, for x >
    0)."""
    return Pow()(x, p)


def matmul(a, b):
    """a @ b as a graph node (``Tensor.__matmul__``): the weighted sums of a layer of neurons.

    Backward gives gy @ b^T to a and a^T @ gy to b, the two matrix products of backpropagation.

    Example:
        >>> matmul(Tensor(np.ones((2, 3))), Tensor(np.ones((3, 4)))).shape
        (2, 4)
    """
    return MatMul()(a, b)
