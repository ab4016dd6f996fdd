"""keras.layers.noise: regularising noise layers active only in training.

Names resolve lazily to threestep's layers; see threestep.keras._paths.
"""
from .._paths import path_module

__getattr__, __dir__ = path_module(__name__, [
    "GaussianNoise", "GaussianDropout", "AlphaDropout",
])
