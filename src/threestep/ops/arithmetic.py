"""Arithmetic with broadcasting: add, sub, mul, div, neg, pow, matmul.

Backward returns gradients in the broadcast shape; the engine sums them back down to each
input's shape in one place (``autograd.sum_to``).
"""
from ..autograd import Function


class Add(Function):
    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy


class Sub(Function):
    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, (-gy if self.needs_input_grad[1] else None)


class Mul(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a * b

    def backward(self, gy):
        ga = gy * self.b if self.needs_input_grad[0] else None
        gb = gy * self.a if self.needs_input_grad[1] else None
        return ga, gb


class Div(Function):
    def forward(self, a, b):
        self.a, self.b = a, b
        return a / b

    def backward(self, gy):
        ga = gy / self.b if self.needs_input_grad[0] else None
        gb = -gy * self.a / (self.b * self.b) if self.needs_input_grad[1] else None
        return ga, gb


class Neg(Function):
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
    return Add()(a, b)


def sub(a, b):
    return Sub()(a, b)


def mul(a, b):
    return Mul()(a, b)


def div(a, b):
    return Div()(a, b)


def neg(x):
    return Neg()(x)


def pow(x, p):  # noqa: A001  (mirrors the operator's name, like torch.pow)
    return Pow()(x, p)


def matmul(a, b):
    return MatMul()(a, b)
