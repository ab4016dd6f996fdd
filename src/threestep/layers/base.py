"""``Layer``: the building block of a network's function set.

Lifecycle (as in Keras): ``__init__`` validates and stores configuration only;
``build(input_shape)`` creates the weights with ``add_weight``; ``call(x, training=None)``
computes; ``compute_output_shape`` answers shapes without data; ``get_config`` returns
exactly the ``__init__`` arguments so ``from_config(config)`` is ``cls(**config)``.
"""
import functools
import inspect
import os
import re

import numpy

from .. import backend
from ..autograd import Tensor
from ..errors import ConfigError, NotBuiltError, ShapeError, warn
from . import allocation, arguments, initializers
from .weight_options import get_constraint, get_regularizer

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


_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # .../threestep


def user_stacklevel():
    """The ``stacklevel`` that makes a warning point at the first line outside threestep
    (the user's line), however deep inside the package the warning is raised."""
    import sys  # noqa: PLC0415

    frame, level = sys._getframe(2), 2  # the caller of warnings.warn is level 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE_DIR):
        frame, level = frame.f_back, level + 1
    return level


def deprecated_arg(kwargs, old, new, layer):
    """Move a Keras-1 argument to its modern name, with a DeprecationWarning naming both,
    attributed to the user's line."""
    if old not in kwargs:
        return None
    warn(
        f"{layer}: the argument {old!r} is Keras 1 spelling; use {new!r} instead.",
        DeprecationWarning,
    )
    return kwargs.pop(old)


def _marking_built(build):
    """``build`` that leaves the layer built, as a Keras layer's own ``build`` does: a layer built
    by hand (``dense.build((None, 4))``, common in custom layers that own sublayers) is not built
    again with fresh weights at its first call."""
    @functools.wraps(build)
    def marked(self, *args, **kwargs):
        result = build(self, *args, **kwargs)
        self.built = True
        return result

    marked.marks_built = True
    return marked


def _tracking_setattr(self, name, value):
    """Set an attribute, remembering a Layer (or a list or tuple of Layers) held by it."""
    object.__setattr__(self, name, value)
    held = isinstance(value, Layer) or (isinstance(value, (list, tuple)) and all(isinstance(v, Layer) for v in value))
    subs = self.__dict__.get("_sublayers")
    if held:
        if subs is None:
            subs = {}
            object.__setattr__(self, "_sublayers", subs)
        subs[name] = value
    elif subs and name in subs:
        del subs[name]


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
        build = cls.__dict__.get("build")
        if build is not None and not getattr(build, "marks_built", False):
            cls.build = _marking_built(build)
        if not cls.__module__.startswith("threestep.") and "__setattr__" not in cls.__dict__:
            cls.__setattr__ = _tracking_setattr  # a user's layer: sublayers set as attributes count

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
        self._inbound = []  # symbolic (inputs, outputs) of each functional call, for .input / .output
        self._static_losses = []  # add_loss outside call: a constant Tensor or a zero-argument callable

    # ------------------------------------------------------------------ weights
    supports_masking = False  # Keras: a layer that passes a mask on declares it

    def add_weight(self, name=None, shape=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None, dtype=None, **kwargs):
        """Create a weight tensor, initialised now, owned by this layer (Keras 2 signature).

        ``initializer``: a name ('glorot_uniform' for floats when omitted, as Keras), an
        Initializer or ``fn(shape, dtype)``; ``regularizer``: a name, a Regularizer or
        ``fn(weight) -> scalar``; ``constraint``: a name, a Constraint or ``fn(weight)``,
        applied after every optimizer step.
        """
        if kwargs:
            raise TypeError(f"{type(self).__name__}.add_weight got unexpected keyword argument(s): {sorted(kwargs)}.")
        if shape is None:
            shape = ()
        name = name or f"weight_{len(self._weights)}"
        init = initializers.get(initializer if initializer is not None else "glorot_uniform")
        allocation.claim(self, name, shape)  # loading a model file: no more than the file holds
        data = init(tuple(int(s) for s in shape), dtype=dtype or self.dtype)
        if isinstance(data, Tensor):  # an initializer written with K functions
            data = data.data
        data = backend.asarray(data, dtype=dtype or self.dtype)
        # C order whatever the initializer made (orthogonal's Q^T is Fortran order): the fast
        # optimizer kernels step C-contiguous arrays only, others take the NumPy path
        if data.ndim > 1 and not data.flags.c_contiguous:
            data = backend.get_array_module(data).ascontiguousarray(data)
        tensor = Tensor(data, requires_grad=trainable and self.trainable, name=f"{self.name}/{name}")
        tensor.regularizer = get_regularizer(regularizer)
        tensor.constraint = get_constraint(constraint)
        tensor.trainable = trainable
        self._weights.append(tensor)
        return tensor

    def add_loss(self, losses, inputs=None):
        """Add a term to the training loss: inside ``call`` a Tensor computed from this call
        (a VAE's KL divergence), outside it a constant Tensor or a zero-argument callable
        (a penalty on weights), counted at every step."""
        for loss in losses if isinstance(losses, (list, tuple)) else [losses]:
            if getattr(self, "_in_call", False):
                self.losses.append(loss)
            else:
                self._static_losses.append(loss)

    def call_losses(self):
        """Every loss term of the latest call plus those added outside ``call``."""
        static = [loss() if callable(loss) else loss for loss in self._static_losses]
        return list(self.losses) + [t if isinstance(t, Tensor) else Tensor(backend.asarray(t)) for t in static]

    def invoke(self, x, training=None, logits=False, **kwargs):
        """Run ``call`` (or ``call_logits``) passing only the arguments its signature takes.

        Keras lets a layer's ``call`` take ``x`` alone, or also ``training`` and/or ``mask``;
        a ``call`` without ``training`` still sees the phase through
        ``threestep.keras.backend.learning_phase()`` and ``in_train_phase``.
        """
        fn = self.call_logits if logits else self.call
        spec = _call_spec(type(self), "call_logits" if logits else "call")
        if "mask" not in kwargs and spec.mask and not type(self).__module__.startswith("threestep."):
            # a user's layer gets the mask as an argument; threestep's own layers read x.mask
            mask = [getattr(t, "mask", None) for t in x] if isinstance(x, list) else getattr(x, "mask", None)
            if mask is not None and (not isinstance(mask, list) or any(m is not None for m in mask)):
                kwargs["mask"] = mask
        if not spec.var_kw and "mask" in kwargs and not spec.mask:
            kwargs.pop("mask")  # a mask for a layer whose call does not take one (Keras drops it too)
        self.losses = []
        self._in_call = True
        try:
            if spec.training or spec.var_kw:
                out = fn(x, training=training, **kwargs)
            elif training is None:
                out = fn(x, **kwargs)
            else:
                from ..autograd import using_config  # noqa: PLC0415

                with using_config("training", bool(training)):
                    out = fn(x, **kwargs)
        finally:
            self._in_call = False
        if type(self).compute_mask is not Layer.compute_mask and isinstance(out, Tensor):  # a user's mask rule
            mask = [getattr(t, "mask", None) for t in x] if isinstance(x, list) else getattr(x, "mask", None)
            new = self.compute_mask(x, mask)
            out.mask = None if new is None else backend.asarray(getattr(new, "data", new)).astype(bool)
        return out

    def compute_mask(self, inputs, mask=None):
        """The mask of the output (Keras): by default the input's mask travels on when the
        output keeps the (batch, time) axes; override to change it (return None to drop it)."""
        return mask

    @property
    def input(self):
        """The symbolic input of this layer's (first) functional call, for feature extraction."""
        return self._inbound_ends(0, "input")

    @property
    def output(self):
        """The symbolic output of this layer's (first) functional call:
        ``Model(model.input, model.get_layer("dense_1").output)``."""
        return self._inbound_ends(1, "output")

    def _inbound_ends(self, which, label):
        if not self._inbound:
            raise NotBuiltError(
                f"Layer {self.name!r} has no {label} yet: it has not been called on a symbolic tensor. Call it on "
                "Input(...) (functional API), or give the Sequential model's first layer input_shape=.")
        return self._inbound[0][which]

    def get_input_at(self, node_index):
        return self._inbound[node_index][0]

    def get_output_at(self, node_index):
        return self._inbound[node_index][1]

    @property
    def weights(self):
        if not self.__dict__.get("_sublayers"):
            return list(self._weights)
        return self.trainable_weights + self.non_trainable_weights  # tf.keras's order with sublayers

    @property
    def trainable_weights(self):
        own = [w for w in self._weights if w.trainable and self.trainable]
        return own + [w for layer in self._tracked_layers() for w in layer.trainable_weights] if self.trainable \
            else own

    @property
    def non_trainable_weights(self):
        own = [w for w in self._weights if not (w.trainable and self.trainable)]
        subs = self._tracked_layers()
        return own + [w for layer in subs for w in (layer.non_trainable_weights if self.trainable else layer.weights)]

    def _tracked_layers(self):
        """The layers a user's layer holds as attributes (one, or a list of them), in the order
        they were set: their weights are this layer's too, as in tf.keras, so ``fit`` trains them
        and files save them."""
        found = []
        for value in self.__dict__.get("_sublayers", {}).values():
            for layer in value if isinstance(value, (list, tuple)) else [value]:
                if isinstance(layer, Layer) and layer is not self and all(layer is not f for f in found):
                    found.append(layer)
        return found

    def get_weights(self):
        """The weights as NumPy arrays, in Keras order (e.g. Dense: kernel (in, out), bias)."""
        return [backend.to_numpy(w.data).copy() for w in self.weights]

    def set_weights(self, weights):
        """Set weights from NumPy arrays; shapes must match ``get_weights()``."""
        mine = self.weights
        if len(weights) != len(mine):
            raise ShapeError(
                f"Layer {self.name!r} ({type(self).__name__}) has {len(mine)} weight arrays "
                f"but set_weights received {len(weights)}."
            )
        for w, value in zip(mine, weights):
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
        return int(sum(w.size for w in self.weights))

    # ------------------------------------------------------------------ lifecycle
    def build(self, input_shape):
        """Create weights for inputs of ``input_shape`` (batch axis included, may be None)."""
        self.built = True

    def call(self, x, training=None):
        raise NotImplementedError(f"{type(self).__name__}.call is not implemented.")

    def compute_output_shape(self, input_shape):
        """The input shape for threestep's shape-preserving layers; for a user's layer that does
        not define it, found by running ``call`` on zeros (as tf.keras infers it)."""
        if type(self).__module__.startswith("threestep.") or type(self).call is Layer.call:
            return input_shape
        from .lambda_layer import _infer_shape  # noqa: PLC0415

        return _infer_shape(lambda x: self.invoke(x, training=False), input_shape, self.dtype,
                            f"Define compute_output_shape(self, input_shape) in {type(self).__name__}.")

    def record_activity(self, output):
        """This call's activity penalty, which ``Model`` adds to the loss (``self.losses``).

        Keras 2.3 semantics: ``activity_regularizer(output)`` summed over the batch (no
        division by the batch size, which tf.keras added later), in training and at test
        time alike, so ``evaluate`` reports the same total loss that ``fit`` minimises.
        ``output`` may be a callable, evaluated only when a regularizer is set.
        """
        previous = getattr(self, "_activity_loss", None)
        self.losses = [t for t in self.losses if t is not previous]
        self._activity_loss = None
        reg = getattr(self, "activity_regularizer", None)
        if reg is not None:
            self._activity_loss = reg(output() if callable(output) else output)
            self.losses.append(self._activity_loss)

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
        if not self.built or self.input_shape is None:  # built by hand: record the shapes once
            self.build_for(shape)
        else:
            self.check_input_shape(shape)
        kwargs = {k: _as_tensors(v) if v is not None and not isinstance(v, (bool, int, float, str)) else v
                  for k, v in kwargs.items()}
        return self.invoke(x, training=training, **kwargs)

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


class _CallSpec:
    """Which of ``training`` / ``mask`` a layer's ``call`` accepts (read once per class)."""

    def __init__(self, fn):
        params = inspect.signature(fn).parameters
        self.names = set(params)
        self.var_kw = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
        self.training = "training" in params
        self.mask = "mask" in params


@functools.lru_cache(maxsize=None)
def _call_spec(cls, method):
    return _CallSpec(getattr(cls, method))


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
