"""keras.applications.mobilenet_path: MobileNet, preprocess_input (tf mode) and decode_predictions."""
from ._common import decode_predictions  # noqa: F401
from ._common import preprocess_input as _preprocess
from ._mobilenet import MobileNet  # noqa: F401


def preprocess_input(x, data_format=None):
    """A batch of RGB images (0..255) scaled as the ImageNet weights of MobileNet expect
    (tf mode; see ``threestep.keras.applications._common.preprocess_input``)."""
    return _preprocess(x, data_format=data_format, mode="tf")
