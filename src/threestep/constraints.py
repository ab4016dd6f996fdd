"""Weight constraints (``Dense(64, kernel_constraint=max_norm(2.))``): the public path
``threestep.constraints``.

The code lives next to the layers that use it, in ``threestep.layers.constraints``; this
module keeps ``from threestep import constraints`` working.

Example:
    >>> from threestep import constraints
    >>> Dense(64, kernel_constraint=constraints.max_norm(2.0))
"""
from .layers.constraints import *  # noqa: F401,F403
from .layers.constraints import __all__  # noqa: F401
