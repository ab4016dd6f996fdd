"""Keras-style layers."""
from . import activations, initializers
from .base import Layer
from .core import Activation, Dense, Flatten, Input, InputLayer

__all__ = ["Activation", "Dense", "Flatten", "Input", "InputLayer", "Layer", "activations", "initializers"]

_CUSTOM_OBJECTS = {}


def register_layer(cls):
    """Make a custom Layer subclass loadable by name from saved models (usable as a decorator)."""
    _CUSTOM_OBJECTS[cls.__name__] = cls
    return cls


def layer_class(name):
    from ..errors import ConfigError, unknown_name  # noqa: F401

    registry = {**{c.__name__: c for c in (Activation, Dense, Flatten, InputLayer)}, **_CUSTOM_OBJECTS}
    if name not in registry:
        raise unknown_name("layer class", name, registry)
    return registry[name]


def serialize_layer(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(spec):
    return layer_class(spec["class_name"]).from_config(spec["config"])
