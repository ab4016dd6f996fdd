"""keras.datasets.imdb: ``load_data`` with Keras's arguments, and ``get_word_index``.

Keras's ``imdb.npz`` stores the reviews as pickled object arrays. threestep's own
``threestep.datasets.imdb.load_data`` unpickles only with ``allow_pickle=True``; this Keras
path passes it for you, because the file is always checked first against the SHA-256 Keras
publishes, so exactly the file Keras itself loads is read (never another one).
"""
from ...datasets import imdb as _imdb
from ...datasets.imdb import decode_review, get_word_index  # noqa: F401


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """Keras 2's ``imdb.load_data`` (see :func:`threestep.datasets.imdb.load_data`)."""
    kwargs.setdefault("allow_pickle", _imdb.SHA256 is not None)
    return _imdb.load_data(path, num_words, skip_top, maxlen, seed, start_char, oov_char,
                           index_from, **kwargs)
