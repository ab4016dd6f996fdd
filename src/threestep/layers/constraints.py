"""Weight constraints (Keras 2 ``keras.constraints``): applied to a weight after each update.

A constraint is a callable on the weight's array, returning the projected array; the
optimizer applies it after every step (``optimizers.base``). They serialize as
``{"class_name", "config"}``, so a model with constraints saves and loads; a subclass of
your own loads back with ``load_model(custom_objects={"MyConstraint": MyConstraint})``.

Example:
    >>> Dense(64, kernel_constraint=MaxNorm(3.0))
"""
from .. import backend
from ..custom_objects import instantiate, known_names
from ..errors import ConfigError


class Constraint:
    """Base class: ``__call__(w) -> w'`` on arrays, and ``get_config()`` for saving."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self.get_config().items())})"


def _norms(w, axis):
    xp = backend.get_array_module(w)
    return xp.sqrt((w * w).sum(axis=axis, keepdims=True))


class MaxNorm(Constraint):
    """Scales each slice along ``axis`` (Dense: each unit's incoming weights) to norm <= ``max_value``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        return w * (xp.clip(norms, 0, self.max_value) / (norms + 1e-7)).astype(w.dtype)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Sets negative weights to zero."""

    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Scales each slice along ``axis`` to norm 1."""

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return w / (_norms(w, self.axis) + 1e-7).astype(w.dtype)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keeps each slice's norm in [min_value, max_value]; ``rate`` < 1 moves it part of the way."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (norms + 1e-7)).astype(w.dtype)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


max_norm, non_neg, unit_norm, min_max_norm = MaxNorm, NonNeg, UnitNorm, MinMaxNorm
_REGISTRY = {"MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm, "MinMaxNorm": MinMaxNorm,
             "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm, "min_max_norm": MinMaxNorm}


def get(identifier):
    """A constraint from None, a Constraint, a callable, a name, or a ``serialize`` dict."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, dict) or isinstance(identifier, str):
        name = identifier.get("class_name") if isinstance(identifier, dict) else identifier
        config = (identifier.get("config") or {}) if isinstance(identifier, dict) else {}
        if name in _REGISTRY:
            return _REGISTRY[name].from_config(config)
        custom = instantiate(name, config, Constraint, "constraint")
        if custom is not None:
            return custom
        raise ConfigError(f"Unknown constraint {name!r}. Built in: {sorted(_REGISTRY)}; for your own Constraint "
                          f"subclass pass custom_objects={{{name!r}: {name}}} to load_model. Also known: "
                          f"{sorted(known_names())}.")
    if callable(identifier):
        return identifier
    raise ConfigError(f"Could not interpret constraint: {identifier!r}. Pass a Constraint such as MaxNorm(3).")


def serialize(constraint):
    """``{"class_name", "config"}`` of a Constraint, None for None; a bare function cannot be saved."""
    if constraint is None:
        return None
    if isinstance(constraint, Constraint):
        return {"class_name": type(constraint).__name__, "config": constraint.get_config()}
    raise ConfigError(f"Cannot save the constraint {constraint!r}: a plain function has no config. Subclass "
                      "threestep.layers.constraints.Constraint (with get_config) to save it with the model.")
