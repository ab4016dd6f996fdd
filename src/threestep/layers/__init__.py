"""Keras-style layers."""
from . import activations, initializers
from .base import Layer
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .conv import Conv1D, Conv2D, Convolution1D, Convolution2D
from .core import Activation, Dense, Flatten, InputLayer
from .symbolic import Input, SymbolicTensor
from .wrappers import Bidirectional, Embedding, Masking, RepeatVector, TimeDistributed
from .dropout import Dropout
from .lambda_layer import Lambda
from .maxout import Maxout
from .merge import Add, Average, Concatenate, Maximum, Multiply, Subtract, add, concatenate
from .normalization import BatchNormalization
from .pooling import (
    AveragePooling1D, AveragePooling2D, GlobalAveragePooling1D, GlobalAveragePooling2D, GlobalMaxPooling1D,
    GlobalMaxPooling2D, MaxPooling1D, MaxPooling2D,
)
from .recurrent import GRU, LSTM, RNN, JordanRNN, SimpleRNN
from .reshaping import (
    Cropping1D, Cropping2D, Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)

__all__ = ["GRU", "LSTM", "RNN", "JordanRNN", "SimpleRNN", "Bidirectional", "Embedding", "Masking", "RepeatVector",
           "TimeDistributed", "Lambda", "Add", "Average", "Concatenate", "Maximum", "Multiply", "Subtract", "add", "concatenate",
           "ELU", "Activation", "AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D", "Convolution1D", "Convolution2D",
           "Cropping1D", "Cropping2D", "Dense", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D", "Reshape", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "SymbolicTensor",
           "LeakyReLU", "Maxout", "PReLU", "ReLU", "Softmax", "ThresholdedReLU", "activations", "initializers"]


def register_layer(cls):
    """Make a custom Layer loadable by name (every Layer subclass is registered when defined;
    this decorator exists for clarity and for re-registering under its class name)."""
    from .base import LAYER_CLASSES  # noqa: PLC0415

    LAYER_CLASSES[cls.__name__] = cls
    return cls


def layer_class(name, custom_objects=None):
    """The Layer class called ``name`` (custom_objects first, then every defined subclass)."""
    from ..errors import unknown_name  # noqa: PLC0415
    from .base import LAYER_CLASSES  # noqa: PLC0415

    registry = {**LAYER_CLASSES, **(custom_objects or {})}
    if name not in registry:
        raise unknown_name("layer class", name, registry)
    return registry[name]


def serialize_layer(layer):
    return {"class_name": type(layer).__name__, "config": layer.get_config()}


def deserialize_layer(spec, custom_objects=None):
    """A layer from ``{'class_name', 'config'}``; ``custom_objects`` reach layers whose
    ``from_config`` takes them (Lambda's function, wrappers' inner layers)."""
    import inspect  # noqa: PLC0415

    cls = layer_class(spec["class_name"], custom_objects)
    if "custom_objects" in inspect.signature(cls.from_config).parameters:
        return cls.from_config(spec["config"], custom_objects=custom_objects)
    return cls.from_config(spec["config"])
