"""Gradient ascent on the input, the model fixed: shared machinery of the image tools.

In training the input is fixed and the weights move; here the roles swap (the lecture's
"what does CNN learn?"): the weights are frozen and the input x is updated to make a
chosen quantity large. ``frozen`` stops gradients flowing into the weights, ``InputAdam``
is Adam on a raw input array, and ``penalty`` adds the lecture's L1 term
(sum_ij |x_ij|, against "broken TV" images) and a smoothness (total-variation) term.
"""
import contextlib

from .. import backend, ops
from ..autograd import Tensor, using_config
from ..errors import ConfigError


@contextlib.contextmanager
def frozen(model):
    """Weights stop requiring gradients (and layers run in test mode) inside the block."""
    weights = model.weights
    saved = [w.requires_grad for w in weights]
    for w in weights:
        w.requires_grad = False
    try:
        with using_config("training", False):
            yield
    finally:
        for w, flag in zip(weights, saved):
            w.requires_grad = flag


class InputAdam:
    """Adam on an input array (ascent: it moves *up* the gradient it is given)."""

    def __init__(self, lr, beta_1=0.9, beta_2=0.999, epsilon=1e-8):
        self.lr, self.b1, self.b2, self.eps = float(lr), beta_1, beta_2, epsilon
        self.m = self.v = None
        self.t = 0

    def step(self, x, grad):
        xp = backend.get_array_module(x)
        if self.m is None:
            self.m, self.v = xp.zeros_like(x), xp.zeros_like(x)
        self.t += 1
        self.m = self.b1 * self.m + (1 - self.b1) * grad
        self.v = self.b2 * self.v + (1 - self.b2) * grad * grad
        m_hat = self.m / (1 - self.b1 ** self.t)
        v_hat = self.v / (1 - self.b2 ** self.t)
        return x + (self.lr * m_hat / (xp.sqrt(v_hat) + self.eps)).astype(x.dtype)


def spatial_axes(model, ndim):
    """The input's spatial axes (for the smoothness penalty), batch axis included in ``ndim``."""
    if ndim <= 2:
        return ()
    first = model.layers[0] if model.layers else None
    if getattr(first, "data_format", None) == "channels_first":
        return tuple(range(2, ndim))
    return tuple(range(1, ndim - 1))


def total_variation(x, axes):
    """Sum of squared differences of neighbouring pixels along ``axes`` (per batch, summed)."""
    total = None
    for axis in axes:
        n = x.shape[axis]
        hi = tuple(slice(1, None) if a == axis else slice(None) for a in range(x.ndim))
        lo = tuple(slice(0, n - 1) if a == axis else slice(None) for a in range(x.ndim))
        d = x[hi] - x[lo]
        term = (d * d).sum()
        total = term if total is None else total + term
    return total


def penalty(x, l1, smoothness, axes, caller):
    """l1 * sum|x| + smoothness * TV(x) as a Tensor (None when both weights are 0)."""
    terms = []
    if l1:
        terms.append(ops.abs(x).sum() * x.dtype.type(l1))
    if smoothness:
        if not axes:
            raise ConfigError(f"{caller}: smoothness={smoothness} needs an input with spatial axes (an image or a "
                              "sequence); this model's input is a flat vector. Use smoothness=0 (and l1= only).")
        terms.append(total_variation(x, axes) * x.dtype.type(smoothness))
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else terms[0] + terms[1]


def check_positive(caller, name, value, integer=False):
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
    if not ok or (integer and int(value) != value):
        kind = "a positive integer" if integer else "a positive number"
        raise ConfigError(f"{caller}: {name} must be {kind}. Received: {name}={value!r}.")
    return int(value) if integer else float(value)


def check_non_negative(caller, name, value):
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not value >= 0:
        raise ConfigError(f"{caller}: {name} must be a number >= 0. Received: {name}={value!r}.")
    return float(value)


def input_gradient(objective_fn, x_array):
    """The value of ``objective_fn(Tensor(x))`` (a scalar Tensor) and its gradient w.r.t. x."""
    x = Tensor(x_array, requires_grad=True)
    objective = objective_fn(x)
    objective.backward()
    return float(objective.data), x.grad


def ascend(model, objective_fn, x, steps, lr, clip=None):
    """Adam ascent on the input for ``steps`` steps with the model frozen; returns the new x."""
    adam = InputAdam(lr)
    with frozen(model):
        for _ in range(steps):
            _, grad = input_gradient(objective_fn, x)
            x = adam.step(x, grad)
            if clip is not None:
                x = backend.get_array_module(x).clip(x, clip[0], clip[1])
    return x
