"""keras.utils.data_utils: the Keras 2 home of ``Sequence`` and ``get_file``."""
from ...utils.files import get_file, validate_file  # noqa: F401
from ...utils.sequence import Sequence  # noqa: F401
