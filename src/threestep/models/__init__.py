"""Models: Sequential, and the training loop every model shares."""
from .sequential import Sequential
from .training import Model

__all__ = ["Model", "Sequential"]
