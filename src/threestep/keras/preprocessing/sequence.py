"""keras.preprocessing.sequence"""
from ...preprocessing.sequence import pad_sequences  # noqa: F401
