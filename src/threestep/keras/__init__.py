"""Keras 2 import paths, so the lecture's code runs by changing only its import lines.

    from threestep.keras.models import Sequential      # was: from keras.models import Sequential
    from threestep.keras.layers.core import Dense, Activation
    from threestep.keras.optimizers import SGD
    from threestep.keras.utils import np_utils

Keras 1 spellings (``Dense(output_dim=...)``, ``SGD(lr=...)``, ``fit(nb_epoch=...)``) work
and warn with a DeprecationWarning naming the modern argument.
"""
from . import (  # noqa: F401
    callbacks, constraints, datasets, layers, losses, metrics, models, optimizers, preprocessing, regularizers,
    utils,
)
from . import applications, wrappers  # noqa: F401,E402
from . import activations, backend, initializers  # noqa: F401,E402
from .. import __version__  # noqa: F401
from .layers import Input  # noqa: F401,E402  (also importable from the root, as in Keras 2.3: keras.Input)
from .models import Model, Sequential  # noqa: F401,E402
