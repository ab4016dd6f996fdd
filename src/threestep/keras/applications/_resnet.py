"""ResNet50 (He et al., 2015), as Keras builds it: a 7x7 stem, then four stages of
bottleneck residual blocks (1x1, 3x3, 1x1 convolutions; a 1x1 projection shortcut in the
first block of each stage)."""
from ._common import (KERAS_APPS, check_arguments, image_data_format, input_shape_for, layer,
                      load_weights, make_model, model_input, pooled, source_inputs)

HASHES = ("2cb95161c43110f7111970584f804107", "4d473c1dd8becc155b73f8504c6f6626")
_TITLE = "ResNet50"


class _Blocks:
    def __init__(self, data_format):
        self.df = data_format
        self.bn_axis = 1 if data_format == "channels_first" else 3
        self.conv = layer("Conv2D", _TITLE)
        self.bn = layer("BatchNormalization", _TITLE)
        self.act = layer("Activation", _TITLE)
        self.add = layer("Add", _TITLE)

    def conv_bn(self, x, filters, kernel, name, strides=1, padding="valid", relu=True):
        x = self.conv(filters, kernel, strides=strides, padding=padding, data_format=self.df,
                      name=name + "_conv")(x)
        x = self.bn(axis=self.bn_axis, epsilon=1.001e-5, name=name + "_bn")(x)
        return self.act("relu", name=name + "_relu")(x) if relu else x

    def block(self, x, filters, stride, conv_shortcut, name):
        if conv_shortcut:
            shortcut = self.conv_bn(x, 4 * filters, 1, name + "_0", strides=stride, relu=False)
        else:
            shortcut = x
        x = self.conv_bn(x, filters, 1, name + "_1", strides=stride)
        x = self.conv_bn(x, filters, 3, name + "_2", padding="same")
        x = self.conv_bn(x, 4 * filters, 1, name + "_3", relu=False)
        x = self.add(name=name + "_add")([shortcut, x])
        return self.act("relu", name=name + "_out")(x)

    def stack(self, x, filters, blocks, stride, name):
        x = self.block(x, filters, stride, True, name + "_block1")
        for i in range(2, blocks + 1):
            x = self.block(x, filters, 1, False, f"{name}_block{i}")
        return x


def ResNet50(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
             pooling=None, classes=1000, classifier_activation="softmax"):
    """ResNet50 (25,636,712 parameters with the top). ``weights``: None (random),
    ``"imagenet"`` (Keras's published file, needs threestep's HDF5 reader) or a path.

    Example:
        >>> model = ResNet50(weights=None, include_top=False, input_shape=(64, 64, 3))
    """
    check_arguments(_TITLE, weights, include_top, classes, pooling)
    data_format = image_data_format()
    shape = input_shape_for(_TITLE, input_shape, 224, 32, include_top, weights, data_format)
    blocks = _Blocks(data_format)
    pad, pool = layer("ZeroPadding2D", _TITLE), layer("MaxPooling2D", _TITLE)
    inputs = model_input(input_tensor, shape)
    x = pad(((3, 3), (3, 3)), data_format=data_format, name="conv1_pad")(inputs)
    x = blocks.conv_bn(x, 64, 7, "conv1", strides=2)
    x = pad(((1, 1), (1, 1)), data_format=data_format, name="pool1_pad")(x)
    x = pool(3, strides=2, data_format=data_format, name="pool1_pool")(x)
    for filters, count, stride, name in ((64, 3, 1, "conv2"), (128, 4, 2, "conv3"),
                                         (256, 6, 2, "conv4"), (512, 3, 2, "conv5")):
        x = blocks.stack(x, filters, count, stride, name)
    if include_top:
        x = layer("GlobalAveragePooling2D", _TITLE)(data_format=data_format, name="avg_pool")(x)
        x = layer("Dense", _TITLE)(classes, activation=classifier_activation, name="predictions")(x)
    x = pooled(x, include_top, pooling)
    source = source_inputs(input_tensor) if input_tensor is not None else inputs
    model = make_model(source, x, "resnet50")
    fname = ("resnet50_weights_tf_dim_ordering_tf_kernels.h5" if include_top
             else "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5")
    return load_weights(model, weights, fname, f"{KERAS_APPS}resnet/{fname}",
                        HASHES[0 if include_top else 1])
