"""``Dropout``: the lecture's remedy for "good on training data, bad on testing data"."""
import numbers

from .. import backend
from ..autograd import Config
from ..errors import ConfigError
from ..ops import activations as act_ops
from .base import Layer


class Dropout(Layer):
    """Drops each input unit with probability ``rate`` during training (inverted dropout).

    At training time every mini-batch draws a new mask: each unit is kept with
    probability 1 - rate, and kept units are multiplied by 1/(1 - rate). At test time
    the layer is the identity.

    Why this equals the lecture's recipe. The lecture (with p = rate) trains with units
    dropped and nothing rescaled, then multiplies the weights by (1 - p) at test time, so
    that the next layer's input at test, sum_i w_i x_i (1 - p), equals its expected value
    during training, E[sum_i w_i x_i m_i] with m_i ~ Bernoulli(1 - p). Inverted dropout
    moves that factor to training time instead: survivors are scaled by 1/(1 - p), so
    E[sum_i w_i x_i m_i / (1 - p)] = sum_i w_i x_i already equals the test-time input
    computed with the weights unchanged. The two are the same model written with
    different weights: an inverted-dropout net with next-layer weights w behaves, on
    every mini-batch mask and at test time, exactly like a lecture-style net with
    weights w / (1 - p) (train: w/(1-p) x m; test: (1-p) w/(1-p) x = w x). Scaling
    during training keeps the test-time network free of any dropout bookkeeping, which is
    what Keras (TensorFlow's ``tf.nn.dropout``) and PyTorch do.

    Which mode: ``call(x, training=True/False)`` decides; with ``training=None`` (a plain
    ``layer(x)``) the global ``threestep.autograd.Config.training`` does, which
    ``threestep.autograd.test_mode()`` switches off. ``fit`` passes ``training=True``;
    ``predict`` and ``evaluate`` pass ``training=False``, so they are deterministic.

    Args:
        rate: fraction of the input units to drop, in [0, 1).
        noise_shape: shape of the mask, broadcast against the input (Keras semantics):
            ``None`` entries take the input's size. E.g. inputs (batch, timesteps,
            features) with ``noise_shape=(None, 1, None)`` drop the same features at
            every time step.
        seed: seeds this layer's own generator (its sequence of masks repeats run to run);
            without it masks come from ``threestep.backend.rng()``, seeded by
            ``threestep.backend.set_seed`` / ``fit(seed=...)``.

    Input shape: any. Output shape: same as the input.

    Example:
        >>> model = Sequential([Dense(500, activation='relu', input_dim=784), Dropout(0.5),
        ...                     Dense(10, activation='softmax')])
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(rate, numbers.Real) or isinstance(rate, bool) or not 0 <= rate < 1:
            raise ConfigError(f"Dropout: rate is the fraction of units dropped and must be in [0, 1). "
                              f"Received: rate={rate!r}.")
        if noise_shape is not None:
            if not isinstance(noise_shape, (list, tuple)) or not all(
                    n is None or isinstance(n, numbers.Integral) and n >= 1 for n in noise_shape):
                raise ConfigError(f"Dropout: noise_shape must be a tuple of positive ints or None. "
                                  f"Received: noise_shape={noise_shape!r}.")
            noise_shape = tuple(None if n is None else int(n) for n in noise_shape)
        if seed is not None and (not isinstance(seed, numbers.Integral) or isinstance(seed, bool)):
            raise ConfigError(f"Dropout: seed must be an integer or None. Received: seed={seed!r}.")
        self.rate = float(rate)
        self.noise_shape = noise_shape
        self.seed = seed
        self._rng = None

    def _generator(self):
        if self.seed is None:
            return backend.rng()
        if self._rng is None:  # created on first use, on the backend active then
            self._rng = backend._make_rng(self.seed)
        return self._rng

    def call(self, x, training=None):
        training = Config.training if training is None else training
        if not training or not self.rate:
            return x
        return act_ops.dropout(x, self.rate, self.noise_shape, self._generator())

    def get_config(self):
        noise_shape = None if self.noise_shape is None else list(self.noise_shape)
        return {**super().get_config(), "rate": self.rate, "noise_shape": noise_shape, "seed": self.seed}

    def __repr__(self):
        return f"Dropout({self.rate}, name={self.name!r})"
