"""Sequence-to-sequence toy tasks: learning to add ("535+61" -> "596") and to read dates
("Monday, May 3, 2021" -> "2021-05-03"), with the machinery a seq2seq model needs.

The lecture's sequence-to-sequence model reads the whole input, then writes the output one
symbol at a time, each output fed back as the next input, until it writes a "stop" symbol.
Here that symbol is ``EOS``; the first decoder input is ``GO``; ``PAD`` fills the rest.

* :func:`addition`, :func:`dates`: unique ``(questions, answers)`` string lists;
  :func:`train_test_split` splits them so no question is in both sets.
* :class:`CharTable`: characters <-> ids (``PAD = 0``, ``GO = 1``, ``EOS = 2``, the
  characters from 3) and one-hot vectors.
* :func:`teacher_forcing`: the three training arrays. With teacher forcing, the decoder is
  fed the *true* previous symbol: ``decoder_input = GO + answer`` and ``decoder_target =
  answer + EOS``, the same length, so ``decoder_target[:, t]`` is what the decoder must
  output after reading ``decoder_input[:, :t+1]``.
* :func:`greedy_decode`: at test time there is no true answer; feed back the model's own
  most probable symbol at each step until every sequence has written ``EOS``.

Example:

    >>> from threestep.datasets import seq2seq
    >>> q, a = seq2seq.addition(10000, digits=3, seed=0)
    >>> q[0], a[0]
    ('934+95', '1029')
    >>> (q_tr, a_tr), (q_te, a_te) = seq2seq.train_test_split(q, a, test_size=0.1)
    >>> table = seq2seq.CharTable(seq2seq.ADDITION_CHARS)
    >>> enc, dec_in, dec_out = seq2seq.teacher_forcing(q_tr, a_tr, table)
    >>> enc.shape, dec_in.shape, dec_out.shape     # 7 = 3+1+3 chars; 5 = 4 digits + EOS
    ((9000, 7), (9000, 5), (9000, 5))
    >>> # model.fit([table.one_hot(enc), table.one_hot(dec_in)], table.one_hot(dec_out))
    >>> # ids = seq2seq.greedy_decode(lambda e, d: model.predict([table.one_hot(e),
    >>> #                                                       table.one_hot(d)]),
    >>> #                             enc_test, max_len=dec_in.shape[1])
    >>> # table.decode(ids)  -> ['596', ...]
"""
import datetime

import numpy

from ..errors import ConfigError, DataError

PAD, GO, EOS = 0, 1, 2
SPECIAL_SYMBOLS = ("<pad>", "<go>", "<eos>")
ADDITION_CHARS = "0123456789+"

_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_DATE, LAST_DATE = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)


def _check_n(n, where):
    if isinstance(n, bool) or not isinstance(n, (int, numpy.integer)) or n < 0:
        raise ConfigError(f"{where}: n must be a non-negative integer. Received: n={n!r}.")
    return int(n)


# --------------------------------------------------------------------------- tasks

def addition(n, digits=3, seed=0):
    """``n`` distinct addition problems of numbers with up to ``digits`` digits.

    Each operand has a length drawn uniformly from 1..``digits``, then uniform digits (as
    in Keras's ``addition_rnn`` example), so "7+52" is as likely a shape as "535+61".
    Problems are distinct as unordered pairs: "12+5" and "5+12" never both appear, so a
    split of the result cannot leak a problem's mirror image into the test set.

    Args:
        n: number of problems; at most the number of distinct pairs,
            ``m * (m + 1) / 2`` with ``m = 10**digits`` (55 for one digit).
        digits: maximum operand length.
        seed: seed of the private generator.

    Returns:
        ``(questions, answers)``: lists of strings such as ``"535+61"`` and ``"596"``;
        questions have at most ``2 * digits + 1`` characters, answers ``digits + 1``.
    """
    n = _check_n(n, "addition")
    if isinstance(digits, bool) or not isinstance(digits, (int, numpy.integer)) \
            or not 1 <= digits <= 9:
        raise ConfigError(f"addition: digits must be an integer in 1..9. "
                          f"Received: digits={digits!r}.")
    m = 10 ** int(digits)
    capacity = m * (m + 1) // 2
    if n > capacity:
        raise ConfigError(f"addition: there are only {capacity:,} distinct problems with "
                          f"digits={digits}. Received: n={n:,}.")
    rng = numpy.random.default_rng(seed)
    if n > capacity // 2:
        # Dense request: enumerate every unordered pair, shuffle, flip order at random.
        a, b = numpy.triu_indices(m)
        pick = rng.permutation(len(a))[:n]
        a, b = a[pick], b[pick]
        swap = rng.random(n) < 0.5
        a, b = numpy.where(swap, b, a), numpy.where(swap, a, b)
        pairs = list(zip(a.tolist(), b.tolist()))
    else:
        pairs, seen = [], set()
        while len(pairs) < n:
            k = max(2 * (n - len(pairs)), 64)
            ops = rng.integers(0, 10 ** rng.integers(1, digits + 1, (k, 2)))
            for x, y in ops.tolist():
                key = (min(x, y), max(x, y))
                if key not in seen and len(pairs) < n:
                    seen.add(key)
                    pairs.append((x, y))
    return [f"{x}+{y}" for x, y in pairs], [str(x + y) for x, y in pairs]


def _ordinal(day):
    suffix = "th" if 11 <= day <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


#: The human formats of :func:`dates` (two-digit years: 50..99 -> 19xx, 00..49 -> 20xx;
#: numeric dates are day first).
DATE_FORMATS = (
    lambda d: f"{d.day} {_MONTHS[d.month - 1]} {d.year}",                  # 3 May 2021
    lambda d: f"{_MONTHS[d.month - 1]} {d.day}, {d.year}",                 # May 3, 2021
    lambda d: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",             # 03/05/21
    lambda d: f"{_WEEKDAYS[d.weekday()]}, {_MONTHS[d.month - 1]} {d.day}, {d.year}",
    lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",                       # 03.05.2021
    lambda d: f"{_ordinal(d.day)} of {_MONTHS[d.month - 1]} {d.year}",     # 3rd of May 2021
    lambda d: f"{_WEEKDAYS[d.weekday()][:3]} {d.day} {_MONTHS[d.month - 1][:3]} "
              f"{d.year % 100:02d}",                                       # Mon 3 May 21
    lambda d: f"{_MONTHS[d.month - 1].upper()} {d.day}, {d.year}",         # MAY 3, 2021
    lambda d: f"{_MONTHS[d.month - 1].lower()} {d.day} {d.year}",          # may 3 2021
    lambda d: f"{_WEEKDAYS[d.weekday()]} {_ordinal(d.day)} {_MONTHS[d.month - 1]} "
              f"{d.year}",                                                 # Monday 3rd May 2021
)


def dates(n, seed=0):
    """``n`` distinct human-written dates and their ISO 8601 forms.

    Dates are uniform over 1950-01-01 .. 2049-12-31 (so a two-digit year is unambiguous),
    each written in one of the ten ``DATE_FORMATS`` chosen uniformly: "3 May 2021",
    "May 3, 2021", "03/05/21" (day first), "Monday, May 3, 2021", "03.05.2021",
    "3rd of May 2021", "Mon 3 May 21", "MAY 3, 2021", "may 3 2021", "Monday 3rd May 2021".
    Weekday names are computed from the calendar, so they are always right (and carry no
    extra information).

    Returns:
        ``(questions, answers)``: distinct human strings and ``"YYYY-MM-DD"`` strings.
    """
    n = _check_n(n, "dates")
    span = (LAST_DATE - FIRST_DATE).days + 1
    if n > span * len(DATE_FORMATS) // 2:
        raise ConfigError(f"dates: n must be at most {span * len(DATE_FORMATS) // 2:,}. "
                          f"Received: n={n:,}.")
    rng = numpy.random.default_rng(seed)
    questions, answers, seen = [], [], set()
    while len(questions) < n:
        k = max(2 * (n - len(questions)), 64)
        for offset, fmt in zip(rng.integers(0, span, k).tolist(),
                               rng.integers(0, len(DATE_FORMATS), k).tolist()):
            day = FIRST_DATE + datetime.timedelta(days=offset)
            text = DATE_FORMATS[fmt](day)
            if text not in seen and len(questions) < n:
                seen.add(text)
                questions.append(text)
                answers.append(day.isoformat())
    return questions, answers


def train_test_split(questions, answers, test_size=0.1, seed=0):
    """Shuffles and splits ``(questions, answers)``; no question is in both sets.

    Args:
        test_size: a fraction in (0, 1) or a number of pairs.
        seed: seed of the shuffle.

    Returns:
        ``(q_train, a_train), (q_test, a_test)``, lists of strings.

    Raises:
        DataError: the lists differ in length, or a question appears twice (a split
            could then put it on both sides).
    """
    questions, answers = list(questions), list(answers)
    if len(questions) != len(answers):
        raise DataError(f"train_test_split: {len(questions)} questions but "
                        f"{len(answers)} answers.")
    if len(set(questions)) != len(questions):
        raise DataError("train_test_split: some questions repeat; a split could put one "
                        "in both sets. Deduplicate them first.")
    n = len(questions)
    if isinstance(test_size, float) and 0 < test_size < 1:
        n_test = int(round(test_size * n))
    elif isinstance(test_size, (int, numpy.integer)) and not isinstance(test_size, bool) \
            and 0 <= test_size <= n:
        n_test = int(test_size)
    else:
        raise ConfigError(f"train_test_split: test_size must be a fraction in (0, 1) or a "
                          f"count in 0..{n}. Received: test_size={test_size!r}.")
    order = numpy.random.default_rng(seed).permutation(n)
    test, train = order[:n_test], order[n_test:]
    return (([questions[i] for i in train], [answers[i] for i in train]),
            ([questions[i] for i in test], [answers[i] for i in test]))


# --------------------------------------------------------------------------- encoding

class CharTable:
    """Characters <-> integer ids, with the special symbols ``PAD`` (0), ``GO`` (1) and
    ``EOS`` (2); the characters take ids 3.. in sorted order.

    Args:
        chars: the characters (a string or iterable); duplicates are ignored.

    Example:

        >>> table = CharTable("0123456789+")
        >>> ids = table.encode(["12+5"], eos=True)
        >>> ids
        array([[5, 6, 3, 9, 2]], dtype=int32)
        >>> table.decode(ids)
        ['12+5']
        >>> table.one_hot(ids).shape
        (1, 5, 14)
    """

    def __init__(self, chars):
        chars = sorted(set(chars))
        bad = [c for c in chars if not isinstance(c, str) or len(c) != 1]
        if bad or not chars:
            raise ConfigError(f"CharTable: chars must be single characters (at least "
                              f"one). Received: {bad[:5] or chars!r}.")
        self.chars = tuple(chars)
        self.char_index = {c: i for i, c in enumerate(self.chars, start=len(SPECIAL_SYMBOLS))}
        self.index_char = {i: c for c, i in self.char_index.items()}

    @classmethod
    def from_strings(cls, *collections):
        """The table of every character in the given lists of strings."""
        return cls({c for strings in collections for s in strings for c in s})

    @property
    def size(self):
        """Number of ids (characters + 3 special symbols): the one-hot width."""
        return len(self.chars) + len(SPECIAL_SYMBOLS)

    def __len__(self):
        return self.size

    def __repr__(self):
        return f"CharTable({''.join(self.chars)!r}, size={self.size})"

    def encode(self, strings, maxlen=None, go=False, eos=False, reverse=False,
               padding="post"):
        """int32 ids ``(n, maxlen)``: each string (reversed if ``reverse``), preceded by
        ``GO`` if ``go``, followed by ``EOS`` if ``eos``, padded with ``PAD`` after it
        (``padding="post"``) or before it (``"pre"``).

        ``maxlen`` defaults to the longest; a longer sequence raises ``DataError`` (cutting
        an answer short would corrupt it). A character not in the table raises too.
        """
        if isinstance(strings, str):
            raise DataError(f"CharTable.encode expects a list of strings; wrap it in a "
                            f"list: [{strings[:30]!r}].")
        if padding not in ("pre", "post"):
            raise ConfigError(f"CharTable.encode: padding must be 'pre' or 'post'. "
                              f"Received: padding={padding!r}.")
        seqs = []
        for s in strings:
            try:
                ids = [self.char_index[c] for c in (s[::-1] if reverse else s)]
            except KeyError as exc:
                raise DataError(f"CharTable: the character {exc.args[0]!r} of {s!r} is not "
                                f"in the table {''.join(self.chars)!r}.") from None
            seqs.append([GO] * go + ids + [EOS] * eos)
        longest = max((len(s) for s in seqs), default=0)
        maxlen = longest if maxlen is None else maxlen
        if longest > maxlen:
            raise DataError(f"CharTable.encode: a sequence needs {longest} steps, more "
                            f"than maxlen={maxlen}.")
        out = numpy.full((len(seqs), maxlen), PAD, dtype=numpy.int32)
        for row, s in enumerate(seqs):
            start = 0 if padding == "post" else maxlen - len(s)
            out[row, start:start + len(s)] = s
        return out

    def decode(self, ids, stop_at_eos=True, reverse=False):
        """Strings from ids ``(n, T)`` (or one ``(T,)`` sequence -> one string), or from
        probabilities / one-hot ``(n, T, size)`` (arg-max taken). ``PAD`` and ``GO`` are
        skipped; reading stops at the first ``EOS`` unless ``stop_at_eos=False``."""
        ids = numpy.asarray(ids)
        if ids.ndim >= 2 and ids.shape[-1] == self.size and ids.dtype.kind == "f":
            ids = ids.argmax(axis=-1)
        if ids.ndim == 1:
            return self.decode(ids[None], stop_at_eos, reverse)[0]
        if ids.ndim != 2:
            raise DataError(f"CharTable.decode expects ids (n, T) or probabilities "
                            f"(n, T, {self.size}). Received: shape {ids.shape}.")
        out = []
        for row in ids.tolist():
            chars = []
            for i in row:
                if i == EOS and stop_at_eos:
                    break
                c = self.index_char.get(i)
                if c is not None:
                    chars.append(c)
            text = "".join(chars)
            out.append(text[::-1] if reverse else text)
        return out

    def one_hot(self, ids, dtype="float32"):
        """One-hot vectors ``ids.shape + (size,)`` (``PAD`` is a one-hot like any id)."""
        ids = numpy.asarray(ids)
        if ids.dtype.kind not in "iu" or (ids.size and (ids.min() < 0 or ids.max() >= self.size)):
            raise DataError(f"CharTable.one_hot expects integer ids in 0..{self.size - 1}.")
        return numpy.eye(self.size, dtype=dtype)[ids]


def teacher_forcing(questions, answers, table, in_maxlen=None, out_maxlen=None,
                    reverse=False, encoder_padding="pre"):
    """The three arrays to train an encoder-decoder with teacher forcing.

    Args:
        questions, answers: lists of strings.
        table: a :class:`CharTable` holding every character used.
        in_maxlen: encoder length (default: the longest question).
        out_maxlen: decoder length, answer + 1 (default: the longest answer + 1).
        reverse: feed the questions reversed (Sutskever et al. 2014's trick).
        encoder_padding: ``"pre"`` (default) puts the padding first, so an encoder's last
            state comes right after the last real character; ``"post"`` after.

    Returns:
        ``(encoder_input, decoder_input, decoder_target)``, int32:

        * ``encoder_input`` ``(n, in_maxlen)``: the question's ids;
        * ``decoder_input`` ``(n, out_maxlen)``: ``GO``, the answer, then ``PAD``;
        * ``decoder_target`` ``(n, out_maxlen)``: the answer, ``EOS``, then ``PAD``
          (``decoder_input`` shifted left by one step).
    """
    questions, answers = list(questions), list(answers)
    if len(questions) != len(answers):
        raise DataError(f"teacher_forcing: {len(questions)} questions but {len(answers)} "
                        "answers.")
    if out_maxlen is None:
        out_maxlen = max((len(a) for a in answers), default=0) + 1
    enc = table.encode(questions, maxlen=in_maxlen, reverse=reverse, padding=encoder_padding)
    dec_in = table.encode(answers, maxlen=out_maxlen, go=True)
    dec_out = table.encode(answers, maxlen=out_maxlen, eos=True)
    return enc, dec_in, dec_out


def greedy_decode(predict, encoder_input, max_len):
    """Greedy decoding: feed back the most probable symbol until ``EOS``.

    Step t runs ``predict(encoder_input, decoder_input)`` on the decoder input built so
    far (``GO`` and the t symbols chosen, ``PAD`` after them) and takes the arg-max at
    position t. The decoder must be causal (an RNN is), so the padding after position t
    cannot change its output at t. A sequence that has written ``EOS`` gets ``PAD`` from
    then on, as output and as input; decoding stops when all have, or after ``max_len`` steps.

    Args:
        predict: ``predict(encoder_input, decoder_input) -> (n, max_len, vocab)`` scores,
            e.g. ``lambda e, d: model.predict([table.one_hot(e), table.one_hot(d)])``.
        encoder_input: the encoder's ids (or whatever ``predict`` takes), ``n`` rows.
        max_len: decoder length (``decoder_input.shape[1]`` of training).

    Returns:
        int32 ``(n, max_len)``: the symbols written, ``EOS`` included;
        ``CharTable.decode`` turns them into strings.
    """
    n = len(encoder_input)
    dec = numpy.full((n, max_len), PAD, dtype=numpy.int32)
    dec[:, 0] = GO
    out = numpy.full((n, max_len), PAD, dtype=numpy.int32)
    done = numpy.zeros(n, dtype=bool)
    for t in range(max_len):
        scores = numpy.asarray(predict(encoder_input, dec))
        if scores.ndim != 3 or scores.shape[:2] != (n, max_len):
            raise DataError(f"greedy_decode: predict must return scores shaped (n, "
                            f"max_len, vocab) = ({n}, {max_len}, ...). Received: shape "
                            f"{scores.shape}.")
        step = scores[:, t].argmax(axis=-1).astype(numpy.int32)
        step[done] = PAD
        out[:, t] = step
        done |= step == EOS
        if done.all():
            break
        if t + 1 < max_len:
            # As in training, EOS is never a decoder input: finished rows read PAD.
            dec[:, t + 1] = numpy.where(done, PAD, step)
    return out
