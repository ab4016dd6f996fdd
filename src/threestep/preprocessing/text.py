"""Turning words into vectors: Keras's ``Tokenizer`` and the lecture's word representations.

* :class:`Tokenizer`, :func:`text_to_word_sequence`, :func:`tokenizer_from_json`: Keras's
  ``keras.preprocessing.text`` with the same semantics (index 0 is never a word; words are
  ranked by frequency, ties in order of first appearance; ``num_words`` keeps indices
  below it; ``oov_token`` takes index 1).
* :func:`one_hot_encode`: the lecture's **1-of-N encoding** with a **dimension for
  "other"**: a vector as long as the vocabulary plus one, where any word outside the
  vocabulary lights the last ("other") dimension.
* :func:`word_hashing`: the lecture's **word hashing**: a word as the counts of its letter
  trigrams, the word padded with the boundary symbol ``#`` ("apple" -> ``#ap``, ``app``,
  ``ppl``, ``ple``, ``le#``), over the fixed :func:`trigram_vocabulary` (26^3 letter
  trigrams plus the ones touching a boundary). Any word made of letters gets a vector,
  so there is no unknown word; different words rarely collide.

Example:

    >>> from threestep.preprocessing.text import Tokenizer, one_hot_encode, word_hashing
    >>> tok = Tokenizer()
    >>> tok.fit_on_texts(["arrive Taipei on November 2nd", "leave Taipei"])
    >>> tok.texts_to_sequences(["leave Taipei on November 2nd"])
    [[6, 1, 3, 4, 5]]
    >>> one_hot_encode(["apple", "kiwi"], ["apple", "bag", "cat"])
    array([[1., 0., 0., 0.],
           [0., 0., 0., 1.]], dtype=float32)
"""
import collections
import functools
import itertools
import json
import string
import warnings

import numpy

from ..errors import ConfigError, DataError

__all__ = ["DEFAULT_FILTERS", "Tokenizer", "one_hot_encode", "text_to_word_sequence",
           "tokenizer_from_json", "trigram_vocabulary", "word_hashing", "word_trigrams"]

DEFAULT_FILTERS = '!"#$%&()*+,-./:;<=>?@[\\]^_`{|}~\t\n'
_MODES = ("binary", "count", "tfidf", "freq")


def text_to_word_sequence(text, filters=DEFAULT_FILTERS, lower=True, split=" "):
    """Splits ``text`` into words: lower-cased, every character of ``filters`` replaced by
    ``split``, then split on ``split`` with empty words dropped (as Keras).

    >>> text_to_word_sequence("Not bad, good!")
    ['not', 'bad', 'good']
    """
    if not isinstance(text, str):
        raise DataError(f"text_to_word_sequence expects a string. Received: "
                        f"{type(text).__name__} {text!r}.")
    if lower:
        text = text.lower()
    text = text.translate(str.maketrans({c: split for c in filters}))
    return [w for w in text.split(split) if w]


class Tokenizer:
    """Keras's text tokenizer: a word index built from texts, and texts turned into index
    sequences or into one row per text of a document-term matrix.

    Args:
        num_words: keep only words whose index is below ``num_words`` (the
            ``num_words - 1`` most frequent) when converting; None keeps all. The index
            itself (``word_index``) always holds every word seen.
        filters: characters removed from texts (replaced by ``split``).
        lower: lower-case texts first.
        split: the word separator.
        char_level: treat every character as a token.
        oov_token: if given, it takes index 1 and replaces every word that is unknown or
            cut off by ``num_words``; otherwise such words are dropped.

    Attributes (after ``fit_on_texts``): ``word_index`` (word -> index, 1 = most frequent,
    0 never used), ``index_word``, ``word_counts`` (word -> count, in order of first
    appearance), ``word_docs`` (word -> number of texts holding it), ``index_docs``,
    ``document_count``.

    Example:

        >>> tok = Tokenizer(num_words=3, oov_token="<unk>")
        >>> tok.fit_on_texts(["good good movie", "bad movie"])
        >>> tok.word_index
        {'<unk>': 1, 'good': 2, 'movie': 3, 'bad': 4}
        >>> tok.texts_to_sequences(["good bad movie"])
        [[2, 1, 1]]
    """

    def __init__(self, num_words=None, filters=DEFAULT_FILTERS, lower=True, split=" ",
                 char_level=False, oov_token=None, document_count=0, **kwargs):
        if "nb_words" in kwargs:  # Keras 1 spelling
            warnings.warn("Tokenizer(nb_words=...) is deprecated; use num_words=...",
                          DeprecationWarning, stacklevel=2)
            num_words = kwargs.pop("nb_words")
        if kwargs:
            raise ConfigError(f"Tokenizer: unknown arguments {sorted(kwargs)}.")
        if num_words is not None and (isinstance(num_words, bool)
                                      or not isinstance(num_words, (int, numpy.integer))
                                      or num_words < 0):
            raise ConfigError(f"Tokenizer: num_words must be a non-negative integer or None. "
                              f"Received: num_words={num_words!r}.")
        if not isinstance(split, str) or not split:
            raise ConfigError(f"Tokenizer: split must be a non-empty string. "
                              f"Received: split={split!r}.")
        self.num_words = num_words
        self.filters = filters
        self.lower = lower
        self.split = split
        self.char_level = char_level
        self.oov_token = oov_token
        self.document_count = document_count
        self.word_counts = collections.OrderedDict()
        self.word_docs = collections.defaultdict(int)
        self.index_docs = collections.defaultdict(int)
        self.word_index = {}
        self.index_word = {}

    def __repr__(self):
        return (f"Tokenizer(num_words={self.num_words}, words={len(self.word_index)}, "
                f"documents={self.document_count}, oov_token={self.oov_token!r})")

    def _tokens(self, text):
        if self.char_level or isinstance(text, list):
            if self.lower:
                text = [t.lower() for t in text] if isinstance(text, list) else text.lower()
            return text
        return text_to_word_sequence(text, self.filters, self.lower, self.split)

    @staticmethod
    def _check_texts(texts, where):
        if isinstance(texts, str):
            raise DataError(f"Tokenizer.{where} expects a list of texts, not one string. "
                            f"Wrap it in a list: [{texts[:30]!r}].")

    def fit_on_texts(self, texts):
        """Counts the words of ``texts`` (strings, or lists of tokens) and rebuilds the
        index: words by decreasing count, ties in order of first appearance."""
        self._check_texts(texts, "fit_on_texts")
        for text in texts:
            self.document_count += 1
            seq = self._tokens(text)
            for w in seq:
                self.word_counts[w] = self.word_counts.get(w, 0) + 1
            for w in set(seq):
                self.word_docs[w] += 1
        # sorted() is stable: equal counts keep their order of first appearance.
        ranked = sorted(self.word_counts.items(), key=lambda kv: kv[1], reverse=True)
        vocabulary = ([] if self.oov_token is None else [self.oov_token])
        vocabulary += [w for w, _ in ranked]
        self.word_index = dict(zip(vocabulary, range(1, len(vocabulary) + 1)))
        self.index_word = {i: w for w, i in self.word_index.items()}
        for w, c in self.word_docs.items():
            self.index_docs[self.word_index[w]] = c

    def fit_on_sequences(self, sequences):
        """Counts documents per index (needed for ``tfidf`` if no texts were fitted)."""
        self.document_count += len(sequences)
        for seq in sequences:
            for i in set(seq):
                self.index_docs[i] += 1

    def texts_to_sequences(self, texts):
        """Each text as a list of word indices (unknown or cut-off words dropped, or
        replaced by the ``oov_token``'s index)."""
        self._check_texts(texts, "texts_to_sequences")
        return list(self.texts_to_sequences_generator(texts))

    def texts_to_sequences_generator(self, texts):
        """``texts_to_sequences``, one text at a time."""
        oov = self.word_index.get(self.oov_token)
        for text in texts:
            out = []
            for w in self._tokens(text):
                i = self.word_index.get(w)
                if i is not None and not (self.num_words and i >= self.num_words):
                    out.append(i)
                elif oov is not None:
                    out.append(oov)
            yield out

    def sequences_to_texts(self, sequences):
        """Index sequences back to space-joined texts (same dropping / oov rules)."""
        return list(self.sequences_to_texts_generator(sequences))

    def sequences_to_texts_generator(self, sequences):
        """``sequences_to_texts``, one sequence at a time."""
        oov = self.word_index.get(self.oov_token)
        for seq in sequences:
            words = []
            for i in seq:
                i = int(i)
                word = self.index_word.get(i)
                if word is not None and not (self.num_words and i >= self.num_words):
                    words.append(word)
                elif oov is not None:
                    words.append(self.index_word[oov])
            yield " ".join(words)

    def texts_to_matrix(self, texts, mode="binary"):
        """A ``(len(texts), num_words)`` float64 matrix (``num_words`` = ``len(word_index)
        + 1`` when not set); see :meth:`sequences_to_matrix` for ``mode``."""
        self._check_texts(texts, "texts_to_matrix")
        return self.sequences_to_matrix(self.texts_to_sequences(texts), mode=mode)

    def sequences_to_matrix(self, sequences, mode="binary"):
        """One row per sequence, one column per index (column 0 is never set).

        Modes: ``"binary"`` (1 if the word occurs), ``"count"``, ``"freq"`` (count divided
        by the sequence length) and ``"tfidf"`` (``(1 + log count) * log(1 +
        documents / (1 + documents holding the word))``).
        """
        if mode not in _MODES:
            raise ConfigError(f"Tokenizer: unknown vectorization mode {mode!r}. Valid "
                              f"modes: {', '.join(_MODES)}.")
        if self.num_words:
            num_words = self.num_words
        elif self.word_index:
            num_words = len(self.word_index) + 1
        else:
            raise ConfigError("Tokenizer: specify num_words, or call fit_on_texts first.")
        if mode == "tfidf" and not self.document_count:
            raise ConfigError("Tokenizer: fit it on some data before using mode='tfidf'.")
        x = numpy.zeros((len(sequences), num_words))
        for row, seq in enumerate(sequences):
            if not len(seq):
                continue
            counts = collections.Counter(int(j) for j in seq if int(j) < num_words)
            for j, c in counts.items():
                if mode == "count":
                    x[row, j] = c
                elif mode == "freq":
                    x[row, j] = c / len(seq)
                elif mode == "binary":
                    x[row, j] = 1
                else:
                    idf = numpy.log(1 + self.document_count / (1 + self.index_docs.get(j, 0)))
                    x[row, j] = (1 + numpy.log(c)) * idf
        return x

    def get_config(self):
        """The settings and counts, the count tables as JSON strings (Keras's layout)."""
        return {"num_words": self.num_words, "filters": self.filters, "lower": self.lower,
                "split": self.split, "char_level": self.char_level,
                "oov_token": self.oov_token, "document_count": self.document_count,
                "word_counts": json.dumps(self.word_counts),
                "word_docs": json.dumps(self.word_docs),
                "index_docs": json.dumps(self.index_docs),
                "index_word": json.dumps(self.index_word),
                "word_index": json.dumps(self.word_index)}

    def to_json(self, **kwargs):
        """A JSON string that :func:`tokenizer_from_json` (ours or Keras's) reads back."""
        return json.dumps({"class_name": "Tokenizer", "config": self.get_config()}, **kwargs)


def tokenizer_from_json(json_string):
    """A :class:`Tokenizer` from :meth:`Tokenizer.to_json` output (also Keras's)."""
    try:
        config = dict(json.loads(json_string)["config"])
        tables = {k: json.loads(config.pop(k)) for k in
                  ("word_counts", "word_docs", "index_docs", "index_word", "word_index")}
    except (TypeError, KeyError, ValueError) as exc:
        raise ConfigError(f"tokenizer_from_json: not a tokenizer JSON string ({exc}).") from exc
    tok = Tokenizer(**config)
    tok.word_counts = collections.OrderedDict(tables["word_counts"])
    tok.word_docs = collections.defaultdict(int, tables["word_docs"])
    # JSON turns integer keys into strings.
    tok.index_docs = collections.defaultdict(int, {int(k): v for k, v in
                                                   tables["index_docs"].items()})
    tok.index_word = {int(k): v for k, v in tables["index_word"].items()}
    tok.word_index = tables["word_index"]
    return tok


# --------------------------------------------------------------------------- 1-of-N

def one_hot_encode(words, vocabulary, other=True):
    """The lecture's 1-of-N encoding, with a dimension for "other".

    Args:
        words: one word (a string) or a sequence of words.
        vocabulary: the N known words, a sequence (dimension i is ``vocabulary[i]``) or a
            dict ``word -> dimension`` (dimensions 0..N-1).
        other: add dimension N, lit by every word not in the vocabulary (the lecture's
            "other", e.g. a city name never seen). With ``other=False`` an unknown word
            raises ``DataError``.

    Returns:
        float32 ``(N + other,)`` for one word, ``(len(words), N + other)`` for a sequence.

    Example:

        >>> one_hot_encode("cat", ["apple", "bag", "cat"], other=False)
        array([0., 0., 1.], dtype=float32)
    """
    index = _vocabulary_index(vocabulary)
    single = isinstance(words, str)
    seq = [words] if single else list(words)
    size = len(index) + bool(other)
    out = numpy.zeros((len(seq), size), dtype=numpy.float32)
    for row, word in enumerate(seq):
        j = index.get(word)
        if j is None:
            if not other:
                raise DataError(f"one_hot_encode: {word!r} is not in the vocabulary of "
                                f"{len(index)} words; pass other=True to map unknown "
                                "words to the 'other' dimension.")
            j = len(index)
        out[row, j] = 1.0
    return out[0] if single else out


def _vocabulary_index(vocabulary):
    if isinstance(vocabulary, str):
        raise ConfigError("one_hot_encode: vocabulary must be a list of words or a dict "
                          f"word -> dimension, not a string. Received: {vocabulary[:30]!r}.")
    if isinstance(vocabulary, dict):
        index = dict(vocabulary)
        if sorted(index.values()) != list(range(len(index))):
            raise ConfigError("one_hot_encode: a vocabulary dict must map its N words to "
                              "the dimensions 0..N-1, each used once.")
        return index
    vocabulary = list(vocabulary)
    index = {w: i for i, w in enumerate(vocabulary)}
    if len(index) != len(vocabulary):
        dup = [w for w, c in collections.Counter(vocabulary).items() if c > 1]
        raise ConfigError(f"one_hot_encode: the vocabulary repeats {dup[:5]}.")
    return index


# --------------------------------------------------------------------------- word hashing

BOUNDARY = "#"
_LETTERS = string.ascii_lowercase


@functools.lru_cache(maxsize=1)
def trigram_vocabulary():
    """The fixed letter-trigram vocabulary of :func:`word_hashing`, a tuple of 18,954:

    the 26^3 = 17,576 letter trigrams ``aaa`` .. ``zzz``, then the 676 word starts
    ``#aa`` .. ``#zz``, the 676 word ends ``aa#`` .. ``zz#``, and the 26 one-letter words
    ``#a#`` .. ``#z#`` (each block in alphabetical order).
    """
    pairs = ["".join(p) for p in itertools.product(_LETTERS, repeat=2)]
    return (tuple("".join(t) for t in itertools.product(_LETTERS, repeat=3))
            + tuple(BOUNDARY + p for p in pairs) + tuple(p + BOUNDARY for p in pairs)
            + tuple(BOUNDARY + c + BOUNDARY for c in _LETTERS))


@functools.lru_cache(maxsize=1)
def _trigram_index():
    return {t: i for i, t in enumerate(trigram_vocabulary())}


def word_trigrams(word):
    """The letter trigrams of ``word`` (lower-cased, letters a-z only, others dropped),
    padded with ``#``: ``word_trigrams("apple") == ['#ap', 'app', 'ppl', 'ple', 'le#']``."""
    if not isinstance(word, str):
        raise DataError(f"word_hashing expects a word (a string). Received: {word!r}.")
    letters = "".join(c for c in word.lower() if c in _LETTERS)
    if not letters:
        return []
    padded = BOUNDARY + letters + BOUNDARY
    return [padded[i:i + 3] for i in range(len(padded) - 2)]


def word_hashing(word):
    """The lecture's word hashing: the counts of a word's letter trigrams.

    Args:
        word: a string, or a sequence of strings. Lower-cased; characters other than the
            letters a-z are dropped (a word without letters gives a zero vector).

    Returns:
        float32 counts over :func:`trigram_vocabulary` (18,954 dimensions): shape
        ``(18954,)`` for one word, ``(len(words), 18954)`` for a sequence.

    Example:

        >>> v = word_hashing("apple")
        >>> [trigram_vocabulary()[i] for i in v.nonzero()[0]]
        ['app', 'ple', 'ppl', '#ap', 'le#']
    """
    single = isinstance(word, str)
    words = [word] if single else list(word)
    index = _trigram_index()
    out = numpy.zeros((len(words), len(index)), dtype=numpy.float32)
    for row, w in enumerate(words):
        for t in word_trigrams(w):
            out[row, index[t]] += 1
    return out[0] if single else out
