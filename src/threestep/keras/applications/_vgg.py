"""VGG16 and VGG19 (Simonyan & Zisserman, 2014), as Keras builds them: blocks of 3x3
convolutions with ReLU and 2x2 max pooling, then two 4,096-unit dense layers."""
from ._common import (KERAS_APPS, check_arguments, image_data_format, input_shape_for, layer,
                      load_weights, make_model, model_input, pooled, source_inputs)

HASHES = {"vgg16": ("64373286793e3c8b2b4e3219cbf3544b", "6d6bbae143d832006294945121d1f1fc"),
          "vgg19": ("cbe5617147190e668d6c5d5026f83318", "253f8cb515780f3b799900260a226db6")}


def build_vgg(name, convs_per_block, include_top, weights, input_tensor, input_shape, pooling,
              classes, classifier_activation):
    title = name.upper()
    check_arguments(title, weights, include_top, classes, pooling)
    data_format = image_data_format()
    shape = input_shape_for(title, input_shape, 224, 32, include_top, weights, data_format)
    conv, pool = layer("Conv2D", title), layer("MaxPooling2D", title)
    inputs = model_input(input_tensor, shape)
    x = inputs
    for block, (filters, count) in enumerate(zip((64, 128, 256, 512, 512), convs_per_block), 1):
        for i in range(1, count + 1):
            x = conv(filters, (3, 3), activation="relu", padding="same",
                     data_format=data_format, name=f"block{block}_conv{i}")(x)
        x = pool((2, 2), strides=(2, 2), data_format=data_format, name=f"block{block}_pool")(x)
    if include_top:
        dense = layer("Dense", title)
        x = layer("Flatten", title)(name="flatten")(x)
        x = dense(4096, activation="relu", name="fc1")(x)
        x = dense(4096, activation="relu", name="fc2")(x)
        x = dense(classes, activation=classifier_activation, name="predictions")(x)
    x = pooled(x, include_top, pooling)
    source = source_inputs(input_tensor) if input_tensor is not None else inputs
    model = make_model(source, x, name)
    suffix = "" if include_top else "_notop"
    fname = f"{name}_weights_tf_dim_ordering_tf_kernels{suffix}.h5"
    return load_weights(model, weights, fname, f"{KERAS_APPS}{name}/{fname}",
                        HASHES[name][0 if include_top else 1])


def VGG16(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes=1000, classifier_activation="softmax"):
    """VGG16: 13 convolutions in 5 blocks plus 3 dense layers (138,357,544 parameters with
    the top). ``weights``: None (random), ``"imagenet"`` (Keras's published file, needs
    threestep's HDF5 reader) or a path.

    Example:
        >>> model = VGG16(weights=None, include_top=False, input_shape=(64, 64, 3), pooling="avg")
    """
    return build_vgg("vgg16", (2, 2, 3, 3, 3), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation)


def VGG19(include_top=True, weights="imagenet", input_tensor=None, input_shape=None,  # noqa: N802
          pooling=None, classes=1000, classifier_activation="softmax"):
    """VGG19: 16 convolutions in 5 blocks plus 3 dense layers (143,667,240 parameters with
    the top); arguments as :func:`VGG16`."""
    return build_vgg("vgg19", (2, 2, 4, 4, 4), include_top, weights, input_tensor, input_shape,
                     pooling, classes, classifier_activation)
