"""keras.layers"""
from ...layers import *  # noqa: F401,F403
from . import core  # noqa: F401
