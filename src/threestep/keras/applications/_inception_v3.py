"""InceptionV3 (Szegedy et al., 2015), as Keras builds it: a convolutional stem, then
Inception modules mixed0..mixed10 whose parallel branches (1x1, factorised 5x5 / 7x7 / 3x3
convolutions, pooling) are concatenated along the channels."""
from ._common import (KERAS_APPS, check_arguments, image_data_format, input_shape_for, layer,
                      load_weights, make_model, model_input, pooled, source_inputs)

HASHES = ("9a0d58056eeedaa3f26cb7ebd46da564", "bcbd6486424b2319ff4ef7d526e38f63")
_TITLE = "InceptionV3"


class _Net:
    def __init__(self, data_format):
        self.df = data_format
        self.axis = 1 if data_format == "channels_first" else 3
        self.conv = layer("Conv2D", _TITLE)
        self.bn = layer("BatchNormalization", _TITLE)
        self.act = layer("Activation", _TITLE)
        self.avg = layer("AveragePooling2D", _TITLE)
        self.max = layer("MaxPooling2D", _TITLE)
        self.cat = layer("Concatenate", _TITLE)

    def cbr(self, x, filters, rows, cols, strides=(1, 1), padding="same"):
        """Convolution (no bias), batch norm without scale, ReLU."""
        x = self.conv(filters, (rows, cols), strides=strides, padding=padding, use_bias=False,
                      data_format=self.df)(x)
        x = self.bn(axis=self.axis, scale=False)(x)
        return self.act("relu")(x)

    def avg_branch(self, x, filters):
        x = self.avg((3, 3), strides=(1, 1), padding="same", data_format=self.df)(x)
        return self.cbr(x, filters, 1, 1)

    def max_pool(self, x):
        return self.max((3, 3), strides=(2, 2), data_format=self.df)(x)

    def concat(self, branches, name=None):
        return self.cat(axis=self.axis, name=name)(branches)


def InceptionV3(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
                pooling=None, classes=1000, classifier_activation="softmax"):
    """InceptionV3 for 299x299 images (23,851,784 parameters with the top; at least 75x75
    without). ``weights``: None (random), ``"imagenet"`` (Keras's published file, needs
    threestep's HDF5 reader) or a path."""
    check_arguments(_TITLE, weights, include_top, classes, pooling)
    data_format = image_data_format()
    shape = input_shape_for(_TITLE, input_shape, 299, 75, include_top, weights, data_format)
    n = _Net(data_format)
    inputs = model_input(input_tensor, shape)
    x = n.cbr(inputs, 32, 3, 3, strides=(2, 2), padding="valid")
    x = n.cbr(x, 32, 3, 3, padding="valid")
    x = n.cbr(x, 64, 3, 3)
    x = n.max_pool(x)
    x = n.cbr(x, 80, 1, 1, padding="valid")
    x = n.cbr(x, 192, 3, 3, padding="valid")
    x = n.max_pool(x)
    for i, pool_filters in enumerate((32, 64, 64)):  # mixed0-2: 35x35
        b5 = n.cbr(n.cbr(x, 48, 1, 1), 64, 5, 5)
        b3 = n.cbr(n.cbr(n.cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3)
        x = n.concat([n.cbr(x, 64, 1, 1), b5, b3, n.avg_branch(x, pool_filters)], f"mixed{i}")
    b3 = n.cbr(x, 384, 3, 3, strides=(2, 2), padding="valid")  # mixed3: to 17x17
    b3d = n.cbr(n.cbr(n.cbr(x, 64, 1, 1), 96, 3, 3), 96, 3, 3, strides=(2, 2), padding="valid")
    x = n.concat([b3, b3d, n.max_pool(x)], "mixed3")
    for i, width in enumerate((128, 160, 160, 192)):  # mixed4-7: factorised 7x7
        b7 = n.cbr(n.cbr(n.cbr(x, width, 1, 1), width, 1, 7), 192, 7, 1)
        b7d = n.cbr(x, width, 1, 1)
        for filters, rows, cols in ((width, 7, 1), (width, 1, 7), (width, 7, 1), (192, 1, 7)):
            b7d = n.cbr(b7d, filters, rows, cols)
        x = n.concat([n.cbr(x, 192, 1, 1), b7, b7d, n.avg_branch(x, 192)], f"mixed{4 + i}")
    b3 = n.cbr(n.cbr(x, 192, 1, 1), 320, 3, 3, strides=(2, 2), padding="valid")  # mixed8: to 8x8
    b7 = n.cbr(n.cbr(n.cbr(x, 192, 1, 1), 192, 1, 7), 192, 7, 1)
    b7 = n.cbr(b7, 192, 3, 3, strides=(2, 2), padding="valid")
    x = n.concat([b3, b7, n.max_pool(x)], "mixed8")
    for i in range(2):  # mixed9-10: expanded filter banks
        b3 = n.cbr(x, 384, 1, 1)
        b3 = n.concat([n.cbr(b3, 384, 1, 3), n.cbr(b3, 384, 3, 1)], f"mixed9_{i}")
        b3d = n.cbr(n.cbr(x, 448, 1, 1), 384, 3, 3)
        b3d = n.concat([n.cbr(b3d, 384, 1, 3), n.cbr(b3d, 384, 3, 1)])
        x = n.concat([n.cbr(x, 320, 1, 1), b3, b3d, n.avg_branch(x, 192)], f"mixed{9 + i}")
    if include_top:
        x = layer("GlobalAveragePooling2D", _TITLE)(data_format=data_format, name="avg_pool")(x)
        x = layer("Dense", _TITLE)(classes, activation=classifier_activation, name="predictions")(x)
    x = pooled(x, include_top, pooling)
    source = source_inputs(input_tensor) if input_tensor is not None else inputs
    model = make_model(source, x, "inception_v3")
    fname = ("inception_v3_weights_tf_dim_ordering_tf_kernels.h5" if include_top
             else "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5")
    return load_weights(model, weights, fname, f"{KERAS_APPS}inception_v3/{fname}",
                        HASHES[0 if include_top else 1])
