"""keras.layers.core (Keras 1/2 path of Dense, Activation, Dropout, Flatten ...)"""
from ...layers import *  # noqa: F401,F403
