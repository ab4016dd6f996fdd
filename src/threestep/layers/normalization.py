"""BatchNormalization: normalise each feature over the batch, then scale and shift."""
from .. import backend
from ..autograd import Config, Tensor
from ..errors import ConfigError, ShapeError
from ..ops.normalization import batch_norm_infer, batch_norm_train
from .base import Layer


class BatchNormalization(Layer):
    """Batch normalization (Ioffe & Szegedy 2015), Keras 2.3 arguments and defaults.

    Training (``fit``): each feature is normalised with the batch's mean and variance, then
    ``gamma * x_hat + beta``; the moving statistics are updated as
    ``moving = momentum * moving + (1 - momentum) * batch`` (the batch variance with Bessel's
    correction n/(n-1), as Keras 2.3 and PyTorch do). Inference (``predict``, ``evaluate``):
    the moving statistics are used instead, so a prediction does not depend on its batch.

    PyTorch's ``BatchNorm*d(momentum=m)`` corresponds to ``momentum = 1 - m`` here.

    Args:
        axis: the feature axis (-1 for channels_last, 1 for channels_first).
        momentum: of the moving averages (default 0.99).
        epsilon: added to the variance (default 1e-3).
        center, scale: learn beta / gamma. Without them the layer has no such weight, as in
            Keras (``scale=False``: weights beta, moving_mean, moving_variance), so weight lists
            and files line up with Keras's; ``layer.gamma`` / ``layer.beta`` then read as ones /
            zeros, a constant.
        beta_initializer, gamma_initializer, moving_mean_initializer, moving_variance_initializer,
        beta_regularizer, gamma_regularizer, beta_constraint, gamma_constraint: as for any weight.

    Example:
        >>> model = Sequential([Dense(64, input_shape=(20,)), BatchNormalization(), Activation("relu")])
        >>> bn = BatchNormalization(scale=False, name="bn")
        >>> bn.build((None, 3))
        >>> [w.name for w in bn.weights]
        ['bn/beta', 'bn/moving_mean', 'bn/moving_variance']
    """

    def __init__(self, axis=-1, momentum=0.99, epsilon=1e-3, center=True, scale=True,
                 beta_initializer="zeros", gamma_initializer="ones", moving_mean_initializer="zeros",
                 moving_variance_initializer="ones", beta_regularizer=None, gamma_regularizer=None,
                 beta_constraint=None, gamma_constraint=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= momentum <= 1:
            raise ConfigError(f"BatchNormalization {self.name!r}: momentum must be in [0, 1]. Received: momentum={momentum}.")
        if epsilon <= 0:
            raise ConfigError(f"BatchNormalization {self.name!r}: epsilon must be positive. Received: epsilon={epsilon}.")
        self.axis, self.momentum, self.epsilon = int(axis), float(momentum), float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer, self.gamma_initializer = beta_initializer, gamma_initializer
        self.moving_mean_initializer = moving_mean_initializer
        self.moving_variance_initializer = moving_variance_initializer
        from . import regularizers  # noqa: PLC0415

        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        from . import constraints  # noqa: PLC0415

        self.beta_constraint, self.gamma_constraint = constraints.get(beta_constraint), constraints.get(gamma_constraint)
        self._gamma = self._beta = None

    @property
    def gamma(self):
        """The scale: the weight, or ones (a constant on the weights' device) with ``scale=False``."""
        if self._gamma is not None or not self.built:
            return self._gamma
        return Tensor(backend.get_array_module(self.moving_variance.data).ones_like(self.moving_variance.data))

    @property
    def beta(self):
        """The shift: the weight, or zeros (a constant) with ``center=False``."""
        if self._beta is not None or not self.built:
            return self._beta
        return Tensor(backend.get_array_module(self.moving_mean.data).zeros_like(self.moving_mean.data))

    def check_input_shape(self, input_shape):
        if not -len(input_shape) <= self.axis < len(input_shape) or self.axis % len(input_shape) == 0:
            raise ShapeError(f"BatchNormalization {self.name!r}: axis={self.axis} is not a feature axis of "
                             f"inputs shaped {tuple(input_shape)}.")

    def build(self, input_shape):
        n = input_shape[self.axis]
        if n is None:
            raise ShapeError(f"BatchNormalization {self.name!r}: the feature axis {self.axis} of {input_shape} must be known.")
        if self.scale:  # Keras's order: gamma, beta, moving_mean, moving_variance (the ones it has)
            self._gamma = self.add_weight("gamma", (n,), self.gamma_initializer, self.gamma_regularizer,
                                          constraint=self.gamma_constraint)
        if self.center:
            self._beta = self.add_weight("beta", (n,), self.beta_initializer, self.beta_regularizer,
                                         constraint=self.beta_constraint)
        self.moving_mean = self.add_weight("moving_mean", (n,), self.moving_mean_initializer, trainable=False)
        self.moving_variance = self.add_weight("moving_variance", (n,), self.moving_variance_initializer,
                                               trainable=False)

    def call(self, x, training=None):
        training = Config.training if training is None else training
        if not training:
            return batch_norm_infer(x, self.gamma, self.beta, self.moving_mean.data, self.moving_variance.data,
                                    self.axis, self.epsilon)
        y, mean, var = batch_norm_train(x, self.gamma, self.beta, self.axis, self.epsilon)
        n = x.size // x.shape[self.axis]
        m = self.momentum
        unbiased = var * (n / max(n - 1, 1))
        xp = backend.get_array_module(mean)
        self.moving_mean.data = xp.asarray(self.moving_mean.data * m + mean * (1 - m), dtype=self.moving_mean.dtype)
        self.moving_variance.data = xp.asarray(self.moving_variance.data * m + unbiased * (1 - m),
                                               dtype=self.moving_variance.dtype)
        return y

    def get_config(self):
        from . import constraints, initializers, regularizers  # noqa: PLC0415

        def init(v):
            return v if isinstance(v, str) else initializers.serialize(v)

        return {**super().get_config(), "axis": self.axis, "momentum": self.momentum, "epsilon": self.epsilon,
                "center": self.center, "scale": self.scale, "beta_initializer": init(self.beta_initializer),
                "gamma_initializer": init(self.gamma_initializer),
                "moving_mean_initializer": init(self.moving_mean_initializer),
                "moving_variance_initializer": init(self.moving_variance_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}


class LayerNormalization(Layer):
    """Normalise each sample over its feature axis (or axes), then scale and shift (Ba et al. 2016).

    Unlike BatchNormalization the statistics are the sample's own, so training and
    inference compute the same function and any batch size works (Transformers, RNNs).
    y = gamma * (x - mean) / sqrt(var + epsilon) + beta, with mean and (biased) variance
    over ``axis`` and gamma, beta of the shape of those axes.

    Args:
        axis: int or list of ints, the axes normalised (default -1).
        epsilon: added to the variance (default 1e-3, as Keras).
        center, scale: learn beta / gamma. Initializers, regularizers and constraints of both.

    Example:
        >>> LayerNormalization(input_shape=(10, 64))  # each step's 64 features normalised
    """

    def __init__(self, axis=-1, epsilon=1e-3, center=True, scale=True, beta_initializer="zeros",
                 gamma_initializer="ones", beta_regularizer=None, gamma_regularizer=None, beta_constraint=None,
                 gamma_constraint=None, **kwargs):
        from . import regularizers  # noqa: PLC0415
        from . import initializers  # noqa: PLC0415

        super().__init__(**kwargs)
        axes = [axis] if isinstance(axis, int) else list(axis)
        if not axes or not all(isinstance(a, int) for a in axes):
            raise ConfigError(f"LayerNormalization {self.name!r}: axis must be an int or a list of ints. "
                              f"Received: axis={axis!r}.")
        if epsilon <= 0:
            raise ConfigError(f"LayerNormalization {self.name!r}: epsilon must be positive. Received: epsilon={epsilon}.")
        self.axis, self.epsilon = axis if isinstance(axis, int) else axes, float(epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = initializers.get(beta_initializer)
        self.gamma_initializer = initializers.get(gamma_initializer)
        self.beta_regularizer = regularizers.get(beta_regularizer)
        self.gamma_regularizer = regularizers.get(gamma_regularizer)
        from . import constraints  # noqa: PLC0415

        self.beta_constraint, self.gamma_constraint = constraints.get(beta_constraint), constraints.get(gamma_constraint)

    def _axes(self, ndim):
        axes = sorted(a % ndim for a in ([self.axis] if isinstance(self.axis, int) else self.axis))
        if 0 in axes or len(set(axes)) != len(axes):
            raise ShapeError(f"LayerNormalization {self.name!r}: axis {self.axis} must name distinct non-batch axes "
                             f"of the rank-{ndim} input.")
        return tuple(axes)

    def check_input_shape(self, input_shape):
        axes = [a if a < 0 else a - len(input_shape) for a in self._axes(len(input_shape))]
        if any(input_shape[a] is None for a in axes):
            raise ShapeError(f"LayerNormalization {self.name!r}: the normalised axes of {tuple(input_shape)} must have "
                             "known sizes.")

    def build(self, input_shape):
        axes = self._axes(len(input_shape))
        shape = tuple(input_shape[a] for a in axes)
        self.gamma = self.beta = None
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=shape, initializer=self.gamma_initializer,
                                         regularizer=self.gamma_regularizer, constraint=self.gamma_constraint)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=shape, initializer=self.beta_initializer,
                                        regularizer=self.beta_regularizer, constraint=self.beta_constraint)

    def call(self, x, training=None):
        from ..ops.normalization import layer_norm  # noqa: PLC0415

        axes = self._axes(x.ndim)
        y = layer_norm(x, axes, self.epsilon)
        bshape = tuple(x.shape[a] if a in axes else 1 for a in range(1, x.ndim))
        if self.gamma is not None:
            y = y * self.gamma.reshape(bshape)
        if self.beta is not None:
            y = y + self.beta.reshape(bshape)
        return y

    def get_config(self):
        from . import constraints, initializers, regularizers  # noqa: PLC0415

        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon, "center": self.center,
                "scale": self.scale, "beta_initializer": initializers.serialize(self.beta_initializer),
                "gamma_initializer": initializers.serialize(self.gamma_initializer),
                "beta_regularizer": regularizers.serialize(self.beta_regularizer),
                "gamma_regularizer": regularizers.serialize(self.gamma_regularizer),
                "beta_constraint": constraints.serialize(self.beta_constraint),
                "gamma_constraint": constraints.serialize(self.gamma_constraint)}
