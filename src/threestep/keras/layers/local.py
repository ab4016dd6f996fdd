"""keras.layers.local: locally connected layers (unshared weights).

Names resolve lazily to threestep's layers; see threestep.keras._paths.
"""
from .._paths import path_module

__getattr__, __dir__ = path_module(__name__, [
    "LocallyConnected1D", "LocallyConnected2D",
])
