"""What the Keras application builders share: input-shape rules, layer lookup with clear
errors, ImageNet weight files, ``preprocess_input`` and ``decode_predictions``."""
import importlib
import json
import os

import numpy

from ... import backend
from ...errors import ConfigError, DatasetError, NotSupportedError
from ...layers.symbolic import SymbolicTensor
from ...utils.files import get_file
from .._paths import lookup

KERAS_APPS = "https://storage.googleapis.com/tensorflow/keras-applications/"
CLASS_INDEX_URL = "https://storage.googleapis.com/download.tensorflow.org/data/imagenet_class_index.json"
CLASS_INDEX_MD5 = "c2c37ea517e94d9795004a39431a14cb"


def image_data_format():
    getter = getattr(backend, "image_data_format", None)
    return getter() if callable(getter) else "channels_last"


def layer(name, model):
    """The threestep layer class ``name``, or a NotSupportedError naming the application."""
    try:
        return lookup(name, "keras.layers")
    except NotSupportedError as exc:
        raise NotSupportedError(f"{model} needs the layer {name}, which threestep does not have "
                                f"yet, so {model} cannot be built. ({exc})") from None


def check_arguments(model, weights, include_top, classes, pooling):
    if not (weights in ("imagenet", None) or os.path.exists(os.fspath(weights))):
        raise ConfigError(f"{model}: weights must be None (random initialisation), 'imagenet' "
                          f"or the path of a weights file. Received: weights={weights!r} (no "
                          "such file).")
    if weights == "imagenet" and include_top and classes != 1000:
        raise ConfigError(f"{model}: the ImageNet weights with include_top=True classify 1000 "
                          f"classes. Received: classes={classes}. Use include_top=False and "
                          "your own top layers, or weights=None.")
    if pooling not in (None, "avg", "max"):
        raise ConfigError(f"{model}: pooling must be None, 'avg' or 'max'. Received: "
                          f"pooling={pooling!r}.")


def input_shape_for(model, input_shape, default_size, min_size, include_top, weights,
                    data_format):
    """The image shape (no batch axis), following Keras's rules: with the classifier top
    and ImageNet weights it must be the default size; otherwise at least ``min_size``."""
    channels_first = data_format == "channels_first"

    def shape_of(rows, cols, channels=3):
        return (channels, rows, cols) if channels_first else (rows, cols, channels)

    default = shape_of(default_size, default_size)
    if input_shape is None:
        return default if include_top else shape_of(None, None)
    input_shape = tuple(input_shape)
    if len(input_shape) != 3:
        raise ConfigError(f"{model}: input_shape must be (rows, cols, channels) (channels_last) "
                          f"or (channels, rows, cols). Received: input_shape={input_shape}.")
    channels = input_shape[0] if channels_first else input_shape[-1]
    spatial = input_shape[1:] if channels_first else input_shape[:2]
    if weights == "imagenet" and channels != 3:
        raise ConfigError(f"{model}: the ImageNet weights need 3 input channels. Received: "
                          f"input_shape={input_shape}.")
    if include_top and weights == "imagenet" and input_shape != default:
        raise ConfigError(f"{model}: with include_top=True and the ImageNet weights the input "
                          f"must be {default}. Received: input_shape={input_shape}. Use "
                          "include_top=False for other sizes.")
    if any(s is not None and s < min_size for s in spatial):
        raise ConfigError(f"{model}: input images must be at least {min_size}x{min_size}. "
                          f"Received: input_shape={input_shape}.")
    if include_top and any(s is None for s in spatial):
        raise ConfigError(f"{model}: include_top=True needs a fixed input size. Received: "
                          f"input_shape={input_shape}.")
    return input_shape


def model_input(input_tensor, shape):
    """``Input(shape)``, or the given ``input_tensor`` (a symbolic tensor)."""
    if input_tensor is None:
        return lookup("Input", "keras.layers")(shape=shape)
    if not isinstance(input_tensor, SymbolicTensor):
        raise ConfigError("input_tensor must be a symbolic tensor from Input(...) or a layer "
                          f"call. Received: {type(input_tensor).__name__}.")
    return input_tensor


def make_model(inputs, outputs, name):
    from ...models import Model  # noqa: PLC0415

    return Model(inputs, outputs, name=name)


def source_inputs(tensor):
    """The Input tensors a symbolic tensor depends on (for ``input_tensor=``)."""
    if tensor.node is None:
        return tensor
    found, stack, seen = [], [tensor], set()
    while stack:
        t = stack.pop()
        if t.uid in seen:
            continue
        seen.add(t.uid)
        if t.node is None:
            found.append(t)
        else:
            stack.extend(t.node.parents())
    return found[0] if len(found) == 1 else found


def load_weights(model, weights, fname, url, file_hash):
    """Loads ``weights`` ('imagenet': Keras's published file, from the cache or downloaded;
    else a path) into ``model`` through threestep's Keras HDF5 reader."""
    if weights is None:
        return model
    if weights == "imagenet":
        try:
            path = get_file(fname, url, cache_subdir="models", file_hash=file_hash)
        except DatasetError as exc:
            raise DatasetError(f"{model.name}: the ImageNet weights {fname} are neither cached "
                               f"nor downloadable. {exc} (It is published at {url}.) Or pass "
                               "weights='<path to the .h5 file>'.") from exc
    else:
        path = os.fspath(weights)
    try:
        keras_h5 = importlib.import_module(__name__.split(".")[0] + ".interop.keras_h5")
    except ImportError as exc:
        keras_h5, reason = None, exc
    loader = getattr(keras_h5, "load_weights_h5", None) or getattr(keras_h5, "load_weights", None)
    if loader is None:
        raise NotSupportedError(f"{model.name}: loading Keras HDF5 weight files needs "
                                "threestep.interop.keras_h5, which this version of threestep "
                                "does not have. Build with weights=None."
                                + (f" ({reason})" if keras_h5 is None else ""))
    loader(model, path)
    return model


def pooled(x, include_top, pooling):
    if include_top or pooling is None:
        return x
    name = "GlobalAveragePooling2D" if pooling == "avg" else "GlobalMaxPooling2D"
    return lookup(name, "keras.layers")()(x)


# --------------------------------------------------------------------------- pre/post

def preprocess_input(x, data_format=None, mode="caffe"):
    """Scales a batch of RGB images (0..255) as the ImageNet weights expect.

    ``mode``: ``"caffe"`` (RGB to BGR, minus the ImageNet channel means; VGG, ResNet50),
    ``"tf"`` (to -1..1; InceptionV3, MobileNet) or ``"torch"`` (to 0..1, minus mean, over
    std per channel). Returns a new float array.
    """
    data_format = data_format or image_data_format()
    x = numpy.array(x)
    if not numpy.issubdtype(x.dtype, numpy.floating):
        x = x.astype(backend.floatx())
    if mode == "tf":
        return x / 127.5 - 1.0
    axis = (0 if x.ndim == 3 else 1) if data_format == "channels_first" else -1
    if mode == "torch":
        x = x / 255.0
        mean, std = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
    elif mode == "caffe":
        x = numpy.flip(x, axis=axis).copy()  # RGB -> BGR
        mean, std = [103.939, 116.779, 123.68], None
    else:
        raise ConfigError(f"preprocess_input: mode must be 'caffe', 'tf' or 'torch'. "
                          f"Received: mode={mode!r}.")
    shape = [1] * x.ndim
    shape[axis] = 3
    x = x - numpy.reshape(numpy.asarray(mean, x.dtype), shape)
    if std is not None:
        x = x / numpy.reshape(numpy.asarray(std, x.dtype), shape)
    return x


def decode_predictions(preds, top=5):
    """The ``top`` ImageNet classes of each prediction: lists of ``(class_id, name,
    score)``. The class index file comes from Keras's cache or is downloaded."""
    preds = numpy.asarray(preds)
    if preds.ndim != 2 or preds.shape[1] != 1000:
        raise ConfigError(f"decode_predictions expects a batch of ImageNet predictions, shape "
                          f"(samples, 1000). Received shape {preds.shape}.")
    path = get_file("imagenet_class_index.json", CLASS_INDEX_URL, cache_subdir="models",
                    file_hash=CLASS_INDEX_MD5)
    with open(path, encoding="utf-8") as f:
        index = json.load(f)
    results = []
    for pred in preds:
        best = pred.argsort()[-top:][::-1]
        results.append([tuple(index[str(i)]) + (pred[i],) for i in best])
    return results
