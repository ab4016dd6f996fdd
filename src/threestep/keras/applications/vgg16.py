"""keras.applications.vgg16: VGG16, preprocess_input (caffe mode) and decode_predictions."""
from ._common import decode_predictions  # noqa: F401
from ._common import preprocess_input as _preprocess
from ._vgg import VGG16  # noqa: F401


def preprocess_input(x, data_format=None):
    """A batch of RGB images (0..255) scaled as the ImageNet weights of VGG16 expect
    (caffe mode; see ``threestep.keras.applications._common.preprocess_input``)."""
    return _preprocess(x, data_format=data_format, mode="caffe")
