"""Sentiment analysis (many to one): a generated review corpus where word order and
negation decide the label.

The lecture's point about bag-of-words: "white blood cells destroyed the infection" and
"the infection destroyed white blood cells" hold the same words and mean opposite things.
This corpus is built so that such order-dependent pairs are common, and so that a model
that only counts words *cannot* beat chance on them, while a recurrent network that reads
the words in order can.

Construction (labels: 1 = positive, 0 = negative). Every review is one of five kinds:

* ``"simple"``: "the plot was really good" -- the adjective's polarity (``POSITIVE`` /
  ``NEGATIVE`` word lists).
* ``"negated"``: "the acting was not very good" -- the polarity flipped by "not".
* ``"negation_pair"``: "the movie was not bad , it was great" (positive) and its twin
  "the movie was not great , it was bad" (negative): "not" flips whichever adjective
  follows it, the second clause agrees.
* ``"contrast_pair"``: "the plot was good but the music was awful" (negative) and "the
  plot was awful but the music was good" (positive): the clause after "but" decides.
* ``"agent_pair"``: "the white cells destroyed the infection" (positive) and "the
  infection destroyed the white cells" (negative): who does what to whom decides
  (``GOOD_AGENTS`` acting on ``BAD_AGENTS`` is positive).

The three ``*_pair`` kinds are always generated as twins: the same words in a different
order, with opposite labels, both in the same split. ``pair_fraction`` of each split
(default 0.6) is made of twins, the rest of simple and negated reviews in equal shares.

Why a bag-of-words model stays at chance on the twins: it sees the same input for both
members of a pair (:func:`bag_of_words` gives equal rows), so whatever it predicts is
right for exactly one of them -- 50% accuracy on ``pairs``, by construction. On the
training set the twins carry equal numbers of both labels for each bag of words, so they
teach it nothing. An LSTM that reads in order can get them right.

No test review appears (as a string) in the training set. The vocabulary ``VOCAB`` is
fixed: 0 = ``<pad>``, 1 = ``<other>`` (unknown words; none occur in generated data).
Sequences are padded with 0 *before* the words (``padding="pre"``, Keras's default), so
an RNN's last step comes right after the last word.

Example:

    >>> from threestep.datasets import sentiment
    >>> data = sentiment.load_data(n_train=2000, n_test=500, seed=0)
    >>> data["x_train"].shape, data["y_train"][:6]
    ((2000, 12), array([0, 0, 1, 1, 0, 0]))
    >>> i, j = data["pairs"][0]
    >>> data["texts_test"][i], int(data["y_test"][i])
    ('the ending was not horrible , truly brilliant', 1)
    >>> data["texts_test"][j], int(data["y_test"][j])
    ('the ending was not brilliant , truly horrible', 0)
"""
import numpy

from ..errors import ConfigError, DataError
from ..preprocessing.sequence import pad_sequences

PAD, OTHER = "<pad>", "<other>"
MAX_LEN = 12

SUBJECTS = ("the movie", "the plot", "the acting", "the story", "the music", "the ending",
            "the cast", "the script", "the dialogue", "the film")
POSITIVE = ("good", "great", "excellent", "wonderful", "fun", "brilliant", "moving",
            "beautiful", "clever", "superb")
NEGATIVE = ("bad", "boring", "awful", "terrible", "dull", "weak", "poor", "silly",
            "predictable", "horrible")
INTENSIFIERS = ("", "really", "very", "quite", "truly")
GOOD_AGENTS = ("the white cells", "the hero", "the detective", "the doctors", "the heroine",
               "the police")
BAD_AGENTS = ("the infection", "the villain", "the monster", "the virus", "the killer",
              "the aliens")
VERBS = ("destroyed", "defeated", "stopped", "beat", "killed", "crushed")
AGENT_PREFIXES = ("", "in the end ,", "finally ,")
KINDS = ("simple", "negated", "negation_pair", "contrast_pair", "agent_pair")


def _join(*parts):
    return " ".join(p for p in parts if p)


def _pick(rng, options):
    return options[rng.integers(len(options))]


def _adjectives(rng):
    return _pick(rng, POSITIVE), _pick(rng, NEGATIVE)


def make_single(rng, negated):
    """One ``(text, label)`` review of kind ``"negated"`` or ``"simple"``."""
    positive = bool(rng.integers(2))
    adjective = _pick(rng, POSITIVE if positive else NEGATIVE)
    text = _join(_pick(rng, SUBJECTS), "was", "not" if negated else "",
                 _pick(rng, INTENSIFIERS), adjective)
    return text, int(positive != negated)


def make_pair(rng, kind):
    """Two reviews of the same words with opposite labels: ``((text, 1), (text, 0))``."""
    if kind == "negation_pair":
        subject, intensifier = _pick(rng, SUBJECTS), _pick(rng, INTENSIFIERS)
        it_was = "it was" if rng.integers(2) else ""
        good, bad = _adjectives(rng)
        make = lambda first, second: _join(subject, "was not", first, ",", it_was,  # noqa: E731
                                           intensifier, second)
        return (make(bad, good), 1), (make(good, bad), 0)
    if kind == "contrast_pair":
        s1, s2 = rng.choice(len(SUBJECTS), 2, replace=False)
        intensifier = _pick(rng, INTENSIFIERS)
        good, bad = _adjectives(rng)
        make = lambda first, second: _join(SUBJECTS[s1], "was", intensifier, first,  # noqa: E731
                                           "but", SUBJECTS[s2], "was", second)
        return (make(bad, good), 1), (make(good, bad), 0)
    if kind == "agent_pair":
        hero, enemy = _pick(rng, GOOD_AGENTS), _pick(rng, BAD_AGENTS)
        verb, prefix = _pick(rng, VERBS), _pick(rng, AGENT_PREFIXES)
        return (_join(prefix, hero, verb, enemy), 1), (_join(prefix, enemy, verb, hero), 0)
    raise ConfigError(f"sentiment.make_pair: unknown kind {kind!r}. Valid kinds: "
                      f"{KINDS[2:]}.")


def _build_vocab():
    words = {"was", "not", ",", "it", "but"}
    for phrase in (SUBJECTS + POSITIVE + NEGATIVE + INTENSIFIERS + GOOD_AGENTS + BAD_AGENTS
                   + VERBS + AGENT_PREFIXES):
        words.update(phrase.split())
    vocab = {PAD: 0, OTHER: 1}
    vocab.update((w, i) for i, w in enumerate(sorted(words), start=2))
    return vocab


#: The fixed vocabulary: word -> id; 0 = "<pad>", 1 = "<other>".
VOCAB = _build_vocab()


def encode(texts, vocab=None, maxlen=MAX_LEN):
    """Word ids of ``texts`` (split on spaces; unknown words -> 1), padded with 0 before
    the words to ``maxlen``: int32 ``(n, maxlen)``."""
    vocab = VOCAB if vocab is None else vocab
    if isinstance(texts, str):
        raise DataError(f"sentiment.encode expects a list of texts; wrap it in a list: "
                        f"[{texts[:30]!r}].")
    seqs = [[vocab.get(w, vocab[OTHER]) for w in t.lower().split()] for t in texts]
    return pad_sequences(seqs, maxlen=maxlen, padding="pre", truncating="pre")


def bag_of_words(x, num_words=None):
    """Word counts ``(n, num_words)`` float32 of id sequences ``x`` (padding 0 not
    counted): the input of a bag-of-words baseline, which loses the word order."""
    x = numpy.asarray(x)
    num_words = len(VOCAB) if num_words is None else num_words
    if x.ndim != 2 or x.dtype.kind not in "iu":
        raise DataError(f"bag_of_words expects integer ids (n, T). Received: {x.dtype} "
                        f"of shape {x.shape}.")
    counts = numpy.zeros((len(x), num_words), dtype=numpy.float32)
    rows = numpy.repeat(numpy.arange(len(x)), x.shape[1])
    numpy.add.at(counts, (rows, x.ravel()), 1.0)
    counts[:, 0] = 0.0
    return counts


def _make_split(rng, n, pair_fraction, exclude):
    """``n`` reviews: ``[(text, label, kind, twin_slot)]``, none whose text is in ``exclude``."""
    n_pairs = int(round(pair_fraction * n / 2))
    n_single = n - 2 * n_pairs
    items, seen, attempts = [], set(exclude), 0
    limit = 200 * max(n, 1)

    def fresh(texts):
        nonlocal attempts
        attempts += 1
        if attempts > limit:
            raise ConfigError(f"sentiment.load_data: cannot draw {n} distinct reviews that "
                              "are not in the training set; ask for fewer.")
        return not (set(texts) & seen) and len(set(texts)) == len(texts)

    for p in range(n_pairs):
        kind = KINDS[2 + p % 3]
        while True:
            (a, la), (b, lb) = make_pair(rng, kind)
            if fresh([a, b]):
                break
        seen.update([a, b])
        items += [(a, la, kind, p), (b, lb, kind, p)]
    for s in range(n_single):
        negated = bool(s % 2)
        while True:
            text, label = make_single(rng, negated)
            if fresh([text]):
                break
        seen.add(text)
        items.append((text, label, KINDS[int(negated)], -1))
    order = rng.permutation(len(items))
    return [items[i] for i in order]


def load_data(n_train=2000, n_test=500, seed=0, pair_fraction=0.6):
    """Generates the review corpus (see the module docstring for its construction).

    Args:
        n_train, n_test: numbers of reviews.
        seed: seed of the private generator.
        pair_fraction: share of each split made of order-dependent twins, in [0, 1].

    Returns:
        A dict:

        * ``x_train``, ``x_test``: int32 ``(n, 12)`` word ids, 0-padded before the words;
        * ``y_train``, ``y_test``: int64 ``(n,)`` labels, 1 = positive, 0 = negative;
        * ``pairs``: int64 ``(m, 2)`` indices into the test set of the order-dependent
          twins (same multiset of words, opposite labels), ``m = round(pair_fraction *
          n_test / 2)``; each row's first review is the positive one;
        * ``kinds_train``, ``kinds_test``: each review's kind (see ``KINDS``);
        * ``texts_train``, ``texts_test``: the reviews as strings;
        * ``vocab``: ``VOCAB``.
    """
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < 0:
            raise ConfigError(f"sentiment.load_data: {name} must be a non-negative "
                              f"integer. Received: {name}={value!r}.")
    if not isinstance(pair_fraction, (int, float)) or not 0 <= pair_fraction <= 1:
        raise ConfigError(f"sentiment.load_data: pair_fraction must be in [0, 1]. "
                          f"Received: pair_fraction={pair_fraction!r}.")
    rng = numpy.random.default_rng(seed)
    train = _make_split(rng, n_train, pair_fraction, ())
    test = _make_split(rng, n_test, pair_fraction, {t for t, *_ in train})
    out = {"vocab": VOCAB}
    for split, items in (("train", train), ("test", test)):
        out[f"texts_{split}"] = [t for t, *_ in items]
        out[f"x_{split}"] = encode(out[f"texts_{split}"])
        out[f"y_{split}"] = numpy.array([label for _, label, *_ in items], dtype=numpy.int64)
        out[f"kinds_{split}"] = [kind for _, _, kind, _ in items]
    slots = {}
    for i, (_, label, _, slot) in enumerate(test):
        if slot >= 0:
            slots.setdefault(slot, [None, None])[1 - label] = i  # positive first
    out["pairs"] = numpy.array([slots[k] for k in sorted(slots)],
                               dtype=numpy.int64).reshape(-1, 2)
    return out
