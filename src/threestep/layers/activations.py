"""Activation functions by name: the lecture's sigmoid, and the recipe's ReLU family.

``get("relu")`` returns a function Tensor -> Tensor. Custom activations are registered
with ``register_activation(name, fn)`` (so saved models that use them load again).
"""
from .. import ops
from ..errors import ConfigError, unknown_name


def linear(x):
    return x


def sigmoid(x):
    return ops.sigmoid(x)


def tanh(x):
    return ops.tanh(x)


def relu(x):
    return ops.relu(x)


def softmax(x, axis=-1):
    return ops.softmax(x, axis)


def exponential(x):
    return ops.exp(x)


_ACTIVATIONS = {
    "linear": linear, "sigmoid": sigmoid, "tanh": tanh, "relu": relu, "softmax": softmax,
    "exponential": exponential,
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
            raise unknown_name("activation", identifier, _ACTIVATIONS)
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
    return sorted(_ACTIVATIONS)
