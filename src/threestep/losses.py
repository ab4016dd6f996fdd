"""Losses: step 2 of the lecture, "the goodness of a function".

A loss maps (y_true, y_pred) to one value per sample (Keras averages over the last axis
first); the model averages those over the batch, weighted by sample weights if given.
Cross-entropies have a fused path from the logits of a softmax/sigmoid output layer:
same values, a stabler and faster gradient (softmax - target).

Keras semantics kept: ``categorical_crossentropy`` on probabilities renormalises them and
clips to [eps, 1-eps] with eps = 1e-7; ``binary_crossentropy`` clips the same way.
"""
from . import backend, ops
from .errors import unknown_name

EPSILON = 1e-7


class Loss:
    """Base class: ``per_sample(y_pred, y_true)`` -> Tensor of shape (batch,)."""

    name = "loss"
    fuses_with = None  # output activation whose logits this loss can take directly

    def per_sample(self, y_pred, y_true):
        raise NotImplementedError

    def per_sample_from_logits(self, logits, y_true):
        raise NotImplementedError

    def mean_from_logits(self, logits, y_true):
        """The batch mean of ``per_sample_from_logits`` (fit's plain loss: no weights, no mask)."""
        return ops.mean(self.per_sample_from_logits(logits, y_true))

    def __call__(self, y_true, y_pred):
        """Mean loss over the batch (Keras call order: y_true first)."""
        return ops.mean(_per_sample(self, y_true, y_pred))

    def get_config(self):
        return {"name": self.name}

    def __repr__(self):
        return f"{type(self).__name__}()"


def _match(y_true, y_pred):
    """Labels shaped (batch,) for an output shaped (batch, 1): add the unit axis, so the two
    never broadcast to a (batch, batch) matrix."""
    if y_true.ndim == y_pred.ndim - 1 and y_pred.shape[-1] == 1:
        return y_true.reshape(tuple(y_true.shape) + (1,))
    return y_true


def _mean_last(x):
    return ops.mean(x, axis=-1) if x.ndim > 1 else x


def _per_sample(loss, y_true, y_pred):
    """``loss``'s value for each sample (and step, for a sequence output), as Keras's loss
    functions return it, so that a user's loss built from them still weighs each sample by its
    sample weight; y_pred may be an array or a Tensor (the result then carries its gradient)."""
    from .autograd import Tensor  # noqa: PLC0415

    if not isinstance(y_pred, Tensor):
        y_pred = Tensor(y_pred)
    true = y_true.data if isinstance(y_true, Tensor) else y_true
    return loss.per_sample(y_pred, backend.get_array_module(y_pred.data).asarray(true))  # where y_pred is


class MeanSquaredError(Loss):
    """mean((y_pred - y_true)^2) over the last axis: the lecture's first loss.

    Use it for regression outputs (a linear last layer); with softmax outputs cross-entropy
    trains much faster, as the lecture shows on MNIST.

    Example:
        >>> MeanSquaredError()(np.array([[0.0, 1.0]]), np.array([[0.0, 3.0]]))
        Tensor(2.0, dtype=float64)
        >>> model = Sequential([Dense(1, input_shape=(8,))])
        >>> model.compile(optimizer="sgd", loss=MeanSquaredError())
    """

    name = "mean_squared_error"

    def per_sample(self, y_pred, y_true):
        return _mean_last(ops.squared_error(y_pred, _match(y_true, y_pred)))


class MeanAbsoluteError(Loss):
    """mean(|y_pred - y_true|) over the last axis: a regression loss less swayed by outliers than MSE.

    Example:
        >>> MeanAbsoluteError()(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]]))
        Tensor(1.5, dtype=float64)
    """
    name = "mean_absolute_error"

    def per_sample(self, y_pred, y_true):
        return _mean_last(ops.abs(y_pred - _match(y_true, y_pred)))


class CategoricalCrossentropy(Loss):
    """-sum(t * log p) with one-hot (or probability) targets.

    Pair it with a softmax output layer: ``fit`` then computes both in one fused, stable op
    (the logits are never turned into probabilities and back). ``from_logits=True`` takes the
    last layer's raw scores instead.

    Args:
        from_logits: y_pred holds raw scores rather than probabilities.

    Example:
        >>> loss = CategoricalCrossentropy()
        >>> loss(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]]))  # -log 0.5
        Tensor(0.6931..., dtype=float64)
    """

    name = "categorical_crossentropy"
    fuses_with = "softmax"

    def __init__(self, from_logits=False):
        self.from_logits = from_logits

    def per_sample(self, y_pred, y_true):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true)
        p = y_pred / ops.sum(y_pred, axis=-1, keepdims=True)
        p = ops.clip(p, EPSILON, 1 - EPSILON)
        return -ops.sum(y_true * ops.log(p), axis=-1)

    def per_sample_from_logits(self, logits, y_true):
        return ops.softmax_cross_entropy(logits, y_true)

    def mean_from_logits(self, logits, y_true):
        return ops.softmax_cross_entropy(logits, y_true, reduction="mean")  # one graph node


class SparseCategoricalCrossentropy(Loss):
    """-log p[label] with integer class labels.

    The same loss as categorical cross-entropy, but the targets are class numbers
    (0 .. classes-1, shape (batch,) or (batch, 1)) instead of one-hot rows: no one-hot
    matrix is built, which matters for many classes (e.g. a vocabulary).

    Args:
        from_logits: y_pred holds raw scores rather than probabilities.

    Example:
        >>> SparseCategoricalCrossentropy()(np.array([1]), np.array([[0.5, 0.5]]))
        Tensor(0.6931..., dtype=float64)
        >>> model = Sequential([Dense(10, activation="softmax", input_shape=(64,))])
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    """

    name = "sparse_categorical_crossentropy"
    fuses_with = "softmax"

    def __init__(self, from_logits=False):
        self.from_logits = from_logits

    def _labels(self, y_true, ndim):
        if y_true.ndim == ndim:  # Keras accepts labels shaped (batch, 1)
            y_true = y_true[..., 0]
        if y_true.dtype.kind in "iu":
            return y_true  # the op picks its index dtype (ops.SoftmaxCrossEntropy: intp on NumPy, as is on CuPy)
        return y_true.astype("int64", copy=False)

    def per_sample(self, y_pred, y_true):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true)
        labels = self._labels(y_true, y_pred.ndim)
        # Keras: clipped, then normalised (its log-probabilities go through a softmax), so an
        # output that does not sum to 1 is read as the distribution it is proportional to
        p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
        p = p / ops.sum(p, axis=-1, keepdims=True)
        onehot = (labels[..., None] == _arange_like(y_pred)).astype(y_pred.dtype)
        return -ops.sum(ops.log(p) * onehot, axis=-1)

    def per_sample_from_logits(self, logits, y_true):
        return ops.softmax_cross_entropy(logits, self._labels(y_true, logits.ndim))

    def mean_from_logits(self, logits, y_true):
        return ops.softmax_cross_entropy(logits, self._labels(y_true, logits.ndim), reduction="mean")


def _arange_like(t):
    return backend.get_array_module(t.data).arange(t.shape[-1])


class BinaryCrossentropy(Loss):
    """-(t log p + (1-t) log(1-p)), averaged over the last axis.

    For yes/no targets (and several independent labels per sample) with a sigmoid output
    layer, which ``fit`` fuses with this loss into one stable op.

    Args:
        from_logits: y_pred holds raw scores rather than probabilities.

    Example:
        >>> BinaryCrossentropy()(np.array([[1.0]]), np.array([[0.5]]))
        Tensor(0.6931..., dtype=float64)
    """

    name = "binary_crossentropy"
    fuses_with = "sigmoid"

    def __init__(self, from_logits=False):
        self.from_logits = from_logits

    def per_sample(self, y_pred, y_true):
        if self.from_logits:
            return self.per_sample_from_logits(y_pred, y_true)
        p = ops.clip(y_pred, EPSILON, 1 - EPSILON)
        y_true = _match(y_true, y_pred)
        return _mean_last(-(y_true * ops.log(p) + (1 - y_true) * ops.log(1 - p)))

    def per_sample_from_logits(self, logits, y_true):
        return _mean_last(ops.sigmoid_cross_entropy(logits, _match(y_true, logits)))


_ALIASES = {
    "mse": MeanSquaredError, "mean_squared_error": MeanSquaredError, "MSE": MeanSquaredError,
    "mae": MeanAbsoluteError, "mean_absolute_error": MeanAbsoluteError, "MAE": MeanAbsoluteError,
    "categorical_crossentropy": CategoricalCrossentropy,
    "sparse_categorical_crossentropy": SparseCategoricalCrossentropy,
    "binary_crossentropy": BinaryCrossentropy,
}


def mean_squared_error(y_true, y_pred):
    """Mean squared error per sample: ``mean((y_pred - y_true)^2)`` over the last axis.

    The functional form of ``MeanSquaredError``; ``mse`` and ``MSE`` are the same function. As
    in Keras it returns one value per sample (``compile`` and the class average them over the
    batch, weighted by sample weights).

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of shape (batch,) (or (batch, steps) for a sequence output).

    Example:
        >>> mean_squared_error(np.array([[0.0, 1.0], [1.0, 1.0]]), np.array([[0.0, 3.0], [1.0, 2.0]])).numpy()
        array([2. , 0.5])
    """
    return _per_sample(MeanSquaredError(), y_true, y_pred)


mse = MSE = mean_squared_error


def mean_absolute_error(y_true, y_pred):
    """Mean absolute error per sample: ``mean(|y_pred - y_true|)`` over the last axis.

    The functional form of ``MeanAbsoluteError``; ``mae`` and ``MAE`` are the same function.
    One value per sample, as in Keras.

    Args:
        y_true: targets, shape (batch, ...).
        y_pred: predictions, the same shape (an array or a Tensor).

    Returns:
        A Tensor of shape (batch,) (or (batch, steps) for a sequence output).

    Example:
        >>> mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]])).numpy()
        array([1.5])
    """
    return _per_sample(MeanAbsoluteError(), y_true, y_pred)


mae = MAE = mean_absolute_error


def categorical_crossentropy(y_true, y_pred):
    """Cross-entropy of one-hot (or probability) targets per sample: ``-sum(t * log p)``.

    The functional form of ``CategoricalCrossentropy``; one value per sample, as in Keras.

    Args:
        y_true: one-hot targets, shape (batch, classes).
        y_pred: probabilities (a softmax output), the same shape.

    Returns:
        A Tensor of shape (batch,).

    Example:
        >>> categorical_crossentropy(np.array([[0.0, 1.0]]), np.array([[0.5, 0.5]])).numpy()
        array([0.69314718])
    """
    return _per_sample(CategoricalCrossentropy(), y_true, y_pred)


def sparse_categorical_crossentropy(y_true, y_pred):
    """Cross-entropy of integer class labels per sample: ``-log p[label]``.

    The functional form of ``SparseCategoricalCrossentropy``; one value per sample, as in Keras.

    Args:
        y_true: class numbers, shape (batch,) or (batch, 1).
        y_pred: probabilities, shape (batch, classes).

    Returns:
        A Tensor of shape (batch,).

    Example:
        >>> sparse_categorical_crossentropy(np.array([1]), np.array([[0.5, 0.5]])).numpy()
        array([0.69314718])
    """
    return _per_sample(SparseCategoricalCrossentropy(), y_true, y_pred)


def binary_crossentropy(y_true, y_pred):
    """Binary cross-entropy ``-(t log p + (1-t) log(1-p))`` per sample, averaged over the last axis.

    The functional form of ``BinaryCrossentropy``; one value per sample, as in Keras.

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities (a sigmoid output), the same shape.

    Returns:
        A Tensor of shape (batch,).

    Example:
        >>> binary_crossentropy(np.array([[1.0]]), np.array([[0.5]])).numpy()
        array([0.69314718])
    """
    return _per_sample(BinaryCrossentropy(), y_true, y_pred)


BUILTIN = (MeanSquaredError, MeanAbsoluteError, CategoricalCrossentropy, SparseCategoricalCrossentropy,
           BinaryCrossentropy)

_FUNCTIONS = {mean_squared_error: MeanSquaredError, mean_absolute_error: MeanAbsoluteError,
              categorical_crossentropy: CategoricalCrossentropy,
              sparse_categorical_crossentropy: SparseCategoricalCrossentropy,
              binary_crossentropy: BinaryCrossentropy}


class _FunctionLoss(Loss):
    """Wraps a user's ``fn(y_true, y_pred) -> per-sample Tensor``.

    Both arguments are threestep Tensors (``y_true`` without gradient), exactly what a
    user's metric function receives, so one function serves as loss and metric."""

    def __init__(self, fn):
        self.fn = fn
        self.name = getattr(fn, "__name__", "loss")

    def per_sample(self, y_pred, y_true):
        from .autograd import Tensor  # noqa: PLC0415

        if not isinstance(y_true, Tensor):  # the same kind of value a metric function receives
            y_true = Tensor(y_true)
        out = self.fn(y_true, y_pred)
        if not isinstance(out, Tensor):
            out = Tensor(backend.asarray(out))
        if out.ndim == 0:  # an already averaged loss: one value per sample, so weights still apply
            return out * backend.get_array_module(y_pred.data).ones((len(y_pred),), dtype=y_pred.dtype)
        return out if out.ndim <= 1 else _mean_last(out)


def get(identifier):
    """A Loss from a name ('mse', 'categorical_crossentropy', ...), a Loss, or a function."""
    if isinstance(identifier, Loss):
        return identifier
    if isinstance(identifier, type) and issubclass(identifier, Loss):  # compile(loss=losses.Huber)
        return identifier()
    if isinstance(identifier, str):
        cls = _ALIASES.get(identifier)
        if cls is None:
            from .custom_objects import lookup  # noqa: PLC0415

            custom = lookup(identifier)
            if custom is not None:
                return get(custom)
            raise unknown_name("loss", identifier, _ALIASES)
        return cls()
    if isinstance(identifier, type) and issubclass(identifier, Loss):
        return identifier()
    if identifier in _FUNCTIONS:
        return _FUNCTIONS[identifier]()
    if callable(identifier):
        return _FunctionLoss(identifier)
    raise unknown_name("loss", identifier, _ALIASES)


from . import losses_keras as _keras  # noqa: E402  (the rest of Keras 2.3's losses; imports Loss from here)
from .losses_keras import (  # noqa: E402,F401
    CategoricalHinge, CosineSimilarity, Hinge, Huber, KerasLoss, KLDivergence, LogCosh, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Poisson, SquaredHinge, categorical_hinge, cosine_proximity, cosine_similarity, hinge,
    huber, kullback_leibler_divergence, logcosh, mean_absolute_percentage_error, mean_squared_logarithmic_error,
    poisson, squared_hinge,
)

mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kl_divergence = kullback_leibler_divergence
log_cosh = logcosh
_ALIASES.update(_keras.ALIASES)
BUILTIN = BUILTIN + tuple(sorted(set(_keras.FUNCTIONS.values()), key=lambda c: c.__name__))
_FUNCTIONS.update(_keras.FUNCTIONS)

__all__ = ["Loss", "KerasLoss", "MeanSquaredError", "MeanAbsoluteError", "CategoricalCrossentropy",
           "SparseCategoricalCrossentropy", "BinaryCrossentropy", "CategoricalHinge", "CosineSimilarity", "Hinge",
           "Huber", "KLDivergence", "LogCosh", "MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Poisson",
           "SquaredHinge", "mean_squared_error", "mse", "MSE", "mean_absolute_error", "mae", "MAE",
           "categorical_crossentropy", "sparse_categorical_crossentropy",
           "binary_crossentropy", "categorical_hinge", "cosine_proximity", "cosine_similarity", "hinge", "huber",
           "kullback_leibler_divergence", "logcosh", "mean_absolute_percentage_error",
           "mean_squared_logarithmic_error", "poisson", "squared_hinge", "mape", "MAPE", "msle", "MSLE", "kld", "KLD",
           "kl_divergence", "log_cosh", "get"]
