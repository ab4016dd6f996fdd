"""Keras 2's metric classes: accuracies, RMSE, log-cosh, plain means and sums, confusion counts.

tf.keras code writes ``metrics=[keras.metrics.SparseCategoricalAccuracy()]`` as often as
``metrics=["accuracy"]``. The accuracies and ``LogCoshError`` are running means of a
per-sample function (``MeanMetricWrapper``), so ``fit`` reports the same numbers as the
string names; ``RootMeanSquaredError`` is the root of the running mean squared error (not a
mean of per-batch roots); the four counts keep their totals over the epoch, per threshold.
``Mean`` and ``Sum`` take plain values, for a training loop written by hand.
"""
import math

import numpy as np

from . import backend
from .metrics import (
    Metric, MeanMetricWrapper, _loss_metric, _xp, binary_accuracy, categorical_accuracy, sparse_categorical_accuracy,
)
from .metrics_confusion import ConfusionMetric, _PrecisionRecall


def accuracy(y_true, y_pred):
    """1.0 where a prediction equals its target exactly, per element (Keras's ``accuracy``):
    for class labels already decoded, not probabilities.

    Example:
        >>> accuracy(np.array([[1], [2]]), np.array([[1], [0]]))
        array([[1.],
               [0.]])
    """
    return (_aligned(y_true, y_pred) == y_pred).astype("float64")


def _aligned(y_true, y_pred):
    """y_true in y_pred's shape where it holds as many values, or with y_pred's last axis added
    for broadcasting (Keras expands (batch,) targets to (batch, 1))."""
    if y_true.size == y_pred.size:
        return y_true.reshape(y_pred.shape)
    return y_true[..., None] if y_true.ndim == y_pred.ndim - 1 else y_true


def _squared_error(y_true, y_pred):
    y_true = _aligned(y_true, y_pred)
    diff = y_pred.astype("float64") - y_true
    return diff * diff


class Accuracy(MeanMetricWrapper):
    """How often predictions equal their targets exactly (decoded labels, not probabilities).

    Example:
        >>> m = Accuracy(); m.update_state([[1], [2], [3]], [[1], [2], [0]]); m.result()
        0.6666666666666666
    """

    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype)


class BinaryAccuracy(MeanMetricWrapper):
    """How often a probability lands on its 0/1 target's side of ``threshold`` (default 0.5).

    Example:
        >>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=[BinaryAccuracy()])
    """

    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype, threshold=float(threshold))


class CategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the one-hot target's class.

    Example:
        >>> model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=[CategoricalAccuracy()])
    """

    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    """How often the highest score is the integer label's class.

    Example:
        >>> model.compile(loss="sparse_categorical_crossentropy", optimizer="adam",
        ...               metrics=[SparseCategoricalAccuracy()])
    """

    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype)


class LogCoshError(MeanMetricWrapper):
    """The mean of log(cosh(prediction - target)): like MSE for small errors, like MAE for large.

    Example:
        >>> model.compile(loss="mse", optimizer="adam", metrics=[LogCoshError()])
    """

    def __init__(self, name="logcosh", dtype=None):
        per_sample = _loss_metric("logcosh")

        def on_device(y_true, y_pred):  # the loss runs where the weights are (host arrays moved there)
            return per_sample(backend.asarray(y_true), backend.asarray(y_pred))

        on_device.__name__ = "logcosh"
        super().__init__(on_device, name, dtype)

    def fresh(self):
        return type(self)(name=self.name)


class RootMeanSquaredError(Metric):
    """The root of the mean squared error over every sample seen so far (the root of the epoch's
    MSE, not the mean of per-batch roots).

    Example:
        >>> m = RootMeanSquaredError(); m.update_state([[0.0], [0.0]], [[3.0], [4.0]]); m.result()
        3.5355339059327378
    """

    def __init__(self, name="root_mean_squared_error", dtype=None):
        super().__init__(_squared_error, name)

    def result(self):
        return math.sqrt(super().result())

    def fresh(self):
        return type(self)(name=self.name)


class Mean(Metric):
    """The (weighted) mean of every value given to ``update_state(values, sample_weight=None)``:
    a running average in a training loop written by hand.

    Example:
        >>> m = Mean(); m.update_state([1.0, 3.0]); m.update_state([5.0]); m.result()
        3.0
    """

    def __init__(self, name="mean", dtype=None):
        super().__init__(None, name)

    def update_state(self, values, sample_weight=None):
        values = _as_array(values)
        weights = _xp(values).ones_like(values) if sample_weight is None else \
            _xp(values).broadcast_to(_as_array(sample_weight), values.shape)
        self.total += float((values * weights).sum())
        self.count += float(weights.sum())

    def __call__(self, values, sample_weight=None):
        self.update_state(values, sample_weight)
        return self.result()

    def fresh(self):
        return type(self)(name=self.name)


class Sum(Mean):
    """The (weighted) sum of every value given to ``update_state(values, sample_weight=None)``.

    Example:
        >>> m = Sum(); m.update_state([1.0, 3.0]); m.result()
        4.0
    """

    def __init__(self, name="sum", dtype=None):
        super().__init__(name, dtype)

    def result(self):
        return float(self.total)


def _as_array(values):
    data = getattr(values, "data", values)
    xp = backend.get_array_module(data) if not isinstance(data, (list, tuple, float, int)) else np
    return xp.asarray(data, dtype="float64")


class _Count(_PrecisionRecall):
    """One cell of the confusion matrix (``cell``: tp, fp, tn or fn_), summed over the epoch, at
    each threshold (a prediction is positive when > threshold; default 0.5)."""

    cell = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(thresholds, None, None, name, dtype)

    def _value(self):
        return np.asarray(getattr(self, self.cell), "float64")

    def get_config(self):
        config = super().get_config()
        return {k: config[k] for k in ("name", "dtype", "thresholds")}


class TruePositives(_Count):
    """Positives predicted positive.

    Example:
        >>> m = TruePositives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        2.0
    """

    default_name, cell = "true_positives", "tp"


class FalsePositives(_Count):
    """Negatives predicted positive.

    Example:
        >>> m = FalsePositives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        1.0
    """

    default_name, cell = "false_positives", "fp"


class TrueNegatives(_Count):
    """Negatives predicted negative.

    Example:
        >>> m = TrueNegatives(); m.update_state([0, 0, 1], [0.2, 0.9, 0.7]); m.result()
        1.0
    """

    default_name, cell = "true_negatives", "tn"


class FalseNegatives(_Count):
    """Positives predicted negative.

    Example:
        >>> m = FalseNegatives(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()
        1.0
    """

    default_name, cell = "false_negatives", "fn_"


CLASSES = {cls.__name__: cls for cls in (
    Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy, LogCoshError, RootMeanSquaredError,
    TruePositives, FalsePositives, TrueNegatives, FalseNegatives)}
