"""Weight penalties (the lecture's L1 and L2 regularization), added to the training loss."""
import math
import numbers

from .. import backend, ops
from ..autograd import Tensor
from ..custom_objects import Configurable
from ..errors import ConfigError, unknown_name


class Regularizer(Configurable):
    """Base: ``penalty = regularizer(weight_tensor)`` (a scalar Tensor)."""

    def __call__(self, x):
        raise NotImplementedError


class L1L2(Regularizer):
    """l1 * sum(|w|) + l2 * sum(w^2) (Keras 2 convention: no 1/2 factor)."""

    def __init__(self, l1=0.0, l2=0.0):
        for name, value in (("l1", l1), ("l2", l2)):
            if not isinstance(value, numbers.Real) or isinstance(value, bool) or not value >= 0 \
                    or not math.isfinite(value):
                raise ConfigError(f"L1L2: {name} must be a finite number >= 0. Received: {name}={value!r}.")
        self.l1, self.l2 = float(l1), float(l2)

    def __call__(self, x):
        penalty = None
        if self.l1:
            penalty = ops.sum(ops.abs(x)) * self.l1
        if self.l2:
            square = ops.sum(x * x) * self.l2
            penalty = square if penalty is None else penalty + square
        if penalty is None:  # a scalar Tensor, never a bare 0: callers read .data
            xp = backend.get_array_module(x.data)
            penalty = Tensor(xp.zeros((), dtype=x.dtype))
        return penalty

    def get_config(self):
        return {"l1": self.l1, "l2": self.l2}

    def __repr__(self):
        return f"{type(self).__name__}(" + ", ".join(f"{k}={v}" for k, v in self.get_config().items()) + ")"


class L1(L1L2):
    """tf.keras's ``L1(l1=0.01)`` class: the penalty ``l1 * sum(|w|)`` (Keras 2's ``l=`` works too).

    Example:
        >>> layer = Dense(64, kernel_regularizer=L1(1e-5))
    """

    def __init__(self, l1=0.01, **kwargs):
        super().__init__(l1=_factor("L1", l1, kwargs))

    def get_config(self):
        return {"l1": self.l1}


class L2(L1L2):
    """tf.keras's ``L2(l2=0.01)`` class: the penalty ``l2 * sum(w^2)`` (Keras 2's ``l=`` works too).

    Example:
        >>> layer = Dense(64, kernel_regularizer=L2(1e-4))
    """

    def __init__(self, l2=0.01, **kwargs):
        super().__init__(l2=_factor("L2", l2, kwargs))

    def get_config(self):
        return {"l2": self.l2}


def _factor(name, value, kwargs):
    """The factor of ``L1`` / ``L2``: the keyword ``l`` (Keras 2) in place of the class's own."""
    if "l" in kwargs:
        value = kwargs.pop("l")
    if kwargs:
        raise ConfigError(f"{name}: unexpected argument(s) {sorted(kwargs)}; it takes {name.lower()}= "
                          "(or l=). Use L1L2(l1=..., l2=...) for both penalties.")
    return value


def l1(l=0.01):  # noqa: E741  (Keras's argument name)
    """An L1 penalty ``l * sum(|w|)`` added to the loss: it pushes weights to exactly zero (sparse weights).

    Args:
        l: the penalty's factor (default 0.01).

    Returns:
        An ``L1L2`` regularizer.

    Example:
        >>> layer = Dense(64, kernel_regularizer=l1(1e-5))
    """
    return L1L2(l1=l)


def l2(l=0.01):  # noqa: E741
    """An L2 penalty ``l * sum(w^2)`` added to the loss: weight decay, the lecture's regularization.

    Small weights make a smoother function that depends less on any single input, so the
    model overfits less (tips for training: regularization).

    Args:
        l: the penalty's factor (default 0.01).

    Returns:
        An ``L1L2`` regularizer.

    Example:
        >>> layer = Dense(64, kernel_regularizer=l2(1e-4))
    """
    return L1L2(l2=l)


def l1_l2(l1=0.01, l2=0.01):  # noqa: A002
    """Both penalties at once: ``l1 * sum(|w|) + l2 * sum(w^2)`` (the elastic net).

    Args:
        l1: the L1 factor (default 0.01).
        l2: the L2 factor (default 0.01).

    Returns:
        An ``L1L2`` regularizer.

    Example:
        >>> layer = Dense(64, kernel_regularizer=l1_l2(l1=1e-5, l2=1e-4))
    """
    return L1L2(l1=l1, l2=l2)


_REGISTRY = {"l1": l1, "l2": l2, "l1_l2": l1_l2, "L1L2": L1L2}


def get(identifier):
    """A regularizer from what a layer argument may hold.

    Args:
        identifier: None, a ``Regularizer``, a name ("l1", "l2", "l1_l2", with the default
            factor 0.01), a ``{"class_name", "config"}`` dict, or any callable returning a
            penalty.

    Returns:
        The regularizer, or None.

    Raises:
        ConfigError: for an unknown name or class (it names the known ones).

    Example:
        >>> get("l2")
        L1L2(l1=0.0, l2=0.01)
    """
    if identifier is None or isinstance(identifier, Regularizer):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            raise unknown_name("regularizer", identifier, _REGISTRY)
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict):
        return _from_dict(identifier)
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret regularizer: {identifier!r}.")


def _from_dict(spec):
    """A regularizer from ``{"class_name", "config"}``: built-in classes, then custom objects
    (``load_model(custom_objects=...)`` / ``custom_object_scope``); never a silent L1L2(0, 0)."""
    from ..custom_objects import instantiate, known_names  # noqa: PLC0415

    name, config = spec.get("class_name"), spec.get("config") or {}
    if not isinstance(config, dict):
        raise ConfigError(f"A regularizer's config must be a dict; received {config!r} for {name!r}.")
    builtin = {"L1L2": L1L2, "L1": L1L2, "L2": L1L2}  # (L1 / L2 files may hold both factors: L1L2 reads any)
    if name in builtin:
        return builtin[name].from_config(config)
    if name in _REGISTRY and name != "L1L2":
        return _REGISTRY[name](**config)
    custom = instantiate(name, config, Regularizer, "regularizer")
    if custom is not None:
        return custom
    raise ConfigError(f"Unknown regularizer class {name!r}. If it is your own Regularizer subclass, pass "
                      f"custom_objects={{{name!r}: {name}}} to load_model (or use custom_object_scope). Known: "
                      f"{sorted(set(builtin) | _REGISTRY.keys() | known_names())}.")


def serialize(regularizer):
    """A regularizer as ``{"class_name", "config"}``, the form model files store (None stays None).

    Args:
        regularizer: a ``Regularizer`` or None.

    Returns:
        dict or None; ``get`` turns it back.

    Example:
        >>> serialize(l2(1e-4))
        {'class_name': 'L1L2', 'config': {'l1': 0.0, 'l2': 0.0001}}
    """
    if regularizer is None:
        return None
    if isinstance(regularizer, Regularizer):
        return {"class_name": type(regularizer).__name__, "config": regularizer.get_config()}
    raise ConfigError(f"Cannot serialize custom regularizer {regularizer!r}; subclass Regularizer.")
