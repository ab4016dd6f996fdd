"""keras.layers"""
from ...layers import *  # noqa: F401,F403
from . import core  # noqa: F401
from . import (advanced_activations, convolutional, convolutional_recurrent, cudnn_recurrent,  # noqa: F401,E402
               embeddings, local, merge, noise, normalization, pooling, recurrent, wrappers)
from .merge import add, average, concatenate, dot, maximum, minimum, multiply, subtract  # noqa: F401,E402

_PATHS = (core, convolutional, convolutional_recurrent, cudnn_recurrent, pooling, recurrent,
          normalization, embeddings, merge, wrappers, advanced_activations, noise, local)


def __getattr__(name):
    """A Keras layer threestep does not have (yet): the clear error of its Keras path module.

    Layers added to ``threestep.layers`` after this module was imported resolve here too."""
    for module in _PATHS:
        if name in module.__dir__():
            return getattr(module, name)
    if name in ("InputSpec",):
        from .._paths import lookup  # noqa: PLC0415

        return lookup(name, "keras.layers")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
