"""Convolution layers: the lecture's CNN.

A filter is a neuron that sees a small region (property 1) and shares its weights across
positions (property 2). ``Conv1D`` and ``Conv2D`` are thin names over one rank-generic
``Conv`` base; the kernel has the Keras layout ``(*kernel_size, in_channels, filters)``.
"""
from .. import ops
from ..errors import ConfigError, ShapeError, warn
from ..ops.im2col import geometry, normalize_tuple
from . import activations
from .base import Layer, check_positive_int, deprecated_arg
from .weight_options import add_option_weight, get_regularizer, weight_options, weight_options_config

_FORMATS = ("channels_last", "channels_first")


def check_data_format(layer, data_format, rank=2):
    """``data_format``, or when None: the global ``image_data_format()`` for images, and
    'channels_last' for sequences (rank 1), as in Keras."""
    if data_format is None and rank == 1:
        data_format = "channels_last"
    elif data_format is None:
        from .. import backend  # noqa: PLC0415

        data_format = backend.image_data_format()
    data_format = {"th": "channels_first", "tf": "channels_last"}.get(data_format, data_format)
    if data_format not in _FORMATS:
        raise ConfigError(f"{layer}: data_format must be 'channels_last' or 'channels_first'. "
                          f"Received: data_format={data_format!r}.")
    return data_format


def spatial_and_channels(shape, data_format):
    """Split a (batch, ...) shape into its spatial sizes and channel count."""
    if data_format == "channels_first":
        return tuple(shape[2:]), shape[1]
    return tuple(shape[1:-1]), shape[-1]


def join_shape(batch, spatial, channels, data_format):
    if data_format == "channels_first":
        return (batch, channels) + tuple(spatial)
    return (batch,) + tuple(spatial) + (channels,)


def check_rank(layer, input_shape, rank, data_format):
    """Raise a ShapeError naming the layer when the input is not (batch, *spatial, channels)."""
    if len(input_shape) != rank + 2:
        axes = ", ".join(["steps"] if rank == 1 else ["rows", "cols"] if rank == 2 else [f"d{i}" for i in range(rank)])
        want = f"(batch, channels, {axes})" if data_format == "channels_first" else f"(batch, {axes}, channels)"
        hint = ""
        if len(input_shape) == rank + 1:
            hint = " Add a channel axis, e.g. x[..., None] (or x[:, None] for channels_first)."
        raise ShapeError(f"{type(layer).__name__} layer {layer.name!r} expects inputs of rank {rank + 2} {want}; "
                         f"received shape {tuple(input_shape)}.{hint}")


def check_channels(layer, input_shape):
    """The checks every convolution makes of its input: the rank, a known channel axis, and
    (once built) the channel count its kernel was built for (``layer.built_channels()``)."""
    check_rank(layer, input_shape, layer.rank, layer.data_format)
    spatial, channels = spatial_and_channels(input_shape, layer.data_format)
    where = f"{type(layer).__name__} layer {layer.name!r}"
    if channels is None:
        raise ShapeError(f"{where}: the channel axis of {tuple(input_shape)} must be known.")
    if layer.built and channels != layer.built_channels():
        raise ShapeError(f"{where} was built for {layer.built_channels()} input channels but received {channels} "
                         f"(input shape {tuple(input_shape)}).")
    return spatial


class Conv(Layer):
    """Rank-generic convolution. Use ``Conv1D`` or ``Conv2D``.

    Args:
        filters: number of filters (output channels).
        kernel_size: int or tuple, the filter's spatial size.
        strides: int or tuple. padding: 'valid', 'same' (or 'causal' for Conv1D).
        data_format: 'channels_last' (default, (batch, ..., channels)) or 'channels_first'.
        dilation_rate: int or tuple. activation, use_bias, initializers, regularizers,
            constraints: as Dense.
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 activation=None, use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        legacy = _legacy_conv_args(type(self).__name__, kwargs)
        padding = legacy.get("padding", padding)
        strides = legacy.get("strides", strides)
        data_format = legacy.get("data_format", data_format)
        kernel_initializer = legacy.get("kernel_initializer", kernel_initializer)
        kernel_regularizer = legacy.get("kernel_regularizer", kernel_regularizer)
        bias_regularizer = legacy.get("bias_regularizer", bias_regularizer)
        use_bias = legacy.get("use_bias", use_bias)
        super().__init__(**kwargs)
        where = f"{type(self).__name__} layer {self.name!r}"
        self.filters = check_positive_int(where, "filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        self.dilation_rate = normalize_tuple(dilation_rate, self.rank, "dilation_rate")
        valid = ("valid", "same", "causal") if self.rank == 1 else ("valid", "same")
        if not isinstance(padding, str) or padding.lower() not in valid:
            raise ConfigError(f"{where}: padding must be one of {', '.join(repr(v) for v in valid)}. "
                              f"Received: padding={padding!r}.")
        self.padding = padding.lower()
        self.data_format = check_data_format(where, data_format, self.rank)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        weight_options(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        weight_options(self, "bias", bias_initializer, bias_regularizer, bias_constraint)
        self.activity_regularizer = get_regularizer(activity_regularizer)

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def built_channels(self):
        """The input channels the kernel ``(*kernel_size, in, out)`` was built for."""
        return self.kernel.shape[-2]

    def check_input_shape(self, input_shape):
        spatial = check_channels(self, input_shape)
        if self.padding == "valid" and all(s is not None for s in spatial):
            spans = [(k - 1) * d + 1 for k, d in zip(self.kernel_size, self.dilation_rate)]
            if any(span > s for span, s in zip(spans, spatial)):
                hint = "Use padding='same', a smaller kernel, or remove a pooling layer."
                if self.data_format == "channels_last" and input_shape[1] in (1, 3) and input_shape[-1] not in (1, 3):
                    hint = (f"The input {tuple(input_shape[1:])} looks channels_first (channels, rows, cols): pass "
                            "data_format='channels_first', or give images as (rows, cols, channels).")
                raise ShapeError(
                    f"{type(self).__name__} layer {self.name!r}: kernel {self.kernel_size} (dilation "
                    f"{self.dilation_rate}) is larger than its input's spatial size {spatial} (input shape "
                    f"{tuple(input_shape)}). {hint}")

    def build(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        shape = self.kernel_size + (channels, self.filters)
        self.kernel = add_option_weight(self, "kernel", "kernel", shape)
        self.bias = add_option_weight(self, "bias", "bias", (self.filters,)) if self.use_bias else None

    def compute_output_shape(self, input_shape):
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        if any(s is None for s in spatial):
            out = (None,) * self.rank
        else:
            g = geometry((None,) + spatial + (1,), self.kernel_size, self.strides, self.dilation_rate, self.padding,
                         f"{type(self).__name__} layer {self.name!r}")
            out = g.out_sizes
        return join_shape(input_shape[0], out, self.filters, self.data_format)

    def call_logits(self, x, training=None):
        return ops.conv(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate, self.data_format)

    def call_relu(self, x, training=None):
        """max(conv(x) + b, 0) as one node: this layer followed by ``Activation("relu")``
        (``models.fusion``)."""
        return ops.conv(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate,
                        self.data_format, relu=True)

    def call_pooled(self, x, pool, relu):
        """This layer (its ReLU with ``relu``) and then ``pool``, a max-pooling layer with 'valid'
        windows, as one op (``ops.conv_max_pool``: one pass in test mode, one graph node in
        training; ``models.fusion``), or None where that does not serve."""
        if self.data_format != "channels_last" or getattr(pool, "data_format", None) != "channels_last":
            return None
        return ops.conv_max_pool(x, self.kernel, self.bias, self.strides, self.padding, self.dilation_rate, relu,
                                 pool.pool_size, pool.strides)

    def call(self, x, training=None):
        if self.activation is activations.relu:  # fused: the ReLU in the convolution's node (ops.Conv)
            y = self.call_relu(x)
        else:
            y = self.activation(self.call_logits(x))
        self.record_activity(y)
        return y

    def get_config(self):
        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "dilation_rate": list(self.dilation_rate), "activation": activations.name_of(self.activation),
                "use_bias": self.use_bias, **weight_options_config(self, ("kernel", "bias"))}

    def __repr__(self):
        return f"{type(self).__name__}({self.filters}, {self.kernel_size}, name={self.name!r})"


class Conv1D(Conv):
    """1-D convolution: the filter moves along one axis only (time, or the words of a sentence).

    Input shape: (batch, steps, channels). Output shape: (batch, new_steps, filters).

    Example:
        >>> Conv1D(25, 5, strides=2, activation="relu", input_shape=(40, 1))
    """

    rank = 1


class Conv2D(Conv):
    """2-D convolution over images.

    Input shape: (batch, rows, cols, channels) (or (batch, channels, rows, cols) with
    data_format='channels_first'). Output shape: (batch, new_rows, new_cols, filters).

    Example:
        >>> Conv2D(25, (3, 3), activation="relu", input_shape=(28, 28, 1))  # -> (None, 26, 26, 25)
    """

    rank = 2


class Conv3D(Conv):
    """3-D convolution over volumes or video (frames, rows, cols).

    Input shape: (batch, d1, d2, d3, channels) (channels_first: (batch, channels, d1, d2, d3)).
    Output shape: (batch, new_d1, new_d2, new_d3, filters).

    Example:
        >>> Conv3D(8, (3, 3, 3), activation="relu", input_shape=(16, 32, 32, 1))  # -> (None, 14, 30, 30, 8)
    """

    rank = 3


def _legacy_conv_args(layer, kwargs):
    """Keras 1 argument names -> Keras 2 names, each with a DeprecationWarning."""
    out = {}
    for old, new in (("border_mode", "padding"), ("subsample", "strides"), ("subsample_length", "strides"),
                     ("dim_ordering", "data_format"), ("init", "kernel_initializer"),
                     ("W_regularizer", "kernel_regularizer"), ("b_regularizer", "bias_regularizer"),
                     ("bias", "use_bias")):
        value = deprecated_arg(kwargs, old, new, layer)
        if value is not None:
            out[new] = value
    if "data_format" in out:
        out["data_format"] = {"th": "channels_first", "tf": "channels_last"}.get(out["data_format"], out["data_format"])
    return out


class Convolution1D(Conv1D):
    """Keras 1 name of Conv1D: ``Convolution1D(nb_filter, filter_length, ...)`` (warns).

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     layer = Convolution1D(8, 3)  # = Conv1D(8, 3)
    """

    def __init__(self, filters=None, kernel_size=None, **kwargs):
        filters = _legacy_pair(kwargs, "nb_filter", filters, "Convolution1D")
        kernel_size = _legacy_pair(kwargs, "filter_length", kernel_size, "Convolution1D")
        super().__init__(filters, kernel_size, **kwargs)


class Convolution2D(Conv2D):
    """Keras 1 name of Conv2D: ``Convolution2D(nb_filter, nb_row, nb_col, ...)`` (warns),
    as in the lecture's ``Convolution2D(25, 3, 3, input_shape=(1, 28, 28))``; with that
    channels-first shape also pass ``dim_ordering='th'`` (or data_format='channels_first').

    Example:
        >>> import warnings
        >>> with warnings.catch_warnings():
        ...     warnings.simplefilter("ignore")
        ...     layer = Convolution2D(25, 3, 3, input_shape=(28, 28, 1))  # = Conv2D(25, (3, 3))
    """

    def __init__(self, filters=None, kernel_size=None, nb_col=None, **kwargs):
        filters = _legacy_pair(kwargs, "nb_filter", filters, "Convolution2D")
        nb_row = kwargs.pop("nb_row", None)
        nb_col = kwargs.pop("nb_col", nb_col)
        if nb_row is not None:
            kernel_size = nb_row
        if nb_col is not None:
            warn("Convolution2D(nb_filter, nb_row, nb_col) is Keras 1 spelling; use "
                          "Conv2D(filters, (rows, cols)).", DeprecationWarning)
            kernel_size = (kernel_size, nb_col)
        super().__init__(filters, kernel_size, **kwargs)


def _legacy_pair(kwargs, old, value, layer):
    legacy = deprecated_arg(kwargs, old, "filters" if old == "nb_filter" else "kernel_size", layer)
    return legacy if legacy is not None else value
