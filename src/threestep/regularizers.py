"""Weight penalties (L1, L2): the public path ``threestep.regularizers``.

The code lives next to the layers that use it, in ``threestep.layers.regularizers``;
this module keeps the Keras spelling ``from threestep import regularizers`` working.

Example:
    >>> from threestep import regularizers
    >>> Dense(64, kernel_regularizer=regularizers.l2(1e-4))
"""
from .layers.regularizers import L1, L1L2, L2, Regularizer, get, l1, l1_l2, l2, serialize

__all__ = ["L1", "L1L2", "L2", "Regularizer", "get", "l1", "l1_l2", "l2", "serialize"]
