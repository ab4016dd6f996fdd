"""Utilities (Keras 2 ``keras.utils``): progress bar, one-hot labels, batch Sequence, normalisation, seeding."""
from ..backend import set_seed
from .data import normalize, to_categorical
from .progbar import Progbar
from .sequence import Sequence

__all__ = ["Progbar", "Sequence", "normalize", "set_seed", "to_categorical"]
