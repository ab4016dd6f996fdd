"""Clipping: clip(x, lo, hi), the gradient passes where lo <= x <= hi (as in PyTorch)."""
from .. import backend
from ..autograd import Function


class Clip(Function):
    """clip(x, lo, hi) as a graph node; the gradient passes only where lo <= x <= hi (as in PyTorch)."""

    def __init__(self, lo, hi):
        self.lo, self.hi = lo, hi

    def forward(self, x):
        self.mask = (x >= self.lo) & (x <= self.hi)
        return backend.get_array_module(x).clip(x, self.lo, self.hi)

    def backward(self, gy):
        return gy * self.mask


def clip(x, lo, hi):
    """Limit x to [lo, hi]; the gradient is zero where x was clipped.

    Used to keep probabilities away from 0 and 1 before a log (the losses clip to [1e-7, 1 - 1e-7]).

    Args:
        x: a Tensor.
        lo: lower bound.
        hi: upper bound.

    Example:
        >>> clip(Tensor(np.array([-2.0, 0.5, 3.0])), 0.0, 1.0).numpy()
        array([0. , 0.5, 1. ])
    """
    return Clip(lo, hi)(x)
