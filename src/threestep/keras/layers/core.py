"""keras.layers.core: the Keras 2 home of Dense, Activation, Dropout, Flatten, Reshape ...

Keras 1 code imported more from here, so every threestep layer resolves from this path.

Names resolve lazily to threestep's layers; see threestep.keras._paths.
"""
from .._paths import path_module

__getattr__, __dir__ = path_module(__name__, [
    "Masking", "Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "Activation",
    "Reshape", "Permute", "Flatten", "RepeatVector", "Lambda", "Dense", "ActivityRegularization",
    "Highway", "MaxoutDense",
])
