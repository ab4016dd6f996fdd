"""Callbacks for ``fit``: History, progress output, and the training recipe's helpers."""
from .base import Callback, CallbackList, History

__all__ = ["Callback", "CallbackList", "History"]
