"""keras.preprocessing (``text.Tokenizer``, ``sequence.pad_sequences``, ``image.ImageDataGenerator``)"""
from . import image, sequence, text  # noqa: F401
