"""keras.applications: ImageNet architectures, built as Keras builds them.

``VGG16``, ``VGG19``, ``ResNet50``, ``InceptionV3`` and ``MobileNet`` (which needs the
``DepthwiseConv2D`` layer). ``weights=None`` builds the architecture with random
initialisation; ``weights="imagenet"`` loads Keras's published HDF5 weight file (from
``~/.keras/models``, downloaded if missing) and ``weights="path.h5"`` a file of your own,
both through ``threestep.interop.keras_h5``. Each model's module (``vgg16``, ``resnet50``,
``inception_v3``, ``mobilenet`` ...) also has ``preprocess_input`` and
``decode_predictions``. Other Keras applications raise ``NotSupportedError``.

Example:
    >>> from threestep.keras.applications.vgg16 import VGG16, preprocess_input
    >>> base = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3), pooling="avg")
"""
from . import inception_v3, mobilenet, resnet, resnet50, vgg16, vgg19  # noqa: F401
from ._inception_v3 import InceptionV3  # noqa: F401
from ._mobilenet import MobileNet  # noqa: F401
from ._resnet import ResNet50  # noqa: F401
from ._vgg import VGG16, VGG19  # noqa: F401
from .._paths import path_module  # noqa: E402

__getattr__, __dir__ = path_module(__name__, [
    "VGG16", "VGG19", "ResNet50", "InceptionV3", "MobileNet", "Xception", "InceptionResNetV2",
    "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2", "ResNet152V2", "MobileNetV2",
    "DenseNet121", "DenseNet169", "DenseNet201", "NASNetMobile", "NASNetLarge",
    "EfficientNetB0",
], source=("threestep.keras.applications._vgg", "threestep.keras.applications._resnet",
            "threestep.keras.applications._inception_v3", "threestep.keras.applications._mobilenet"),
    lenient=False,
    hint="one of VGG16, VGG19, ResNet50, InceptionV3 or MobileNet, or build the "
         "architecture from threestep.keras.layers")
