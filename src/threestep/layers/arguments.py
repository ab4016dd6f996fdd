"""Checks of the base keyword arguments every layer takes (``Layer.__init__``).

A misspelt keyword gets a "did you mean"; ``input_dim`` / ``input_shape`` /
``batch_input_shape`` must be positive sizes (``None`` allowed for unknown axes) and
``dtype`` a floating-point type, so mistakes surface when the layer is made, not deep
inside NumPy at the first batch.
"""
import inspect
import numbers

import numpy

from ..errors import ConfigError, unknown_arguments


def accepted_arguments(cls, base):
    """Every keyword the layer class's constructors (through its MRO) name, plus ``base``."""
    names = set(base)
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            params = inspect.signature(init).parameters.values()
        except (TypeError, ValueError):
            continue
        names.update(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
                     and p.name != "self")
    return names


def reject_unknown(layer_cls, unknown, base):
    """ArgumentError for keyword arguments no constructor of ``layer_cls`` takes."""
    raise unknown_arguments(layer_cls.__name__, unknown, accepted_arguments(layer_cls, base - {"weights"}))


def _size(value):
    return isinstance(value, (numbers.Integral, numpy.integer)) and not isinstance(value, (bool, numpy.bool_)) \
        and value >= 1


def batch_input_shape(layer_name, kwargs):
    """The batch input shape the base arguments declare (None when none is given), validated."""
    batch = kwargs.get("batch_size")
    if batch is not None and not _size(batch):
        raise ConfigError(f"{layer_name}: batch_size must be a positive integer or None. Received: "
                          f"batch_size={batch!r}.")
    if kwargs.get("batch_input_shape") is not None:
        shape = _shape(layer_name, "batch_input_shape", kwargs["batch_input_shape"])
        if len(shape) < 2:
            raise ConfigError(f"{layer_name}: batch_input_shape needs the batch axis and at least one more; "
                              f"received {kwargs['batch_input_shape']!r}. E.g. batch_input_shape=(None, 784).")
        if shape[0] is not None and not _size(shape[0]):
            raise ConfigError(f"{layer_name}: the batch axis of batch_input_shape must be None or a positive "
                              f"integer. Received: batch_input_shape={kwargs['batch_input_shape']!r}.")
        _check_axes(layer_name, "batch_input_shape", shape[1:], kwargs["batch_input_shape"])
        return shape
    if kwargs.get("input_shape") is not None:
        shape = _shape(layer_name, "input_shape", kwargs["input_shape"])
        _check_axes(layer_name, "input_shape", shape, kwargs["input_shape"])
        return (batch,) + shape
    if kwargs.get("input_dim") is not None:
        dim = kwargs["input_dim"]
        if not _size(dim):
            raise ConfigError(f"{layer_name}: input_dim must be a positive integer (the number of input features). "
                              f"Received: input_dim={dim!r}. E.g. Dense(500, input_dim=784).")
        return (batch, int(dim))
    return None


def _shape(layer_name, name, value):
    if isinstance(value, (numbers.Integral, numpy.integer)) and not isinstance(value, bool):
        value = (value,) if name == "input_shape" else value
    if not isinstance(value, (tuple, list)):
        raise ConfigError(f"{layer_name}: {name} must be a tuple of sizes (one per axis of a sample), e.g. "
                          f"{name}=(784,). Received: {name}={value!r}.")
    return tuple(int(v) if isinstance(v, (numbers.Integral, numpy.integer)) and not isinstance(v, bool) else v
                 for v in value)


def _check_axes(layer_name, name, axes, received):
    for axis in axes:
        if axis is not None and not _size(axis):
            raise ConfigError(f"{layer_name}: every size in {name} must be a positive integer or None (unknown); "
                              f"received {name}={tuple(received) if isinstance(received, list) else received!r}. "
                              f"E.g. {name}=(28, 28, 1).")


def check_dtype(layer_name, dtype):
    """A layer's weight dtype: a floating-point type (float16/32/64)."""
    if dtype is None:
        return None
    try:
        kind = numpy.dtype(dtype).kind
    except TypeError:
        kind = None
    if kind != "f":
        raise ConfigError(f"{layer_name}: dtype must be a floating-point type ('float32', 'float64', 'float16') for "
                          f"the weights. Received: dtype={dtype!r}.")
    return str(numpy.dtype(dtype)) if not isinstance(dtype, str) else dtype
