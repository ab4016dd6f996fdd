"""Depthwise and depthwise-separable convolutions (MobileNet, Xception).

``DepthwiseConv2D`` filters each input channel on its own (``depth_multiplier`` filters
per channel, no mixing); ``SeparableConv1D/2D`` follow that with a 1x1 convolution that
mixes the channels. A separable 3x3 layer from C to F channels holds 9 C + C F weights
instead of 9 C F. Keras weight names and layouts: depthwise_kernel (*kernel, C, M),
pointwise_kernel (1, .., C * M, F).
"""
from .. import ops
from ..ops.conv_depthwise import depthwise_conv
from .conv import Conv, check_channels, spatial_and_channels
from .weight_options import weight_options, weight_options_config


class _Depthwise(Conv):
    """Shared argument handling: the depthwise part's initializer, regularizer, constraint."""

    def _depthwise_args(self, depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint):
        from .base import check_positive_int  # noqa: PLC0415

        self.depth_multiplier = check_positive_int(f"{type(self).__name__} layer {self.name!r}", "depth_multiplier",
                                                   depth_multiplier)
        weight_options(self, "depthwise", depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def built_channels(self):
        """The input channels the depthwise kernel ``(*kernel_size, in, multiplier)`` was built for."""
        return self.depthwise_kernel.shape[-2]

    def check_input_shape(self, input_shape):
        check_channels(self, input_shape)

    def _build_depthwise(self, channels):
        self.depthwise_kernel = self.add_weight(
            name="depthwise_kernel", shape=self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)

    def _depthwise_config(self):
        return {"depth_multiplier": self.depth_multiplier, **weight_options_config(self, ("depthwise",), activity=False)}

    def call(self, x, training=None):
        y = self.activation(self.call_logits(x))
        self.record_activity(y)
        return y


class DepthwiseConv2D(_Depthwise):
    """Each input channel convolved with its own ``depth_multiplier`` filters: C -> C * M channels.

    Args:
        kernel_size, strides, padding, data_format, dilation_rate, activation, use_bias: as Conv2D.
        depth_multiplier: filters per input channel (default 1).
        depthwise_initializer / _regularizer / _constraint: for the (kh, kw, C, M) kernel.

    Example:
        >>> DepthwiseConv2D((3, 3), padding="same", input_shape=(32, 32, 16))  # -> (None, 32, 32, 16)
    """

    rank = 2

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self._depthwise_args(depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint)

    def build(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        self._build_depthwise(channels)
        self.filters = channels * self.depth_multiplier  # output channels, for compute_output_shape
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        self.filters = channels * self.depth_multiplier
        return super().compute_output_shape(input_shape)

    def call_logits(self, x, training=None):
        return depthwise_conv(x, self.depthwise_kernel, self.bias, self.strides, self.padding, self.dilation_rate,
                              self.data_format)

    def get_config(self):
        config = super().get_config()
        for key in ("filters", "kernel_initializer", "kernel_regularizer"):
            config.pop(key)
        return {**config, **self._depthwise_config()}


class SeparableConv(_Depthwise):
    """Rank-generic depthwise-separable convolution. Use ``SeparableConv1D`` or ``SeparableConv2D``.

    Args: as Conv1D/Conv2D (``filters`` = output channels) plus ``depth_multiplier``,
    ``depthwise_*`` and ``pointwise_*`` initializers, regularizers and constraints.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias,
                         bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self._depthwise_args(depth_multiplier, depthwise_initializer, depthwise_regularizer, depthwise_constraint)
        weight_options(self, "pointwise", pointwise_initializer, pointwise_regularizer, pointwise_constraint)

    def build(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        self._build_depthwise(channels)
        self.pointwise_kernel = self.add_weight(
            name="pointwise_kernel", shape=(1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def call_logits(self, x, training=None):
        mixed = depthwise_conv(x, self.depthwise_kernel, None, self.strides, self.padding, self.dilation_rate,
                               self.data_format)
        return ops.conv(mixed, self.pointwise_kernel, self.bias, 1, "valid", 1, self.data_format)

    def get_config(self):
        return {**super().get_config(), **self._depthwise_config(),
                **weight_options_config(self, ("pointwise",), activity=False)}


class SeparableConv1D(SeparableConv):
    """Depthwise-separable 1-D convolution: per-channel filters along time, then a 1x1 channel mix.

    Example:
        >>> SeparableConv1D(32, 5, padding="same", input_shape=(100, 16))  # -> (None, 100, 32)
    """
    rank = 1


class SeparableConv2D(SeparableConv):
    """Depthwise-separable 2-D convolution (Xception): 3x3 per-channel filters, then a 1x1 channel mix.

    Example:
        >>> SeparableConv2D(64, (3, 3), padding="same", input_shape=(32, 32, 16))  # -> (None, 32, 32, 64)
    """
    rank = 2


SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D  # Keras 2 aliases
