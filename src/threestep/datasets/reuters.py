"""Reuters newswires: 11,228 newswires in 46 topics, each a list of word indices, in
Keras's layout (``keras.datasets.reuters``).

``load_data`` follows Keras: the same file (``reuters.npz``, checked against the SHA-256
Keras publishes), the same shuffle (``numpy.random.RandomState(seed)``), the same index
arithmetic as :mod:`threestep.datasets.imdb` (``start_char``, ``oov_char``, ``index_from``,
``num_words``, ``skip_top``, ``maxlen`` drops long wires), then the first
``1 - test_split`` of the wires are the training set. The file's lists are read without
unpickling code (see ``_keras_files``). Where the file comes from: see ``_keras_files``
(``$THREESTEP_DATA/reuters/``, ``~/.threestep/datasets/reuters/``, ``~/.keras/datasets/``,
then a download).

Example:

    >>> from threestep.datasets import reuters
    >>> (x_train, y_train), (x_test, y_test) = reuters.load_data(num_words=10000)
    >>> len(x_train), len(x_test), int(y_train.max()) + 1
    (8982, 2246, 46)
"""
import json
import warnings

import numpy

from ..errors import DatasetError
from . import _files, _keras_files

NPZ_NAME, WORD_INDEX_NAME = "reuters.npz", "reuters_word_index.json"
#: Published by Keras: SHA-256 of reuters.npz, MD5 of the word index.
SHA256 = "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916"
WORD_INDEX_MD5 = "4d44cc38712099c9e383dc6e5f11a921"
MIRROR_ENV = "THREESTEP_REUTERS_MIRROR"
MIRRORS = [_keras_files.KERAS_MIRROR]


def _mirrors():
    return _files.mirrors_from_env(MIRROR_ENV, MIRRORS)


def load_data(path=NPZ_NAME, num_words=None, skip_top=0, maxlen=None, test_split=0.2,
              seed=113, start_char=1, oov_char=2, index_from=3, *, download=True,
              timeout=None, **kwargs):
    """Loads Reuters as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    Args:
        path: file name searched in the caches, or a path with a directory part.
        num_words, skip_top, maxlen, seed, start_char, oov_char, index_from: as in
            :func:`threestep.datasets.imdb.load_data`.
        test_split: the fraction of wires (after shuffling) in the test set.
        download: fetch the file when no local copy exists.

    Returns:
        ``x`` 1-D object arrays of lists of ints, ``y`` int64 topic labels 0..45.

    Raises:
        DatasetError: no file and no download, a checksum mismatch, a malformed file.
    """
    if "nb_words" in kwargs:
        warnings.warn("reuters.load_data(nb_words=...) is deprecated; use num_words=...",
                      DeprecationWarning, stacklevel=2)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"reuters.load_data: unrecognized keyword arguments {sorted(kwargs)}.")
    if not 0 <= test_split < 1:
        raise DatasetError(f"reuters.load_data: test_split must be in [0, 1). Received "
                           f"{test_split!r}.")
    file = _keras_files.fetch("reuters", path, NPZ_NAME, SHA256, _mirrors(),
                              "reuters.load_data", download=download, timeout=timeout)
    arrays = _keras_files.load_npz(file, ("x", "y"))
    xs, labels = arrays["x"], numpy.asarray(arrays["y"])
    if labels.ndim != 1 or len(labels) != len(xs):
        raise DatasetError(f"{file}: y must be 1-D with one label per wire of x; shapes "
                           f"{labels.shape} and {xs.shape}.")
    order = numpy.arange(len(xs))
    numpy.random.RandomState(seed).shuffle(order)
    xs = [[int(w) for w in x] for x in xs[order]]
    labels = labels[order]
    if start_char is not None:
        xs = [[start_char] + [w + index_from for w in x] for x in xs]
    elif index_from:
        xs = [[w + index_from for w in x] for x in xs]
    if maxlen:
        keep = [i for i, x in enumerate(xs) if len(x) < maxlen]
        xs, labels = [xs[i] for i in keep], labels[keep]
        if not xs:
            raise DatasetError(f"reuters.load_data: no wire is shorter than maxlen={maxlen}.")
    if not num_words:
        num_words = max(max(x) for x in xs if x)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    split = int(len(xs) * (1 - test_split))
    return ((_object_array(xs[:split]), numpy.array(labels[:split])),
            (_object_array(xs[split:]), numpy.array(labels[split:])))


def _object_array(lists):
    out = numpy.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def get_word_index(path=WORD_INDEX_NAME, download=True, timeout=None):
    """``{word: rank}`` of the file (1 = most frequent; add ``index_from`` for the indices of
    ``load_data``), a JSON file checked by the MD5 Keras publishes."""
    file = _keras_files.fetch("reuters", path, WORD_INDEX_NAME, WORD_INDEX_MD5, _mirrors(),
                              "reuters.get_word_index", algorithm="md5", download=download,
                              timeout=timeout)
    try:
        with open(file, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{file} is not a readable JSON word index: {exc}") from exc
    if not isinstance(index, dict):
        raise DatasetError(f"{file} must hold a JSON object mapping words to integers.")
    return index
