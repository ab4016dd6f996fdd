"""Keras's operating-point metrics: ``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``,
``PrecisionAtRecall`` and ``RecallAtPrecision``.

Each keeps true/false positive and negative counts at ``num_thresholds`` thresholds over every
batch of an epoch, as ``AUC`` does (``metrics_confusion``: a label is positive when non-zero, a
prediction when strictly above the threshold), and its result reads one point off the curve: the
best value of one rate among the thresholds where the other rate reaches the asked-for value
(0 where no threshold does). The thresholds are 0, i / (n - 1) for i = 1 .. n - 2, and 1 (no
epsilon at the ends, unlike ``AUC``), or 0.5 alone for ``num_thresholds=1``; ``class_id`` takes one
column of a multi-class output. tf-keras 2.21 is the oracle in tests/test_metric_at.py.
"""
import numpy

from .errors import ConfigError
from .metrics_confusion import ConfusionMetric, _divide_no_nan


class _AtOperatingPoint(ConfusionMetric):
    value_name = None  # the constructor's argument: "specificity", "sensitivity", "recall", "precision"

    def __init__(self, value, num_thresholds=200, class_id=None, name=None, dtype=None):
        kind = type(self).__name__
        if isinstance(value, bool) or not isinstance(value, (int, float, numpy.floating)) or not 0 <= value <= 1:
            raise ConfigError(f"{kind}: {self.value_name} must be a number in [0, 1]. "
                              f"Received: {self.value_name}={value!r}.")
        if isinstance(num_thresholds, bool) or not isinstance(num_thresholds, int) or num_thresholds < 1:
            raise ConfigError(f"{kind}: num_thresholds must be an integer > 0. "
                              f"Received: num_thresholds={num_thresholds!r}.")
        if class_id is not None and (isinstance(class_id, bool) or not isinstance(class_id, int) or class_id < 0):
            raise ConfigError(f"{kind}: class_id must be a column index >= 0 or None. Received: class_id={class_id!r}.")
        self.value, self.num_thresholds, self.class_id = float(value), num_thresholds, class_id
        if num_thresholds == 1:
            thresholds = [0.5]
        else:
            thresholds = [0.0] + [(i + 1) / (num_thresholds - 1) for i in range(num_thresholds - 2)] + [1.0]
        super().__init__(thresholds, name, dtype)

    def _rates(self):
        """(the constrained rate, the rate to maximise) at every threshold."""
        raise NotImplementedError

    def result(self):
        if self.tp is None:
            return 0.0
        constrained, dependent = self._rates()
        feasible = constrained >= self.value
        return float(dependent[feasible].max()) if feasible.any() else 0.0

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, self.value_name: self.value,
                "num_thresholds": self.num_thresholds, "class_id": self.class_id}

    def _recall(self):
        return _divide_no_nan(self.tp, self.tp + self.fn_)

    def _specificity(self):
        return _divide_no_nan(self.tn, self.tn + self.fp)

    def _precision(self):
        return _divide_no_nan(self.tp, self.tp + self.fp)


class SensitivityAtSpecificity(_AtOperatingPoint):
    """The best sensitivity (recall, tp / (tp + fn)) at a threshold whose specificity
    (tn / (tn + fp)) is at least ``specificity``.

    Args:
        specificity: the least specificity asked for, in [0, 1].
        num_thresholds: how many thresholds to count at (default 200).
        class_id: compute it for this one column of a multi-class output.
        name: the key in fit's logs (default 'sensitivity_at_specificity').

    Example:
        >>> m = SensitivityAtSpecificity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); m.result()
        0.5
    """

    default_name, value_name = "sensitivity_at_specificity", "specificity"

    def __init__(self, specificity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(specificity, num_thresholds, class_id, name, dtype)

    def _rates(self):
        return self._specificity(), self._recall()


class SpecificityAtSensitivity(_AtOperatingPoint):
    """The best specificity (tn / (tn + fp)) at a threshold whose sensitivity (tp / (tp + fn))
    is at least ``sensitivity``.

    Args:
        sensitivity: the least sensitivity asked for, in [0, 1].
        num_thresholds, class_id: as ``SensitivityAtSpecificity``.
        name: default 'specificity_at_sensitivity'.

    Example:
        >>> m = SpecificityAtSensitivity(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); round(m.result(), 4)
        0.6667
    """

    default_name, value_name = "specificity_at_sensitivity", "sensitivity"

    def __init__(self, sensitivity, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(sensitivity, num_thresholds, class_id, name, dtype)

    def _rates(self):
        return self._recall(), self._specificity()


class PrecisionAtRecall(_AtOperatingPoint):
    """The best precision (tp / (tp + fp)) at a threshold whose recall (tp / (tp + fn)) is at
    least ``recall``.

    Args:
        recall: the least recall asked for, in [0, 1].
        num_thresholds, class_id: as ``SensitivityAtSpecificity``.
        name: default 'precision_at_recall'.

    Example:
        >>> m = PrecisionAtRecall(0.5)
        >>> m.update_state([0, 0, 0, 1, 1], [0, 0.3, 0.8, 0.3, 0.8]); m.result()
        0.5
        >>> model.compile(loss="binary_crossentropy", optimizer="adam",  # doctest: +SKIP
        ...               metrics=[PrecisionAtRecall(0.8)])
    """

    default_name, value_name = "precision_at_recall", "recall"

    def __init__(self, recall, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(recall, num_thresholds, class_id, name, dtype)

    def _rates(self):
        return self._recall(), self._precision()


class RecallAtPrecision(_AtOperatingPoint):
    """The best recall (tp / (tp + fn)) at a threshold whose precision (tp / (tp + fp)) is at
    least ``precision``.

    Args:
        precision: the least precision asked for, in [0, 1].
        num_thresholds, class_id: as ``SensitivityAtSpecificity``.
        name: default 'recall_at_precision'.

    Example:
        >>> m = RecallAtPrecision(0.8)
        >>> m.update_state([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9]); m.result()
        1.0
    """

    default_name, value_name = "recall_at_precision", "precision"

    def __init__(self, precision, num_thresholds=200, class_id=None, name=None, dtype=None):
        super().__init__(precision, num_thresholds, class_id, name, dtype)

    def _rates(self):
        return self._precision(), self._recall()
