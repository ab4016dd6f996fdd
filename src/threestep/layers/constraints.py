"""Weight constraints: projections applied to a weight after every optimizer step (Keras 2).

``Dense(64, kernel_constraint=max_norm(2.))`` rescales each column of the kernel (the
weights into one unit, ``axis=0``) whose L2 norm exceeds 2 back to norm 2, which keeps a
network with large learning rates or dropout from growing huge weights.

A constraint maps an array to an array of the same shape. A user's function written with
``threestep.keras.backend`` (returning a Tensor) works too: its result is unwrapped.
"""
from .. import backend
from ..custom_objects import Configurable, instantiate, known_names
from ..errors import ConfigError, unknown_name

EPSILON = 1e-7


def _norms(w, axis):
    xp = backend.get_array_module(w)
    return xp.sqrt((w * w).sum(axis=tuple(axis) if isinstance(axis, (list, tuple)) else axis, keepdims=True))


class Constraint(Configurable):
    """Base class: ``constraint(weight_array) -> projected array``."""

    def __call__(self, w):
        return w


class MaxNorm(Constraint):
    """Rescale weights whose L2 norm along ``axis`` exceeds ``max_value`` (axis=0: per unit of a Dense kernel;
    use axis=[0, 1, 2] for a Conv2D kernel in channels_last layout).

    Example:
        >>> Dense(64, kernel_constraint=MaxNorm(2.0))
    """

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        desired = xp.clip(norms, 0, self.max_value)
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """Set negative weights to zero (non-negative weights, e.g. for a monotone model).

    Example:
        >>> Dense(8, kernel_constraint="non_neg")
    """

    def __call__(self, w):
        return w * (w >= 0).astype(w.dtype)


class UnitNorm(Constraint):
    """Scale the weights to L2 norm one along ``axis``.

    Example:
        >>> Dense(8, kernel_constraint=UnitNorm(axis=0))
    """

    def __init__(self, axis=0):
        self.axis = axis

    def __call__(self, w):
        return (w / (EPSILON + _norms(w, self.axis))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """Keep the L2 norm along ``axis`` in [min_value, max_value]; ``rate`` < 1 moves only part of the way.

    Example:
        >>> Dense(8, kernel_constraint=MinMaxNorm(0.5, 1.0))
    """

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate, self.axis = min_value, max_value, rate, axis

    def __call__(self, w):
        xp = backend.get_array_module(w)
        norms = _norms(w, self.axis)
        desired = self.rate * xp.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return (w * (desired / (EPSILON + norms))).astype(w.dtype, copy=False)

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate, "axis": self.axis}


class _FunctionConstraint(Constraint):
    """A user's function: takes the array and may return a Tensor (K functions) or an array."""

    def __init__(self, fn):
        self.fn = fn

    def __call__(self, w):
        out = self.fn(w)
        return getattr(out, "data", out)

    def __repr__(self):
        return f"<constraint {getattr(self.fn, '__name__', self.fn)!r}>"


max_norm = maxnorm = MaxNorm
non_neg = nonneg = NonNeg
unit_norm = unitnorm = UnitNorm
min_max_norm = MinMaxNorm

_REGISTRY = {"max_norm": MaxNorm, "maxnorm": MaxNorm, "MaxNorm": MaxNorm, "non_neg": NonNeg, "nonneg": NonNeg,
             "NonNeg": NonNeg, "unit_norm": UnitNorm, "unitnorm": UnitNorm, "UnitNorm": UnitNorm,
             "min_max_norm": MinMaxNorm, "MinMaxNorm": MinMaxNorm}


def get(identifier):
    """A Constraint from None, a name ('max_norm'), a config dict, a Constraint or a function."""
    if identifier is None or isinstance(identifier, Constraint):
        return identifier
    if isinstance(identifier, str):
        if identifier not in _REGISTRY:
            custom = instantiate(identifier, {}, Constraint, "constraint")
            if custom is not None:
                return custom
            raise unknown_name("constraint", identifier, _REGISTRY)
        return _REGISTRY[identifier]()
    if isinstance(identifier, dict):
        return deserialize(identifier)
    if callable(identifier):
        return _FunctionConstraint(identifier)
    raise ConfigError(f"Could not interpret constraint: {identifier!r}. Pass a name such as 'max_norm', a "
                      "Constraint, or a function of the weight array.")


def serialize(constraint):
    if constraint is None:
        return None
    if isinstance(constraint, _FunctionConstraint):
        name = getattr(constraint.fn, "__name__", None)
        if name is None or name == "<lambda>":
            raise ConfigError(f"Cannot serialize the constraint {constraint!r}: give it a name (def ...), or "
                              "subclass threestep.layers.constraints.Constraint.")
        return name
    return {"class_name": type(constraint).__name__, "config": constraint.get_config()}


def deserialize(config, custom_objects=None):
    if isinstance(config, str):
        if custom_objects and config in custom_objects:
            return get(custom_objects[config])
        return get(config)
    name = config.get("class_name")
    cls = (custom_objects or {}).get(name) or _REGISTRY.get(name)
    if cls is None:
        custom = instantiate(name, config.get("config") or {}, Constraint, "constraint")
        if custom is not None:
            return custom
        raise ConfigError(f"Unknown constraint {name!r}. Built in: {sorted(_REGISTRY)}; for your own Constraint "
                          f"subclass pass custom_objects={{{name!r}: {name}}} to load_model. Also known: "
                          f"{sorted(known_names())}.")
    return cls.from_config(config.get("config", {}))


__all__ = ["Constraint", "MaxNorm", "MinMaxNorm", "NonNeg", "UnitNorm", "max_norm", "maxnorm", "min_max_norm",
           "non_neg", "nonneg", "unit_norm", "unitnorm", "get", "serialize", "deserialize"]
