"""Models: Sequential, and the training loop every model shares."""
from .sequential import Sequential
from .keras_api import clone_model, model_from_json
from .training import Model



def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002  (Keras's name)
    """Load a model saved with ``model.save`` (architecture, weights, optimizer state)."""
    from ..saving import load_model as _load  # noqa: PLC0415

    return _load(filepath, custom_objects=custom_objects, compile=compile)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json"]
