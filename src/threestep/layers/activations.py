"""Activation functions by name: the lecture's sigmoid, and the recipe's ReLU family.

Keras 2.3's names (linear, sigmoid, tanh, relu, softmax, exponential, elu, selu,
softplus, softsign, hard_sigmoid) plus leaky_relu, relu6 and swish / silu (later tf.keras
names). Layers with learnable or stateful activations (PReLU, Maxout) are in
``advanced_activations`` and ``maxout``.

``get("relu")`` returns a function Tensor -> Tensor. Custom activations are registered
with ``register_activation(name, fn)`` (so saved models that use them load again).
"""
from .. import ops
from ..ops import activations as act_ops
from ..errors import ConfigError, unknown_name


def linear(x):
    """The identity: a layer with ``activation="linear"`` (the default of Dense) outputs x W + b.

    Example:
        >>> layer = Dense(1, activation="linear")  # a regression output
    """
    return x


def sigmoid(x):
    """1 / (1 + exp(-x)): squashes to (0, 1), the lecture's original neuron.

    Its gradient is at most 1/4, so stacks of sigmoids lose the gradient layer by layer (the
    lecture's vanishing gradient); use it for a yes/no output with ``binary_crossentropy``.

    Example:
        >>> sigmoid(Tensor(np.array([0.0]))).numpy()
        array([0.5])
    """
    return ops.sigmoid(x)


def tanh(x):
    """tanh(x): squashes to (-1, 1), zero-centred; the usual activation inside recurrent layers.

    Example:
        >>> tanh(Tensor(np.array([0.0]))).numpy()
        array([0.])
    """
    return ops.tanh(x)


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """max(x, 0); Keras's options: slope ``alpha`` below ``threshold``, saturation at ``max_value``."""
    if not alpha and max_value is None and not threshold:
        return ops.relu(x)
    return act_ops.generalized_relu(x, alpha, max_value, threshold)


def softmax(x, axis=-1):
    """exp(x) / sum(exp(x)) along ``axis``: scores become class probabilities that sum to 1.

    As a model's last activation with a cross-entropy loss, ``fit`` fuses the two into one stable op.

    Args:
        x: a Tensor.
        axis: the axis normalised (default -1).

    Example:
        >>> softmax(Tensor(np.array([[0.0, 0.0]]))).numpy()
        array([[0.5, 0.5]])
    """
    return ops.softmax(x, axis)


def exponential(x):
    """exp(x): e.g. a positive rate output for a Poisson loss.

    Example:
        >>> exponential(Tensor(np.array([0.0]))).numpy()
        array([1.])
    """
    return ops.exp(x)


def leaky_relu(x, alpha=0.2):
    """x for x > 0, alpha * x otherwise (alpha=0.2 as tf.nn.leaky_relu; the layer's default is 0.3)."""
    return act_ops.leaky_relu(x, alpha)


def relu6(x):
    """min(max(x, 0), 6)."""
    return act_ops.relu6(x)


def elu(x, alpha=1.0):
    """x for x > 0, alpha * (exp(x) - 1) otherwise."""
    return act_ops.elu(x, alpha)


def selu(x):
    """Scaled ELU with the self-normalising constants (use with lecun_normal weights)."""
    return act_ops.selu(x)


def softplus(x):
    """log(1 + exp(x)), a smooth ReLU."""
    return act_ops.softplus(x)


def softsign(x):
    """x / (1 + |x|)."""
    return act_ops.softsign(x)


def hard_sigmoid(x):
    """Keras's piecewise-linear sigmoid: clip(0.2 x + 0.5, 0, 1)."""
    return act_ops.hard_sigmoid(x)


def swish(x):
    """x * sigmoid(x) (also called SiLU)."""
    return act_ops.swish(x)


def gelu(x, approximate=False):
    """x * Phi(x), Phi the normal CDF; ``approximate=True`` uses the tanh form (tf.keras's argument)."""
    return act_ops.gelu(x, approximate)


def mish(x):
    """x * tanh(softplus(x)) (Misra, 2019): smooth and non-monotonic like swish (tf.keras 2.13's ``mish``).

    Example:
        >>> round(float(mish(Tensor(np.array([1.0]))).data[0]), 4)
        0.8651
    """
    return x * tanh(softplus(x))


_ACTIVATIONS = {
    "linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softmax": softmax,
    "exponential": exponential, "leaky_relu": leaky_relu, "relu6": relu6, "elu": elu, "selu": selu,
    "softplus": softplus, "softsign": softsign, "hard_sigmoid": hard_sigmoid, "swish": swish,
    "silu": swish, "gelu": gelu, "mish": mish,
}


def register_activation(name, fn):
    """Make ``fn`` available as ``activation=name`` (and loadable from saved models)."""
    if not callable(fn):
        raise ConfigError(f"register_activation: fn must be callable. Received: {fn!r}.")
    _ACTIVATIONS[name] = fn
    return fn


def get(identifier):
    """The activation function for a name, a callable, or None (linear)."""
    if identifier is None:
        return linear
    if isinstance(identifier, str):
        fn = _ACTIVATIONS.get(identifier)
        if fn is None:
            from ..custom_objects import lookup  # noqa: PLC0415

            fn = lookup(identifier)
            if fn is not None and callable(fn) and not isinstance(fn, type):
                return fn
            error = unknown_name("activation", identifier, _ACTIVATIONS)
            raise type(error)(f"{error} For your own function, pass custom_objects={{{identifier!r}: fn}} to "
                              "load_model, or threestep.layers.activations.register_activation(name, fn).")
        return fn
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret activation: {identifier!r}. Pass a name or a callable.")


def name_of(fn):
    """The registered name of an activation function (for configs), else its __name__."""
    for name, registered in _ACTIVATIONS.items():
        if registered is fn:
            return name
    return getattr(fn, "__name__", repr(fn))


def available():
    """The activation names ``Dense(activation=...)`` accepts, sorted (registered custom ones included).

    Example:
        >>> "relu" in available()
        True
    """
    return sorted(_ACTIVATIONS)
