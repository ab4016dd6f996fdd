"""keras.applications.inception_v3_path: InceptionV3, preprocess_input (tf mode) and decode_predictions."""
from ._common import decode_predictions  # noqa: F401
from ._common import preprocess_input as _preprocess
from ._inception_v3 import InceptionV3  # noqa: F401


def preprocess_input(x, data_format=None):
    """A batch of RGB images (0..255) scaled as the ImageNet weights of InceptionV3 expect
    (tf mode; see ``threestep.keras.applications._common.preprocess_input``)."""
    return _preprocess(x, data_format=data_format, mode="tf")
