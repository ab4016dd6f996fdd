"""Keras's ``R2Score``: the coefficient of determination over every sample seen so far.

R^2 = 1 - SS_res / SS_tot per output column, from running (weighted) sums of y, y^2 and
(y - y_pred)^2, so an epoch's value is the R^2 of the whole epoch, not a mean of per-batch
values. Keras's rules throughout (tf-keras 2.21 is the oracle in tests/test_metric_r2.py): 2-D
inputs only, a column whose targets never vary scores 0, ``num_regressors`` adjusts by the count
of target values seen (rows x columns), and an adjustment that would divide by zero or less is
skipped with a warning.
"""
import numpy as np

from . import backend
from .errors import ConfigError, ShapeError, warn
from .metrics import Metric

_AGGREGATIONS = (None, "uniform_average", "variance_weighted_average")


class R2Score(Metric):
    """R^2 (coefficient of determination) of a regression, over all batches seen.

    Args:
        class_aggregation: how the per-output scores combine: ``"uniform_average"`` (their mean,
            the default), ``"variance_weighted_average"`` (weighted by each output's target
            variance) or None (one score per output, an array).
        num_regressors: the number of input features p for the adjusted R^2,
            1 - (1 - R^2) (n - 1) / (n - p - 1); 0 (the default) gives the plain R^2.

    Example:
        >>> m = R2Score(); m.update_state([[1.0], [2.0], [3.0]], [[1.0], [2.0], [4.0]]); round(m.result(), 4)
        0.5
        >>> model.compile(optimizer="adam", loss="mse", metrics=[R2Score()])  # doctest: +SKIP
    """

    def __init__(self, class_aggregation="uniform_average", num_regressors=0, name="r2_score", dtype=None):
        if class_aggregation not in _AGGREGATIONS:
            raise ConfigError(f"R2Score: class_aggregation must be one of {_AGGREGATIONS}; received "
                              f"class_aggregation={class_aggregation!r}.")
        if isinstance(num_regressors, bool) or not isinstance(num_regressors, (int, np.integer)) or num_regressors < 0:
            raise ConfigError(f"R2Score: num_regressors must be an integer >= 0 (the number of input features for "
                              f"the adjusted R^2, 0 for the plain one); received num_regressors={num_regressors!r}.")
        self.class_aggregation, self.num_regressors = class_aggregation, int(num_regressors)
        super().__init__(None, name)

    def reset_state(self):
        self.sums = None  # (4, outputs): weighted sum of y, of y^2, of (y - y_pred)^2, and the weights
        self.values = 0  # target values seen (rows x outputs, unweighted): the adjusted R^2's n

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = (np.asarray(backend.to_numpy(getattr(a, "data", a)), np.float64) for a in (y_true, y_pred))
        if y_true.ndim != 2 or y_pred.ndim != 2 or y_true.shape != y_pred.shape:
            raise ShapeError(f"R2Score expects 2-D targets and predictions of one shape (batch, outputs); received "
                             f"y_true {y_true.shape} and y_pred {y_pred.shape}. For one output per sample, reshape "
                             "to (batch, 1), e.g. y.reshape(-1, 1), and give the model a Dense(1) output.")
        if self.sums is not None and self.sums.shape[1] != y_true.shape[1]:
            raise ShapeError(f"R2Score {self.name!r} was fed {self.sums.shape[1]} output(s) per sample before and now "
                             f"{y_true.shape[1]}; use one metric object per output shape.")
        w = np.ones_like(y_true) if sample_weight is None else np.asarray(
            backend.to_numpy(getattr(sample_weight, "data", sample_weight)), np.float64)
        if w.ndim == 1:
            w = w[:, None]
        w = np.broadcast_to(w, y_true.shape)
        batch = np.stack([(y_true * w).sum(0), (y_true * y_true * w).sum(0),
                          ((y_true - y_pred) ** 2 * w).sum(0), w.sum(0)])
        self.sums = batch if self.sums is None else self.sums + batch
        self.values += y_true.size

    def _scores(self):
        total_y, total_y2, residual, count = self.sums
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = total_y2 - total_y * (total_y / count)  # SS_tot
            scores = 1.0 - residual / variance
        scores[np.isinf(scores)] = 0.0  # targets that never vary (and a residual): 0, as Keras
        return scores, variance

    def result(self):
        if self.sums is None:
            return 0.0 if self.class_aggregation else np.zeros(0)
        scores, variance = self._scores()
        if self.class_aggregation == "uniform_average":
            r2 = float(scores.mean())
        elif self.class_aggregation == "variance_weighted_average":
            r2 = float((variance * scores).sum() / variance.sum())
        else:
            r2 = scores
        n, p = self.values, self.num_regressors
        if p and p >= n - 1:
            warn(f"R2Score: num_regressors={p} needs more than {p + 1} target values for the adjusted R^2; "
                 f"{n} seen, so the plain R^2 is returned.")
        elif p:
            r2 = 1.0 - (1.0 - r2) * (n - 1) / (n - p - 1)
        return r2

    def state(self):
        """The running sums as floats that add across data shards (a distributed fit sums them)."""
        sums = np.zeros((4, 0)) if self.sums is None else self.sums
        return [float(v) for v in sums.reshape(-1)] + [float(self.values)]

    def set_state(self, values):
        values = np.asarray(values, np.float64)
        self.values = int(values[-1])
        self.sums = values[:-1].reshape(4, -1) if values.size > 1 else None

    def fresh(self):
        return type(self)(self.class_aggregation, self.num_regressors, name=self.name)

    def get_config(self):
        return {"name": self.name, "class_aggregation": self.class_aggregation, "num_regressors": self.num_regressors}
