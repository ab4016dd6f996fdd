"""Locally connected layers: convolution's window, without its weight sharing.

Each output position has its own filter (property 1 of the lecture's CNN without
property 2), so the layer has prod(out) times a convolution's weights. Keras 2 layout
(implementation=1): kernel (positions, kernel cells * channels, filters), bias (*out, filters);
padding 'valid' only, as in Keras.
"""
import math

from ..errors import ConfigError, ShapeError
from ..ops.im2col import from_channels_last, geometry, normalize_tuple, to_channels_last
from ..ops.local import local_conv
from . import activations, initializers
from .base import Layer, check_positive_int
from .conv import check_data_format, check_rank, join_shape, spatial_and_channels


class LocallyConnected(Layer):
    """Rank-generic locally connected layer. Use ``LocallyConnected1D`` or ``LocallyConnected2D``.

    Args: filters, kernel_size, strides, padding ('valid'), data_format, activation,
    use_bias, initializers, regularizers and constraints as Conv1D/Conv2D; ``implementation``
    (1, 2 or 3 in Keras: memory/speed strategies of one computation) is accepted and
    computes the same thing here.
    """

    rank = None

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, activation=None,
                 use_bias=True, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None, kernel_constraint=None,
                 bias_constraint=None, implementation=1, **kwargs):
        from .. import regularizers  # noqa: PLC0415

        super().__init__(**kwargs)
        where = f"{type(self).__name__} layer {self.name!r}"
        self.filters = check_positive_int(where, "filters", filters)
        self.kernel_size = normalize_tuple(kernel_size, self.rank, "kernel_size")
        self.strides = normalize_tuple(strides, self.rank, "strides")
        if str(padding).lower() != "valid":
            raise ConfigError(f"{where}: only padding='valid' is supported (as in Keras). "
                              f"Received: padding={padding!r}.")
        if implementation not in (1, 2, 3):
            raise ConfigError(f"{where}: implementation must be 1, 2 or 3. "
                              f"Received: implementation={implementation!r}.")
        self.padding, self.implementation = "valid", implementation
        self.data_format = check_data_format(where, data_format)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def _out_sizes(self, spatial):
        if any(s is None for s in spatial):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r} needs fixed spatial sizes (one filter per "
                             f"position); received spatial sizes {tuple(spatial)}.")
        return geometry((None,) + tuple(spatial) + (1,), self.kernel_size, self.strides, 1, "valid",
                        f"{type(self).__name__} layer {self.name!r}").out_sizes

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        self._out_sizes(spatial)

    def build(self, input_shape):
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        out = self._out_sizes(spatial)
        self.kernel = self.add_weight(name="kernel", shape=(math.prod(out), math.prod(self.kernel_size) * channels,
                                                            self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(name="bias", shape=tuple(out) + (self.filters,),
                                        initializer=self.bias_initializer, regularizer=self.bias_regularizer,
                                        constraint=self.bias_constraint)

    def compute_output_shape(self, input_shape):
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        return join_shape(input_shape[0], self._out_sizes(spatial), self.filters, self.data_format)

    def call(self, x, training=None):
        x = to_channels_last(x, self.data_format, type(self).__name__)
        y = from_channels_last(local_conv(x, self.kernel, self.bias, self.kernel_size, self.strides), self.data_format)
        y = self.activation(y)
        self.record_activity(y)
        return y

    def get_config(self):
        from .. import regularizers  # noqa: PLC0415

        return {**super().get_config(), "filters": self.filters, "kernel_size": list(self.kernel_size),
                "strides": list(self.strides), "padding": self.padding, "data_format": self.data_format,
                "activation": activations.name_of(self.activation), "use_bias": self.use_bias,
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "bias_initializer": initializers.serialize(self.bias_initializer),
                "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
                "bias_regularizer": regularizers.serialize(self.bias_regularizer),
                "activity_regularizer": regularizers.serialize(self.activity_regularizer),
                "implementation": self.implementation}


class LocallyConnected1D(LocallyConnected):
    """A Conv1D whose filter differs at every step (no weight sharing).

    Example:
        >>> LocallyConnected1D(64, 3, input_shape=(10, 32))  # -> (None, 8, 64), 8 * (3*32*64 + 64) weights
    """
    rank = 1


class LocallyConnected2D(LocallyConnected):
    """A Conv2D whose filter differs at every position (no weight sharing).

    Example:
        >>> LocallyConnected2D(64, (3, 3), input_shape=(32, 32, 3))  # -> (None, 30, 30, 64)
    """
    rank = 2
