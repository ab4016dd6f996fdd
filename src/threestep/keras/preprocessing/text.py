"""keras.preprocessing.text"""
from ...preprocessing.text import (Tokenizer, one_hot_encode, text_to_word_sequence,  # noqa: F401
                                   tokenizer_from_json, word_hashing)
