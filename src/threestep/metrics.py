"""Metrics: numbers reported during training that are not optimised (accuracy, MAE, ...).

Built-in metrics work on raw arrays (no graph). A user's metric function receives the same
values as a user's loss function: ``(y_true, y_pred)`` as threestep Tensors (see
``_tensor_metric``), so one function can be passed as ``loss=`` and in ``metrics=``. Each keeps a weighted running mean over the
batches of an epoch, which is what the progress bar and History show.
``'accuracy'`` is resolved the way Keras resolves it: binary accuracy for one output unit
or binary cross-entropy, sparse categorical accuracy for sparse labels, else categorical.
"""
from . import backend
from .errors import unknown_name


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
        values = self.fn(y_true, y_pred)
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

    def __repr__(self):
        return f"<Metric {self.name}>"


def _xp(a):
    return backend.get_array_module(a)


def categorical_accuracy(y_true, y_pred):
    return (y_true.argmax(axis=-1) == y_pred.argmax(axis=-1)).astype("float64")


def sparse_categorical_accuracy(y_true, y_pred):
    labels = y_true[..., 0] if y_true.ndim == y_pred.ndim else y_true
    return (labels.astype("int64") == y_pred.argmax(axis=-1)).astype("float64")


def binary_accuracy(y_true, y_pred, threshold=0.5):
    y_true = y_true.reshape(y_pred.shape) if y_true.size == y_pred.size else y_true
    hit = (y_true > threshold) == (y_pred > threshold)
    return hit.astype("float64").mean(axis=-1) if hit.ndim > 1 else hit.astype("float64")


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    xp = _xp(y_pred)
    top = xp.argsort(-y_pred, axis=-1)[..., :k]
    return (top == y_true.argmax(axis=-1)[..., None]).any(axis=-1).astype("float64")


def mean_squared_error(y_true, y_pred):
    """Mean over the last axis (one value per sample, or per (sample, step) of a sequence)."""
    d = y_pred - y_true.reshape(y_pred.shape)
    return (d * d).mean(axis=-1) if d.ndim > 1 else d * d


def mean_absolute_error(y_true, y_pred):
    d = y_pred - y_true.reshape(y_pred.shape)
    return abs(d).mean(axis=-1) if d.ndim > 1 else abs(d)


_FUNCTIONS = {
    "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "binary_accuracy": binary_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "mse": mean_squared_error, "mean_squared_error": mean_squared_error,
    "mae": mean_absolute_error, "mean_absolute_error": mean_absolute_error,
}
_ARGMAX_INVARIANT = {categorical_accuracy, sparse_categorical_accuracy, top_k_categorical_accuracy}


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


def get(identifier, loss_name=None, output_units=None):
    """A Metric for a name ('accuracy', 'acc', 'mae', ...) or a function(y_true, y_pred)."""
    if isinstance(identifier, Metric):
        return identifier
    if identifier in ("accuracy", "acc"):
        fn = resolve_accuracy(loss_name, output_units)
        name = identifier
    elif isinstance(identifier, str):
        if identifier not in _FUNCTIONS:
            raise unknown_name("metric", identifier, list(_FUNCTIONS) + ["accuracy", "acc"])
        fn, name = _FUNCTIONS[identifier], identifier
    elif callable(identifier):
        fn, name = _tensor_metric(identifier), getattr(identifier, "__name__", "metric")
    else:
        raise unknown_name("metric", identifier, list(_FUNCTIONS) + ["accuracy", "acc"])
    metric = Metric(fn, name)
    metric.argmax_invariant = fn in _ARGMAX_INVARIANT
    return metric
