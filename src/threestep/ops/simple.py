"""Readable reference versions of the fused ops, composed from primitives.

They define what the fused kernels must compute; tests compare the two.
"""
from .arithmetic import add, matmul, mul, sub
from .elementwise import exp, log
from .reduce import max as max_, mean, sum as sum_


def linear_simple(x, W, b=None):
    """x @ W + b from matmul and add: the reference the fused ``linear`` op is tested against."""
    y = matmul(x, W)
    return y if b is None else add(y, b)


def softmax_simple(x, axis=-1):
    """Softmax from exp, max, sub and sum: the reference for the fused ``softmax``."""
    e = exp(sub(x, max_(x, axis=axis, keepdims=True).detach()))
    return e / sum_(e, axis=axis, keepdims=True)


def log_softmax_simple(x, axis=-1):
    """Log-softmax from primitives (shifted by the max for stability): the reference for ``log_softmax``."""
    shifted = sub(x, max_(x, axis=axis, keepdims=True).detach())
    return sub(shifted, log(sum_(exp(shifted), axis=axis, keepdims=True)))


def softmax_cross_entropy_simple(logits, onehot):
    """Per-sample -sum(t * log softmax(z)); one-hot/probability targets only."""
    return -sum_(mul(onehot, log_softmax_simple(logits)), axis=-1)


def sigmoid_cross_entropy_simple(logits, targets):
    """Binary cross-entropy of sigmoid(logits) from primitives: the reference for ``sigmoid_cross_entropy``."""
    from .elementwise import sigmoid

    p = sigmoid(logits)
    return -(targets * log(p) + (1 - targets) * log(1 - p))


def mean_squared_error_simple(pred, target):
    """mean((pred - target)^2) from sub, mul and mean: the reference for the fused MSE."""
    d = sub(pred, target)
    return mean(mul(d, d))
