"""Activation layers with arguments or weights (Keras 2.3 ``advanced_activations``).

``LeakyReLU``, ``PReLU`` (learnable slope), ``ELU``, ``ThresholdedReLU``, ``Softmax`` and
``ReLU`` — the lecture's ReLU variants, each a thin layer over one op.
"""
import math
import numbers

from .. import ops
from ..errors import ConfigError, ShapeError
from ..ops import activations as act_ops
from . import initializers
from .base import Layer


def check_number(layer, name, value, minimum=None, allow_none=False):
    """``value`` as a float; a ConfigError naming the argument otherwise."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)
    if not ok or (minimum is not None and value < minimum):
        need = "a finite number" + ("" if minimum is None else f" >= {minimum}")
        raise ConfigError(f"{layer}: {name} must be {need}. Received: {name}={value!r}.")
    return float(value)


class LeakyReLU(Layer):
    """Leaky ReLU: ``f(x) = x`` for x > 0, ``alpha * x`` otherwise.

    Args:
        alpha: slope for x <= 0 (>= 0; Keras 2 default 0.3).

    Input shape: any. Output shape: same as the input.

    Example:
        >>> Sequential([Dense(64, input_dim=10), LeakyReLU(alpha=0.1)])
    """

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number("LeakyReLU", "alpha", alpha, minimum=0)

    def call(self, x, training=None):
        return act_ops.leaky_relu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class PReLU(Layer):
    """Parametric ReLU: ``f(x) = x`` for x > 0, ``alpha * x`` otherwise, alpha learned.

    By default every unit (every position of a sample) has its own slope: alpha has the
    shape of one sample. ``shared_axes`` lists input axes (1-based, the batch axis is 0)
    along which one slope is shared: for images (batch, height, width, channels),
    ``shared_axes=[1, 2]`` gives one slope per channel (torch.nn.PReLU(channels)).

    Args:
        alpha_initializer: initializer of the slopes (default 'zeros': starts as ReLU).
        alpha_regularizer: penalty on the slopes (added to the loss by ``fit``).
        alpha_constraint: callable applied to alpha after each optimizer step.
        shared_axes: int or list of ints (>= 1), axes sharing one slope.

    Input shape: any, sizes known on the axes that are not shared. Output shape: same.

    Example:
        >>> model = Sequential([Conv2D(16, 3, input_shape=(28, 28, 1)), PReLU(shared_axes=[1, 2])])
        >>> model.layers[1].get_weights()[0].shape  # one slope per channel
        (1, 1, 16)
    """

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        from . import regularizers  # noqa: PLC0415

        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = alpha_constraint
        if shared_axes is not None:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            if not all(isinstance(a, numbers.Integral) and not isinstance(a, bool) and a >= 1 for a in axes):
                raise ConfigError(f"PReLU: shared_axes must be input axes >= 1 (axis 0 is the batch). "
                                  f"Received: shared_axes={shared_axes!r}.")
            shared_axes = [int(a) for a in axes]
        self.shared_axes = shared_axes

    def build(self, input_shape):
        shape = list(input_shape[1:])
        for axis in self.shared_axes or ():
            if axis >= len(input_shape):
                raise ShapeError(f"PReLU layer {self.name!r}: shared axis {axis} does not exist in inputs of "
                                 f"shape {tuple(input_shape)}.")
            shape[axis - 1] = 1
        if any(s is None for s in shape):
            raise ShapeError(f"PReLU layer {self.name!r} needs the size of every non-shared axis; received "
                             f"input shape {tuple(input_shape)}. Share the unknown axes with shared_axes=.")
        self.alpha = self.add_weight("alpha", shape, self.alpha_initializer, self.alpha_regularizer,
                                     constraint=self.alpha_constraint)

    def call(self, x, training=None):
        return act_ops.prelu(x, self.alpha)

    def get_config(self):
        from . import regularizers  # noqa: PLC0415

        return {
            **super().get_config(),
            "alpha_initializer": initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": self.alpha_constraint,
            "shared_axes": self.shared_axes,
        }


class ELU(Layer):
    """Exponential linear unit: ``x`` for x > 0, ``alpha * (exp(x) - 1)`` otherwise.

    Args:
        alpha: scale of the negative part (Keras default 1.0).

    Example:
        >>> ELU(alpha=1.0)(np.array([[-1.0, 2.0]])).numpy()
        array([[-0.63212056,  2.        ]])
    """

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        self.alpha = check_number("ELU", "alpha", alpha)

    def call(self, x, training=None):
        return act_ops.elu(x, self.alpha)

    def get_config(self):
        return {**super().get_config(), "alpha": self.alpha}


class ThresholdedReLU(Layer):
    """``f(x) = x`` for x > theta, 0 otherwise (Keras 2.3).

    Args:
        theta: threshold location (>= 0, default 1.0).

    Example:
        >>> ThresholdedReLU(theta=1.0)(np.array([[0.5, 1.5]])).numpy() > 0
        array([[False,  True]])
    """

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        self.theta = check_number("ThresholdedReLU", "theta", theta, minimum=0)

    def call(self, x, training=None):
        return act_ops.generalized_relu(x, threshold=self.theta)

    def get_config(self):
        return {**super().get_config(), "theta": self.theta}


class Softmax(Layer):
    """Softmax over ``axis``: exp(x) / sum(exp(x)).

    As the last layer with axis=-1 and a cross-entropy loss, ``fit`` takes its input as
    logits (the fused, stable softmax + cross-entropy), as it does for ``Dense(...,
    activation='softmax')``.

    Args:
        axis: the axis normalised (default -1).

    Example:
        >>> Softmax()(np.array([[0.0, 0.0]])).numpy()
        array([[0.5, 0.5]])
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise ConfigError(f"Softmax: axis must be an integer. Received: axis={axis!r}.")
        self.axis = int(axis)

    @property
    def output_activation(self):
        return "softmax" if self.axis == -1 else None

    def call_logits(self, x, training=None):
        return x

    def call(self, x, training=None):
        return ops.softmax(x, self.axis)

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}


class ReLU(Layer):
    """Rectified linear unit with Keras's options.

    ``f(x) = min(x, max_value)`` for x > threshold, ``negative_slope * (x - threshold)``
    otherwise. The defaults give the plain ReLU max(x, 0); ``ReLU(max_value=6)`` is relu6.

    Args:
        max_value: saturation value (>= 0), or None for no upper bound.
        negative_slope: slope below the threshold (>= 0).
        threshold: where the unit switches on (>= 0).

    Example:
        >>> ReLU(max_value=6.0)(np.array([[0.0, 3.0, 9.0]])).numpy()
        array([[0., 3., 6.]])
    """

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.max_value = check_number("ReLU", "max_value", max_value, minimum=0, allow_none=True)
        self.negative_slope = check_number("ReLU", "negative_slope", negative_slope, minimum=0)
        self.threshold = check_number("ReLU", "threshold", threshold, minimum=0)

    def call(self, x, training=None):
        if self.max_value is None and not self.negative_slope and not self.threshold:
            return ops.relu(x)
        return act_ops.generalized_relu(x, self.negative_slope, self.max_value, self.threshold)

    def get_config(self):
        return {**super().get_config(), "max_value": self.max_value, "negative_slope": self.negative_slope,
                "threshold": self.threshold}
