"""Keras's ``FBetaScore`` and ``F1Score`` (tf-keras 2.13+): F-scores over every batch seen.

Running (weighted) counts of true positives, false positives and false negatives per class give
precision and recall of the whole epoch, and F_beta = (1 + beta^2) P R / (beta^2 P + R) from
them, so an epoch's value is not a mean of per-batch scores. Keras's rules throughout (tf-keras
2.21 is the oracle in tests/test_metric_fscore.py): 2-D one-hot (or multi-label) targets; a
prediction counts as positive where it is the row's maximum (and not ~0), or above
``threshold`` when one is given; a score whose denominator is 0 is 0; ``average`` None gives one
score per class, "micro" one score from the counts summed over classes, "macro" the mean of the
per-class scores, "weighted" their mean weighted by each class's (weighted) count of positives.
"""
import numpy as np

from . import backend
from .errors import ConfigError, ShapeError
from .metrics import Metric

_AVERAGES = (None, "micro", "macro", "weighted")


def _array(a):
    return np.asarray(backend.to_numpy(getattr(a, "data", a)), np.float64)


def _ratio(a, b):
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b == 0, 0.0, a / np.where(b == 0, 1.0, b))


class FBetaScore(Metric):
    """The F_beta score of a classifier, per class or averaged, over all batches seen.

    Args:
        average: None (one score per class, an array), ``"micro"``, ``"macro"`` or ``"weighted"``.
        beta: recall counts beta times as much as precision (a float > 0; 1.0 is F1).
        threshold: a prediction above it counts as positive (a float in (0, 1]); None counts the
            row's largest value (one class per sample).

    Targets are one-hot or multi-label, shaped like the predictions (batch, classes): with
    integer labels, pass ``keras.utils.to_categorical(y)`` and train with
    ``categorical_crossentropy``.

    Example:
        >>> m = FBetaScore(beta=2.0, average="macro")
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.6, 0.4]]); round(m.result(), 4)
        0.4167
        >>> model.compile(optimizer="adam", loss="categorical_crossentropy",  # doctest: +SKIP
        ...               metrics=[FBetaScore(beta=0.5, average="macro")])
    """

    def __init__(self, average=None, beta=1.0, threshold=None, name="fbeta_score", dtype=None):
        if average not in _AVERAGES:
            raise ConfigError(f"{type(self).__name__}: average must be one of {_AVERAGES}; received "
                              f"average={average!r}.")
        if isinstance(beta, bool) or not isinstance(beta, (int, float, np.floating)) or not beta > 0:
            raise ConfigError(f"{type(self).__name__}: beta must be a number > 0 (1.0 for F1, 2.0 to weigh recall "
                              f"twice as much as precision); received beta={beta!r}.")
        if threshold is not None and (isinstance(threshold, bool) or not isinstance(
                threshold, (int, float, np.floating)) or not 0 < threshold <= 1):
            raise ConfigError(f"{type(self).__name__}: threshold must be None (the row's largest prediction "
                              f"counts) or a number in (0, 1]; received threshold={threshold!r}.")
        self.average, self.beta = average, float(beta)
        self.threshold = None if threshold is None else float(threshold)
        super().__init__(None, name)

    def reset_state(self):
        self.counts = None  # (4, classes): weighted true positives, false positives, false negatives, positives

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = _array(y_true), _array(y_pred)
        if y_true.ndim != 2 or y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ShapeError(f"{type(self).__name__} expects 2-D one-hot targets and predictions of one shape "
                             f"(batch, classes); received y_true {y_true.shape} and y_pred {y_pred.shape}. "
                             "With integer labels, pass keras.utils.to_categorical(y) as the targets and use "
                             "loss='categorical_crossentropy'.")
        if self.counts is not None and self.counts.shape[1] != y_true.shape[1]:
            raise ShapeError(f"{type(self).__name__} {self.name!r} was fed {self.counts.shape[1]} classes before and "
                             f"now {y_true.shape[1]}; use one metric object per output.")
        if self.threshold is None:
            positive = (y_pred >= y_pred.max(axis=-1, keepdims=True)) & (np.abs(y_pred) > 1e-9)
        else:
            positive = y_pred > self.threshold
        y_hat = positive.astype(np.float64)
        parts = np.stack([y_hat * y_true, y_hat * (1 - y_true), (1 - y_hat) * y_true, y_true])
        if sample_weight is not None:
            w = _array(sample_weight).reshape(-1)
            if w.size != len(y_true):
                raise ShapeError(f"{type(self).__name__}: sample_weight needs one weight per sample ({len(y_true)}); "
                                 f"received shape {w.shape}.")
            parts = parts * w[None, :, None]
        batch = parts.sum(axis=1)
        self.counts = batch if self.counts is None else self.counts + batch

    def result(self):
        if self.counts is None:
            return 0.0 if self.average else np.zeros(0)
        tp, fp, fn, positives = self.counts
        if self.average == "micro":
            tp, fp, fn = tp.sum(), fp.sum(), fn.sum()
        precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
        b2 = self.beta * self.beta
        score = _ratio(precision * recall, b2 * precision + recall) * (1 + b2)
        if self.average == "weighted":
            return float((score * _ratio(positives, positives.sum())).sum())
        if self.average is not None:
            return float(np.mean(score))
        return score

    def state(self):
        """The running counts as floats that add across data shards (a distributed fit sums them)."""
        counts = np.zeros((4, 0)) if self.counts is None else self.counts
        return [float(v) for v in counts.reshape(-1)]

    def set_state(self, values):
        values = np.asarray(values, np.float64)
        self.counts = values.reshape(4, -1) if values.size else None

    def fresh(self):
        return type(self)(**self._arguments())

    def _arguments(self):
        return {"average": self.average, "beta": self.beta, "threshold": self.threshold, "name": self.name}

    def get_config(self):
        return self._arguments()


class F1Score(FBetaScore):
    """The F1 score (harmonic mean of precision and recall), per class or averaged, over all
    batches seen: ``FBetaScore`` with beta = 1.

    Example:
        >>> m = F1Score(average="macro")
        >>> m.update_state([[1, 0], [0, 1]], [[0.9, 0.1], [0.6, 0.4]]); round(m.result(), 4)
        0.3333
        >>> model.compile(optimizer="adam", loss="categorical_crossentropy",  # doctest: +SKIP
        ...               metrics=[F1Score(average="macro")])
    """

    def __init__(self, average=None, threshold=None, name="f1_score", dtype=None):
        super().__init__(average, 1.0, threshold, name, dtype)

    def _arguments(self):
        return {"average": self.average, "threshold": self.threshold, "name": self.name}
