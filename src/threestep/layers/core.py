"""Core layers: InputLayer, Dense, Activation, Flatten."""
import math

from .. import ops
from ..errors import ConfigError, ShapeError
from . import activations
from .base import Layer, check_positive_int, deprecated_arg
from .weight_options import add_option_weight, get_regularizer, weight_options, weight_options_config


class InputLayer(Layer):
    """Declares the shape of one sample; the first layer of a Sequential model.

    Args:
        input_shape: shape without the batch axis, e.g. ``(784,)``.

    Example:
        >>> model = Sequential([InputLayer(input_shape=(784,)), Dense(10, activation="softmax")])
    """

    def __init__(self, input_shape=None, batch_size=None, batch_input_shape=None, **kwargs):
        if input_shape is None and batch_input_shape is None:
            raise ConfigError("InputLayer needs input_shape= (e.g. input_shape=(784,)).")
        super().__init__(input_shape=input_shape, batch_size=batch_size,
                         batch_input_shape=batch_input_shape, **kwargs)
        self.built = True

    def call(self, x, training=None):
        return x

    def get_config(self):
        return super().get_config()


class Dense(Layer):
    """A fully connected layer: ``output = activation(x @ kernel + bias)``.

    The lecture's layer l: z^l = W^l a^(l-1) + b^l, a^l = sigma(z^l), with the Keras layout
    kernel (input_dim, units), so a batch is one matrix product.

    Args:
        units: number of neurons (output size).
        activation: name or callable (default: linear).
        use_bias: whether to add a bias vector.
        kernel_initializer, bias_initializer: names or Initializer objects.
        kernel_regularizer, bias_regularizer, activity_regularizer: penalties (see
            ``threestep.regularizers``).
        input_dim / input_shape: the input size, for the first layer.

    Keras 1 spellings ``output_dim=``, ``init=``, ``W_regularizer=``, ``b_regularizer=``
    and ``bias=`` still work, with a DeprecationWarning.

    Input shape: ``(batch, ..., input_dim)``. Output shape: ``(batch, ..., units)``.

    Example:
        >>> model.add(Dense(500, activation="relu", input_dim=784))
    """

    def __init__(self, units=None, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        old_units = deprecated_arg(kwargs, "output_dim", "units", "Dense")
        if old_units is not None:
            if units is not None:
                raise ConfigError(f"Dense: got both units={units} and output_dim={old_units}; use units only.")
            units = old_units
        init = deprecated_arg(kwargs, "init", "kernel_initializer", "Dense")
        kernel_initializer = init if init is not None else kernel_initializer
        w_reg = deprecated_arg(kwargs, "W_regularizer", "kernel_regularizer", "Dense")
        kernel_regularizer = w_reg if w_reg is not None else kernel_regularizer
        b_reg = deprecated_arg(kwargs, "b_regularizer", "bias_regularizer", "Dense")
        bias_regularizer = b_reg if b_reg is not None else bias_regularizer
        bias = deprecated_arg(kwargs, "bias", "use_bias", "Dense")
        use_bias = bias if bias is not None else use_bias
        super().__init__(**kwargs)
        if units is None:
            raise ConfigError(f"Dense layer {self.name!r} needs units (the number of neurons), e.g. Dense(500).")
        self.units = check_positive_int(f"Dense layer {self.name!r}", "units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        weight_options(self, "kernel", kernel_initializer, kernel_regularizer, kernel_constraint)
        weight_options(self, "bias", bias_initializer, bias_regularizer, bias_constraint)
        self.activity_regularizer = get_regularizer(activity_regularizer)

    @property
    def output_activation(self):
        """The activation's name, so a model can fuse softmax/sigmoid with its loss."""
        return activations.name_of(self.activation)

    def check_input_shape(self, input_shape):
        if len(input_shape) < 2:
            raise ShapeError(
                f"Dense layer {self.name!r} needs inputs of shape (batch, ..., features); received "
                f"shape {input_shape}."
            )
        if self.built and input_shape[-1] != self.kernel.shape[0]:
            raise ShapeError(
                f"Dense layer {self.name!r} expects inputs with {self.kernel.shape[0]} features (last "
                f"axis) but received shape {input_shape}."
            )

    def build(self, input_shape):
        in_dim = input_shape[-1]
        if in_dim is None:
            raise ShapeError(f"Dense layer {self.name!r}: the last input axis must be known. Received {input_shape}.")
        self.kernel = add_option_weight(self, "kernel", "kernel", (in_dim, self.units))
        self.bias = add_option_weight(self, "bias", "bias", (self.units,)) if self.use_bias else None

    def call_logits(self, x, training=None):
        """x @ W + b before the activation (for fused softmax/sigmoid + cross-entropy)."""
        z = ops.linear(x, self.kernel, self.bias)
        self.record_activity(lambda: self.activation(z))
        return z

    def call_relu(self, x, training=None):
        """max(x @ W + b, 0) as one node: this layer followed by ``Activation("relu")``
        (``models.fusion``)."""
        return ops.linear(x, self.kernel, self.bias, relu=True)

    def call(self, x, training=None):
        if self.activation is activations.relu:  # fused: bias and ReLU in one pass, one graph node
            y = ops.linear(x, self.kernel, self.bias, relu=True)
        else:
            y = self.activation(ops.linear(x, self.kernel, self.bias))
        self.record_activity(y)
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "activation": activations.name_of(self.activation),
            "use_bias": self.use_bias,
            **weight_options_config(self, ("kernel", "bias")),
        }

    def __repr__(self):
        return f"Dense({self.units}, activation={activations.name_of(self.activation)!r}, name={self.name!r})"


class Activation(Layer):
    """Applies an activation function: ``Activation('sigmoid')``, as in the lecture's code.

    Example:
        >>> Activation("relu")(np.array([[-1.0, 2.0]])).numpy()
        array([[0., 2.]])
    """

    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    @property
    def output_activation(self):
        return activations.name_of(self.activation)

    def call_logits(self, x, training=None):
        return x

    def call(self, x, training=None):
        return self.activation(x)

    def get_config(self):
        return {**super().get_config(), "activation": activations.name_of(self.activation)}

    def __repr__(self):
        return f"Activation({activations.name_of(self.activation)!r}, name={self.name!r})"


class Flatten(Layer):
    """Flattens each sample: (batch, d1, d2, ...) -> (batch, d1*d2*...).

    Example:
        >>> Flatten()(np.ones((2, 13, 13, 25))).shape
        (2, 4225)
    """

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = data_format

    def call(self, x, training=None):
        return ops.reshape(x, (x.shape[0], -1))

    def compute_output_shape(self, input_shape):
        rest = input_shape[1:]
        return (input_shape[0], None if any(d is None for d in rest) else math.prod(rest))

    def get_config(self):
        return {**super().get_config(), "data_format": self.data_format}


class ActivityRegularization(Layer):
    """Identity that adds l1 * sum|x| + l2 * sum(x^2) of its input to the training loss.

    Keras 2.3 semantics: the penalty is summed over the batch (tf.keras divides it by the
    batch size), at training and test time alike, so ``evaluate`` reports what ``fit`` minimises.

    Example:
        >>> Sequential([Dense(64, activation="relu", input_dim=20), ActivityRegularization(l1=1e-4)])
    """

    def __init__(self, l1=0.0, l2=0.0, **kwargs):
        from . import regularizers  # noqa: PLC0415

        super().__init__(**kwargs)
        for name, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
                raise ConfigError(f"ActivityRegularization: {name} must be a number >= 0. Received: {name}={value!r}.")
        self.l1, self.l2 = float(l1), float(l2)
        self.activity_regularizer = regularizers.L1L2(l1=self.l1, l2=self.l2) if (l1 or l2) else None

    def call(self, x, training=None):
        self.record_activity(x)
        return x

    def get_config(self):
        return {**super().get_config(), "l1": self.l1, "l2": self.l2}
