"""Models in and out of threestep: Keras HDF5 / ``.keras`` files and PyTorch state dicts.

``threestep.models.load_model`` and ``model.save`` / ``save_weights`` / ``load_weights``
call into this room when a file is (or is named as) a Keras file; ``torch_state`` converts
layers and whole Sequential models to and from PyTorch. Reading never executes anything
from a file and checks every declared size before reading data.
"""
from . import h5safe
from .keras_config import use_model_classes
from .torch_modules import to_torch
from .torch_state import load_state_dict, state_dict


def sniff(path):
    """'hdf5', 'keras' (a .keras zip) or None (anything else), from the file's content."""
    try:
        head = h5safe.file_head(path)
    except OSError:
        return None  # missing or unreadable: the caller's own reader reports it
    if h5safe.is_hdf5(head):
        return "hdf5"
    if head[:2] == b"PK":
        from .keras_zip import is_keras_zip  # noqa: PLC0415

        if is_keras_zip(path):
            return "keras"
    return None


def load_model(path, custom_objects=None, compile=True, max_bytes=h5safe.MAX_BYTES):  # noqa: A002
    """A threestep model from a Keras ``.h5`` or ``.keras`` file (recognised by content)."""
    from ..errors import ModelFileError  # noqa: PLC0415

    kind = sniff(path)
    if kind == "hdf5":
        from .keras_h5 import load_model as load  # noqa: PLC0415
    elif kind == "keras":
        from .keras_zip import load_model as load  # noqa: PLC0415
    else:
        raise ModelFileError(f"{path} is neither a Keras HDF5 model nor a .keras archive.")
    return load(path, custom_objects=custom_objects, compile=compile, max_bytes=max_bytes)




_FORMATS = {"h5": "h5", "hdf5": "h5", "keras": "keras", "tf": None, "threestep": "threestep", "ts": "threestep"}


def save_format(filepath, save_format=None):
    """'h5', 'keras' or 'threestep' for ``model.save``: the explicit format, else the extension."""
    import os  # noqa: PLC0415

    from ..errors import ConfigError  # noqa: PLC0415

    if save_format is not None:
        key = str(save_format).lower()
        if _FORMATS.get(key) is None:
            raise ConfigError(f"save: save_format must be 'h5', 'keras' or 'threestep'. Received: "
                              f"save_format={save_format!r}.")
        return _FORMATS[key]
    name = os.fspath(filepath).lower()
    if name.endswith((".h5", ".hdf5")):
        return "h5"
    return "keras" if name.endswith(".keras") else "threestep"


def save_model(model, filepath, fmt, overwrite=True):
    """Write a Keras file: fmt 'h5' (Keras 2 HDF5) or 'keras' (the .keras zip)."""
    if fmt == "h5":
        from .keras_h5 import save_model as save  # noqa: PLC0415
    else:
        from .keras_zip import save_model as save  # noqa: PLC0415
    save(model, filepath, overwrite=overwrite)


def save_weights(model, filepath, overwrite=True):
    """Keras weights: ``*.weights.h5`` in the .keras layout (as tf-keras writes it), other
    ``*.h5`` names in the Keras 2 HDF5 layout."""
    import os  # noqa: PLC0415

    if os.fspath(filepath).lower().endswith(".weights.h5"):
        from .keras_zip import save_weights as save  # noqa: PLC0415
    else:
        from .keras_h5 import save_weights as save  # noqa: PLC0415
    save(model, filepath, overwrite=overwrite)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Set weights from a Keras HDF5 weights/model file or a .keras archive; False if the
    file is neither (the caller reads threestep's own formats)."""
    kind = sniff(filepath)
    if kind == "hdf5":
        from .keras_h5 import load_weights as load  # noqa: PLC0415

        load(model, filepath, by_name=by_name, skip_mismatch=skip_mismatch)
        return True
    if kind == "keras":
        from .keras_zip import load_weights as load  # noqa: PLC0415

        load(model, filepath)
        return True
    return False


__all__ = ["load_model", "load_state_dict", "load_weights", "save_format", "save_model", "save_weights", "sniff",
           "state_dict", "to_torch"]
