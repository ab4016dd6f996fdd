"""keras.constraints: ``max_norm``, ``non_neg``, ``unit_norm``, ``min_max_norm`` and their classes."""
from ..layers.constraints import *  # noqa: F401,F403
from ..layers.constraints import __all__  # noqa: F401
