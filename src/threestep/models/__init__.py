"""Models: Sequential, and the training loop every model shares."""
from .sequential import Sequential
from .training import Model
from .persist import load_model, save_model

__all__ = ["Model", "Sequential", "load_model", "save_model"]
