"""Layers that only move values around: Reshape, ZeroPadding, Cropping, UpSampling."""
import math

from .. import ops
from ..errors import ConfigError, ShapeError
from .base import Layer
from .conv import check_data_format, check_rank, join_shape, spatial_and_channels


class Reshape(Layer):
    """Reshape each sample to ``target_shape`` (one entry may be -1).

    Example:
        >>> Reshape((28, 28, 1), input_shape=(784,))
    """

    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(int(d) for d in target_shape)
        if sum(d == -1 for d in self.target_shape) > 1 or any(d == 0 or d < -1 for d in self.target_shape):
            raise ConfigError(f"Reshape layer {self.name!r}: target_shape may hold positive sizes and at most one -1. "
                              f"Received: target_shape={target_shape!r}.")

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        if any(d is None for d in rest):
            return (input_shape[0],) + tuple(None if d == -1 else d for d in self.target_shape)
        size, known = math.prod(rest), math.prod(d for d in self.target_shape if d != -1)
        if -1 in self.target_shape:
            if size % known:
                raise ShapeError(f"Reshape layer {self.name!r}: cannot reshape {tuple(rest)} ({size} values) to "
                                 f"{self.target_shape}.")
            return (input_shape[0],) + tuple(size // known if d == -1 else d for d in self.target_shape)
        if size != known:
            raise ShapeError(f"Reshape layer {self.name!r}: cannot reshape {tuple(rest)} ({size} values) to "
                             f"{self.target_shape} ({known} values).")
        return (input_shape[0],) + self.target_shape

    def call(self, x, training=None):
        return ops.reshape(x, (x.shape[0],) + self.target_shape)

    def get_config(self):
        return {**super().get_config(), "target_shape": list(self.target_shape)}


def _pairs(value, rank, name, layer):
    """Keras's padding/cropping spec: int, (a, b) per axis symmetric, or ((lo, hi), ...)."""
    if isinstance(value, int):
        items = [(value, value)] * rank
    else:
        value = tuple(value)
        if rank == 1 and len(value) == 2 and all(isinstance(v, int) for v in value):
            items = [value]
        elif len(value) == rank:
            items = [(v, v) if isinstance(v, int) else tuple(v) for v in value]
        else:
            items = []
    if len(items) != rank or not all(len(p) == 2 and all(isinstance(v, int) and v >= 0 for v in p) for p in items):
        raise ConfigError(f"{type(layer).__name__} layer {layer.name!r}: {name} must be an int, {rank} ints or {rank} "
                          f"(before, after) pairs of non-negative ints. Received: {name}={value!r}.")
    return tuple(tuple(p) for p in items)


class _Spatial(Layer):
    rank = None

    def _full(self, pairs):
        """Per-axis pairs for the whole (batch, ..., channels) tensor."""
        none = ((0, 0),)
        return none * 2 + pairs if self.data_format == "channels_first" else none + pairs + none


class ZeroPadding(_Spatial):
    """Pad the spatial axes with zeros (the AlphaGo net pads 19x19 to 23x23)."""

    def __init__(self, padding=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(f"{type(self).__name__} layer {self.name!r}", data_format, self.rank)
        self.padding = _pairs(padding, self.rank, "padding", self)

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)

    def compute_output_shape(self, input_shape):
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        out = tuple(None if s is None else s + lo + hi for s, (lo, hi) in zip(spatial, self.padding))
        return join_shape(input_shape[0], out, channels, self.data_format)

    def call(self, x, training=None):
        return ops.pad(x, self._full(self.padding))

    def get_config(self):
        return {**super().get_config(), "padding": [list(p) for p in self.padding], "data_format": self.data_format}


class ZeroPadding1D(ZeroPadding):
    """Add zeros at the start and end of a sequence: (batch, steps, C) -> (batch, steps + lo + hi, C).

    Lets a convolution see the edges as often as the middle.

    Args:
        padding: an int (both ends) or a pair (before, after).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> ZeroPadding1D((1, 2))(np.ones((1, 3, 2))).shape
        (1, 6, 2)
    """
    rank = 1


class ZeroPadding2D(ZeroPadding):
    """Add rows and columns of zeros around an image (the AlphaGo net pads 19x19 to 23x23).

    Args:
        padding: an int (every side), (rows, cols) symmetric, or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> ZeroPadding2D(2)(np.ones((1, 19, 19, 4))).shape
        (1, 23, 23, 4)
    """
    rank = 2


class Cropping(_Spatial):
    """Remove cells from the borders of the spatial axes."""

    def __init__(self, cropping=1, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = check_data_format(f"{type(self).__name__} layer {self.name!r}", data_format, self.rank)
        self.cropping = _pairs(cropping, self.rank, "cropping", self)

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)
        spatial, _ = spatial_and_channels(input_shape, self.data_format)
        if any(s is not None and lo + hi >= s for s, (lo, hi) in zip(spatial, self.cropping)):
            raise ShapeError(f"{type(self).__name__} layer {self.name!r}: cropping {self.cropping} leaves nothing of "
                             f"input shape {tuple(input_shape)}.")

    def compute_output_shape(self, input_shape):
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        out = tuple(None if s is None else s - lo - hi for s, (lo, hi) in zip(spatial, self.cropping))
        return join_shape(input_shape[0], out, channels, self.data_format)

    def call(self, x, training=None):
        return ops.crop(x, self._full(self.cropping))

    def get_config(self):
        return {**super().get_config(), "cropping": [list(p) for p in self.cropping], "data_format": self.data_format}


class Cropping1D(Cropping):
    """Drop steps from the start and end of a sequence: (batch, steps, C) -> (batch, steps - lo - hi, C).

    Args:
        cropping: an int (both ends) or a pair (before, after).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> Cropping1D((1, 2))(np.ones((1, 6, 2))).shape
        (1, 3, 2)
    """
    rank = 1


class Cropping2D(Cropping):
    """Drop rows and columns at the borders of an image (e.g. to undo a ZeroPadding2D).

    Args:
        cropping: an int (every side), (rows, cols) symmetric, or ((top, bottom), (left, right)).
        data_format: "channels_last" (default) or "channels_first".

    Example:
        >>> Cropping2D(((2, 2), (4, 4)))(np.ones((1, 28, 28, 1))).shape
        (1, 24, 20, 1)
    """
    rank = 2


class UpSampling(_Spatial):
    """Repeat each spatial cell ``size`` times per axis (nearest-neighbour upsampling)."""

    def __init__(self, size=2, data_format=None, interpolation="nearest", **kwargs):
        super().__init__(**kwargs)
        from ..ops.im2col import normalize_tuple  # noqa: PLC0415

        self.data_format = check_data_format(f"{type(self).__name__} layer {self.name!r}", data_format, self.rank)
        self.size = normalize_tuple(size, self.rank, "size")
        allowed = ("nearest", "bilinear") if self.rank == 2 else ("nearest",)
        if interpolation not in allowed:
            raise ConfigError(f"{type(self).__name__} layer {self.name!r}: interpolation must be one of "
                              f"{allowed}. Received: interpolation={interpolation!r}.")
        self.interpolation = interpolation

    def check_input_shape(self, input_shape):
        check_rank(self, input_shape, self.rank, self.data_format)

    def compute_output_shape(self, input_shape):
        spatial, channels = spatial_and_channels(input_shape, self.data_format)
        out = tuple(None if s is None else s * k for s, k in zip(spatial, self.size))
        return join_shape(input_shape[0], out, channels, self.data_format)

    def call(self, x, training=None):
        if self.interpolation == "bilinear":
            spatial, _ = spatial_and_channels(x.shape, self.data_format)
            return ops.resize_bilinear(x, [s * k for s, k in zip(spatial, self.size)], self.data_format)
        return ops.upsample_nearest(x, self.size, self.data_format)

    def get_config(self):
        return {**super().get_config(), "size": list(self.size), "data_format": self.data_format,
                "interpolation": self.interpolation}


class UpSampling1D(UpSampling):
    """Repeat each step ``size`` times: (batch, steps, C) -> (batch, steps * size, C).

    Args:
        size: how many times each step is repeated (2 by default).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: only "nearest" is implemented.

    Example:
        >>> UpSampling1D(2)(np.array([[[1.0], [2.0]]])).numpy()[0, :, 0]
        array([1., 1., 2., 2.])
    """
    rank = 1


class UpSampling2D(UpSampling):
    """Repeat each pixel ``size`` times per axis (nearest neighbour): the decoder half of an autoencoder.

    Args:
        size: an int or (rows, cols) repeat factors (2 by default).
        data_format: "channels_last" (default) or "channels_first".
        interpolation: only "nearest" is implemented.

    Example:
        >>> UpSampling2D((2, 2))(np.ones((1, 7, 7, 16))).shape
        (1, 14, 14, 16)
    """
    rank = 2


class Permute(Layer):
    """Reorder the axes of each sample: ``dims`` is a permutation of 1..rank (the batch axis stays).

    Example:
        >>> Permute((2, 1), input_shape=(10, 64))  # -> (None, 64, 10): steps and features swapped
    """

    def __init__(self, dims, **kwargs):
        super().__init__(**kwargs)
        self.dims = tuple(int(d) for d in dims)
        if sorted(self.dims) != list(range(1, len(self.dims) + 1)):
            raise ConfigError(f"Permute layer {self.name!r}: dims must be a permutation of 1..{len(self.dims)} (axis "
                              f"0, the batch, is not permuted). Received: dims={dims!r}.")

    def check_input_shape(self, input_shape):
        if len(input_shape) != len(self.dims) + 1:
            raise ShapeError(f"Permute layer {self.name!r} with dims {self.dims} expects inputs of rank "
                             f"{len(self.dims) + 1}; received shape {tuple(input_shape)}.")

    def compute_output_shape(self, input_shape):
        return (input_shape[0],) + tuple(input_shape[d] for d in self.dims)

    def call(self, x, training=None):
        return ops.transpose(x, (0,) + self.dims)

    def get_config(self):
        return {**super().get_config(), "dims": list(self.dims)}
