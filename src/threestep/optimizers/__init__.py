"""Optimizers (Keras 2 names and defaults).

Defaults follow Keras 2.3 where it and Keras 3 differ: Adagrad ``learning_rate=0.01`` and
accumulators starting at 0 (Keras 3: 0.001 and 0.1), Adadelta ``learning_rate=1.0``
(Keras 3: 0.001), Adamax and Nadam ``learning_rate=0.002`` (Keras 3: 0.001). Every
``epsilon`` defaults to 1e-7. Each class docstring says how it maps onto ``torch.optim``.
"""
from ..errors import ConfigError, unknown_name
from . import schedules
from .adagrad import Adadelta, Adagrad
from .adam import Adam, Adamax, AdamW, Nadam
from .base import Optimizer
from .rmsprop import RMSprop
from .sgd import SGD

_REGISTRY = {cls.__name__.lower(): cls for cls in (SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam)}


def _lookup(name):
    cls = _REGISTRY.get(str(name).lower())
    if cls is None:
        from ..custom_objects import lookup  # noqa: PLC0415

        custom = lookup(name)
        if isinstance(custom, type) and issubclass(custom, Optimizer):
            return custom
    if cls is None:
        raise unknown_name("optimizer", name, _REGISTRY)
    return cls


def get(identifier):
    """An optimizer from a name ('sgd', 'adam', ...; any case), a ``serialize`` dict, or an
    Optimizer instance (returned as is). Names get Keras 2.3 default settings."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        return _lookup(identifier)()
    if isinstance(identifier, dict) and "class_name" in identifier:
        return _lookup(identifier["class_name"]).from_config(identifier.get("config", {}))
    raise ConfigError(f"Could not interpret optimizer: {identifier!r}. Pass a name such as 'sgd' or "
                      "'adam', an Optimizer, or a dict from optimizers.serialize.")


def serialize(optimizer):
    """``{"class_name": ..., "config": ...}``; ``get`` turns it back into an optimizer."""
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


def deserialize(config):
    """The optimizer ``serialize`` described (same as ``get(dict)``)."""
    return get(config)


__all__ = ["Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam", "AdamW", "Adamax", "Nadam",
           "schedules", "get", "serialize", "deserialize"]
