"""IMDB movie reviews (Maas et al. 2011): 25,000 training and 25,000 test reviews labelled
positive (1) or negative (0), each a list of word indices, in Keras's layout.

``load_data`` follows Keras's ``imdb.load_data`` exactly: the same file, the same shuffle
(``numpy.random.RandomState(seed)``, training set first), the same index arithmetic:

* a word's index in the file is its frequency rank (1 = most frequent); every index is
  shifted by ``index_from`` (default 3), so 0, 1 and 2 stay free for padding,
  ``start_char`` (default 1, put before each review) and ``oov_char`` (default 2);
* ``maxlen``: reviews of ``maxlen`` or more indices (``start_char`` included) are dropped
  (not truncated); ``maxlen=None`` or 0 keeps all;
* ``num_words``, ``skip_top``: an index outside ``skip_top <= i < num_words`` becomes
  ``oov_char`` (or is dropped if ``oov_char=None``); this applies to ``start_char`` too,
  so with ``skip_top > 1`` it becomes ``oov_char``. With ``num_words=None`` the limit is
  the largest index present, which is therefore itself mapped to ``oov_char`` (Keras does
  the same; kept for identical arrays).

The one deliberate difference: ``x_train`` / ``x_test`` are always 1-D object arrays of
Python lists (Keras's ``np.array(list_of_lists)`` makes a 2-D array when all reviews have
the same length).

**Pickles.** Keras's ``imdb.npz`` stores the reviews as object arrays, which NumPy can only
read by unpickling, and unpickling can run any code the file holds. threestep therefore
refuses to load such a file unless you pass ``allow_pickle=True``. Before anything is
unpickled the file is checked against the SHA-256 that Keras publishes for it
(``SHA256``), from every source (download, cache or ``path``), so with
``allow_pickle=True`` you trust exactly the file Keras users load, no other.

Where the file comes from: ``path`` if it names a directory part (e.g.
``"/data/imdb.npz"``); otherwise ``$THREESTEP_DATA/imdb/``, ``~/.threestep/datasets/imdb/``
and Keras's cache ``~/.keras/datasets/``, in that order; otherwise a download from
``MIRRORS`` (or ``$THREESTEP_IMDB_MIRROR``) into the first of those (or into ``path``'s
directory), streamed to a temporary file, verified, then renamed into place: a failed
download leaves nothing behind.

Example:

    >>> from threestep.datasets import imdb
    >>> (x_train, y_train), (x_test, y_test) = imdb.load_data(num_words=10000,
    ...                                                       allow_pickle=True)
    >>> len(x_train), x_train[0][:3]
    (25000, [1, 14, 22])
    >>> word_index = imdb.get_word_index()
    >>> imdb.decode_review(x_train[0], word_index)[:30]
    '<start> this film was just bri'
"""
import json
import os
import warnings
import zipfile

import numpy

from ..errors import ConfigError, DatasetError
from . import _files, _keras_files

NPZ_NAME, WORD_INDEX_NAME = "imdb.npz", "imdb_word_index.json"
#: Published by Keras (``keras.datasets.imdb``): SHA-256 of imdb.npz, MD5 of the index.
SHA256 = "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"
WORD_INDEX_MD5 = "bfafd718b763782e994055a2d397834f"
MIRRORS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]
MIRROR_ENV = "THREESTEP_IMDB_MIRROR"
MAX_BYTES = 64 << 20  # no file of this dataset is larger (imdb.npz is ~17 MB)
_KEYS = ("x_train", "y_train", "x_test", "y_test")


def _source():
    keras_cache = os.path.join(os.path.expanduser("~"), ".keras", "datasets")
    return _files.Source(key="imdb", title="IMDB", files={}, system_dirs=(keras_cache,),
                         mirrors=_files.mirrors_from_env(MIRROR_ENV, MIRRORS),
                         mirror_env=MIRROR_ENV, homepage=MIRRORS[0] if MIRRORS else "")


# --------------------------------------------------------------------------- files

def _fetch(path, remote, expected, algorithm, download, timeout, where):
    """The local file for ``path`` (searched, or downloaded), verified against ``expected``."""
    if not isinstance(path, (str, os.PathLike)):
        raise ConfigError(f"{where}: path must be a file name or path. Received: "
                          f"path={path!r}.")
    if not isinstance(download, bool):
        raise ConfigError(f"{where}: download must be True or False. Received: "
                          f"download={download!r}.")
    path = os.path.expanduser(os.fspath(path))
    source = _source()
    if os.path.dirname(path):
        dirs = [os.path.dirname(os.path.abspath(path))]
        name = os.path.basename(path)
    else:
        dirs = [d for _, d in _files.search_dirs(source)]
        name = path
    for directory in dirs:
        candidate = os.path.join(directory, name)
        if os.path.isfile(candidate):
            _keras_files.check_file(candidate, expected, algorithm)
            return candidate
    failure = "downloading is off (download=False)"
    if download and source.mirrors:
        try:
            return _keras_files.download_file(remote, os.path.join(dirs[0], name), expected, algorithm,
                                              source.mirrors, timeout, MAX_BYTES)
        except DatasetError as exc:
            failure = "downloading failed:\n  " + str(exc).replace("\n", "\n  ")
    elif download:
        failure = f"no download mirror is configured (set ${MIRROR_ENV})"
    raise DatasetError(f"{where}: {name} was not found in " + ", ".join(dirs)
                       + f", and {failure}.\nTo get it, call {where} with network access, "
                       f"or put {remote} (from {source.homepage or 'a Keras mirror'}) in "
                       f"{dirs[0]}.")


# --------------------------------------------------------------------------- loading

def _read_npz(file, allow_pickle, verified):
    try:
        with numpy.load(file, allow_pickle=bool(allow_pickle)) as f:
            missing = [k for k in _KEYS if k not in f.files]
            if missing:
                raise DatasetError(f"{file} lacks the arrays {missing}; an IMDB file holds "
                                   f"{list(_KEYS)}.")
            return {k: f[k] for k in _KEYS}
    except ValueError as exc:
        if isinstance(exc, DatasetError) or "allow_pickle" not in str(exc):
            raise DatasetError(f"{file} is not a readable IMDB .npz file: {exc}") from exc
        trust = ("It matches the SHA-256 that Keras publishes for imdb.npz, so it is the "
                 "file Keras itself loads." if verified else
                 "It was NOT checked against a known checksum (imdb.SHA256 is None).")
        raise DatasetError(
            f"imdb.load_data: {file} stores the reviews as pickled object arrays, and "
            "unpickling a file can execute arbitrary code. threestep does not unpickle "
            f"unless you ask: {trust} Pass allow_pickle=True to load it if you trust that "
            "file.") from None
    except (OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"{file} is not a readable IMDB .npz file: {exc}") from exc


def _as_reviews(array, where):
    """A list of lists of Python ints from an array of index sequences."""
    try:
        return [[int(w) for w in review] for review in array]
    except (TypeError, ValueError) as exc:
        raise DatasetError(f"{where} must hold sequences of word indices: {exc}") from exc


def _remove_long_seq(maxlen, seqs, labels):
    keep = [i for i, s in enumerate(seqs) if len(s) < maxlen]
    return [seqs[i] for i in keep], labels[keep]


def _object_array(lists):
    out = numpy.empty(len(lists), dtype=object)
    out[:] = lists
    return out


def load_data(path=NPZ_NAME, num_words=None, skip_top=0, maxlen=None, seed=113,
              start_char=1, oov_char=2, index_from=3, *, allow_pickle=False, download=True,
              timeout=None, **kwargs):
    """Loads IMDB as ``(x_train, y_train), (x_test, y_test)``, like Keras.

    Args:
        path: file name searched in the cache directories (default ``"imdb.npz"``), or a
            path with a directory part used as is.
        num_words: keep indices below this (the ``num_words - index_from`` most frequent
            words, roughly); others become ``oov_char``. None: all.
        skip_top: indices below this become ``oov_char`` too (the most frequent words).
        maxlen: drop reviews with ``maxlen`` or more indices; None: keep all.
        seed: seed of the shuffle (Keras's default 113 gives Keras's order).
        start_char: index put before every review (None: nothing).
        oov_char: index of cut-off words (None: drop them).
        index_from: offset added to every word index of the file.
        allow_pickle: permit unpickling the (checksum-verified) file; required for
            Keras's ``imdb.npz``. See the module docstring.
        download: fetch the file when no local copy exists.
        timeout: seconds without data before a download is abandoned.

    Returns:
        ``(x_train, y_train), (x_test, y_test)``: ``x`` 1-D object arrays of lists of
        ints, ``y`` the labels as stored (0/1).

    Raises:
        DatasetError: no file and no download, a checksum mismatch, a malformed file, a
            pickled file without ``allow_pickle=True``, or ``maxlen`` leaving no review.
    """
    if "nb_words" in kwargs:
        warnings.warn("imdb.load_data(nb_words=...) is deprecated; use num_words=...",
                      DeprecationWarning, stacklevel=2)
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"imdb.load_data: unrecognized keyword arguments {sorted(kwargs)}.")
    file = _fetch(path, NPZ_NAME, SHA256, "sha256", download, timeout, "imdb.load_data")
    arrays = _read_npz(file, allow_pickle, verified=SHA256 is not None)
    splits = []
    for x_key, y_key in (("x_train", "y_train"), ("x_test", "y_test")):
        labels = numpy.asarray(arrays[y_key])
        if labels.ndim != 1 or len(labels) != len(arrays[x_key]):
            raise DatasetError(f"{file}: {y_key} must be 1-D with one label per review of "
                               f"{x_key}; shapes {labels.shape} and {arrays[x_key].shape}.")
        splits.append((arrays[x_key], labels))

    rng = numpy.random.RandomState(seed)  # Keras's generator and order: train, then test
    shuffled = []
    for x, labels in splits:
        order = numpy.arange(len(x))
        rng.shuffle(order)
        shuffled.append((_as_reviews(x[order], f"{file}"), labels[order]))
    (x_train, y_train), (x_test, y_test) = shuffled

    if start_char is not None:
        x_train = [[start_char] + [w + index_from for w in x] for x in x_train]
        x_test = [[start_char] + [w + index_from for w in x] for x in x_test]
    elif index_from:
        x_train = [[w + index_from for w in x] for x in x_train]
        x_test = [[w + index_from for w in x] for x in x_test]

    if maxlen:
        x_train, y_train = _remove_long_seq(maxlen, x_train, y_train)
        x_test, y_test = _remove_long_seq(maxlen, x_test, y_test)
        if not x_train or not x_test:
            raise DatasetError(f"imdb.load_data: no review is shorter than maxlen={maxlen} "
                               "in the training or the test set. Increase maxlen.")

    xs = x_train + x_test
    if not num_words:
        num_words = max((max(x) for x in xs if x), default=0)
    if oov_char is not None:
        xs = [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    else:
        xs = [[w for w in x if skip_top <= w < num_words] for x in xs]
    n = len(x_train)
    return (_object_array(xs[:n]), y_train), (_object_array(xs[n:]), y_test)


def get_word_index(path=WORD_INDEX_NAME, download=True, timeout=None):
    """The word index of the *file*: ``{word: rank}`` (1 = most frequent), a JSON file
    (no pickle), verified by the MD5 Keras publishes. Add ``index_from`` (3) to a rank to
    get the index used in ``load_data``'s sequences."""
    file = _fetch(path, WORD_INDEX_NAME, WORD_INDEX_MD5, "md5", download, timeout,
                  "imdb.get_word_index")
    try:
        with open(file, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{file} is not a readable JSON word index: {exc}") from exc
    if not isinstance(index, dict) or not all(
            isinstance(k, str) and isinstance(v, int) for k, v in index.items()):
        raise DatasetError(f"{file} must hold a JSON object mapping words to integers.")
    return index


def decode_review(sequence, word_index, index_from=3, start_char=1, oov_char=2):
    """A review's indices back to words, using ``get_word_index()``'s ranks shifted by
    ``index_from``; 0, ``start_char`` and ``oov_char`` read ``<pad>``, ``<start>``,
    ``<unk>``, and any index with no word ``?``."""
    words = {rank + index_from: w for w, rank in word_index.items()}
    special = {0: "<pad>", start_char: "<start>", oov_char: "<unk>"}
    return " ".join(special.get(int(i)) or words.get(int(i), "?") for i in sequence)
