"""Models: Sequential, and the training loop every model shares."""
from .sequential import Sequential
from .keras_api import clone_model, model_from_json
from .training import Model
from .persist import load_model as _load_threestep_file
from .persist import save_model
from .. import interop as _interop

_interop.use_model_classes(Sequential, Model)  # interop builds models from files with these classes



def load_model(filepath, custom_objects=None, compile=True):  # noqa: A002  (Keras's name)
    """Load a model saved with ``model.save`` (architecture, weights, optimizer state), or a
    Keras 2 ``.h5`` / ``.keras`` model file, recognised by its content (see ``threestep.interop``).

    Example:
        >>> model = load_model("digits_mlp.ts")
    """
    if _interop.sniff(filepath) is not None:  # Keras files: read by the interop room, below models
        return _interop.load_model(filepath, custom_objects=custom_objects, compile=compile)
    return _load_threestep_file(filepath, custom_objects=custom_objects, compile=compile)


__all__ = ["Model", "Sequential", "clone_model", "load_model", "model_from_json", "save_model"]
