"""keras.utils.np_utils: the Keras 1 home of to_categorical (the lecture's np_utils.to_categorical)."""
from ...utils import normalize, to_categorical  # noqa: F401
