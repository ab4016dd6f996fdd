"""keras.preprocessing (``text.Tokenizer``, ``sequence.pad_sequences``)"""
from . import sequence, text  # noqa: F401
