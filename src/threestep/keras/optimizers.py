"""keras.optimizers"""
from ..optimizers import *  # noqa: F401,F403

from ._paths import path_module  # noqa: E402

# Keras 2.3's names in this module; one threestep lacks raises NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "Optimizer", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adam",
    "Adamax", "Nadam", "get", "serialize", "deserialize",
], source="threestep.optimizers", hint="one of the optimizers in dir(threestep.optimizers)")
