"""Streaming confusion-matrix metrics: ``Precision``, ``Recall`` and ``AUC`` (tf.keras semantics).

Unlike a mean of per-sample values, these keep counts of true/false positives and
negatives over every batch of an epoch and compute the ratio (or the area) once at the
end, so the epoch's value is the value on all its samples together. Labels count as
positive when non-zero; a prediction counts as positive at a threshold when it is
strictly greater than the threshold. Sample weights weigh the counts.

``reset_state()`` (or Keras 2's ``reset_states()``), ``update_state(y_true, y_pred,
sample_weight=None)`` and ``result()`` work as in tf.keras, and ``compile(metrics=[AUC()])``
(or ``metrics=['AUC']``) logs them as 'auc' / 'val_auc', 'precision', 'recall'.
One difference on purpose: tf.keras numbers the default name of every further instance
('auc_1', 'auc_2', ...), so history keys change from model to model; here the default
name stays 'auc' (pass ``name=`` to tell two apart).
"""
import numpy

from . import backend
from .errors import ConfigError, DataError
from .metrics import Metric

_EPS = 1e-7


def _host(a, dtype="float32"):
    return numpy.asarray(backend.to_numpy(a) if not isinstance(a, (list, tuple)) else a, dtype=dtype)


def _divide_no_nan(a, b):
    b = numpy.asarray(b, dtype="float64")
    return numpy.where(b > 0, numpy.asarray(a, "float64") / numpy.where(b > 0, b, 1), 0.0)


def _counts(labels, preds, weights, thresholds):
    """Weighted (tp, fp, tn, fn) at each threshold, for 1-D labels/preds/weights.

    Sorting the predictions once makes every threshold one binary search.
    """
    order = numpy.argsort(preds, kind="stable")
    sorted_preds = preds[order]
    pos = numpy.concatenate([[0.0], numpy.cumsum((weights * labels)[order], dtype="float64")])
    neg = numpy.concatenate([[0.0], numpy.cumsum((weights * (1 - labels))[order], dtype="float64")])
    below = numpy.searchsorted(sorted_preds, thresholds, side="right")  # preds <= threshold
    fn, tn = pos[below], neg[below]
    return pos[-1] - fn, neg[-1] - tn, tn, fn


class ConfusionMetric(Metric):
    """Base of the streaming metrics: counts per threshold (and per label for multi-label AUC).

    Unlike a mean of per-batch values, these keep true/false positive and negative counts
    over the whole epoch, so AUC, precision and recall are exact for the epoch.

    Example:
        >>> isinstance(AUC(), ConfusionMetric) and isinstance(Precision(), ConfusionMetric)
        True
    """

    default_name = None
    class_id = None  # one column of a multi-class output (Precision, Recall, the metrics_at ones)

    def __init__(self, thresholds, name=None, dtype=None):
        self.thresholds = numpy.asarray(thresholds, dtype="float32")
        self.dtype = dtype or "float32"
        self.fn = None
        self.name = name or self.default_name
        self.reset_state()

    def reset_state(self):
        self.tp = self.fp = self.tn = self.fn_ = None

    reset_states = reset_state  # Keras 2 spelling

    def _prepare(self, y_true, y_pred, sample_weight):
        """(labels, predictions, weights) as float arrays on the host, all of y_pred's shape."""
        preds = _host(y_pred)
        labels = _host(y_true)
        if labels.size == preds.size:
            labels = labels.reshape(preds.shape)
        elif labels.shape != preds.shape:
            raise DataError(f"{type(self).__name__} {self.name!r}: y_true {labels.shape} and y_pred {preds.shape} "
                            "must have the same shape (one label per prediction).")
        labels = (labels != 0).astype("float32")
        if getattr(self, "from_logits", False):
            preds = 1.0 / (1.0 + numpy.exp(-preds))
        if preds.size and (preds.min() < 0 or preds.max() > 1 or numpy.isnan(preds).any()):
            raise DataError(f"{type(self).__name__} {self.name!r}: predictions must be probabilities in [0, 1]; "
                            f"received values in [{preds.min():g}, {preds.max():g}]. Use a sigmoid/softmax output"
                            + (", or from_logits=True." if hasattr(self, "from_logits") else "."))
        weights = numpy.ones_like(preds) if sample_weight is None else _host(sample_weight)
        while weights.ndim < preds.ndim:
            weights = weights[..., None]
        return labels, preds, numpy.broadcast_to(weights, preds.shape).astype("float32")

    def _accumulate(self, counts):
        if self.tp is None:
            self.tp, self.fp, self.tn, self.fn_ = counts
        else:
            self.tp, self.fp, self.tn, self.fn_ = (a + b for a, b in zip((self.tp, self.fp, self.tn, self.fn_), counts))

    def update_state(self, y_true, y_pred, sample_weight=None):
        self._count(*self._prepare(y_true, y_pred, sample_weight))

    def _count(self, labels, preds, weights):
        """Add the counts of these entries (of the one column ``class_id`` where it is set)."""
        if self.class_id is not None:
            labels, preds, weights = labels[..., self.class_id], preds[..., self.class_id], weights[..., self.class_id]
        self._accumulate(_counts(labels.ravel(), preds.ravel(), weights.ravel(), self.thresholds))

    def _count_shape(self):
        if self.tp is not None:
            return self.tp.shape
        labels = getattr(self, "num_labels", None) if getattr(self, "multi_label", False) else None
        if getattr(self, "multi_label", False) and labels is None:
            raise ConfigError(f"{type(self).__name__} {self.name!r}: a distributed fit needs num_labels= with "
                              "multi_label=True (a rank may see no batch before the counts are summed).")
        return (len(self.thresholds),) + ((int(labels),) if labels else ())

    def state(self):
        """The four count arrays, flattened: counts add across data shards (a distributed fit sums them)."""
        shape = self._count_shape()
        if self.tp is None:
            return [0.0] * (4 * int(numpy.prod(shape)))
        return numpy.concatenate([numpy.ravel(c) for c in (self.tp, self.fp, self.tn, self.fn_)]).tolist()

    def set_state(self, values):
        shape = self._count_shape()
        counts = numpy.asarray(values, dtype="float64").reshape((4,) + tuple(shape))
        self.tp, self.fp, self.tn, self.fn_ = counts

    def __call__(self, y_true, y_pred, sample_weight=None):
        """Update with one batch and return the running result (as a tf.keras metric does)."""
        self.update_state(y_true, y_pred, sample_weight)
        return self.result()

    def fresh(self):
        """A new metric with this one's configuration and no counts (fit's train and val copies)."""
        return type(self)(**self.get_config())

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}(name={self.name!r})"


class _PrecisionRecall(ConfusionMetric):
    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        self.init_thresholds = thresholds
        self.top_k, self.class_id = top_k, class_id
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ConfigError(f"{type(self).__name__}: top_k must be a positive integer. Received: top_k={top_k!r}.")
        values = [0.5] if thresholds is None else list(numpy.atleast_1d(thresholds))
        if any(not 0 <= t <= 1 for t in values):
            raise ConfigError(f"{type(self).__name__}: thresholds must be in [0, 1]. "
                              f"Received: thresholds={thresholds!r}.")
        # with top_k and no thresholds, tf.keras counts every top-k prediction as positive
        super().__init__([-_EPS] if thresholds is None and top_k is not None else values, name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, preds, weights = self._prepare(y_true, y_pred, sample_weight)
        if self.top_k is not None:
            # exactly k kept per sample; among ties the lower index wins (tf.math.top_k)
            top = numpy.argsort(-preds, axis=-1, kind="stable")[..., :self.top_k]
            keep = numpy.zeros(preds.shape, bool)
            numpy.put_along_axis(keep, top, True, axis=-1)
            preds = numpy.where(keep, preds, -numpy.inf)
        self._count(labels, preds, weights)

    def _value(self):
        raise NotImplementedError

    def result(self):
        if self.tp is None:
            values = numpy.zeros(len(self.thresholds))
        else:
            values = self._value()
        return float(values[0]) if len(values) == 1 else [float(v) for v in values]

    def get_config(self):
        thresholds = self.init_thresholds
        if thresholds is not None and not isinstance(thresholds, (int, float)):
            thresholds = [float(t) for t in thresholds]
        return {"name": self.name, "dtype": self.dtype, "thresholds": thresholds, "top_k": self.top_k,
                "class_id": self.class_id}


class Precision(_PrecisionRecall):
    """Of the samples predicted positive, the fraction that are positive: tp / (tp + fp).

    Args:
        thresholds: a prediction is positive when > threshold (default 0.5); a list gives
            one precision per threshold.
        top_k: only the k highest predictions of each sample can be positive.
        class_id: compute it for this one class (column) of a multi-class output.
        name: the key in fit's logs (default 'precision').

    Example:
        >>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=[Precision(), Recall()])
    """

    default_name = "precision"

    def _value(self):
        return _divide_no_nan(self.tp, self.tp + self.fp)


class Recall(_PrecisionRecall):
    """Of the positive samples, the fraction predicted positive: tp / (tp + fn).

    Args: as ``Precision`` (default name 'recall').

    Example:
        >>> m = Recall(); m.update_state([0, 1, 1, 1], [1, 0, 1, 1]); m.result()  # 2/3
    """

    default_name = "recall"

    def _value(self):
        return _divide_no_nan(self.tp, self.tp + self.fn_)


class AUC(ConfusionMetric):
    """Area under the ROC (or precision-recall) curve, from counts at ``num_thresholds`` thresholds.

    The thresholds are 0 - 1e-7, i/(n-1) for i = 1..n-2, and 1 + 1e-7 (tf.keras), or the
    given ``thresholds`` plus those two ends. The area is a Riemann sum over them:
    'interpolation' averages neighbouring heights (for the PR curve, Davis & Goadrich's
    interpolation of precision), 'minoring' / 'majoring' take the lower / upper one.

    Args:
        num_thresholds: how many thresholds (default 200; more is closer to the exact area).
        curve: 'ROC' (default) or 'PR'.
        summation_method: 'interpolation' (default), 'minoring' or 'majoring'.
        thresholds: explicit thresholds in [0, 1] instead of evenly spaced ones.
        multi_label: each column of y_pred is its own label: one AUC per label, averaged
            (weighted by ``label_weights``); otherwise all entries are pooled.
        from_logits: predictions are logits (a sigmoid is applied first).
        name: the key in fit's logs (default 'auc').

    Example:
        >>> model.compile(loss="binary_crossentropy", optimizer="adam", metrics=[AUC()])
        >>> model.fit(x, y, validation_split=0.2)  # logs 'auc' and 'val_auc'
    """

    default_name = "auc"

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        curve, method = str(curve).upper(), str(summation_method).lower()
        if curve not in ("ROC", "PR"):
            raise ConfigError(f"AUC: curve must be 'ROC' or 'PR'. Received: curve={curve!r}.")
        if method not in ("interpolation", "minoring", "majoring"):
            raise ConfigError("AUC: summation_method must be 'interpolation', 'minoring' or 'majoring'. "
                              f"Received: summation_method={summation_method!r}.")
        if thresholds is not None:
            inner = sorted(float(t) for t in thresholds)
            num_thresholds = len(inner) + 2
        else:
            if not isinstance(num_thresholds, int) or num_thresholds <= 1:
                raise ConfigError(f"AUC: num_thresholds must be an integer > 1. Received: {num_thresholds!r}.")
            inner = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
        self.num_thresholds, self.curve, self.summation_method = num_thresholds, curve, method
        self.multi_label, self.num_labels, self.from_logits = bool(multi_label), num_labels, bool(from_logits)
        self.label_weights = None if label_weights is None else numpy.asarray(label_weights, "float64")
        self.init_thresholds = None if thresholds is None else inner
        super().__init__([0.0 - _EPS] + inner + [1.0 + _EPS], name, dtype)

    def update_state(self, y_true, y_pred, sample_weight=None):
        if not self.multi_label:
            return super().update_state(y_true, y_pred, sample_weight)
        labels, preds, weights = self._prepare(y_true, y_pred, sample_weight)
        n = preds.shape[-1]
        labels, preds, weights = (a.reshape(-1, n) for a in (labels, preds, weights))
        per_label = [_counts(labels[:, j], preds[:, j], weights[:, j], self.thresholds) for j in range(n)]
        self._accumulate(tuple(numpy.stack([c[k] for c in per_label], axis=1) for k in range(4)))
        return None

    def _area(self, tp, fp, tn, fn):
        if self.curve == "PR" and self.summation_method == "interpolation":
            return _interpolated_pr_auc(tp, fp, fn)
        recall = _divide_no_nan(tp, tp + fn)
        if self.curve == "ROC":
            x, y = _divide_no_nan(fp, fp + tn), recall
        else:
            x, y = recall, _divide_no_nan(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:-1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = numpy.minimum(y[:-1], y[1:])
        else:
            heights = numpy.maximum(y[:-1], y[1:])
        return ((x[:-1] - x[1:]) * heights).sum(axis=0)

    def result(self):
        if self.tp is None:
            return 0.0
        area = self._area(self.tp, self.fp, self.tn, self.fn_)
        if not self.multi_label:
            return float(area)
        if self.label_weights is None:
            return float(numpy.mean(area))
        return float(_divide_no_nan((area * self.label_weights).sum(), self.label_weights.sum()))

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "num_thresholds": self.num_thresholds, "curve": self.curve,
                "summation_method": self.summation_method, "multi_label": self.multi_label,
                "num_labels": self.num_labels,
                "label_weights": None if self.label_weights is None else self.label_weights.tolist(),
                "from_logits": self.from_logits, "thresholds": self.init_thresholds}


def _interpolated_pr_auc(tp, fp, fn):
    """Davis & Goadrich (2006): precision interpolated between thresholds as tp changes linearly."""
    dtp = tp[:-1] - tp[1:]
    p = tp + fp
    dp = p[:-1] - p[1:]
    slope = _divide_no_nan(dtp, numpy.maximum(dp, 0))
    intercept = tp[1:] - slope * p[1:]
    both = (p[:-1] > 0) & (p[1:] > 0)
    ratio = numpy.where(both, _divide_no_nan(p[:-1], numpy.maximum(p[1:], 0)), 1.0)
    increment = _divide_no_nan(slope * (dtp + intercept * numpy.log(numpy.where(ratio > 0, ratio, 1.0))),
                               numpy.maximum(tp[1:] + fn[1:], 0))
    return increment.sum(axis=0)


CLASSES = {"AUC": AUC, "Precision": Precision, "Recall": Recall}
