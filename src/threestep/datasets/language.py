"""Small generated languages for sequence-to-sequence experiments.

* :func:`order_sentences`: sentences from a tiny grammar in which word order carries the
  meaning ("the dog did chase the cat" vs "the cat did chase the dog"; "not" in the first
  or the second clause), each with its meaning (who did what to whom, negated or not) and
  its order-swapped twin, which has exactly the same bag of words.
* :func:`documents`: short "documents" of such sentences, for hierarchical auto-encoders.
* :func:`reordering`: a translation-like task with long inputs: every source word has one
  target word, and the target language writes the sentence in reverse order, so the
  alignment is the anti-diagonal.
* :func:`parse_trees`: sentences from a small probabilistic context-free grammar with their
  linearised parse trees, ``"(S (NP the dog )NP (VP chased (NP a cat )NP )VP )S"`` as in
  Vinyals et al. 2015 ("Grammar as a foreign language"); :func:`bracket_f1` and
  :func:`well_formed` score predicted trees.

Every generator is deterministic given ``seed`` and returns lists of strings (tokens
separated by spaces); :class:`Vocabulary` turns them into id arrays.

Example:
    >>> from threestep.datasets import language
    >>> pairs = language.order_sentences(4, seed=0)
    >>> pairs.sentences[0], pairs.swapped[0]
    ('the teacher did not call the bird', 'the bird did not call the teacher')
"""
from dataclasses import dataclass

import numpy

from ..errors import ConfigError, DataError

PAD, GO, EOS = 0, 1, 2
NOUNS = ("dog", "cat", "bird", "child", "doctor", "teacher", "farmer", "king")
VERBS = ("chase", "see", "help", "call", "like", "follow")


def _check_n(n, where):
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 1:
        raise ConfigError(f"{where}: n must be a positive integer. Received: n={n!r}.")
    return int(n)


class Vocabulary:
    """Words <-> ids with ``PAD`` (0), ``GO`` (1) and ``EOS`` (2) reserved; words from 3 in sorted order.

    Example:
        >>> vocab = Vocabulary.from_texts(["the dog did see the cat"])
        >>> ids = vocab.encode(["the cat did see the dog"], eos=True)
        >>> vocab.decode(ids)
        ['the cat did see the dog']
    """

    def __init__(self, words):
        self.words = tuple(sorted(set(words)))
        self.index = {w: i for i, w in enumerate(self.words, start=3)}
        self.inverse = {i: w for w, i in self.index.items()}

    @classmethod
    def from_texts(cls, *collections):
        return cls({w for texts in collections for t in texts for w in t.split()})

    @property
    def size(self):
        return len(self.words) + 3

    def __len__(self):
        return self.size

    def encode(self, texts, maxlen=None, go=False, eos=False, padding="post"):
        """int32 ids ``(n, maxlen)``; ``GO`` first / ``EOS`` last when asked; ``PAD`` fills."""
        seqs = []
        for t in texts:
            try:
                seqs.append([GO] * go + [self.index[w] for w in t.split()] + [EOS] * eos)
            except KeyError as exc:
                raise DataError(f"Vocabulary: the word {exc.args[0]!r} of {t!r} is not in the vocabulary.") from None
        longest = max((len(s) for s in seqs), default=0)
        maxlen = longest if maxlen is None else maxlen
        if longest > maxlen:
            raise DataError(f"Vocabulary.encode: a sequence needs {longest} steps, more than maxlen={maxlen}.")
        out = numpy.full((len(seqs), maxlen), PAD, dtype=numpy.int32)
        for row, s in enumerate(seqs):
            start = 0 if padding == "post" else maxlen - len(s)
            out[row, start:start + len(s)] = s
        return out

    def decode(self, ids):
        """Texts from ids ``(n, T)``: reading stops at ``EOS``; ``PAD`` and ``GO`` are skipped."""
        out = []
        for row in numpy.asarray(ids).tolist():
            words = []
            for i in row:
                if i == EOS:
                    break
                if i in self.inverse:
                    words.append(self.inverse[i])
            out.append(" ".join(words))
        return out


# --------------------------------------------------------------------------- word order

@dataclass
class OrderCorpus:
    """Sentences, their order-swapped twins, and meanings (one tuple per clause:
    ``(agent, verb, patient, negated)``)."""

    sentences: list
    swapped: list
    meanings: list
    swapped_meanings: list


def _clause(agent, verb, patient, negated):
    return f"the {agent} did {'not ' if negated else ''}{verb} the {patient}"


def _sentence(meaning):
    return " and ".join(_clause(*c) for c in meaning)


def order_sentences(n, two_clause_fraction=0.3, seed=0):
    """``n`` distinct sentences whose twin has the same bag of words and another meaning.

    A one-clause sentence "the A did (not) V the B" is paired with "the B did (not) V the A"
    (subject and object swapped); a two-clause sentence "... and ..." with exactly one
    negated clause is paired with the one where "not" sits in the other clause.

    Returns:
        :class:`OrderCorpus` of parallel lists.
    """
    n = _check_n(n, "order_sentences")
    rng = numpy.random.default_rng(seed)
    seen, sentences, swapped, meanings, twins = set(), [], [], [], []
    limit = 50 * n
    while len(sentences) < n and limit:
        limit -= 1
        if rng.random() < two_clause_fraction:
            clauses = []
            negated = int(rng.integers(2))
            for k in range(2):
                a, b = rng.choice(len(NOUNS), 2, replace=False)
                clauses.append((NOUNS[a], VERBS[rng.integers(len(VERBS))], NOUNS[b], k == negated))
            meaning = tuple(clauses)
            twin = tuple((a, v, b, not neg) for a, v, b, neg in clauses)
        else:
            a, b = rng.choice(len(NOUNS), 2, replace=False)
            clause = (NOUNS[a], VERBS[rng.integers(len(VERBS))], NOUNS[b], bool(rng.random() < 0.5))
            meaning = (clause,)
            twin = ((clause[2], clause[1], clause[0], clause[3]),)
        text = _sentence(meaning)
        if text in seen:
            continue
        seen.add(text)
        sentences.append(text)
        swapped.append(_sentence(twin))
        meanings.append(meaning)
        twins.append(twin)
    if len(sentences) < n:
        raise ConfigError(f"order_sentences: the grammar has fewer than n={n} distinct sentences reachable.")
    return OrderCorpus(sentences, swapped, meanings, twins)


def documents(n, sentences_per_doc=3, seed=0):
    """``n`` documents of ``sentences_per_doc`` one-clause sentences each, plus each document
    with its sentences in another order (the same bag of sentences).

    Returns:
        ``(docs, reordered)``: lists of lists of sentences.
    """
    n = _check_n(n, "documents")
    rng = numpy.random.default_rng(seed)
    pool = order_sentences(min(max(4 * n, 40), 400), two_clause_fraction=0.0, seed=seed).sentences
    docs, reordered = [], []
    for _ in range(n):
        pick = [pool[i] for i in rng.choice(len(pool), sentences_per_doc, replace=False)]
        docs.append(pick)
        reordered.append(pick[1:] + pick[:1])  # a rotation: never the same order
    return docs, reordered


# --------------------------------------------------------------------------- reordering

def reordering(n, min_len=4, max_len=20, vocab=12, seed=0):
    """A translation-like task: source words ``s0..s{vocab-1}``, each translated to its own
    target word ``t0..``, and the target written in reverse order.

    Long inputs are what a fixed-size code struggles with; attention learns the
    anti-diagonal alignment instead. Lengths are uniform in ``min_len..max_len``.

    Returns:
        ``(sources, targets)``: lists of strings such as ``"s3 s1 s7"`` and ``"t7 t1 t3"``.
    """
    n = _check_n(n, "reordering")
    if not 1 <= min_len <= max_len:
        raise ConfigError(f"reordering: need 1 <= min_len <= max_len. Received: min_len={min_len}, max_len={max_len}.")
    rng = numpy.random.default_rng(seed)
    sources, targets = [], []
    for length in rng.integers(min_len, max_len + 1, n).tolist():
        words = rng.integers(vocab, size=length).tolist()
        sources.append(" ".join(f"s{w}" for w in words))
        targets.append(" ".join(f"t{w}" for w in reversed(words)))
    return sources, targets


# --------------------------------------------------------------------------- parse trees

#: A small probabilistic grammar: nonterminal -> [(probability, right-hand side)].
GRAMMAR = {
    "S": [(1.0, ("NP", "VP"))],
    "NP": [(0.55, ("Det", "N")), (0.25, ("Det", "Adj", "N")), (0.2, ("Det", "N", "PP"))],
    "VP": [(0.45, ("V", "NP")), (0.25, ("V",)), (0.3, ("V", "NP", "PP"))],
    "PP": [(1.0, ("P", "NP"))],
    "Det": [(0.5, ("the",)), (0.5, ("a",))],
    "N": [(1 / 8, (w,)) for w in NOUNS],
    "Adj": [(0.25, (w,)) for w in ("big", "small", "old", "happy")],
    "V": [(1 / 6, (w,)) for w in ("chased", "saw", "helped", "called", "liked", "slept")],
    "P": [(1 / 3, (w,)) for w in ("with", "near", "behind")],
}
#: Preterminals are not bracketed in the linearisation (as in Vinyals et al., who drop POS tags).
PRETERMINALS = ("Det", "N", "Adj", "V", "P")


def _expand(symbol, rng, depth):
    if symbol not in GRAMMAR:
        return symbol
    rules = GRAMMAR[symbol]
    if symbol == "NP" and depth > 2:  # keep trees small: no further PP inside deep NPs
        rules = rules[:2]
    probs = numpy.array([p for p, _ in rules])
    _, rhs = rules[rng.choice(len(rules), p=probs / probs.sum())]
    return (symbol, [_expand(s, rng, depth + 1) for s in rhs])


def _words(tree):
    if isinstance(tree, str):
        return [tree]
    return [w for child in tree[1] for w in _words(child)]


def _linear(tree):
    if isinstance(tree, str):
        return [tree]
    label, children = tree
    inner = [t for c in children for t in _linear(c)]
    if label in PRETERMINALS:
        return inner
    return [f"({label}"] + inner + [f"){label}"]


def parse_trees(n, max_words=None, seed=0):
    """``n`` distinct sentences from :data:`GRAMMAR` and their linearised parse trees
    (only sentences of at most ``max_words`` words, when given).

    Returns:
        ``(sentences, trees)``: lists of strings, e.g. ``"the dog chased a cat"`` and
        ``"(S (NP the dog )NP (VP chased (NP a cat )NP )VP )S"``.
    """
    n = _check_n(n, "parse_trees")
    rng = numpy.random.default_rng(seed)
    seen, sentences, trees = set(), [], []
    limit = 50 * n
    while len(sentences) < n and limit:
        limit -= 1
        tree = _expand("S", rng, 0)
        words = _words(tree)
        text = " ".join(words)
        if text in seen or (max_words is not None and len(words) > max_words):
            continue
        seen.add(text)
        sentences.append(text)
        trees.append(" ".join(_linear(tree)))
    if len(sentences) < n:
        raise ConfigError(f"parse_trees: found only {len(sentences)} distinct sentences of at most {max_words} words; "
                          f"ask for fewer. Received: n={n}.")
    return sentences, trees


def well_formed(tree):
    """True when ``tree`` (a linearised tree) has balanced, matching labelled brackets and
    one root ``S`` spanning everything."""
    stack, tokens = [], tree.split()
    if not tokens or tokens[0] != "(S" or tokens[-1] != ")S":
        return False
    for i, tok in enumerate(tokens):
        if tok.startswith("("):
            stack.append(tok[1:])
        elif tok.startswith(")"):
            if not stack or stack.pop() != tok[1:]:
                return False
            if not stack and i != len(tokens) - 1:
                return False
    return not stack


def brackets(tree):
    """The labelled spans ``{(label, start, end)}`` of a linearised tree (word positions),
    skipping unmatched brackets."""
    spans, stack, position = set(), [], 0
    for tok in tree.split():
        if tok.startswith("("):
            stack.append((tok[1:], position))
        elif tok.startswith(")"):
            if stack and stack[-1][0] == tok[1:]:
                label, start = stack.pop()
                spans.add((label, start, position))
        else:
            position += 1
    return spans


def bracket_f1(predicted, gold):
    """Labelled bracket F1 (PARSEVAL style), micro-averaged over the corpus."""
    if len(predicted) != len(gold):
        raise DataError(f"bracket_f1: {len(predicted)} predicted trees but {len(gold)} gold ones.")
    matched = n_pred = n_gold = 0
    for p, g in zip(predicted, gold):
        bp, bg = brackets(p), brackets(g)
        matched += len(bp & bg)
        n_pred += len(bp)
        n_gold += len(bg)
    precision = matched / n_pred if n_pred else 0.0
    recall = matched / n_gold if n_gold else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0
