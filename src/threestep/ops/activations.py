"""The ReLU family and other activations, and dropout's mask multiply.

One ``Function`` per activation, each keeping only what its backward needs. Subgradients
at the kinks follow PyTorch, the test oracle: the slope at x = threshold (0 by default)
is the left-hand one (0 for relu, alpha for leaky relu and PReLU), and a saturated side
(relu6, hard sigmoid) has slope 0 at its boundary.

Differences from PyTorch, on purpose (Keras 2.3 semantics):
  * ``softplus`` is log(1 + e^x) everywhere. ``torch.nn.functional.softplus`` returns x
    itself above ``threshold=20``; the two differ by log1p(e^-x) < 2.1e-9 there.
  * ``hard_sigmoid`` is clip(0.2 x + 0.5, 0, 1) (Keras); torch's hardsigmoid is
    clip(x/6 + 1/2, 0, 1), available here as ``hard_sigmoid(x, slope=1/6)``.
"""
from .. import backend
from ..autograd import Function, as_tensor
from ..errors import ShapeError
from .elementwise import stable_sigmoid

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


class LeakyReLU(Function):
    """x for x > 0, alpha * x otherwise (Maas et al.; the lecture's Leaky ReLU)."""

    def __init__(self, alpha=0.2):
        self.alpha = alpha

    def forward(self, x):
        self.mask = x > 0
        return backend.get_array_module(x).where(self.mask, x, x * x.dtype.type(self.alpha))

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        return gy * xp.where(self.mask, gy.dtype.type(1), gy.dtype.type(self.alpha))


class PReLU(Function):
    """Parametric ReLU: x for x > 0, alpha * x otherwise, with a learnable ``alpha``.

    ``alpha`` broadcasts against x (one slope per unit, per channel, or one in all); its
    gradient is returned in x's shape and the engine sums it down to alpha's (``sum_to``).
    """

    def forward(self, x, alpha):
        self.x, self.alpha = x, alpha
        return backend.get_array_module(x).where(x > 0, x, alpha * x)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        positive = self.x > 0
        gx = gy * xp.where(positive, gy.dtype.type(1), self.alpha) if self.needs_input_grad[0] else None
        galpha = xp.where(positive, gy.dtype.type(0), gy * self.x) if self.needs_input_grad[1] else None
        return gx, galpha


class GeneralizedReLU(Function):
    """Keras's ``relu(x, alpha, max_value, threshold)`` (the ReLU layer's function).

    f(x) = min(x, max_value) for x > threshold, negative_slope * (x - threshold) otherwise.
    The slope is 1 strictly between threshold and max_value, negative_slope at or below the
    threshold and 0 at or above max_value (as torch's relu6 / hardtanh).
    """

    def __init__(self, negative_slope=0.0, max_value=None, threshold=0.0):
        self.negative_slope, self.max_value, self.threshold = negative_slope, max_value, threshold

    def forward(self, x):
        xp = backend.get_array_module(x)
        t = x.dtype.type
        self.above = x > t(self.threshold)
        y = xp.where(self.above, x, (x - t(self.threshold)) * t(self.negative_slope))
        self.saturated = None
        if self.max_value is not None:
            self.saturated = x >= t(self.max_value)
            y = xp.where(self.saturated, t(self.max_value), y)
        return y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        t = gy.dtype.type
        slope = xp.where(self.above, t(1), t(self.negative_slope))
        if self.saturated is not None:
            slope = xp.where(self.saturated, t(0), slope)
        return gy * slope


class ELU(Function):
    """x for x > 0, alpha (e^x - 1) otherwise, times ``scale`` (scale=1: ELU; SELU below).

    Keeps y and the sign mask: for x <= 0 the derivative is scale*alpha*e^x = y + scale*alpha.
    """

    def __init__(self, alpha=1.0, scale=1.0):
        self.alpha, self.scale = alpha, scale

    def forward(self, x):
        xp = backend.get_array_module(x)
        t = x.dtype.type
        self.mask = x > 0
        negative = xp.expm1(xp.minimum(x, t(0))) * t(self.alpha)  # min(): no overflow for big x
        self.y = xp.where(self.mask, x, negative)
        if self.scale != 1:
            self.y *= t(self.scale)
        return self.y

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        t = gy.dtype.type
        return gy * xp.where(self.mask, t(self.scale), self.y + t(self.scale * self.alpha))


class SELU(ELU):
    """Self-normalising ELU (Klambauer et al. 2017) with Keras's fixed alpha and scale."""

    def __init__(self):
        super().__init__(SELU_ALPHA, SELU_SCALE)


class Softplus(Function):
    """log(1 + e^x), computed as max(x, 0) + log1p(e^-|x|) so it never overflows."""

    def forward(self, x):
        xp = backend.get_array_module(x)
        self.x = x
        return xp.maximum(x, x.dtype.type(0)) + xp.log1p(xp.exp(-xp.abs(x)))

    def backward(self, gy):
        return gy * stable_sigmoid(self.x)


class Softsign(Function):
    """x / (1 + |x|); derivative 1 / (1 + |x|)^2."""

    def forward(self, x):
        self.denom = backend.get_array_module(x).abs(x) + x.dtype.type(1)
        return x / self.denom

    def backward(self, gy):
        return gy / (self.denom * self.denom)


class HardSigmoid(Function):
    """clip(slope * x + offset, 0, 1); Keras 2.3 uses slope 0.2, offset 0.5."""

    def __init__(self, slope=0.2, offset=0.5):
        self.slope, self.offset = slope, offset

    def forward(self, x):
        xp = backend.get_array_module(x)
        t = x.dtype.type
        z = x * t(self.slope) + t(self.offset)
        self.mask = (z > 0) & (z < 1)
        return xp.clip(z, t(0), t(1))

    def backward(self, gy):
        return gy * self.mask * gy.dtype.type(self.slope)


class Swish(Function):
    """x * sigmoid(x) (swish / SiLU); derivative s + x s (1 - s) with s = sigmoid(x)."""

    def forward(self, x):
        self.x, self.s = x, stable_sigmoid(x)
        return x * self.s

    def backward(self, gy):
        s = self.s
        return gy * (s + self.x * s * (1 - s))


def _erf(x):
    """The error function on x's device: SciPy's on the CPU, CuPy's (cupyx) on the GPU, else a
    rational approximation (Numerical Recipes' erfc, relative error < 1.2e-7) in array ops."""
    try:
        if backend.on_gpu(x):
            from cupyx.scipy.special import erf  # noqa: PLC0415
        else:
            from scipy.special import erf  # noqa: PLC0415  (a dependency of scikit-learn, which we require)
        return erf(x)
    except ImportError:
        pass
    xp = backend.get_array_module(x)
    z = xp.abs(x)
    t = 1 / (1 + 0.5 * z)
    poly = 0.17087277
    for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418, 0.37409196, 1.00002368,
              -1.26551223):
        poly = c + t * poly
    erfc = t * xp.exp(-z * z + poly)
    return (xp.sign(x) * (1 - erfc)).astype(x.dtype)


class GELU(Function):
    """x * Phi(x), Phi the standard normal CDF (Hendrycks & Gimpel 2016).

    ``approximate=False``: Phi(x) = (1 + erf(x / sqrt 2)) / 2, derivative Phi(x) + x phi(x).
    ``approximate=True``: the tanh form 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))),
    as tf.keras and ``torch.nn.functional.gelu(approximate='tanh')`` compute it.
    """

    def __init__(self, approximate=False):
        self.approximate = bool(approximate)

    def forward(self, x):
        xp = backend.get_array_module(x)
        t = x.dtype.type
        self.x = x
        if self.approximate:
            self.th = xp.tanh(t(0.7978845608028654) * (x + t(0.044715) * x * x * x))
            return t(0.5) * x * (1 + self.th)
        self.cdf = t(0.5) * (1 + _erf(x * t(0.7071067811865476)))
        return x * self.cdf

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        x, t = self.x, gy.dtype.type
        if self.approximate:
            inner = t(0.7978845608028654) * (1 + t(3 * 0.044715) * x * x)
            return gy * (t(0.5) * (1 + self.th) + t(0.5) * x * (1 - self.th * self.th) * inner)
        pdf = xp.exp(t(-0.5) * x * x) * t(0.3989422804014327)
        return gy * (self.cdf + x * pdf)


class DropoutMask(Function):
    """x * mask for a fixed (non-differentiable) mask that broadcasts against x.

    Dropout draws the mask (0 or 1/(1-rate)) and this op applies it; the gradient flows
    only through kept units, scaled the same way.
    """

    def __init__(self, mask):
        self.mask = backend.on_device(mask)  # a mask drawn by a NumPy generator moves to the GPU

    def forward(self, x):
        return x * self.mask

    def backward(self, gy):
        return gy * self.mask


def leaky_relu(x, alpha=0.2):
    """Leaky ReLU; alpha=0.2 as tf.nn.leaky_relu and Keras 3 (the LeakyReLU layer uses 0.3)."""
    return LeakyReLU(alpha)(x)


def prelu(x, alpha):
    """Parametric ReLU: x for x > 0, alpha * x otherwise, with the slopes ``alpha`` a learned Tensor (gradients
    to both)."""
    return PReLU()(x, alpha)


def generalized_relu(x, negative_slope=0.0, max_value=None, threshold=0.0):
    """Keras's ReLU with options: min(x, max_value) above ``threshold``, ``negative_slope * (x - threshold)``
    below."""
    return GeneralizedReLU(negative_slope, max_value, threshold)(x)


def relu6(x):
    """min(max(x, 0), 6): a ReLU that saturates at 6 (mobile networks, low-precision friendly)."""
    return GeneralizedReLU(max_value=6.0)(x)


def elu(x, alpha=1.0):
    """Exponential linear unit: x for x > 0, alpha * (exp(x) - 1) otherwise; smooth, with negative outputs that
    pull the mean toward 0."""
    return ELU(alpha)(x)


def selu(x):
    """Scaled ELU (Klambauer et al. 2017): with LeCun-normal weights it keeps activations near zero mean and
    unit variance."""
    return SELU()(x)


def softplus(x):
    """log(1 + exp(x)), computed stably: a smooth ReLU whose gradient is sigmoid(x)."""
    return Softplus()(x)


def softsign(x):
    """x / (1 + |x|): like tanh, but approaching +-1 polynomially rather than exponentially."""
    return Softsign()(x)


def hard_sigmoid(x, slope=0.2, offset=0.5):
    """clip(slope * x + offset, 0, 1) (Keras 2: slope 0.2, offset 0.5): a cheap, piecewise-linear sigmoid."""
    return HardSigmoid(slope, offset)(x)


def swish(x):
    """x * sigmoid(x) (also ``silu``): a smooth, non-monotonic ReLU found by search (Ramachandran et al. 2017)."""
    return Swish()(x)


def gelu(x, approximate=False):
    """Gaussian error linear unit: x * Phi(x) (``approximate=True``: the tanh form)."""
    return GELU(approximate)(x)


silu = swish


def resolve_noise_shape(noise_shape, shape):
    """Keras's noise_shape: None entries take x's size; every entry must be 1 or x's size."""
    if noise_shape is None:
        return tuple(shape)
    noise_shape = tuple(noise_shape)
    resolved = tuple(s if n is None else int(n) for n, s in zip(noise_shape, shape))
    if len(noise_shape) != len(shape) or any(n not in (1, s) for n, s in zip(resolved, shape)):
        raise ShapeError(
            f"dropout: noise_shape {noise_shape} cannot broadcast to the input shape {tuple(shape)}: it needs "
            f"{len(shape)} entries, each None, 1 or the input's size on that axis."
        )
    return resolved


def dropout(x, rate, noise_shape=None, rng=None):
    """Inverted dropout, always on: zero each unit with probability ``rate``, scale the
    survivors by 1/(1-rate). ``rng`` defaults to ``threestep.backend.rng()``.

    Units sharing a mask entry (``noise_shape`` with 1s, e.g. ``(None, 1, features)`` to
    drop the same features at every time step) are dropped together.
    """
    x = as_tensor(x)
    if not rate:
        return x
    return DropoutMask(dropout_mask(x.data, rate, noise_shape, rng))(x)


def dropout_mask(x, rate, noise_shape=None, rng=None):
    """The mask ``dropout`` multiplies the array ``x`` by: 0 with probability ``rate``, else
    1/(1-rate), in x's dtype, shaped by ``noise_shape`` (one draw of ``rng``, default
    ``threestep.backend.rng()``)."""
    rng = rng if rng is not None else backend.rng()
    xp = backend.get_array_module(x)
    keep = rng.random(resolve_noise_shape(noise_shape, x.shape), dtype=xp.float32) >= rate
    return keep.astype(x.dtype) * x.dtype.type(1.0 / (1.0 - rate))
