"""One Keras layer config <-> one threestep layer, and each layer's weights in Keras order.

Keras (2.x and tf-keras) and threestep share layer names, argument names and weight
layouts, so most of the work is filtering: arguments threestep does not have are dropped
when they are neutral (``time_major=False``), dropped with a warning when they only shape
training (constraints, ``recurrent_dropout``), and refused otherwise. A layer class
threestep lacks, a ``Lambda`` holding marshalled bytecode, or an activation threestep does
not know gives a ``ModelFileError`` naming it. Nothing from the file is executed.
"""
import inspect
import math
import warnings

import numpy

from ..errors import ConfigError, ModelFileError, ShapeError
from ..layers import activations, initializers
from ..layers.base import LAYER_CLASSES, Layer

# Keras arguments threestep lacks, with the values that change nothing.
_NEUTRAL = {
    "implementation": lambda v: True, "time_major": lambda v: not v, "sparse": lambda v: not v,
    "ragged": lambda v: not v, "optional": lambda v: not v, "zero_output_for_mask": lambda v: True,
    "groups": lambda v: v in (None, 1), "synchronized": lambda v: not v, "renorm": lambda v: not v,
    "renorm_clipping": lambda v: v is None, "renorm_momentum": lambda v: True,
    "virtual_batch_size": lambda v: v is None, "adjustment": lambda v: v is None, "fused": lambda v: True,
    "seed": lambda v: True, "noise_shape": lambda v: v is None,
    "lora_rank": lambda v: v is None, "input_length": lambda v: True, "stateful": lambda v: not v,
}
# threestep classes whose Keras name differs, and classes with no Keras 2 counterpart.
_KERAS_NAME = {"Convolution1D": "Conv1D", "Convolution2D": "Conv2D"}
_NO_KERAS = {"Maxout": "Keras 2 has no Maxout layer (Keras 1's MaxoutDense is gone)",
             "JordanRNN": "Keras has no Jordan network"}
_KERAS_ALIASES = {"Convolution1D": "Conv1D", "Convolution2D": "Conv2D", "Conv1d": "Conv1D",
                  "MaxPool1D": "MaxPooling1D", "MaxPool2D": "MaxPooling2D", "AvgPool1D": "AveragePooling1D",
                  "AvgPool2D": "AveragePooling2D", "GlobalAvgPool1D": "GlobalAveragePooling1D",
                  "GlobalAvgPool2D": "GlobalAveragePooling2D", "GlobalMaxPool1D": "GlobalMaxPooling1D",
                  "GlobalMaxPool2D": "GlobalMaxPooling2D"}


def snake_case(name):
    """Keras's ``to_snake_case`` (names the layer groups of ``.keras`` weight files)."""
    import re  # noqa: PLC0415

    s = re.sub(r"(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    s = re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()
    return s if not s.startswith("_") else "private" + s


def _accepted(cls):
    """The keyword arguments ``cls(...)`` takes (its __init__ chain down to Layer)."""
    names = set(Layer._ALLOWED_KWARGS)
    for klass in cls.__mro__:
        if klass is Layer or "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names.update(p.name for p in params if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL) and p.name != "self")
        if not any(p.kind == p.VAR_KEYWORD for p in params):
            break
    return names


def _initializer(value, where, key):
    if value is None or isinstance(value, str):
        return value
    config = {k: v for k, v in (value.get("config") or {}).items() if v is not None}  # Keras 3 adds null keys
    spec = {"class_name": value.get("class_name"), "config": config}
    try:
        return initializers.get(spec)
    except (ConfigError, TypeError):
        warnings.warn(f"{where}: {key} {spec['class_name']!r} is not a threestep initializer; the default is used. "
                      "The loaded weights are unaffected; it matters only for re-initialising.", RuntimeWarning,
                      stacklevel=5)
        return None


def _regularizer(value, where, key):
    if value is None:
        return None
    name, config = value.get("class_name"), value.get("config") or {}
    if name in ("L1L2", "L1", "L2"):
        l1, l2 = float(config.get("l1", 0.0)), float(config.get("l2", 0.0))
        return {"class_name": "L1L2", "config": {"l1": l1, "l2": l2}}
    warnings.warn(f"{where}: {key} {name!r} is not a threestep regularizer and is dropped (it affects training only).",
                  RuntimeWarning, stacklevel=5)
    return None


def _activation(value, where, key, custom_objects):
    if isinstance(value, dict):  # Keras 3 serialises some functions as {"class_name": "function", "config": name}
        value = value.get("config") if isinstance(value.get("config"), str) else value.get("class_name")
    if value is None or callable(value):
        return value
    if value in custom_objects:
        return custom_objects[value]
    if value not in activations.available():
        raise ModelFileError(f"{where}: {key} {value!r} is not an activation threestep knows "
                             f"({', '.join(activations.available())}). Pass it as custom_objects={{{value!r}: fn}}.")
    return value


def _dtype(value):
    if isinstance(value, dict):  # a mixed-precision policy
        value = (value.get("config") or {}).get("name")
    return value if value in ("float32", "float64") else None


def _kwargs_from_keras(cls, class_name, config, custom_objects, where):
    accepted = _accepted(cls)
    kwargs = {}
    config = dict(config)
    if "batch_shape" in config:  # Keras 3 spelling
        config["batch_input_shape"] = config.pop("batch_shape")
    if class_name == "LeakyReLU" and "negative_slope" in config:  # Keras 3 spelling
        config["alpha"] = config.pop("negative_slope")
    for key, value in config.items():
        if key in ("layer", "backward_layer"):
            continue
        if key == "dtype":
            value = _dtype(value)
        elif key.endswith("_initializer"):
            value = _initializer(value, where, key)
        elif key.endswith("_regularizer"):
            value = _regularizer(value, where, key)
        elif key in ("activation", "recurrent_activation"):
            value = _activation(value, where, key, custom_objects)
        elif key == "axis" and class_name == "BatchNormalization" and isinstance(value, (list, tuple)):
            if len(value) != 1:
                raise ModelFileError(f"{where}: BatchNormalization over several axes {value} is not supported.")
            value = value[0]
        # constraints (Keras dicts, not callables) and recurrent_dropout always go; an
        # unsupported regularizer goes too; each only shapes training
        training_only = key.endswith("_constraint") or key == "recurrent_dropout" or \
            key.endswith("_regularizer") and key not in accepted
        if training_only and value:
            warnings.warn(f"{where}: {key}={value!r} is dropped: threestep does not implement it for this layer. "
                          "Predictions are unaffected; further training differs from Keras.", RuntimeWarning,
                          stacklevel=4)
            continue
        if value is None and key.endswith("_initializer"):
            continue  # not a threestep initializer: the layer's default (warned above)
        if key not in accepted:
            if key in _NEUTRAL and _NEUTRAL[key](value) or training_only or value is None:
                continue
            raise ModelFileError(f"{where}: the Keras argument {key}={value!r} of {class_name} is not supported by "
                                 f"threestep's {cls.__name__}.")
        kwargs[key] = value
    if config.get("stateful"):
        raise ModelFileError(f"{where}: stateful=True recurrent layers are not supported; re-save the model with "
                             "stateful=False (the weights are the same).")
    return kwargs


def layer_from_keras(spec, custom_objects=None, where="Keras file"):
    """A threestep layer (not built) from a Keras ``{"class_name", "config"}`` spec."""
    custom_objects = custom_objects or {}
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise ModelFileError(f"{where}: a layer entry is not a {{class_name, config}} object: {str(spec)[:200]}")
    class_name = spec.get("class_name")
    config = spec.get("config") or {}
    name = config.get("name")
    where = f"{where}: layer {name!r} ({class_name})"
    if class_name == "Lambda":
        return _lambda(config, custom_objects, where)
    cls = custom_objects.get(class_name)
    if cls is None:
        cls = LAYER_CLASSES.get(_KERAS_ALIASES.get(class_name, class_name))
    if cls is None or class_name in ("InputLayer",) or not (isinstance(cls, type) and issubclass(cls, Layer)):
        raise ModelFileError(f"{where}: threestep has no layer {class_name!r}. Define it as a threestep Layer and "
                             f"pass custom_objects={{{class_name!r}: YourLayer}}, or rebuild the model without it.")
    if cls.__module__.split(".")[0] != "threestep":
        try:  # a user's own layer: its config is its own business
            return cls.from_config(config)
        except (ConfigError, ShapeError, TypeError, ValueError) as exc:
            raise ModelFileError(f"{where}: {cls.__name__}.from_config failed: {exc}") from None
    kwargs = _kwargs_from_keras(cls, class_name, config, custom_objects, where)
    if "layer" in config:
        kwargs["layer"] = layer_from_keras(config["layer"], custom_objects, where)
    if config.get("backward_layer"):
        kwargs["backward_layer"] = layer_from_keras(config["backward_layer"], custom_objects, where)
    try:
        return cls(**kwargs)
    except (ConfigError, ShapeError, TypeError, ValueError) as exc:
        raise ModelFileError(f"{where}: cannot build it in threestep: {exc}") from None


def _lambda(config, custom_objects, where):
    function = config.get("function")
    fn_name = function if isinstance(function, str) else config.get("name")
    cls = LAYER_CLASSES.get("Lambda")
    fn = custom_objects.get(fn_name) or custom_objects.get(config.get("name"))
    if cls is None or fn is None:
        raise ModelFileError(
            f"{where}: a Lambda layer stores Python bytecode, which threestep never executes. Pass the function "
            f"as custom_objects={{{fn_name!r}: fn}}" + ("." if cls else
                                                       " (this threestep has no Lambda layer yet: rebuild that step as "
                                                       "a custom Layer and load the Keras weights with "
                                                       "model.load_weights(path, by_name=True))."))
    kwargs = {"function": fn, "name": config.get("name")}
    if "output_shape" in _accepted(cls) and isinstance(config.get("output_shape"), (list, tuple)):
        kwargs["output_shape"] = tuple(config["output_shape"])
    return cls(**kwargs)


# ---------------------------------------------------------------------- threestep -> Keras
def keras_class_name(layer):
    name = type(layer).__name__
    if name == "ModelLayer":  # a model called as a layer: Keras names the nested model's class
        return "Sequential" if type(layer.model).__name__ == "Sequential" else "Functional"
    return _KERAS_NAME.get(name, name)


def layer_to_keras(layer, where="save"):
    """``{"class_name", "config"}`` of ``layer`` as Keras 2 (tf-keras) reads it."""
    name = type(layer).__name__
    if name == "ModelLayer":  # a model called as a layer: written nested, as Keras writes it
        from .keras_config import model_to_keras  # noqa: PLC0415

        return model_to_keras(layer.model, where)
    if type(layer).__module__.split(".")[0] != "threestep" and name not in _NO_KERAS:
        # a user's own Layer subclass: written as Keras writes one (its class name and get_config),
        # read back with custom_objects={name: TheClass}, by threestep or by tf-keras
        return {"class_name": name, "config": dict(layer.get_config())}
    if name in _NO_KERAS:
        reason = _NO_KERAS[name]
        raise ModelFileError(f"{where}: layer {layer.name!r} ({name}) cannot be written as a Keras model: {reason}. "
                             "Save it in threestep's own format (model.save('model.zip')) or export to ONNX.")
    config = dict(layer.get_config())
    if config.pop("use_peepholes", False):
        raise ModelFileError(f"{where}: LSTM {layer.name!r} uses peepholes, which Keras's LSTM lacks.")
    if "layer" in config:
        inner = layer.forward_layer if hasattr(layer, "forward_layer") else layer.layer
        config["layer"] = layer_to_keras(inner, where)
        config.pop("backward_layer", None)  # Keras rebuilds it as a go_backwards copy of `layer`
        if hasattr(layer, "forward_layer"):
            config["layer"]["config"]["name"] = layer.forward_layer.name
    if name in ("Conv1D", "Conv2D", "Convolution1D", "Convolution2D"):
        config["groups"] = 1
    if name.endswith("1D") and name[:-2] in ("ZeroPadding", "Cropping", "UpSampling"):  # Keras: one pair / one int
        key = {"ZeroPadding": "padding", "Cropping": "cropping", "UpSampling": "size"}[name[:-2]]
        config[key] = config[key][0]
        if config.pop("data_format", "channels_last") != "channels_last":
            raise ModelFileError(f"{where}: Keras's {name} has no data_format; layer {layer.name!r} is channels_first.")
        config.pop("interpolation", None)
    if config.get("dtype") not in ("float32", "float64", None):
        config["dtype"] = "float32"
    return {"class_name": keras_class_name(layer), "config": config}


# ---------------------------------------------------------------------- weights
def _keras_tensors(layer):
    """The layer's weight tensors in Keras order (threestep's own order is Keras's)."""
    return layer.weights


def keras_weights(layer):
    """``[(name, array)]`` of ``layer``'s weights in Keras order (what Keras's get_weights gives)."""
    from .. import backend  # noqa: PLC0415

    return [(t.name + ":0", numpy.asarray(backend.to_numpy(t.data))) for t in _keras_tensors(layer)]


def keras_weight_shapes(layer):
    return [tuple(t.shape) for t in _keras_tensors(layer)]


def set_keras_weights(layer, arrays, where):
    """Set ``layer``'s weights from arrays in Keras order, checking count and shapes."""
    from .. import backend  # noqa: PLC0415

    tensors = _keras_tensors(layer)
    _check(layer, tensors, arrays, where)
    for t, a in zip(tensors, arrays):
        t.data = backend.asarray(numpy.asarray(a), dtype=t.dtype)


def _check(layer, tensors, arrays, where):
    if len(tensors) != len(arrays):
        raise ModelFileError(f"{where}: layer {layer.name!r} ({type(layer).__name__}) has {len(tensors)} weights but "
                             f"the file holds {len(arrays)}.")
    for t, a in zip(tensors, arrays):
        if tuple(t.shape) != tuple(a.shape):
            raise ModelFileError(f"{where}: weight {t.name!r} of layer {layer.name!r} has shape {tuple(t.shape)} but "
                                 f"the file holds shape {tuple(a.shape)}.")


def estimate_params(layer, shape):
    """How many numbers ``layer`` will allocate when built for ``shape`` (before building it),
    so a hostile config cannot make the loader allocate more than its file holds."""
    kind = type(layer).__name__
    dims = [d for d in (shape if isinstance(shape, tuple) else ()) if d is not None]
    last = dims[-1] if shape and isinstance(shape, tuple) and shape[-1] is not None else 0
    if hasattr(layer, "forward_layer"):
        return estimate_params(layer.forward_layer, shape) + estimate_params(layer.backward_layer, shape)
    if kind == "TimeDistributed":
        return estimate_params(layer.layer, (None,) + tuple(shape[2:]))
    if hasattr(layer, "units") and hasattr(layer, "gates"):
        return layer.gates * layer.units * (last + layer.units + 2) + 3 * layer.units
    if kind in ("Dense", "Maxout"):
        width = layer.units * getattr(layer, "pieces", 1)
        return width * (last + 1)
    if hasattr(layer, "filters") and hasattr(layer, "kernel_size"):
        channels = shape[1] if layer.data_format == "channels_first" else shape[-1]
        return layer.filters * (math.prod(layer.kernel_size) * (channels or 0) + 1)
    if kind == "Embedding":
        return layer.input_dim * layer.output_dim
    if kind == "BatchNormalization":
        return 4 * (shape[layer.axis] or 0) if -len(shape) <= layer.axis < len(shape) else 0
    if kind == "PReLU":
        return math.prod(dims[1:]) if len(shape) > 1 else 0
    return 0
