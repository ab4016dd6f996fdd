"""Models: Sequential, and the training loop every model shares."""
from .sequential import Sequential
from .training import Model



def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002  (Keras's name)
    """Load a model saved with ``model.save`` (architecture, weights, optimizer state), or a
    Keras 2 ``.h5`` / ``.keras`` model file (recognised by content, see ``threestep.interop``)."""
    from .. import interop  # noqa: PLC0415
    from ..saving import load_model as _load  # noqa: PLC0415

    if interop.sniff(filepath) is not None:
        return interop.load_model(filepath, custom_objects=custom_objects, compile=compile)

    return _load(filepath, custom_objects=custom_objects, compile=compile)


__all__ = ["Model", "Sequential", "load_model"]
