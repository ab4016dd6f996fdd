"""Clipping: clip(x, lo, hi), the gradient passes where lo <= x <= hi (as in PyTorch)."""
from .. import backend
from ..autograd import Function


class Clip(Function):
    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.mask = (x >= self.lo) & (x <= self.hi)
        return backend.get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.mask


def clip(x, lo, hi):
    return Clip(lo, hi)(x)
