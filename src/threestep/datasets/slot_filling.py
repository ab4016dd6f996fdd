"""Slot filling: generated flight-booking requests, one slot tag per word (the lecture's
RNN example).

"arrive Taipei on November 2nd" and "leave Taipei on November 2nd" hold the same city;
Taipei is the *destination* in the first and the *place of departure* in the second. A
network that sees one word at a time (a feed-forward net on the word's vector) cannot
tell them apart; a recurrent network remembers "arrive" or "leave" and can. Every city of
this dataset appears in both roles, cued by the words before it ("arrive", "arrive in",
"to", "arriving in" vs "leave", "from", "leaving"), so the word alone never decides its tag.

Tags (``TAGS``, BIO scheme over three slots): ``O`` (no slot), ``B-dest``/``I-dest``
(destination; ``I-`` continues a multi-word name such as "new york"),
``B-depart``/``I-depart`` (place of departure), ``B-time``/``I-time`` ("november 2nd",
"8 am", "tomorrow morning"). Tag 0 is ``<pad>``, only ever used for padding.

Words: a fixed vocabulary ``VOCAB`` (word -> id) with 0 = ``<pad>`` and 1 = ``<other>``,
the lecture's "other" dimension: any word not in the vocabulary maps to 1. The cities in
``UNSEEN_CITIES`` ("kaohsiung", "osaka") are never in the vocabulary and never in the
training set; they appear only in the test set, as ``<other>``, so labelling them needs
context alone.

Sentences are 5-12 words long (``MIN_LEN``, ``MAX_LEN``), lower-case, drawn from the
templates in ``TEMPLATES``; no test sentence appears in the training set.

Example:

    >>> from threestep.datasets import slot_filling
    >>> data = slot_filling.load_data(n_train=2000, n_test=500, seed=0)
    >>> data["x_train"].shape, data["y_train"].shape      # ids padded with 0 at the end
    ((2000, 12), (2000, 12))
    >>> slot_filling.decode(data["x_train"][0], tag_ids=data["y_train"][0])
    [('what', 'O'), ('flights', 'O'), ('go', 'O'), ('to', 'O'), ('chicago', 'B-dest'), ...]
    >>> slot_filling.encode(["arrive taipei on november 2nd"]).shape
    (1, 12)
"""
import numpy

from ..errors import ConfigError, DataError
from ..preprocessing.sequence import pad_sequences

PAD, OTHER = "<pad>", "<other>"
TAGS = ("<pad>", "O", "B-dest", "I-dest", "B-depart", "I-depart", "B-time", "I-time")
TAG_INDEX = {t: i for i, t in enumerate(TAGS)}
MIN_LEN, MAX_LEN = 5, 12

CITIES = ("taipei", "tokyo", "london", "paris", "boston", "seattle", "denver", "chicago",
          "new york", "san francisco", "hong kong", "los angeles")
UNSEEN_CITIES = ("kaohsiung", "osaka")

MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
          "september", "october", "november", "december")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RELATIVE_DAYS = ("tomorrow", "tomorrow morning", "tomorrow evening", "tonight",
                 "next monday", "next friday", "this weekend")

# "{dest}", "{depart}": a city in that role; "{when}": a time phrase with its preposition.
TEMPLATES = (
    "arrive {dest} {when}",
    "leave {depart} {when}",
    "arrive in {dest} {when}",
    "i want to arrive in {dest} {when}",
    "i want to leave {depart} {when}",
    "i would like to fly from {depart} to {dest} {when}",
    "i want to fly to {dest} from {depart} {when}",
    "book a flight from {depart} to {dest} {when}",
    "book a flight to {dest} {when}",
    "show me flights leaving {depart} {when}",
    "show me flights arriving in {dest} {when}",
    "flights from {depart} to {dest} please",
    "leave {depart} {when} and arrive in {dest}",
    "what flights go to {dest} {when}",
    "i am flying to {dest} {when}",
    "i am leaving {depart} {when}",
)


def _ordinal(day):
    suffix = "th" if 11 <= day % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _time_phrase(rng):
    """``(preposition or None, words)`` of a random time expression."""
    kind = rng.integers(4)
    if kind == 0:
        return "on", [MONTHS[rng.integers(12)], _ordinal(int(rng.integers(1, 29)))]
    if kind == 1:
        return "on", [WEEKDAYS[rng.integers(7)]]
    if kind == 2:
        return None, RELATIVE_DAYS[rng.integers(len(RELATIVE_DAYS))].split()
    hour = int(rng.integers(1, 13))
    return "at", ([str(hour), "am" if rng.integers(2) else "pm"] if rng.integers(5)
                  else ["noon"])


def _slot(words, name):
    return list(words), [f"B-{name}"] + [f"I-{name}"] * (len(words) - 1)


def make_sentence(rng, cities=CITIES):
    """One random request as ``(words, tags)``, two lists of strings of equal length.

    Args:
        rng: a ``numpy.random.Generator``.
        cities: the city names to draw from (multi-word names allowed).

    Example:

        >>> make_sentence(numpy.random.default_rng(1))
        (['book', 'a', 'flight', 'from', 'seattle', 'to', 'san', 'francisco', 'on',
          'february', '24th'],
         ['O', 'O', 'O', 'O', 'B-depart', 'O', 'B-dest', 'I-dest', 'O', 'B-time', 'I-time'])
    """
    while True:
        template = TEMPLATES[rng.integers(len(TEMPLATES))]
        origin, dest = rng.choice(len(cities), 2, replace=False)
        words, tags = [], []
        for piece in template.split():
            if piece == "{dest}":
                w, t = _slot(cities[dest].split(), "dest")
            elif piece == "{depart}":
                w, t = _slot(cities[origin].split(), "depart")
            elif piece == "{when}":
                prep, phrase = _time_phrase(rng)
                w, t = _slot(phrase, "time")
                if prep:
                    w, t = [prep] + w, ["O"] + t
            else:
                w, t = [piece], ["O"]
            words += w
            tags += t
        if MIN_LEN <= len(words) <= MAX_LEN:
            return words, tags


def _build_vocab():
    words = set()
    for template in TEMPLATES:
        words.update(p for p in template.split() if not p.startswith("{"))
    for phrase in CITIES + MONTHS + WEEKDAYS + RELATIVE_DAYS:
        words.update(phrase.split())
    words.update(["on", "at", "am", "pm", "noon"])
    words.update(str(h) for h in range(1, 13))
    words.update(_ordinal(d) for d in range(1, 32))
    vocab = {PAD: 0, OTHER: 1}
    vocab.update((w, i) for i, w in enumerate(sorted(words), start=2))
    return vocab


#: The fixed vocabulary: word -> id; 0 = "<pad>", 1 = "<other>" (unknown words).
VOCAB = _build_vocab()


def encode(sentences, vocab=None, maxlen=MAX_LEN):
    """Word ids for ``sentences`` (strings split on spaces, or lists of words), padded
    with 0 at the end to ``maxlen`` (longer ones are cut): int32 ``(n, maxlen)``.
    Unknown words get 1 (``<other>``)."""
    vocab = VOCAB if vocab is None else vocab
    if isinstance(sentences, str):
        raise DataError("slot_filling.encode expects a list of sentences; wrap the "
                        f"string in a list: [{sentences[:30]!r}].")
    seqs = [[vocab.get(w.lower(), vocab[OTHER]) for w in
             (s.split() if isinstance(s, str) else s)] for s in sentences]
    return pad_sequences(seqs, maxlen=maxlen, padding="post", truncating="post")


def decode(token_ids, vocab=None, tag_ids=None):
    """Words back from ids (padding dropped); with ``tag_ids`` (true or predicted tags of
    the same shape), ``(word, tag)`` pairs. ``token_ids`` may be one sequence (1-D) or a
    batch (2-D, giving a list per row)."""
    vocab = VOCAB if vocab is None else vocab
    ids = numpy.asarray(token_ids)
    if ids.ndim == 2:
        tags = [None] * len(ids) if tag_ids is None else numpy.asarray(tag_ids)
        return [decode(row, vocab, t) for row, t in zip(ids, tags)]
    if ids.ndim != 1:
        raise DataError(f"slot_filling.decode expects ids shaped (T,) or (n, T). "
                        f"Received: shape {ids.shape}.")
    inverse = {i: w for w, i in vocab.items()}
    keep = numpy.flatnonzero(ids != vocab[PAD])
    words = [inverse.get(int(ids[j]), OTHER) for j in keep]
    if tag_ids is None:
        return words
    tags = numpy.asarray(tag_ids)
    if tags.shape != ids.shape:
        raise DataError(f"slot_filling.decode: tag_ids has shape {tags.shape}, token_ids "
                        f"{ids.shape}; they must match.")
    return [(w, TAGS[int(tags[j])]) for w, j in zip(words, keep)]


def load_data(n_train=2000, n_test=500, seed=0, unseen_cities=UNSEEN_CITIES):
    """Generates the slot-filling training and test sets.

    Args:
        n_train, n_test: numbers of sentences.
        seed: seed of the private generator (same arguments, same data).
        unseen_cities: cities that appear only in the test set (and are not in
            ``VOCAB``, so they read as ``<other>``); ``()`` for none.

    Returns:
        A dict:

        * ``x_train``, ``x_test``: int32 ``(n, 12)`` word ids, padded with 0 at the end;
        * ``y_train``, ``y_test``: int32 ``(n, 12)`` tag ids (indices into ``tags``), 0 at
          padding: mask those steps out of the loss (or count them as an extra class);
        * ``len_train``, ``len_test``: int64 ``(n,)`` sentence lengths (5..12);
        * ``sentences_train``, ``sentences_test``: the sentences as strings;
        * ``vocab``: ``VOCAB`` (word -> id; 0 padding, 1 ``<other>``); ``tags``: ``TAGS``.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 0:
            raise ConfigError(f"slot_filling.load_data: {name} must be a non-negative "
                              f"integer. Received: {name}={value!r}.")
    unseen = tuple(unseen_cities)
    if set(unseen) & set(CITIES):
        raise ConfigError(f"slot_filling.load_data: unseen_cities must not be in CITIES. "
                          f"Received: {unseen}.")
    rng = numpy.random.default_rng(seed)
    train = [make_sentence(rng, CITIES) for _ in range(n_train)]
    seen = {" ".join(w) for w, _ in train}
    test = []
    while len(test) < n_test:
        words, tags = make_sentence(rng, CITIES + unseen)
        if " ".join(words) not in seen:
            test.append((words, tags))
    out = {"vocab": VOCAB, "tags": TAGS}
    for split, sentences in (("train", train), ("test", test)):
        out[f"x_{split}"] = encode([w for w, _ in sentences])
        out[f"y_{split}"] = pad_sequences([[TAG_INDEX[t] for t in tags] for _, tags in sentences],
                                          maxlen=MAX_LEN, padding="post")
        out[f"len_{split}"] = numpy.array([len(w) for w, _ in sentences], dtype=numpy.int64)
        out[f"sentences_{split}"] = [" ".join(w) for w, _ in sentences]
    return out
