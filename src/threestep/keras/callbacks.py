"""keras.callbacks"""
from ..callbacks import *  # noqa: F401,F403

from ._paths import path_module  # noqa: E402

# Keras 2.3's names in this module; one threestep lacks raises NotSupportedError on import.
__getattr__, __dir__ = path_module(__name__, [
    "Callback", "BaseLogger", "TerminateOnNaN", "ProgbarLogger", "History", "ModelCheckpoint",
    "EarlyStopping", "RemoteMonitor", "LearningRateScheduler", "TensorBoard", "ReduceLROnPlateau", "CSVLogger",
    "LambdaCallback",
], source="threestep.callbacks", hint="a subclass of threestep.keras.callbacks.Callback; dir(threestep.callbacks) lists the callbacks threestep has")
