"""keras.utils (to_categorical, np_utils, Progbar)"""
from ...utils import *  # noqa: F401,F403
from . import np_utils  # noqa: F401
