"""keras.models"""
from ..models import *  # noqa: F401,F403
from ..models import Model, Sequential  # noqa: F401

from ._paths import path_module  # noqa: E402

# Keras 2.3's names in this module; one threestep lacks raises NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "Model", "Sequential", "load_model", "save_model", "model_from_json", "model_from_yaml",
    "model_from_config", "clone_model",
], source="threestep.models", hint="model.save() / threestep.keras.models.load_model()")
