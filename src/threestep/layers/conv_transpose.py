"""Transposed convolutions: ``Conv1DTranspose``, ``Conv2DTranspose``, ``Conv3DTranspose``.

The shape inverse of a strided convolution (upsampling with learned filters: DCGAN
generators, autoencoder decoders, segmentation heads). Keras layout and arguments: the
kernel is (*kernel_size, filters, in_channels) and ``output_padding`` picks among the
output sizes that a convolution with the same stride would map back to the input's size.
"""
from ..errors import ConfigError
from ..ops.conv_transpose import conv_transpose, output_length
from .conv import Conv, check_channels, join_shape, spatial_and_channels


class ConvTranspose(Conv):
    """Rank-generic transposed convolution. Use ``Conv1DTranspose``/``Conv2DTranspose``/``Conv3DTranspose``.

    Args: as ``Conv2D`` (padding 'valid' or 'same'), plus
        output_padding: None (Keras's default sizes), an int or one int per axis, each
            smaller than its stride: extra rows/cols at the end of the output.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, **kwargs):
        super().__init__(filters, kernel_size, strides=strides, padding=padding, data_format=data_format,
                         dilation_rate=dilation_rate, activation=activation, use_bias=use_bias, **kwargs)
        where = f"{type(self).__name__} layer {self.name!r}"
        if self.padding not in ("valid", "same"):
            raise ConfigError(f"{where}: padding must be 'valid' or 'same'. Received: padding={padding!r}.")
        if output_padding is not None:
            output_padding = (output_padding,) * self.rank if isinstance(output_padding, int) else tuple(output_padding)
            if len(output_padding) != self.rank or any(not 0 <= p < s for p, s in zip(output_padding, self.strides)):
                raise ConfigError(f"{where}: output_padding must be {self.rank} int(s), each >= 0 and smaller than "
                                  f"its stride {self.strides}. Received: output_padding={output_padding!r}.")
        self.output_padding = output_padding

    def built_channels(self):
        """The input channels the kernel ``(*kernel_size, out, in)`` was built for."""
        return self.kernel.shape[-1]

    def check_input_shape(self, input_shape):
        check_channels(self, input_shape)

    def build(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        self.kernel = self.add_weight(name="kernel", shape=self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        pads = self.output_padding or (None,) * self.rank
        out = tuple(output_length(n, k, s, self.padding, d, p)
                    for n, k, s, d, p in zip(spatial, self.kernel_size, self.strides, self.dilation_rate, pads))
        return join_shape(input_shape[0], out, self.filters, self.data_format)

    def call_logits(self, x, training=None):
        return conv_transpose(x, self.kernel, self.bias, self.strides, self.padding, self.output_padding,
                              self.dilation_rate, self.data_format)

    def call(self, x, training=None):
        y = self.activation(self.call_logits(x))
        self.record_activity(y)
        return y

    def get_config(self):
        pads = None if self.output_padding is None else list(self.output_padding)
        return {**super().get_config(), "output_padding": pads}


class Conv1DTranspose(ConvTranspose):
    """1-D transposed convolution: (batch, steps, channels) -> (batch, steps * stride (about), filters).

    Example:
        >>> Conv1DTranspose(16, 3, strides=2, padding="same", input_shape=(10, 8))  # -> (None, 20, 16)
    """
    rank = 1


class Conv2DTranspose(ConvTranspose):
    """2-D transposed convolution ("deconvolution"): learned upsampling of images.

    Input shape: (batch, rows, cols, channels) (channels_first: (batch, channels, rows, cols)).
    Output shape: (batch, new_rows, new_cols, filters); with padding='same' new_rows = rows * stride.

    Example:
        >>> Conv2DTranspose(32, (3, 3), strides=(2, 2), padding="same", input_shape=(7, 7, 64))  # -> (None, 14, 14, 32)
    """
    rank = 2


class Conv3DTranspose(ConvTranspose):
    """3-D transposed convolution over volumes (batch, d1, d2, d3, channels).

    Example:
        >>> Conv3DTranspose(8, 3, strides=2, padding="same", input_shape=(4, 4, 4, 16))  # -> (None, 8, 8, 8, 8)
    """
    rank = 3


# Keras 2.3's other names of the same layers
Convolution2DTranspose = Deconvolution2D = Deconv2D = Conv2DTranspose
Convolution3DTranspose = Deconvolution3D = Deconv3D = Conv3DTranspose
