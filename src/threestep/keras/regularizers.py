"""keras.regularizers"""
from ..layers.regularizers import L1L2, Regularizer, get, l1, l1_l2, l2, serialize  # noqa: F401
