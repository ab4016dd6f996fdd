"""Keras-style layers."""
from . import activations, constraints, initializers, regularizers
from .base import Layer
from .attention import AdditiveAttention, Attention
from .advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from .conv import Conv1D, Conv2D, Conv3D, Convolution1D, Convolution2D
from .conv_recurrent import ConvLSTM2D
from .conv_depthwise import (
    DepthwiseConv2D, SeparableConv1D, SeparableConv2D, SeparableConvolution1D, SeparableConvolution2D,
)
from .conv_transpose import (
    Conv1DTranspose, Conv2DTranspose, Conv3DTranspose, Convolution2DTranspose, Convolution3DTranspose, Deconv2D,
    Deconv3D, Deconvolution2D, Deconvolution3D,
)
from .core import Activation, ActivityRegularization, Dense, Flatten, InputLayer
from .local import LocallyConnected1D, LocallyConnected2D
from .noise import AlphaDropout, GaussianDropout, GaussianNoise, SpatialDropout1D, SpatialDropout2D, SpatialDropout3D
from .symbolic import Input, SymbolicTensor
from .wrappers import Bidirectional, Embedding, Masking, RepeatVector, TimeDistributed
from .dropout import Dropout
from .lambda_layer import Lambda
from .maxout import Maxout
from .merge import Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract, add, concatenate
from .normalization import BatchNormalization, LayerNormalization
from .pooling import (
    AveragePooling1D, AveragePooling2D, AveragePooling3D, GlobalAveragePooling1D, GlobalAveragePooling2D,
    GlobalAveragePooling3D, GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D, MaxPooling1D, MaxPooling2D,
    MaxPooling3D,
)
from .recurrent import GRU, LSTM, RNN, JordanRNN, SimpleRNN
from .rnn_cells import GRUCell, LSTMCell, SimpleRNNCell
from .rnn_stacked import StackedRNNCells
from . import recurrent_cell  # noqa: F401,E402  (registers RNN(cell) under Keras's class name "RNN")
from .reshaping import (
    Cropping1D, Cropping2D, Permute, Reshape, UpSampling1D, UpSampling2D, ZeroPadding1D, ZeroPadding2D,
)

__all__ = ["AdditiveAttention", "Attention", "GRU", "LSTM", "RNN", "JordanRNN", "SimpleRNN", "SimpleRNNCell",
           "LSTMCell", "GRUCell", "StackedRNNCells", "Bidirectional", "Embedding", "Masking", "RepeatVector",
           "TimeDistributed", "Lambda", "Add", "Average", "Concatenate", "Maximum", "Multiply", "Subtract", "add", "concatenate",
           "Minimum", "ELU", "Activation", "AveragePooling1D", "AveragePooling2D", "BatchNormalization", "Conv1D", "Conv2D", "Convolution1D", "Convolution2D",
           "Cropping1D", "Cropping2D", "Dense", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalMaxPooling1D", "GlobalMaxPooling2D", "MaxPooling1D", "MaxPooling2D", "Reshape", "UpSampling1D",
           "UpSampling2D", "ZeroPadding1D", "ZeroPadding2D", "Dropout", "Flatten", "Input", "InputLayer", "Layer", "SymbolicTensor",
           "LeakyReLU", "Maxout", "PReLU", "ReLU", "Softmax", "ThresholdedReLU", "activations", "initializers",
           "regularizers",
           "Conv3D", "DepthwiseConv2D", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
           "SeparableConvolution2D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose", "Deconvolution2D", "Deconv2D",
           "Deconvolution3D", "Deconv3D", "Convolution2DTranspose", "Convolution3DTranspose",
           "ActivityRegularization", "LocallyConnected1D", "LocallyConnected2D", "AlphaDropout", "GaussianDropout",
           "GaussianNoise", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Dot", "LayerNormalization", "regularizers",
           "AveragePooling3D", "GlobalAveragePooling3D", "GlobalMaxPooling3D", "MaxPooling3D", "Permute", "ConvLSTM2D"]


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

    from ..custom_objects import lookup  # noqa: PLC0415

    registry = {**LAYER_CLASSES, **(custom_objects or {})}
    if name not in registry and isinstance(lookup(name), type):
        return lookup(name)
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
