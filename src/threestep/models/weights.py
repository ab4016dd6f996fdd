"""class_weight: turn per-class weights into per-sample weights."""
import numpy

from .. import backend
from ..errors import ConfigError


def _labels(y):
    y = backend.to_numpy(y)
    if y.ndim > 1 and y.shape[-1] > 1:
        return y.argmax(-1)
    return y.reshape(len(y), -1)[:, 0].astype(numpy.int64)


def class_weights_to_sample_weights(class_weight, y, n_classes):
    """A weight per sample from ``{class: weight}`` or ``"balanced"`` (n / (k * count))."""
    labels = _labels(y)
    if class_weight == "balanced":
        classes, counts = numpy.unique(labels, return_counts=True)
        class_weight = {int(c): len(labels) / (len(classes) * k) for c, k in zip(classes, counts)}
    if not isinstance(class_weight, dict):
        raise ConfigError(f"fit: class_weight must be a dict {{class: weight}} or 'balanced'. Received {class_weight!r}.")
    missing = sorted(set(numpy.unique(labels).tolist()) - set(int(k) for k in class_weight))
    if missing:
        raise ConfigError(f"fit: class_weight has no weight for class(es) {missing}. Give every class a weight.")
    lookup = numpy.zeros(max(int(max(class_weight)), int(labels.max())) + 1)
    for k, w in class_weight.items():
        lookup[int(k)] = w
    return backend.asarray(lookup[labels].astype(backend.floatx()))
