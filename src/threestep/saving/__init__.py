"""Files on disk: the model file's layout (a zip of config.json + safetensors), the
safetensors format, and the one atomic writer every file of the package goes through.

This room knows nothing of models: ``threestep.models.persist`` turns a model into a
file's parts and back, and ``Model.save`` / ``load_model`` are the entry points. Nothing
here unpickles or executes file contents, and every write is atomic (temporary file,
fsync, rename), so a crash mid-save leaves the previous file intact.
"""
from . import safetensors
from .archive import FORMAT_VERSION
from .atomic import atomic_write

# The model-level functions live with the models since the split of this package;
# ``threestep.saving.load_model`` and friends stay importable for code written before.
_MODEL_FUNCTIONS = ("load_model", "load_weights", "save_model", "save_weights")

__all__ = ["FORMAT_VERSION", "atomic_write", "safetensors", *_MODEL_FUNCTIONS]


def __getattr__(name):
    if name in _MODEL_FUNCTIONS:  # looked up on first use only, so importing saving never imports models
        from .. import models  # noqa: PLC0415
        from ..models import persist  # noqa: PLC0415

        return getattr(models, name) if name in ("load_model", "save_model") else getattr(persist, name)
    raise AttributeError(f"module 'threestep.saving' has no attribute {name!r}")
