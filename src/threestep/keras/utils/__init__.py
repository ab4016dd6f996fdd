"""keras.utils (to_categorical, np_utils, Progbar, Sequence)"""
from ...utils import *  # noqa: F401,F403
from ...utils.sequence import Sequence  # noqa: F401
from . import data_utils, np_utils  # noqa: F401
