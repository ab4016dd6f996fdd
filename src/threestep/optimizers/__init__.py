"""Optimizers (Keras 2 names and defaults)."""
from ..errors import ConfigError, unknown_name
from .base import Optimizer
from .sgd import SGD

_REGISTRY = {"sgd": SGD}


def get(identifier):
    """An optimizer from a name ('sgd', 'adam', ...) or an Optimizer instance."""
    if isinstance(identifier, Optimizer):
        return identifier
    if isinstance(identifier, str):
        cls = _REGISTRY.get(identifier.lower())
        if cls is None:
            raise unknown_name("optimizer", identifier, _REGISTRY)
        return cls()
    if isinstance(identifier, dict):
        cls = _REGISTRY.get(identifier["class_name"].lower())
        if cls is None:
            raise unknown_name("optimizer", identifier["class_name"], _REGISTRY)
        return cls.from_config(identifier.get("config", {}))
    raise ConfigError(f"Could not interpret optimizer: {identifier!r}. Pass a name such as 'sgd' or an Optimizer.")


def serialize(optimizer):
    return {"class_name": type(optimizer).__name__, "config": optimizer.get_config()}


__all__ = ["Optimizer", "SGD", "get", "serialize"]
