"""Files on disk: single-file models (a zip of config.json + safetensors) and weight files.

Nothing here unpickles or executes file contents, and every write is atomic
(temporary file, fsync, rename), so a crash mid-save leaves the previous file intact.
"""
from . import safetensors
from .model_file import FORMAT_VERSION, load_model, load_weights, save_model, save_weights

__all__ = ["FORMAT_VERSION", "load_model", "load_weights", "safetensors", "save_model", "save_weights"]
