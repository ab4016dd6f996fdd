"""``threestep.activations``: the activation functions by name (Keras's ``keras.activations``).

Every function takes and returns a Tensor: ``activations.gelu(x)``, ``activations.selu(x)``;
``activations.get('softplus')`` looks one up by the name a layer's ``activation=`` takes.
"""
from .layers.activations import *  # noqa: F401,F403
from .layers.activations import available, get, name_of, register_activation  # noqa: F401

__all__ = ["linear", "sigmoid", "tanh", "relu", "softmax", "exponential", "leaky_relu", "relu6", "elu", "selu",
           "softplus", "softsign", "hard_sigmoid", "swish", "gelu", "mish", "register_activation", "get", "name_of",
           "available"]
