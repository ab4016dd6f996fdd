"""Metrics: numbers reported during training that are not optimised (accuracy, MAE, ...).

Built-in metrics work on raw arrays (no graph). A user's metric function receives the same
values as a user's loss function: ``(y_true, y_pred)`` as threestep Tensors (see
``_tensor_metric``), so one function can be passed as ``loss=`` and in ``metrics=``. Each keeps a weighted running mean over the
batches of an epoch, which is what the progress bar and History show.
``'accuracy'`` is resolved the way Keras resolves it: binary accuracy for one output unit
or binary cross-entropy, sparse categorical accuracy for sparse labels, else categorical.
"""
import numpy

from . import backend
from .errors import ConfigError, unknown_name


class Metric:
    """A weighted running mean of a per-sample function ``fn(y_true, y_pred) -> (batch,)``.

    ``argmax_invariant`` means the metric can be computed from logits as well as from
    probabilities (accuracy is; MSE is not), which lets the model skip the softmax.
    """

    argmax_invariant = False

    def __init__(self, fn, name):
        self.fn, self.name = fn, name
        self.reset_state()

    def reset_state(self):
        self.total = 0.0
        self.count = 0.0

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = (a if hasattr(a, "shape") else numpy.asarray(a, "float64") for a in (y_true, y_pred))
        if sample_weight is not None and not hasattr(sample_weight, "shape"):
            sample_weight = numpy.asarray(sample_weight, "float64")
        values = self.fn(y_true, y_pred)
        if sample_weight is not None and backend.on_gpu(values) and not backend.on_gpu(sample_weight):
            sample_weight = backend.asarray(sample_weight)  # host weights given with device predictions
        if sample_weight is None:
            total, count = values.sum(), values.size
        else:
            if sample_weight.ndim < values.ndim:  # one weight per sample for values per (sample, step)
                sample_weight = sample_weight.reshape(tuple(sample_weight.shape) + (1,) * (values.ndim - sample_weight.ndim))
            elif sample_weight.ndim > values.ndim:
                sample_weight = sample_weight.reshape(tuple(sample_weight.shape[:values.ndim]) + (-1,)).mean(axis=-1)
            weights = _xp(values).broadcast_to(sample_weight, values.shape)
            total, count = (values * weights).sum(), weights.sum()
        if backend.on_gpu(total):  # the sums stay on the device until result() reads them
            self.total, self.count = self.total + total, self.count + count
        else:
            self.total += float(total)
            self.count += float(count)

    def result(self):
        total, count = float(self.total), float(self.count)  # on a GPU: the one read
        return total / count if count else 0.0

    def state(self):
        """The running state as floats that add across data shards (a distributed fit sums them)."""
        return [float(self.total), float(self.count)]

    def set_state(self, values):
        self.total, self.count = float(values[0]), float(values[1])

    def __repr__(self):
        return f"<Metric {self.name}>"


def _xp(a):
    return backend.get_array_module(a)


def categorical_accuracy(y_true, y_pred):
    """1.0 where the highest prediction is the true class of a one-hot target, else 0.0.

    What ``metrics=["accuracy"]`` becomes for a softmax output with one-hot labels: the
    fraction of samples classified right, the number the lecture reports, not the loss that
    is minimised.

    Args:
        y_true: one-hot targets, shape (batch, classes).
        y_pred: scores or probabilities, the same shape.

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> categorical_accuracy(np.array([[0, 1], [1, 0]]), np.array([[0.2, 0.8], [0.3, 0.7]]))
        array([1., 0.])
    """
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype("float64")


def sparse_categorical_accuracy(y_true, y_pred):
    """1.0 where the highest prediction is the integer label, else 0.0.

    What ``metrics=["accuracy"]`` becomes with integer labels (``sparse_categorical_crossentropy``).

    Args:
        y_true: class numbers, shape (batch,) or (batch, 1).
        y_pred: scores or probabilities, shape (batch, classes).

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> sparse_categorical_accuracy(np.array([1, 0]), np.array([[0.2, 0.8], [0.3, 0.7]]))
        array([1., 0.])
    """
    labels = y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true
    return (labels.astype("int64") == y_pred.argmax(axis=-1)).astype("float64")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """The fraction of outputs on the right side of ``threshold``, per sample.

    What ``metrics=["accuracy"]`` becomes for sigmoid outputs (``binary_crossentropy``).

    Args:
        y_true: 0/1 targets.
        y_pred: probabilities, the same shape.
        threshold: where a prediction turns from 0 to 1 (default 0.5).

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> binary_accuracy(np.array([[1.0, 0.0]]), np.array([[0.9, 0.6]]))
        array([0.5])
    """
    y_true = y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true
    hit = (y_true > threshold) == (y_pred > threshold)
    return hit.astype("float64").mean(axis=-1) if hit.ndim > 1 else hit.astype("float64")


def _in_top_k(y_pred, labels, k):
    """1.0 where the label's score is among the k highest (tf's in_top_k: ties at the k-th
    place count as in): fewer than k classes score strictly higher."""
    xp = _xp(y_pred)
    labels = labels.astype("int64").reshape(y_pred.shape[:-1])
    target = xp.take_along_axis(y_pred, labels[..., None], axis=-1)
    return ((y_pred > target).sum(axis=-1) < k).astype("float64")


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the true class (one-hot y_true) is among the k highest predictions.

    Args:
        y_true: one-hot targets, shape (batch, classes).
        y_pred: scores, the same shape.
        k: how many of the highest scores count (default 5).

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> top_k_categorical_accuracy(np.array([[0, 0, 1]]), np.array([[0.5, 0.3, 0.2]]), k=2)
        array([0.])
    """
    return _in_top_k(y_pred, y_true.argmax(axis=-1), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Whether the true class (integer labels, (batch,) or (batch, 1)) is among the k highest predictions.

    Args:
        y_true: class numbers.
        y_pred: scores, shape (batch, classes).
        k: how many of the highest scores count (default 5).

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> sparse_top_k_categorical_accuracy(np.array([1]), np.array([[0.5, 0.3, 0.2]]), k=2)
        array([1.])
    """
    labels = y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true
    return _in_top_k(y_pred, labels, k)


class MeanMetricWrapper(Metric):
    """A named running mean of ``fn(y_true, y_pred, **kwargs)`` (tf.keras's class of that name).

    Turns any ``fn(y_true, y_pred)`` returning one value per sample into a metric that
    ``fit`` averages over all the samples of an epoch.

    Example:
        >>> def max_error(y_true, y_pred):
        ...     return abs(y_pred - y_true).max(axis=-1)
        >>> metric = MeanMetricWrapper(max_error, name="max_error")
        >>> metric.update_state(np.array([[0.0, 1.0]]), np.array([[0.5, 1.0]]))
        >>> metric.update_state(np.array([[0.0, 1.0]]), np.array([[0.0, 2.5]]))
        >>> metric.result()
        1.0
    """

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        self.kwargs, self.wrapped = kwargs, fn
        super().__init__((lambda t, p: fn(t, p, **kwargs)) if kwargs else fn, name or fn.__name__)
        self.argmax_invariant = fn in _ARGMAX_INVARIANT

    def fresh(self):
        if type(self) is MeanMetricWrapper:  # the function is an argument only here (Keras's get_config too)
            return MeanMetricWrapper(self.wrapped, **self.get_config())
        return type(self)(**self.get_config())

    def get_config(self):
        return {"name": self.name, **self.kwargs}


class TopKCategoricalAccuracy(MeanMetricWrapper):
    """The fraction of samples whose true class is among the ``k`` highest scores (one-hot targets).

    Example:
        >>> model.compile(loss="categorical_crossentropy", optimizer="adam",
        ...               metrics=[TopKCategoricalAccuracy(k=3)])
    """

    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype, k=int(k))


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    """As ``TopKCategoricalAccuracy`` for integer labels.

    Example:
        >>> model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
        ...               metrics=["sparse_top_k_categorical_accuracy"])
    """

    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype, k=int(k))


def mean_squared_error(y_true, y_pred):
    """Mean squared error over the last axis, as a metric (``metrics=["mse"]``): one value per
    sample, or per (sample, step) of a sequence.

    Args:
        y_true: targets.
        y_pred: predictions, the same number of values.

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> mean_squared_error(np.array([[0.0, 1.0]]), np.array([[0.0, 3.0]]))
        array([2.])
    """
    d = y_pred - y_true.reshape(y_pred.shape)
    return (d * d).mean(axis=-1) if d.ndim > 1 else d * d


def mean_absolute_error(y_true, y_pred):
    """Mean absolute error per sample, as a metric (``metrics=["mae"]``): mean(|y_pred - y_true|).

    Readable in the targets' own units, so it is a common metric beside an MSE loss.

    Args:
        y_true: targets.
        y_pred: predictions, the same number of values.

    Returns:
        An array of one value per sample; ``fit`` reports its mean over the epoch.

    Example:
        >>> mean_absolute_error(np.array([[0.0, 1.0]]), np.array([[1.0, 3.0]]))
        array([1.5])
    """
    d = y_pred - y_true.reshape(y_pred.shape)
    return abs(d).mean(axis=-1) if d.ndim > 1 else abs(d)


_FUNCTIONS = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}
_ARGMAX_INVARIANT = {categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy,
                     sparse_top_k_categorical_accuracy}


def _loss_metric(name):
    """A loss named ``name`` as a metric: its per-sample values, computed without a graph.

    Keras lets every loss serve as a metric ('mape', 'hinge', 'kld', ...). The one sign
    difference is tf.keras's metric 'cosine_similarity', the positive cosine, where the
    loss of that name (and Keras 2.3's 'cosine_proximity', loss and metric) is negative.
    """
    from . import losses  # noqa: PLC0415
    from .autograd import Tensor, no_grad  # noqa: PLC0415

    loss = losses.get(name)
    sign = -1.0 if name == "cosine_similarity" else 1.0

    def fn(y_true, y_pred):
        with no_grad():
            return loss.per_sample(Tensor(y_pred), y_true).data * sign

    fn.__name__ = name
    return fn


def _is_keras_loss_function(fn):
    from .losses_keras import FUNCTIONS  # noqa: PLC0415

    try:
        return fn in FUNCTIONS
    except TypeError:  # an unhashable callable
        return False


def _loss_names():
    from . import losses  # noqa: PLC0415

    return [n for n in losses._ALIASES if n not in _FUNCTIONS and n[:1].islower()]


def _tensor_metric(fn):
    """A user's metric receives what a user's loss receives: ``fn(y_true, y_pred)`` with both
    as threestep Tensors (no graph is recorded), so one function written with
    ``threestep.keras.backend`` serves as loss and as metric. Its result may be a Tensor,
    an array or a number, per sample or already averaged."""

    def run(y_true, y_pred):
        from .autograd import Tensor, no_grad  # noqa: PLC0415

        with no_grad():
            out = fn(Tensor(y_true), Tensor(y_pred))
        out = out.data if isinstance(out, Tensor) else out
        xp = backend.get_array_module(y_pred)
        out = xp.asarray(out, dtype="float64")
        if out.ndim == 0:  # an averaged value counts once per sample
            out = xp.full((len(y_pred),), out)
        return out

    run.__name__ = getattr(fn, "__name__", "metric")
    return run


def resolve_accuracy(loss_name, output_units):
    """Keras's rule for what 'accuracy' means for this loss and output size."""
    if loss_name == "binary_crossentropy" or output_units == 1:
        return binary_accuracy
    if loss_name == "sparse_categorical_crossentropy":
        return sparse_categorical_accuracy
    return categorical_accuracy


def _from_config(spec):
    """A metric object from ``{"class_name": ..., "config": {...}}`` (threestep's classes, or one
    registered as a custom object)."""
    from .custom_objects import lookup  # noqa: PLC0415

    name, config = spec.get("class_name"), spec.get("config", {})
    cls = globals().get(name) if isinstance(name, str) else None
    if not (isinstance(cls, type) and issubclass(cls, Metric)):
        cls = lookup(name) if isinstance(name, str) else None
    if not isinstance(cls, type) or not isinstance(config, dict):
        raise ConfigError(f"metrics: {spec!r} names no metric class threestep has. For your own metric class "
                          "register it (custom_object_scope, or custom_objects={'ClassName': cls} in load_model).")
    return cls(**config)


def get(identifier, loss_name=None, output_units=None):
    """A Metric for a name ('accuracy', 'acc', 'mae', 'AUC', ...), a Metric, or a function(y_true, y_pred).

    A stateful metric object (``AUC()``, ``Precision()``, ``TopKCategoricalAccuracy()``)
    is copied without its state, so training and validation each count their own batches.
    """
    from .metrics_confusion import CLASSES  # noqa: PLC0415

    if isinstance(identifier, Metric):
        return identifier.fresh() if hasattr(identifier, "fresh") else identifier
    if isinstance(identifier, type) and issubclass(identifier, Metric):
        return identifier()
    from .metrics_classes import CLASSES as KERAS_CLASSES  # noqa: PLC0415

    classes = {**CLASSES, **KERAS_CLASSES, "TopKCategoricalAccuracy": TopKCategoricalAccuracy,
               "SparseTopKCategoricalAccuracy": SparseTopKCategoricalAccuracy, "R2Score": R2Score,
               "F1Score": F1Score, "FBetaScore": FBetaScore}
    if isinstance(identifier, str) and identifier in classes:
        return classes[identifier]()
    if isinstance(identifier, dict):  # Keras's serialized form, as a saved model keeps MeanIoU(num_classes=3)
        return _from_config(identifier)
    if identifier in ("accuracy", "acc"):
        fn = resolve_accuracy(loss_name, output_units)
        name = identifier
    elif isinstance(identifier, str):
        if identifier in _loss_names():
            fn, name = _loss_metric(identifier), identifier
        elif identifier not in _FUNCTIONS:
            from .custom_objects import lookup  # noqa: PLC0415

            custom = lookup(identifier)
            if custom is not None and callable(custom):
                return get(custom, loss_name, output_units)
            raise unknown_name("metric", identifier, list(_FUNCTIONS) + ["accuracy", "acc"] + _loss_names()
                               + list(classes))
        else:
            fn, name = _FUNCTIONS[identifier], identifier
    elif callable(identifier) and _is_keras_loss_function(identifier):  # metrics=[losses.hinge]
        fn, name = _loss_metric(identifier.__name__), identifier.__name__
    elif callable(identifier):
        fn, name = _tensor_metric(identifier), getattr(identifier, "__name__", "metric")
    else:
        raise unknown_name("metric", identifier, list(_FUNCTIONS) + ["accuracy", "acc"])
    metric = Metric(fn, name)
    metric.argmax_invariant = fn in _ARGMAX_INVARIANT
    return metric


from .metrics_confusion import AUC, ConfusionMetric, Precision, Recall  # noqa: E402,F401
from .metrics_classes import (  # noqa: E402,F401
    Accuracy, BinaryAccuracy, CategoricalAccuracy, FalseNegatives, FalsePositives, LogCoshError, Mean,
    RootMeanSquaredError, SparseCategoricalAccuracy, Sum, TrueNegatives, TruePositives, accuracy,
)
from .metrics_r2 import R2Score  # noqa: E402,F401
from .metrics_fscore import F1Score, FBetaScore  # noqa: E402,F401
from .metrics_iou import IoU, BinaryIoU, MeanIoU, OneHotIoU, OneHotMeanIoU  # noqa: E402,F401
from .metrics_at import (  # noqa: E402,F401
    PrecisionAtRecall, RecallAtPrecision, SensitivityAtSpecificity, SpecificityAtSensitivity,
)
from . import losses as _losses  # noqa: E402,F401  (first: losses_keras imports Loss from it)
from .losses_keras import (  # noqa: E402,F401  (Keras's metrics module offers the loss functions too)
    categorical_hinge, cosine_proximity, hinge, kullback_leibler_divergence, logcosh, mean_absolute_percentage_error,
    mean_squared_logarithmic_error, poisson, squared_hinge,
)

mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence
cosine = cosine_proximity

__all__ = ["Metric", "MeanMetricWrapper", "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy", "AUC",
           "ConfusionMetric", "Precision", "Recall", "categorical_accuracy", "sparse_categorical_accuracy",
           "binary_accuracy", "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "mean_squared_error",
           "mean_absolute_error", "categorical_hinge", "cosine_proximity", "hinge", "kullback_leibler_divergence",
           "logcosh", "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "poisson", "squared_hinge",
           "mse", "MSE", "mae", "MAE", "mape", "MAPE", "msle", "MSLE", "kld", "KLD", "cosine", "resolve_accuracy",
           "get", "Accuracy",
           "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy", "LogCoshError",
           "RootMeanSquaredError", "Mean", "Sum", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
           "accuracy", "R2Score", "F1Score", "FBetaScore", "IoU", "BinaryIoU", "MeanIoU", "OneHotIoU",
           "OneHotMeanIoU", "PrecisionAtRecall", "RecallAtPrecision", "SensitivityAtSpecificity",
           "SpecificityAtSensitivity"]
