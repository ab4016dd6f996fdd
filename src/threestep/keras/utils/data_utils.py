"""keras.utils.data_utils: the Keras 2 home of ``Sequence``."""
from ...utils.sequence import Sequence  # noqa: F401
