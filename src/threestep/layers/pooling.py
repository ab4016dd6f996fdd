"""Pooling layers: subsampling does not change the object (the lecture's property 3)."""
from .. import backend, ops
from ..autograd import Tensor
from ..errors import ConfigError, ShapeError
from ..ops.im2col import geometry, normalize_tuple
from .base import Layer, deprecated_arg
from .conv import check_data_format, check_rank, join_shape, spatial_and_channels


class Pooling(Layer):
    """Rank-generic max/average pooling. Use MaxPooling1D/2D or AveragePooling1D/2D.

    Args:
        pool_size: int or tuple (default 2). strides: defaults to pool_size.
        padding: 'valid' or 'same'. data_format: 'channels_last' or 'channels_first'.
    """

    rank = None
    mode = None

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format=None, **kwargs):
        layer = type(self).__name__
        for old, new in (("border_mode", "padding"), ("dim_ordering", "data_format"),
                         ("pool_length", "pool_size"), ("stride", "strides")):
            value = deprecated_arg(kwargs, old, new, layer)
            if value is not None:
                padding = value if new == "padding" else padding
                data_format = {"th": "channels_first", "tf": "channels_last"}.get(value, value) \
                    if new == "data_format" else data_format
                pool_size = value if new == "pool_size" else pool_size
                strides = value if new == "strides" else strides
        super().__init__(**kwargs)
        where = f"{type(self).__name__} layer {self.name!r}"
        self.pool_size = normalize_tuple(pool_size, self.rank, "pool_size")
        self.strides = self.pool_size if strides is None else normalize_tuple(strides, self.rank, "strides")
        if not isinstance(padding, str) or padding.lower() not in ("valid", "same"):
            from ..errors import ConfigError  # noqa: PLC0415

            raise ConfigError(f"{where}: padding must be 'valid' or 'same'. Received: padding={padding!r}.")
        self.padding = padding.lower()
        self.data_format = check_data_format(where, data_format, self.rank)

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        if self.padding == "valid" and all(s is not None for s in spatial):
            if any(p > s for p, s in zip(self.pool_size, spatial)):
                raise ShapeError(f"{type(self).__name__} layer {self.name!r}: pool_size {self.pool_size} is larger "
                                 f"than its input's spatial size {spatial} (input shape {tuple(input_shape)}).")

    def compute_output_shape(self, input_shape):
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        if any(s is None for s in spatial):
            out = (None,) * self.rank
        else:
            out = geometry((None,) + spatial + (1,), self.pool_size, self.strides, 1, self.padding,
                           f"{type(self).__name__} layer {self.name!r}").out_sizes
        return join_shape(input_shape[0], out, channels, self.data_format)

    def call(self, x, training=None):
        pool = ops.max_pool if self.mode == "max" else ops.avg_pool
        return pool(x, self.pool_size, self.strides, self.padding, self.data_format)

    def get_config(self):
        return {**super().get_config(), "pool_size": list(self.pool_size), "strides": list(self.strides),
                "padding": self.padding, "data_format": self.data_format}


class MaxPooling1D(Pooling):
    """Max over windows along one axis: keeps a feature if it fires anywhere in the window.

    Input (batch, steps, channels); ``pool_size`` steps become one.

    Example:
        >>> MaxPooling1D(2)(np.arange(8.0).reshape(1, 4, 2)).numpy()
        array([[[2., 3.],
                [6., 7.]]])
    """
    rank, mode = 1, "max"


class MaxPooling2D(Pooling):
    """Max over 2-D windows: the gradient flows only to each window's arg-max (as in Maxout).

    Example:
        >>> MaxPooling2D((2, 2))  # (None, 26, 26, 25) -> (None, 13, 13, 25)
    """
    rank, mode = 2, "max"


class AveragePooling1D(Pooling):
    """Mean over windows along one axis ('same' padding cells are not counted, as in Keras).

    Example:
        >>> AveragePooling1D(2)(np.arange(8.0).reshape(1, 4, 2)).numpy()
        array([[[1., 2.],
                [5., 6.]]])
    """
    rank, mode = 1, "avg"


class AveragePooling2D(Pooling):
    """Mean over 2-D windows ('same' padding cells are not counted, as in Keras).

    Example:
        >>> AveragePooling2D((2, 2))(np.ones((1, 4, 4, 3))).shape
        (1, 2, 2, 3)
    """
    rank, mode = 2, "avg"


class MaxPooling3D(Pooling):
    """Max over 3-D windows (batch, d1, d2, d3, channels).

    Example:
        >>> MaxPooling3D((2, 2, 2))  # (None, 14, 30, 30, 8) -> (None, 7, 15, 15, 8)
    """
    rank, mode = 3, "max"


class AveragePooling3D(Pooling):
    """Mean over 3-D windows ('same' padding cells are not counted, as in Keras).

    Example:
        >>> AveragePooling3D(2, padding="same")
    """
    rank, mode = 3, "avg"


class GlobalPooling(Layer):
    """Max or mean over every spatial position: (batch, *spatial, C) -> (batch, C)."""

    rank = None
    mode = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(f"{type(self).__name__} layer {self.name!r}", data_format, self.rank)
        self.keepdims = bool(keepdims)

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)

    def compute_output_shape(self, input_shape):
        _, channels = spatial_and_channels(input_shape, self.data_format)
        if self.keepdims:
            return join_shape(input_shape[0], (1,) * self.rank, channels, self.data_format)
        return (input_shape[0], channels)

    def call(self, x, training=None):
        mask = getattr(x, "mask", None) if self.rank == 1 else None
        if mask is not None and self.mode == "max":
            raise ConfigError(
                f"{type(self).__name__} layer {self.name!r} received a sequence mask (from Embedding(mask_zero=True), "
                "Masking, or a recurrent layer with return_sequences=True after them), but a max cannot skip masked "
                "steps: the padding would take part, so Keras refuses it too. Use GlobalAveragePooling1D, which "
                "averages the unmasked steps, or a recurrent layer without return_sequences, or drop the mask.")
        if mask is not None:
            return self._masked_mean(x, mask)
        pool = ops.global_max_pool if self.mode == "max" else ops.global_avg_pool
        return pool(x, self.keepdims, self.data_format)

    def _masked_mean(self, x, mask):
        """The mean over the unmasked steps only (Keras's rule for a sequence mask from
        ``Embedding(mask_zero=True)`` or ``Masking``): padding does not dilute the average.
        A sequence masked at every step gives zeros where Keras gives nan (0 / 0): a later
        layer that skips that sequence (an LSTM over the time steps of a ``TimeDistributed``)
        would otherwise still get nan gradients back through the division."""
        xp = backend.get_array_module(mask)
        steps = 1 if self.data_format == "channels_last" else 2
        weights = xp.expand_dims(mask, 3 - steps).astype(x.dtype)
        count = xp.maximum(weights.sum(axis=steps, keepdims=self.keepdims), 1)
        return ops.sum(x * Tensor(weights), axis=steps, keepdims=self.keepdims) / Tensor(count)

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format, "keepdims": self.keepdims}


class GlobalMaxPooling1D(GlobalPooling):
    """Max over all steps: (batch, steps, C) -> (batch, C), whether a feature fired anywhere in the sequence.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the pooled axis with size 1.

    Example:
        >>> GlobalMaxPooling1D()(np.arange(8.0).reshape(1, 4, 2)).numpy()
        array([[6., 7.]])
    """
    rank, mode = 1, "max"


class GlobalMaxPooling2D(GlobalPooling):
    """Max over every position of an image: (batch, rows, cols, C) -> (batch, C).

    Whether each filter's pattern appears anywhere, wherever it is: a CNN head without a Flatten.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the pooled axes with size 1.

    Example:
        >>> GlobalMaxPooling2D()(np.ones((2, 5, 5, 8))).shape
        (2, 8)
    """
    rank, mode = 2, "max"


class GlobalAveragePooling1D(GlobalPooling):
    """Mean over all steps: (batch, steps, C) -> (batch, C), e.g. a bag of word embeddings.

    With a sequence mask (``Embedding(mask_zero=True)``, ``Masking``) the mean is over the
    unmasked steps only, as in Keras.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the pooled axis with size 1.

    Example:
        >>> GlobalAveragePooling1D()(np.arange(8.0).reshape(1, 4, 2)).numpy()
        array([[3., 4.]])
    """
    rank, mode = 1, "avg"


class GlobalAveragePooling2D(GlobalPooling):
    """Mean over every position of an image: (batch, rows, cols, C) -> (batch, C).

    The usual head of a modern CNN: one number per filter, no weights, any image size.

    Args:
        data_format: "channels_last" (default) or "channels_first".
        keepdims: keep the pooled axes with size 1.

    Example:
        >>> GlobalAveragePooling2D()(np.ones((2, 5, 5, 8))).shape
        (2, 8)
    """
    rank, mode = 2, "avg"


class GlobalMaxPooling3D(GlobalPooling):
    """Max over every position of a volume: (batch, d1, d2, d3, C) -> (batch, C).

    Example:
        >>> GlobalMaxPooling3D()  # (None, 7, 15, 15, 8) -> (None, 8)
    """
    rank, mode = 3, "max"


class GlobalAveragePooling3D(GlobalPooling):
    """Mean over every position of a volume: (batch, d1, d2, d3, C) -> (batch, C).

    Example:
        >>> GlobalAveragePooling3D()  # (None, 7, 15, 15, 8) -> (None, 8)
    """
    rank, mode = 3, "avg"
