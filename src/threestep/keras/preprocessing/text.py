"""keras.preprocessing.text"""
from ...preprocessing.text import (Tokenizer, one_hot_encode, text_to_word_sequence,  # noqa: F401
                                   tokenizer_from_json, word_hashing)


def hashing_trick(text, n, hash_function=None, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n',
                  lower=True, split=" "):
    """Keras's ``hashing_trick``: each word of ``text`` as an index in ``1..n-1`` by hashing
    (0 stays free for padding; different words may share an index).

    ``hash_function``: None (Python's ``hash``, which differs between processes unless
    ``PYTHONHASHSEED`` is set, as in Keras), ``"md5"`` (stable), or a function of a word.
    """
    import hashlib  # noqa: PLC0415

    if hash_function is None:
        hash_function = hash
    elif hash_function == "md5":
        def hash_function(word):
            return int(hashlib.md5(word.encode(), usedforsecurity=False).hexdigest(), 16)
    words = text_to_word_sequence(text, filters=filters, lower=lower, split=split)
    return [hash_function(w) % (n - 1) + 1 for w in words]


def one_hot(text, n, filters='!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n', lower=True, split=" "):
    """Keras's ``one_hot``: ``hashing_trick`` with Python's ``hash`` (word indices, not
    one-hot vectors, despite the name; see ``one_hot_encode`` for the lecture's 1-of-N)."""
    return hashing_trick(text, n, hash_function=hash, filters=filters, lower=lower, split=split)
