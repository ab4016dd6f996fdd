"""keras.layers.advanced_activations: activation functions with state or parameters, as layers.

Names resolve lazily to threestep's layers; see threestep.keras._paths.
"""
from .._paths import path_module

__getattr__, __dir__ = path_module(__name__, [
    "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax", "ReLU",
])
