"""Noise layers: regularisers that are active in training only (identity at test time).

``GaussianNoise`` adds N(0, stddev^2) noise; ``GaussianDropout`` multiplies by N(1, rate /
(1 - rate)) noise (the same mean and variance as dropout's mask); ``AlphaDropout`` drops
to SELU's negative saturation value and rescales so that mean and variance are kept (for
self-normalising networks); ``SpatialDropout1D/2D/3D`` drop whole feature maps (one mask
entry per sample and channel), because neighbouring positions of a feature map are
strongly correlated and dropping single positions barely regularises a convolution.
Masks come from ``threestep.backend.rng()`` (``fit(seed=...)`` makes them repeat), or from
the layer's own generator when ``seed`` is given.
"""
import math
import numbers

from .. import backend
from ..autograd import Config
from ..errors import ConfigError
from ..ops import activations as act_ops
from .base import Layer, carry_mask
from .conv import check_data_format
from .dropout import Dropout


def _rate(layer, rate, name="rate"):
    if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1:
        raise ConfigError(f"{layer}: {name} must be in [0, 1). Received: {name}={rate!r}.")
    return float(rate)


class _Noise(Layer):
    """Shared parts: the seed's generator and the train/test switch."""

    def __init__(self, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.seed, self._rng = seed, None

    def _generator(self):
        if self.seed is None:
            return backend.rng()
        if self._rng is None:
            self._rng = backend._make_rng(self.seed)
        return self._rng

    def call(self, x, training=None):
        training = Config.training if training is None else training
        return carry_mask(x, self.noisy(x)) if training and self.active() else x


class GaussianNoise(_Noise):
    """Adds zero-mean Gaussian noise of standard deviation ``stddev`` during training.

    Example:
        >>> Sequential([GaussianNoise(0.1, input_shape=(784,)), Dense(10, activation="softmax")])
    """

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        if not isinstance(stddev, numbers.Real) or stddev < 0:
            raise ConfigError(f"GaussianNoise: stddev must be a number >= 0. Received: stddev={stddev!r}.")
        self.stddev = float(stddev)

    def active(self):
        return self.stddev > 0

    def noisy(self, x):
        xp = backend.get_array_module(x.data)
        noise = self._generator().standard_normal(x.shape, dtype=xp.float32).astype(x.dtype) * x.dtype.type(self.stddev)
        return x + noise

    def get_config(self):
        return {**super().get_config(), "stddev": self.stddev, "seed": self.seed}


class GaussianDropout(_Noise):
    """Multiplies by Gaussian noise of mean 1 and standard deviation sqrt(rate / (1 - rate)) during training.

    Example:
        >>> GaussianDropout(0.2)
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate("GaussianDropout", rate)

    def active(self):
        return self.rate > 0

    def noisy(self, x):
        xp = backend.get_array_module(x.data)
        std = math.sqrt(self.rate / (1.0 - self.rate))
        mask = 1 + self._generator().standard_normal(x.shape, dtype=xp.float32).astype(x.dtype) * x.dtype.type(std)
        return act_ops.DropoutMask(mask)(x)

    def get_config(self):
        return {**super().get_config(), "rate": self.rate, "seed": self.seed}


class AlphaDropout(_Noise):
    """Dropout for SELU networks: dropped units take SELU's saturation value -alpha*scale, then
    an affine map a*x + b restores the input's mean and variance (Klambauer et al. 2017).

    Args:
        rate: fraction dropped, in [0, 1). noise_shape, seed: as Dropout.

    Example:
        >>> Sequential([Dense(64, activation="selu", kernel_initializer="lecun_normal", input_dim=20),
        ...             AlphaDropout(0.1), Dense(1)])
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(seed, **kwargs)
        self.rate = _rate("AlphaDropout", rate)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)

    def active(self):
        return 0 < self.rate < 1

    def noisy(self, x):
        xp = backend.get_array_module(x.data)
        alpha_p = -act_ops.SELU_ALPHA * act_ops.SELU_SCALE
        rate = self.rate
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        shape = act_ops.resolve_noise_shape(self.noise_shape, x.shape)
        kept = (self._generator().random(shape, dtype=xp.float32) >= rate).astype(x.dtype)
        kept = xp.broadcast_to(kept, x.shape)
        t = x.dtype.type
        return act_ops.DropoutMask(kept * t(a))(x) + ((1 - kept) * t(a * alpha_p) + t(b))

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape, "seed": self.seed}


class _SpatialDropout(Dropout):
    rank = None

    def __init__(self, rate, data_format=None, **kwargs):
        super().__init__(rate, **kwargs)
        self.data_format = check_data_format(f"{type(self).__name__} layer {self.name!r}", data_format)

    def call(self, x, training=None):
        n, c = x.shape[0], (x.shape[1] if self.data_format == "channels_first" else x.shape[-1])
        ones = (1,) * self.rank
        self.noise_shape = (n, c) + ones if self.data_format == "channels_first" else (n,) + ones + (c,)
        try:
            return super().call(x, training)
        finally:
            self.noise_shape = None

    def get_config(self):
        config = super().get_config()  # noise_shape stays None: the layer sets its own per call
        return {**config, "data_format": self.data_format} if self.rank > 1 else config


class SpatialDropout1D(_SpatialDropout):
    """Dropout of whole channels of a sequence (batch, steps, channels): one mask entry per sample and channel.

    Example:
        >>> SpatialDropout1D(0.2)  # after Embedding or Conv1D
    """
    rank = 1

    def __init__(self, rate, **kwargs):
        super().__init__(rate, **kwargs)


class SpatialDropout2D(_SpatialDropout):
    """Dropout of whole feature maps of an image (batch, rows, cols, channels).

    Example:
        >>> SpatialDropout2D(0.1)  # after a Conv2D
    """
    rank = 2


class SpatialDropout3D(_SpatialDropout):
    """Dropout of whole feature maps of a volume (batch, d1, d2, d3, channels).

    Example:
        >>> SpatialDropout3D(0.1)  # after a Conv3D
    """
    rank = 3
