"""Preprocessing of text and sequences (Keras's ``keras.preprocessing``).

``text``: ``Tokenizer``, ``text_to_word_sequence``, the lecture's 1-of-N encoding with an
"other" dimension (``one_hot_encode``) and word hashing (``word_hashing``).
``sequence``: ``pad_sequences``.

This room imports only NumPy and ``threestep.errors``; ``datasets`` uses it.
"""
from . import sequence, text
from .sequence import pad_sequences
from .text import (Tokenizer, one_hot_encode, text_to_word_sequence, tokenizer_from_json,
                   trigram_vocabulary, word_hashing, word_trigrams)

__all__ = ["Tokenizer", "one_hot_encode", "pad_sequences", "sequence", "text",
           "text_to_word_sequence", "tokenizer_from_json", "trigram_vocabulary",
           "word_hashing", "word_trigrams"]
