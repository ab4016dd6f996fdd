"""keras.activations: the activation functions by their Keras names, with get / serialize / deserialize."""
from ..layers.activations import (  # noqa: F401
    available, elu, exponential, gelu, get, hard_sigmoid, leaky_relu, linear, mish, name_of, register_activation,
    relu, relu6, selu, sigmoid, softmax, softplus, softsign, swish, tanh,
)

silu = swish


def serialize(activation):
    """The activation's name (what a layer config stores)."""
    return name_of(activation)


def deserialize(name, custom_objects=None):
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    return get(name)
