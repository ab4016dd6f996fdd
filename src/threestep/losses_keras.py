"""The rest of Keras 2.3's losses, plus tf.keras's Huber.

Each is a ``Loss`` class (``losses.Hinge()``, ``losses.Huber(delta=1.0)``) and a
lowercase function that returns one value per sample, as Keras's functions do
(``losses.hinge(y_true, y_pred)`` -> shape (batch,)). ``losses.get`` knows every Keras
name and alias ('mape', 'msle', 'kld', 'logcosh', ...), so ``compile(loss='hinge')``,
``compile(loss=losses.hinge)`` and ``compile(loss=losses.Hinge())`` are the same model.

Formulas are Keras's, with its epsilon 1e-7:

* mape = 100 * mean(|t - p| / max(|t|, eps)); msle = mean((log(max(p, eps) + 1) -
  log(max(t, eps) + 1))^2).
* hinge = mean(max(1 - t p, 0)); squared_hinge = mean(max(1 - t p, 0)^2); labels given
  as 0/1 are first mapped to -1/+1 (Keras does the same when every label is 0 or 1).
* categorical_hinge = max(0, max((1 - t) p) - sum(t p) + 1).
* logcosh = mean(x + softplus(-2x) - log 2) with x = p - t (stable for large |x|).
* kld = sum(t' log(t' / p')) with t', p' clipped to [eps, 1]; poisson = mean(p - t log(p + eps)).
* cosine_proximity (Keras 2.3) and cosine_similarity (tf.keras) are both the *negated*
  cosine of the l2-normalised vectors as losses, so minimising them aligns the vectors.
  As metrics the names differ: tf.keras's metric ``cosine_similarity`` is the positive
  cosine, Keras 2.3's metric ``cosine_proximity`` is the loss itself (negative).
* huber = mean(0.5 q^2 + delta (|x| - q)) with q = min(|x|, delta), x = p - t.
"""
import math

from . import backend, ops
from .errors import ConfigError
from .losses import EPSILON, Loss, _match

_REDUCTIONS = ("auto", "sum_over_batch_size", "sum", "none")


def _xp(a):
    return backend.get_array_module(a)


def _array(y_true, like):
    """Targets as an array of the prediction's dtype (targets are never differentiated)."""
    from .autograd import Tensor  # noqa: PLC0415

    data = y_true.data if isinstance(y_true, Tensor) else y_true
    return backend.asarray(data).astype(like.dtype, copy=False)


def _tensor_pred(fn):
    """Let a loss function take y_pred as an array too (as Keras's functions take NumPy input)."""
    import functools  # noqa: PLC0415

    @functools.wraps(fn)
    def wrapper(y_true, y_pred, *args, **kwargs):
        from .autograd import Tensor  # noqa: PLC0415

        if not isinstance(y_pred, Tensor):
            y_pred = Tensor(backend.asarray(y_pred))
        return fn(y_true, y_pred, *args, **kwargs)

    return wrapper


def _last_mean(x):
    return ops.mean(x, axis=-1) if x.ndim > 1 else x


def _signed(t):
    """Keras's hinge labels: 0/1 labels become -1/+1; -1/+1 labels stay."""
    xp = _xp(t)
    if bool(xp.all((t == 0) | (t == 1))):
        return 2 * t - 1
    return t


class KerasLoss(Loss):
    """A Keras loss class: ``per_sample`` plus Keras's ``reduction`` and ``name`` arguments.

    ``reduction``: 'auto' / 'sum_over_batch_size' (mean over samples), 'sum', or 'none'
    (one value per sample), used when the loss object is called directly. ``fit`` always
    averages the per-sample values over the batch, weighted by sample weights.

    Example:
        >>> Huber(reduction="none")(np.array([[0.0], [0.0]]), np.array([[0.5], [3.0]])).numpy()
        array([0.125, 2.5  ])
        >>> isinstance(Huber(), KerasLoss)
        True
    """

    default_name = "loss"

    def __init__(self, reduction="auto", name=None):
        if reduction not in _REDUCTIONS:
            raise ConfigError(f"{type(self).__name__}: reduction must be one of {_REDUCTIONS}. "
                              f"Received: reduction={reduction!r}.")
        self.reduction = reduction
        self.name = name or self.default_name

    def per_sample(self, y_pred, y_true):
        return self.fn(_match(_array(y_true, y_pred.data), y_pred), y_pred)

    def __call__(self, y_true, y_pred, sample_weight=None):
        from .autograd import Tensor  # noqa: PLC0415

        if not isinstance(y_pred, Tensor):
            y_pred = Tensor(backend.asarray(y_pred))
        values = self.per_sample(y_pred, y_true)
        if sample_weight is not None:
            w = backend.asarray(sample_weight).astype(values.dtype)
            values = values * w.reshape(w.shape + (1,) * (values.ndim - w.ndim))
        if self.reduction == "none":
            return values
        total = ops.sum(values)
        return total if self.reduction == "sum" else total * (1.0 / max(values.size, 1))

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@_tensor_pred
def mean_absolute_percentage_error(y_true, y_pred):
    """100 * mean(|y_true - y_pred| / |y_true|) per sample: the error as a percentage of the target.

    For targets of very different sizes (prices, counts) where a relative error matters; targets near 0 blow it
    up. Also ``mape``.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> mean_absolute_percentage_error(np.array([[2.0, 4.0]]), np.array([[1.0, 5.0]])).numpy()
        array([37.5])
    """
    t = _array(y_true, y_pred.data)
    denom = _xp(t).maximum(_xp(t).abs(t), t.dtype.type(EPSILON))
    return _last_mean(ops.abs(y_pred - t) / denom) * 100.0


@_tensor_pred
def mean_squared_logarithmic_error(y_true, y_pred):
    """mean((log(1 + y_pred) - log(1 + y_true))^2) per sample: squared error of the logarithms.

    Penalises under-prediction of large targets less than MSE does, so targets spanning orders of magnitude
    weigh alike. Also ``msle``.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> mean_squared_logarithmic_error(np.array([[0.0, 0.0]]), np.array([[0.0, 0.0]])).numpy()
        array([0.])
    """
    t = _array(y_true, y_pred.data)
    second = _xp(t).log(_xp(t).maximum(t, t.dtype.type(EPSILON)) + 1)
    first = ops.log(ops.clip(y_pred, EPSILON, math.inf) + 1.0)
    return _last_mean(ops.squared_error(first, second))


@_tensor_pred
def hinge(y_true, y_pred):
    """mean(max(0, 1 - t * y_pred)) per sample, with labels t in {-1, +1} (0/1 labels are converted).

    The support vector machine's loss: a prediction on the right side with a margin of 1 costs nothing.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> hinge(np.array([[1.0, -1.0]]), np.array([[0.5, -2.0]])).numpy()
        array([0.25])
    """
    t = _signed(_array(y_true, y_pred.data))
    return _last_mean(ops.relu(1.0 - t * y_pred))


@_tensor_pred
def squared_hinge(y_true, y_pred):
    """mean(max(0, 1 - t * y_pred)^2) per sample, with labels t in {-1, +1} (0/1 labels are converted).

    The hinge loss squared: smooth at the margin and harder on large violations.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> squared_hinge(np.array([[1.0]]), np.array([[0.0]])).numpy()
        array([1.])
    """
    t = _signed(_array(y_true, y_pred.data))
    h = ops.relu(1.0 - t * y_pred)
    return _last_mean(h * h)


@_tensor_pred
def categorical_hinge(y_true, y_pred):
    """max(0, 1 + max over wrong classes of y_pred - y_pred of the true class), per sample.

    The multi-class hinge: the true class must beat every other by a margin of 1. ``y_true`` is one-hot.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> categorical_hinge(np.array([[0.0, 1.0]]), np.array([[0.2, 0.8]])).numpy()
        array([0.4])
    """
    t = _array(y_true, y_pred.data)
    pos = ops.sum(t * y_pred, axis=-1)
    neg = ops.max((1 - t) * y_pred, axis=-1)
    return ops.relu(neg - pos + 1.0)


@_tensor_pred
def logcosh(y_true, y_pred):
    """mean(log(cosh(y_pred - y_true))) per sample: about x^2 / 2 for small errors, |x| - log 2 for large ones.

    A regression loss as smooth as MSE near the target and as robust to outliers as MAE far from it. Also
    ``log_cosh``.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> logcosh(np.array([[0.0]]), np.array([[0.0]])).numpy()
        array([0.])
    """
    x = y_pred - _array(y_true, y_pred.data)
    from .ops.activations import softplus  # noqa: PLC0415

    return _last_mean(x + softplus(x * -2.0) - math.log(2.0))


@_tensor_pred
def kullback_leibler_divergence(y_true, y_pred):
    """sum(t * log(t / p)) per sample: how far the predicted distribution p is from the target t.

    Cross-entropy minus the target's own entropy; zero when p equals t. Also ``kld``, ``KLD``, ``kl_divergence``.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> kullback_leibler_divergence(np.array([[0.5, 0.5]]), np.array([[0.5, 0.5]])).numpy()
        array([0.])
    """
    xp = _xp(y_pred.data)
    t = xp.clip(_array(y_true, y_pred.data), EPSILON, 1)
    p = ops.clip(y_pred, EPSILON, 1.0)
    return ops.sum(t * (xp.log(t) - ops.log(p)), axis=-1)


@_tensor_pred
def poisson(y_true, y_pred):
    """mean(y_pred - y_true * log(y_pred)) per sample: the negative log-likelihood of counts with mean y_pred.

    For targets that count events (visits, clicks); y_pred must be positive (e.g. an exponential or softplus
    output).

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> poisson(np.array([[0.0]]), np.array([[2.0]])).numpy()
        array([2.])
    """
    t = _array(y_true, y_pred.data)
    return _last_mean(y_pred - t * ops.log(y_pred + EPSILON))


def _l2_normalize(x, axis):
    """x / sqrt(max(sum(x^2), 1e-12)), tf.math.l2_normalize's rule."""
    return x / ops.sqrt(ops.clip(ops.sum(x * x, axis=axis, keepdims=True), 1e-12, math.inf))


@_tensor_pred
def cosine_proximity(y_true, y_pred, axis=-1):
    """-cos(y_true, y_pred) along ``axis``, per sample: -1 when they point the same way, 0 when orthogonal.

    Compares directions, not lengths (embeddings, word vectors). Negative, so minimising it aligns the vectors.
    Also ``cosine_similarity`` and the metric ``cosine``.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

        axis: the axis along which the vectors lie (default -1).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> cosine_proximity(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0]])).numpy()
        array([-1.])
    """
    t = _array(y_true, y_pred.data)
    xp = _xp(t)
    t = t / xp.sqrt(xp.maximum((t * t).sum(axis=axis, keepdims=True), t.dtype.type(1e-12)))
    return -ops.sum(_l2_normalize(y_pred, axis) * t, axis=axis)


cosine_similarity = cosine_proximity  # tf.keras's name of the same loss (both negative)


@_tensor_pred
def huber(y_true, y_pred, delta=1.0):
    """Per sample, mean of 0.5 * x^2 for |x| <= delta and delta * (|x| - 0.5 * delta) beyond, x = y_pred - y_true.

    Squared error near the target, absolute error far from it: outliers pull with a bounded force.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

        delta: where the quadratic part turns linear (default 1.0).

    Returns:
        A Tensor of one value per sample (shape (batch,)); ``compile`` averages it over the batch.

    Example:
        >>> huber(np.array([[0.0, 0.0]]), np.array([[0.5, 3.0]])).numpy()
        array([1.3125])
    """
    x = ops.abs(y_pred - _array(y_true, y_pred.data))
    q = ops.clip(x, 0.0, float(delta))
    return _last_mean(0.5 * q * q + float(delta) * (x - q))


class MeanAbsolutePercentageError(KerasLoss):
    """100 * mean(|y_true - y_pred| / |y_true|): the error relative to the target.

    Example:
        >>> model.compile(loss="mape", optimizer="adam")
    """
    default_name = "mean_absolute_percentage_error"
    fn = staticmethod(mean_absolute_percentage_error)


class MeanSquaredLogarithmicError(KerasLoss):
    """mean((log(1 + y_pred) - log(1 + y_true))^2): squared error of log-scaled positive targets.

    Example:
        >>> model.compile(loss="msle", optimizer="adam")
    """
    default_name = "mean_squared_logarithmic_error"
    fn = staticmethod(mean_squared_logarithmic_error)


class Hinge(KerasLoss):
    """mean(max(1 - y_true * y_pred, 0)): the SVM loss, labels -1/+1 (0/1 are mapped).

    Example:
        >>> model.compile(loss="hinge", optimizer="sgd")  # with a tanh or linear output
    """
    default_name = "hinge"
    fn = staticmethod(hinge)


class SquaredHinge(KerasLoss):
    """mean(max(1 - y_true * y_pred, 0)^2): the hinge loss squared, smooth at the margin.

    Example:
        >>> model.compile(loss="squared_hinge", optimizer="sgd")
    """
    default_name = "squared_hinge"
    fn = staticmethod(squared_hinge)


class CategoricalHinge(KerasLoss):
    """max(0, 1 + best wrong score - true score): the multi-class hinge, one-hot targets.

    Example:
        >>> model.compile(loss="categorical_hinge", optimizer="sgd")
    """
    default_name = "categorical_hinge"
    fn = staticmethod(categorical_hinge)


class LogCosh(KerasLoss):
    """mean(log(cosh(y_pred - y_true))): about x^2/2 for small errors, |x| - log 2 for large.

    Example:
        >>> model.compile(loss="logcosh", optimizer="adam")
    """
    default_name = "log_cosh"
    fn = staticmethod(logcosh)


class KLDivergence(KerasLoss):
    """sum(y_true * log(y_true / y_pred)): how far the predicted distribution is from the target's.

    Example:
        >>> model.compile(loss="kld", optimizer="adam")  # with a softmax output
    """
    default_name = "kl_divergence"
    fn = staticmethod(kullback_leibler_divergence)


class Poisson(KerasLoss):
    """mean(y_pred - y_true * log(y_pred)): the negative log-likelihood of Poisson counts.

    Example:
        >>> model.compile(loss="poisson", optimizer="adam")  # with a positive (exp/softplus) output
    """
    default_name = "poisson"
    fn = staticmethod(poisson)


class CosineSimilarity(KerasLoss):
    """-cos(y_true, y_pred) along ``axis``: minimising it points the prediction along the target.

    Example:
        >>> model.compile(loss=CosineSimilarity(axis=-1), optimizer="adam")
    """
    default_name = "cosine_similarity"

    def __init__(self, axis=-1, reduction="auto", name=None):
        super().__init__(reduction, name)
        self.axis = int(axis)

    def fn(self, y_true, y_pred):
        return cosine_proximity(y_true, y_pred, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class Huber(KerasLoss):
    """Squared error for |error| <= delta, linear beyond: robust to outliers.

    Args:
        delta: where the quadratic part turns linear (default 1.0).

    Example:
        >>> model.compile(loss=Huber(delta=2.0), optimizer="adam")
    """
    default_name = "huber_loss"

    def __init__(self, delta=1.0, reduction="auto", name=None):
        super().__init__(reduction, name)
        if not isinstance(delta, (int, float)) or isinstance(delta, bool) or delta <= 0:
            raise ConfigError(f"Huber: delta must be a positive number. Received: delta={delta!r}.")
        self.delta = float(delta)

    def fn(self, y_true, y_pred):
        return huber(y_true, y_pred, self.delta)

    def get_config(self):
        return {**super().get_config(), "delta": self.delta}


ALIASES = {
    "mape": MeanAbsolutePercentageError, "MAPE": MeanAbsolutePercentageError,
    "mean_absolute_percentage_error": MeanAbsolutePercentageError,
    "msle": MeanSquaredLogarithmicError, "MSLE": MeanSquaredLogarithmicError,
    "mean_squared_logarithmic_error": MeanSquaredLogarithmicError,
    "hinge": Hinge, "squared_hinge": SquaredHinge, "categorical_hinge": CategoricalHinge,
    "logcosh": LogCosh, "log_cosh": LogCosh,
    "kld": KLDivergence, "KLD": KLDivergence, "kullback_leibler_divergence": KLDivergence,
    "kl_divergence": KLDivergence,
    "poisson": Poisson,
    "cosine_proximity": CosineSimilarity, "cosine_similarity": CosineSimilarity, "cosine": CosineSimilarity,
    "huber": Huber, "huber_loss": Huber,
}
for _cls in set(ALIASES.values()):  # class names as strings too (compile(loss="Huber"), configs)
    ALIASES[_cls.__name__] = _cls

FUNCTIONS = {
    mean_absolute_percentage_error: MeanAbsolutePercentageError,
    mean_squared_logarithmic_error: MeanSquaredLogarithmicError,
    hinge: Hinge, squared_hinge: SquaredHinge, categorical_hinge: CategoricalHinge, logcosh: LogCosh,
    kullback_leibler_divergence: KLDivergence, poisson: Poisson, cosine_proximity: CosineSimilarity,
    huber: Huber,
}
