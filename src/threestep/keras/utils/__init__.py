"""keras.utils (to_categorical, normalize, np_utils, Progbar, Sequence, get_file, plot_model)"""
from ...utils import *  # noqa: F401,F403
from ...utils.sequence import Sequence  # noqa: F401
from ...utils.files import get_file  # noqa: F401
from ...utils.vis import model_to_dot, plot_model  # noqa: F401
from . import data_utils, np_utils, vis_utils  # noqa: F401
