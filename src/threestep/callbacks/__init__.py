"""Callbacks for ``fit``: History, progress output, and the training recipe's helpers."""
from .base import Callback, CallbackList, History
from .checkpoint import ModelCheckpoint
from .csv_logger import CSVLogger
from .gradient_monitor import GradientMonitor
from .live_plot import LivePlot
from .progress import ProgbarLogger
from .recipe import EarlyStopping, LambdaCallback, LearningRateScheduler, ReduceLROnPlateau, TerminateOnNaN
from .run_logger import RunLogger
from .tensorboard import TensorBoard

__all__ = ["CSVLogger", "Callback", "CallbackList", "EarlyStopping", "GradientMonitor", "History", "LambdaCallback",
           "LearningRateScheduler", "LivePlot", "ModelCheckpoint", "ProgbarLogger", "ReduceLROnPlateau", "RunLogger",
           "TensorBoard", "TerminateOnNaN"]
