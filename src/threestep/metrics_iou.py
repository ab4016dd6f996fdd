"""Keras's intersection-over-union metrics: ``IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``,
``OneHotMeanIoU``, the segmentation scores.

Every prediction (a pixel, a sample) adds its weight to a running (classes x classes) confusion
matrix, rows the true class, columns the predicted one; a class's IoU is TP / (TP + FP + FN) =
diag / (row sum + column sum - diag), and the result is the mean over the target classes that
occurred at all (a class never seen nor predicted has no IoU and is not counted). Keras's rules
throughout (tf-keras 2.21 is the oracle in tests/test_metric_iou.py): integer labels, or one-hot
/ scores reduced by arg-max (``sparse_y_true`` / ``sparse_y_pred`` False, along ``axis``); any
shape, flattened; ``ignore_class`` leaves out the entries whose true class it is; ``BinaryIoU``
counts a prediction >= ``threshold`` as class 1.
"""
import numpy as np

from . import backend
from .errors import ConfigError, DataError, ShapeError
from .metrics import Metric


def _array(a):
    return np.asarray(backend.to_numpy(getattr(a, "data", a)))


class IoU(Metric):
    """The mean intersection-over-union of ``target_class_ids`` over all batches seen.

    Args:
        num_classes: how many classes the labels can name (the confusion matrix's size).
        target_class_ids: the classes whose IoUs are averaged (one id: that class's IoU).
        ignore_class: a label left out of the count (a "void" class such as 255), or None.
        sparse_y_true, sparse_y_pred: whether targets / predictions are integer labels (True)
            or one-hot / scores reduced by arg-max along ``axis`` (False).
        axis: the class axis of dense targets or predictions.

    Example:
        >>> m = IoU(num_classes=2, target_class_ids=[0])
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(m.result(), 4)
        0.3333
        >>> model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",  # doctest: +SKIP
        ...               metrics=[IoU(num_classes=3, target_class_ids=[1, 2], sparse_y_pred=False)])
    """

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_true=True, sparse_y_pred=True, axis=-1):
        kind = type(self).__name__
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
            raise ConfigError(f"{kind}: num_classes must be an integer >= 1 (the number of labels); received "
                              f"num_classes={num_classes!r}.")
        ids = list(target_class_ids) if isinstance(target_class_ids, (list, tuple, range, np.ndarray)) else None
        if not ids or any(isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < num_classes
                          for i in ids):
            raise ConfigError(f"{kind}: target_class_ids must be a non-empty list of class ids in [0, {num_classes}); "
                              f"received target_class_ids={target_class_ids!r}.")
        self.num_classes, self.target_class_ids = int(num_classes), [int(i) for i in ids]
        self.ignore_class = None if ignore_class is None else int(ignore_class)
        self.sparse_y_true, self.sparse_y_pred, self.axis = bool(sparse_y_true), bool(sparse_y_pred), int(axis)
        super().__init__(None, name or _snake(kind))

    def reset_state(self):
        self.matrix = np.zeros((self.num_classes, self.num_classes))

    def _labels(self, y_true, y_pred):
        """(true labels, predicted labels) as flat integer arrays."""
        y_true, y_pred = _array(y_true), _array(y_pred)
        if not self.sparse_y_true:
            y_true = y_true.argmax(axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = y_pred.argmax(axis=self.axis)
        return y_true.reshape(-1), y_pred.reshape(-1)

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true, y_pred = self._labels(y_true, y_pred)
        kind = type(self).__name__
        if y_true.size != y_pred.size:
            raise ShapeError(f"{kind} {self.name!r}: {y_true.size} true labels but {y_pred.size} predicted ones. With "
                             "one-hot targets pass sparse_y_true=False, with class scores sparse_y_pred=False "
                             "(OneHotIoU / OneHotMeanIoU take both).")
        weights = None
        if sample_weight is not None:
            weights = _array(sample_weight).astype(np.float64)
            if weights.size == 1:
                weights = np.full(y_true.size, float(weights.reshape(-1)[0]))
            elif weights.size != y_true.size:
                raise ShapeError(f"{kind} {self.name!r}: sample_weight has {weights.size} values for {y_true.size} "
                                 "labels; give one weight per label (the shape of the targets), or one per batch.")
            weights = weights.reshape(-1)
        if self.ignore_class is not None:
            keep = y_true != self.ignore_class
            y_true, y_pred = y_true[keep], y_pred[keep]
            weights = None if weights is None else weights[keep]
        true, pred = y_true.astype(np.int64), y_pred.astype(np.int64)
        for name, labels in (("true", true), ("predicted", pred)):
            if labels.size and (labels.min() < 0 or labels.max() >= self.num_classes):
                raise DataError(f"{kind} {self.name!r}: {name} labels must be in [0, {self.num_classes}) "
                                f"(num_classes={self.num_classes}); received {int(labels.min())}..{int(labels.max())}. "
                                "Raise num_classes, or leave a void label out with ignore_class=.")
        self.matrix += np.bincount(true * self.num_classes + pred, weights=weights,
                                   minlength=self.num_classes ** 2).reshape(self.num_classes, self.num_classes)

    def result(self):
        cm = self.matrix
        tp = np.diag(cm)
        denominator = (cm.sum(axis=0) + cm.sum(axis=1) - tp)[self.target_class_ids]
        tp = tp[self.target_class_ids]
        seen = denominator != 0
        if not seen.any():
            return 0.0
        return float((tp[seen] / denominator[seen]).sum() / seen.sum())

    def state(self):
        """The confusion matrix as floats that add across data shards (a distributed fit sums them)."""
        return [float(v) for v in self.matrix.reshape(-1)]

    def set_state(self, values):
        self.matrix = np.asarray(values, np.float64).reshape(self.num_classes, self.num_classes)

    def get_config(self):
        """The constructor's arguments (those a subclass sets itself left out)."""
        config = {"name": self.name, "num_classes": self.num_classes, "target_class_ids": self.target_class_ids,
                  "ignore_class": self.ignore_class, "sparse_y_true": self.sparse_y_true,
                  "sparse_y_pred": self.sparse_y_pred, "axis": self.axis}
        return {k: v for k, v in config.items() if k not in self._fixed}

    def fresh(self):
        return type(self)(**self.get_config())

    _fixed = ()  # config entries a subclass's constructor sets itself


def _snake(name):
    """Keras's default metric name: MeanIoU -> mean_io_u."""
    out = []
    for i, c in enumerate(name):
        if c.isupper() and i and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out.append("_")
        out.append(c.lower())
    return "".join(out)


class MeanIoU(IoU):
    """The mean of every class's intersection-over-union, over all batches seen.

    Example:
        >>> m = MeanIoU(num_classes=2)
        >>> m.update_state([0, 0, 1, 1], [0, 1, 0, 1]); round(m.result(), 4)
        0.3333
    """

    _fixed = ("target_class_ids",)

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(num_classes, list(range(num_classes)) if isinstance(num_classes, (int, np.integer))
                         and not isinstance(num_classes, bool) and num_classes > 0 else [], name, dtype,
                         ignore_class, sparse_y_true, sparse_y_pred, axis)


class BinaryIoU(IoU):
    """The IoU of class 0 and/or 1 for yes/no predictions: a score >= ``threshold`` is class 1.

    Example:
        >>> m = BinaryIoU(target_class_ids=[0, 1], threshold=0.3)
        >>> m.update_state([0, 1, 0, 1], [0.1, 0.2, 0.4, 0.7]); round(m.result(), 4)
        0.3333
    """

    _fixed = ("num_classes", "sparse_y_true", "sparse_y_pred", "axis", "ignore_class")

    def __init__(self, target_class_ids=(0, 1), threshold=0.5, name=None, dtype=None):
        super().__init__(2, target_class_ids, name, dtype)
        self.threshold = float(threshold)

    def _labels(self, y_true, y_pred):
        y_true, y_pred = super()._labels(y_true, y_pred)
        return y_true, (y_pred >= self.threshold).astype(np.int64)

    def get_config(self):
        return {**super().get_config(), "threshold": self.threshold}


class OneHotIoU(IoU):
    """``IoU`` for one-hot targets and class scores (both reduced by arg-max).

    Example:
        >>> m = OneHotIoU(num_classes=3, target_class_ids=[0, 2])
        >>> m.update_state([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7]]); round(m.result(), 4)
        0.25
    """

    _fixed = ("sparse_y_true",)

    def __init__(self, num_classes, target_class_ids, name=None, dtype=None, ignore_class=None,
                 sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, target_class_ids, name, dtype, ignore_class, False, sparse_y_pred, axis)


class OneHotMeanIoU(MeanIoU):
    """``MeanIoU`` for one-hot targets and class scores (both reduced by arg-max).

    Example:
        >>> m = OneHotMeanIoU(num_classes=3)
        >>> m.update_state([[0, 0, 1], [1, 0, 0]], [[0.2, 0.3, 0.5], [0.1, 0.2, 0.7]]); round(m.result(), 4)
        0.25
    """

    _fixed = ("target_class_ids", "sparse_y_true")

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_pred=False, axis=-1):
        super().__init__(num_classes, name, dtype, ignore_class, False, sparse_y_pred, axis)
