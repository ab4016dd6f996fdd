"""``Layer``: the building block of a network's function set.

Lifecycle (as in Keras): ``__init__`` validates and stores configuration only;
``build(input_shape)`` creates the weights with ``add_weight``; ``call(x, training=None)``
computes; ``compute_output_shape`` answers shapes without data; ``get_config`` returns
exactly the ``__init__`` arguments so ``from_config(config)`` is ``cls(**config)``.
"""
import re

import numpy

from .. import backend
from ..autograd import Tensor
from ..errors import ConfigError, NotBuiltError, ShapeError, warn
from . import allocation, arguments, initializers

_name_counters = {}
LAYER_CLASSES = {}  # every Layer subclass by class name, for loading saved models


def _snake_case(name):
    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


def unique_name(prefix):
    """Keras 2 style names: dense_1, dense_2, ... per process."""
    _name_counters[prefix] = _name_counters.get(prefix, 0) + 1
    return f"{prefix}_{_name_counters[prefix]}"


def reset_names():
    _name_counters.clear()


def deprecated_arg(kwargs, old, new, layer):
    """Move a Keras-1 argument to its modern name, with a DeprecationWarning naming both."""
    if old not in kwargs:
        return None
    warn(
        f"{layer}: the argument {old!r} is Keras 1 spelling; use {new!r} instead.",
        DeprecationWarning,
    )
    return kwargs.pop(old)


class Layer:
    """Base class of all layers.

    Args:
        name: a unique name (default: class name in snake case plus a counter).
        trainable: whether the weights are updated by ``fit``.
        input_shape: shape of one sample (no batch axis), for the first layer of a model.
        batch_input_shape: the same with the batch axis (``(None, 784)``).
        input_dim: shorthand for ``input_shape=(input_dim,)``.
        dtype: weight dtype (default: ``backend.floatx()``).
    """

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        LAYER_CLASSES[cls.__name__] = cls

    _ALLOWED_KWARGS = {"name", "trainable", "input_shape", "batch_input_shape", "input_dim", "dtype",
                       "batch_size", "weights"}

    def __init__(self, **kwargs):
        unknown = set(kwargs) - self._ALLOWED_KWARGS
        if unknown:
            arguments.reject_unknown(type(self), unknown, self._ALLOWED_KWARGS)
        self.name = kwargs.get("name") or unique_name(_snake_case(type(self).__name__))
        self.trainable = kwargs.get("trainable", True)
        self.dtype = arguments.check_dtype(type(self).__name__, kwargs.get("dtype")) or backend.floatx()
        self.built = False
        self._weights = []  # (Tensor, trainable) in creation order
        self.losses = []  # penalties of the latest call (activity regularization)
        self._initial_weights = kwargs.get("weights")
        self.input_shape = None
        self.output_shape = None
        self.batch_input_shape = arguments.batch_input_shape(f"{type(self).__name__} layer {self.name!r}", kwargs)

    # ------------------------------------------------------------------ weights
    def add_weight(self, name, shape, initializer="zeros", regularizer=None, trainable=True,
                   constraint=None, dtype=None):
        """Create a weight tensor, initialised now, owned by this layer."""
        init = initializers.get(initializer)
        allocation.claim(self, name, shape)  # loading a model file: no more than the file holds
        data = init(tuple(int(s) for s in shape), dtype=dtype or self.dtype)
        tensor = Tensor(data, requires_grad=trainable and self.trainable, name=f"{self.name}/{name}")
        tensor.regularizer = regularizer
        tensor.constraint = constraint
        tensor.trainable = trainable
        self._weights.append(tensor)
        return tensor

    @property
    def weights(self):
        return list(self._weights)

    @property
    def trainable_weights(self):
        return [w for w in self._weights if w.trainable and self.trainable]

    @property
    def non_trainable_weights(self):
        return [w for w in self._weights if not (w.trainable and self.trainable)]

    def get_weights(self):
        """The weights as NumPy arrays, in Keras order (e.g. Dense: kernel (in, out), bias)."""
        return [backend.to_numpy(w.data).copy() for w in self._weights]

    def set_weights(self, weights):
        """Set weights from NumPy arrays; shapes must match ``get_weights()``."""
        if len(weights) != len(self._weights):
            raise ShapeError(
                f"Layer {self.name!r} ({type(self).__name__}) has {len(self._weights)} weight arrays "
                f"but set_weights received {len(weights)}."
            )
        for w, value in zip(self._weights, weights):
            value = numpy.asarray(value)
            if tuple(value.shape) != tuple(w.shape):
                raise ShapeError(
                    f"Layer {self.name!r}: weight {w.name!r} has shape {tuple(w.shape)} but set_weights "
                    f"received shape {tuple(value.shape)}."
                )
            w.data = backend.asarray(value, dtype=w.dtype)

    def count_params(self):
        if not self.built:
            raise NotBuiltError(
                f"Layer {self.name!r} is not built yet, so it has no weights to count. Give the first "
                "layer an input_shape= (or input_dim=), or call the model on data first."
            )
        return int(sum(w.size for w in self._weights))

    # ------------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis included, may be None)."""
        self.built = True

    def call(self, x, training=None):
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented.")

    def compute_output_shape(self, input_shape):
        return input_shape

    def record_activity(self, output):
        """This call's activity penalty, which ``Model`` adds to the loss (``self.losses``).

        Keras 2.3 semantics: ``activity_regularizer(output)`` summed over the batch (no
        division by the batch size, which tf.keras added later), in training and at test
        time alike, so ``evaluate`` reports the same total loss that ``fit`` minimises.
        ``output`` may be a callable, evaluated only when a regularizer is set.
        """
        self.losses = []
        reg = getattr(self, "activity_regularizer", None)
        if reg is not None:
            self.losses.append(reg(output() if callable(output) else output))

    def check_input_shape(self, input_shape):
        """Raise ShapeError if this layer cannot take ``input_shape`` (hook for subclasses)."""

    def build_for(self, input_shape, **extra_shapes):
        """Build once for ``input_shape`` (a tuple, or a list of tuples for several inputs)
        and record input/output shapes. ``extra_shapes`` are the shapes of keyword tensor
        arguments (e.g. ``initial_state``), for layers that care."""
        input_shape = _as_shape(input_shape)
        self.check_input_shape(input_shape)
        if not self.built:
            self.build(input_shape)
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None
        self.input_shape = input_shape
        self.output_shape = _as_shape(self.compute_output_shape(input_shape))
        return self.output_shape

    def __call__(self, x, training=None, **kwargs):
        """Run the layer on data (Tensors or arrays), or record a call on symbolic tensors."""
        from .symbolic import is_symbolic, symbolic_call  # noqa: PLC0415

        if is_symbolic(x) or any(is_symbolic(v) for v in kwargs.values()):
            return symbolic_call(self, x, kwargs)
        x = _as_tensors(x)
        shape = [(None,) + tuple(t.shape[1:]) for t in x] if isinstance(x, list) else (None,) + tuple(x.shape[1:])
        if not self.built:
            self.build_for(shape)
        else:
            self.check_input_shape(shape)
        kwargs = {k: _as_tensors(v) if v is not None and not isinstance(v, (bool, int, float, str)) else v
                  for k, v in kwargs.items()}
        return self.call(x, training=training, **kwargs)

    # ------------------------------------------------------------------ config
    def get_config(self):
        config = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if self.batch_input_shape is not None:
            config["batch_input_shape"] = list(self.batch_input_shape)
        return config

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} built={self.built}>"


def carry_mask(x, out):
    """Pass a sequence mask from a layer's input to its output when the output is still a
    sequence of the same (batch, time) (Dropout, Dense on steps, Activation, ...)."""
    mask = getattr(x, "mask", None)
    if mask is not None and isinstance(out, Tensor) and getattr(out, "mask", None) is None \
            and out.ndim >= 3 and tuple(out.shape[:2]) == tuple(mask.shape):
        out.mask = mask
    return out


def _as_shape(shape):
    """A shape as a tuple, or a list of shapes as a list of tuples."""
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        return [tuple(s) for s in shape]
    return tuple(shape)


def _as_tensors(x):
    if isinstance(x, (list, tuple)):
        return [_as_tensors(t) for t in x]
    return x if isinstance(x, Tensor) else Tensor(backend.asarray(x))


def check_positive_int(layer, name, value):
    if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{layer}: {name} must be a positive integer. Received: {name}={value!r}.")
    return int(value)
