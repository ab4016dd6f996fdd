"""Utilities (Keras 2 ``keras.utils``): progress bar, one-hot labels, normalisation, seeding."""
from ..backend import set_seed
from .data import normalize, to_categorical
from .progbar import Progbar

__all__ = ["Progbar", "normalize", "set_seed", "to_categorical"]
