"""MobileNet (Howard et al., 2017), as Keras builds it: a 3x3 convolution, then 13
depthwise-separable blocks (a 3x3 depthwise convolution and a 1x1 pointwise convolution,
each with batch norm and ReLU6); ``alpha`` scales every layer's width."""
from ...errors import ConfigError
from ._common import (KERAS_APPS, check_arguments, image_data_format, input_shape_for, layer,
                      load_weights, make_model, model_input, pooled, source_inputs)

_TITLE = "MobileNet"
_ALPHA_TEXT = {1.0: "1_0", 0.75: "7_5", 0.5: "5_0", 0.25: "2_5"}
# (pointwise filters, stride) of blocks 1..13
_BLOCKS = ((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
           (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))


def MobileNet(input_shape=None, alpha=1.0, depth_multiplier=1, dropout=1e-3,  # noqa: N802
              include_top=True, weights="imagenet", input_tensor=None, pooling=None,
              classes=1000, classifier_activation="softmax"):
    """MobileNet (4,253,864 parameters at alpha=1 with the top). Needs threestep's
    ``DepthwiseConv2D`` layer. ``weights``: None (random), ``"imagenet"`` (Keras's published
    file for alpha in 0.25/0.5/0.75/1.0 and sizes 128/160/192/224) or a path."""
    check_arguments(_TITLE, weights, include_top, classes, pooling)
    data_format = image_data_format()
    if weights == "imagenet":
        if depth_multiplier != 1:
            raise ConfigError("MobileNet: the ImageNet weights exist only for depth_multiplier=1.")
        if alpha not in _ALPHA_TEXT:
            raise ConfigError(f"MobileNet: the ImageNet weights exist for alpha in "
                              f"{sorted(_ALPHA_TEXT)}. Received: alpha={alpha}.")
    default = 224
    if input_shape is not None and weights == "imagenet":
        rows = input_shape[1] if data_format == "channels_first" else input_shape[0]
        if rows in (128, 160, 192, 224):
            default = rows
    shape = input_shape_for(_TITLE, input_shape, default, 32, include_top, weights, data_format)
    axis = 1 if data_format == "channels_first" else 3
    conv, bn, relu = layer("Conv2D", _TITLE), layer("BatchNormalization", _TITLE), layer("ReLU", _TITLE)
    depthwise, pad = layer("DepthwiseConv2D", _TITLE), layer("ZeroPadding2D", _TITLE)
    inputs = model_input(input_tensor, shape)
    x = conv(int(32 * alpha), (3, 3), padding="same", use_bias=False, strides=(2, 2),
             data_format=data_format, name="conv1")(inputs)
    x = relu(6.0, name="conv1_relu")(bn(axis=axis, name="conv1_bn")(x))
    for block_id, (filters, stride) in enumerate(_BLOCKS, 1):
        if stride != 1:
            x = pad(((0, 1), (0, 1)), data_format=data_format, name=f"conv_pad_{block_id}")(x)
        x = depthwise((3, 3), padding="same" if stride == 1 else "valid",
                      depth_multiplier=depth_multiplier, strides=(stride, stride), use_bias=False,
                      data_format=data_format, name=f"conv_dw_{block_id}")(x)
        x = bn(axis=axis, name=f"conv_dw_{block_id}_bn")(x)
        x = relu(6.0, name=f"conv_dw_{block_id}_relu")(x)
        x = conv(int(filters * alpha), (1, 1), padding="same", use_bias=False,
                 data_format=data_format, name=f"conv_pw_{block_id}")(x)
        x = bn(axis=axis, name=f"conv_pw_{block_id}_bn")(x)
        x = relu(6.0, name=f"conv_pw_{block_id}_relu")(x)
    if include_top:
        width = int(1024 * alpha)
        x = layer("GlobalAveragePooling2D", _TITLE)(data_format=data_format)(x)
        target = (width, 1, 1) if data_format == "channels_first" else (1, 1, width)
        x = layer("Reshape", _TITLE)(target, name="reshape_1")(x)
        x = layer("Dropout", _TITLE)(dropout, name="dropout")(x)
        x = conv(classes, (1, 1), padding="same", data_format=data_format, name="conv_preds")(x)
        x = layer("Reshape", _TITLE)((classes,), name="reshape_2")(x)
        x = layer("Activation", _TITLE)(classifier_activation, name="predictions")(x)
    x = pooled(x, include_top, pooling)
    source = source_inputs(input_tensor) if input_tensor is not None else inputs
    rows = shape[1] if data_format == "channels_first" else shape[0]
    model = make_model(source, x, f"mobilenet_{alpha:0.2f}_{rows}")
    text = _ALPHA_TEXT.get(alpha, "1_0")
    fname = f"mobilenet_{text}_{rows}_tf.h5" if include_top else f"mobilenet_{text}_{rows}_tf_no_top.h5"
    return load_weights(model, weights, fname, f"{KERAS_APPS}mobilenet/{fname}", None)
