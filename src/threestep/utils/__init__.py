"""Utilities (Keras 2 ``keras.utils``): progress bar, one-hot labels, batch Sequence, normalisation, seeding."""
from ..backend import set_seed
from ..custom_objects import custom_object_scope, get_custom_objects
from .data import normalize, to_categorical
from .progbar import Progbar
from .sequence import Sequence

__all__ = ["Progbar", "Sequence", "custom_object_scope", "get_custom_objects", "normalize", "set_seed",
           "to_categorical"]
