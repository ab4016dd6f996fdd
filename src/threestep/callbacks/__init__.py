"""Callbacks for ``fit``: History, progress output, and the training recipe's helpers."""
from .base import Callback, CallbackList, History
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .recipe import EarlyStopping, LambdaCallback, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "History", "LambdaCallback",
           "LearningRateScheduler", "ModelCheckpoint", "ReduceLROnPlateau", "TerminateOnNaN"]
