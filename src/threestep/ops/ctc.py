"""Connectionist Temporal Classification: the loss (one fused ``Function``) and two decoders.

CTC is the lecture's answer to "the output is shorter than the input" (speech: many frames,
few characters). The network emits, at each of T time steps, a distribution over the C
classes *plus* a blank ("NULL"); a labelling is read off a path by merging repeats and then
dropping blanks, so "好好-棒-棒" reads "好棒棒". The loss is -log of the total probability
of every path that reads the target labelling, computed by dynamic programming over the
*extended* label (blank, l1, blank, l2, ..., blank; 2L+1 states).

Layout: batch-major ``(N, T, C)``, as threestep and Keras recurrent layers output it.
(PyTorch's ``ctc_loss`` takes time-major ``(T, N, C)``: permute when porting.)
"""
import numpy

from .. import backend
from ..autograd import Function, Tensor, as_tensor
from ..errors import ConfigError, DataError, ShapeError, unknown_name
from .nn import _log_softmax
from .reduce import mean as _mean, sum as _sum

_NEG_INF = -numpy.inf
_REDUCTIONS = ("none", "mean", "sum")


class CTCLoss(Function):
    """Per-sample CTC negative log-likelihood from logits (or log-probabilities), fused.

    Forward runs the alpha recursion in log space, vectorised over the batch and the
    2S+1 extended-label states; the only Python loop is over time. Backward runs the beta
    recursion and turns alpha*beta into the occupancy gamma[t, k] (the posterior that the
    path emits class k at step t). The gradient is the classic closed form
    ``softmax - gamma`` w.r.t. logits, or ``-gamma`` w.r.t. log-probabilities. Steps past a
    sample's input length get zero gradient.
    """

    def __init__(self, ext, lengths_in, lengths_lab, from_logits, zero_infinity):
        self.ext, self.t_len, self.l_len = ext, lengths_in, lengths_lab  # ext: (N, 2S+1) extended labels
        self.from_logits, self.zero_infinity = from_logits, zero_infinity

    def forward(self, x):
        xp = backend.get_array_module(x)
        logp = _log_softmax(x, -1) if self.from_logits else x
        n, steps, _ = x.shape
        ext, t_len, l_len = self.ext, self.t_len, self.l_len
        states = ext.shape[1]
        s = xp.arange(states)
        # lp[t, n, s] = log y_t(ext[n, s]); -inf for states past the sample's 2L+1 (keeps beta clean)
        lp = xp.take_along_axis(logp, xp.broadcast_to(ext[:, None, :], (n, steps, states)), axis=2)
        lp = xp.where((s[None, :] < 2 * l_len[:, None] + 1)[:, None, :], lp, _NEG_INF)
        lp = xp.ascontiguousarray(lp.transpose(1, 0, 2))
        # s -> s+2 skips a blank only between different labels (a repeat needs its blank)
        skip = (s[None, 2:] % 2 == 1) & (ext[:, 2:] != ext[:, :-2])
        self.pen = xp.zeros((n, states), x.dtype)
        self.pen[:, 2:] = xp.where(skip, 0.0, _NEG_INF)
        alpha = xp.full((steps, n, states), _NEG_INF, dtype=x.dtype)
        alpha[0] = xp.where(s[None, :] < 2, lp[0], _NEG_INF)
        for t in range(1, steps):
            a = alpha[t - 1]
            acc = a.copy()
            acc[:, 1:] = xp.logaddexp(acc[:, 1:], a[:, :-1])
            acc[:, 2:] = xp.logaddexp(acc[:, 2:], a[:, :-2] + self.pen[:, 2:])
            alpha[t] = acc + lp[t]
        rows = xp.arange(n)
        last = alpha[xp.maximum(t_len - 1, 0), rows]  # (N, states) at each sample's last step
        ll = xp.logaddexp(last[rows, 2 * l_len], xp.where(l_len > 0, last[rows, 2 * l_len - 1], _NEG_INF))
        ll = xp.where(t_len == 0, 0.0, ll)  # empty input, empty label: probability one
        self.inf = xp.isinf(ll)
        if self.zero_infinity:
            ll = xp.where(self.inf, 0.0, ll)
        self.alpha, self.lp, self.ll = alpha, lp, ll
        self.logp = logp if self.from_logits else None
        self.classes = x.shape[-1]
        return (-ll).astype(x.dtype, copy=False)

    def backward(self, gy):
        xp = backend.get_array_module(gy)
        alpha, lp, ext, t_len, l_len = self.alpha, self.lp, self.ext, self.t_len, self.l_len
        steps, n, states = alpha.shape
        s = xp.arange(states)
        end = (s[None, :] == 2 * l_len[:, None]) | ((s[None, :] == 2 * l_len[:, None] - 1) & (l_len[:, None] > 0))
        end = xp.where(end, 0.0, _NEG_INF).astype(alpha.dtype)
        # beta[t, n, s]: log-probability of finishing the labelling after step t, from state s
        beta = xp.empty_like(alpha)
        acc = xp.full((n, states), _NEG_INF, dtype=alpha.dtype)
        for t in range(steps - 1, -1, -1):
            if t < steps - 1:
                b = beta[t + 1] + lp[t + 1]
                acc = b.copy()
                acc[:, :-1] = xp.logaddexp(acc[:, :-1], b[:, 1:])
                acc[:, :-2] = xp.logaddexp(acc[:, :-2], b[:, 2:] + self.pen[:, 2:])
            beta[t] = xp.where((t_len == t + 1)[:, None], end, acc)  # later steps stay -inf
        ll = xp.where(self.inf, 0.0, self.ll)
        gamma = xp.exp(alpha + beta - ll[None, :, None]).transpose(1, 0, 2)  # (N, T, states)
        onehot = (ext[:, :, None] == xp.arange(self.classes)[None, None, :]).astype(gamma.dtype)
        g = -(gamma @ onehot)  # (N, T, C): add up the occupancy of the states emitting each class
        if self.from_logits:  # sum_k gamma[t, k] = 1 inside the input, so d/dlogits = softmax - gamma
            valid = xp.arange(steps)[None, :] < t_len[:, None]
            g += xp.exp(self.logp) * valid[:, :, None]
        scale = xp.where(self.inf, 0.0 if self.zero_infinity else xp.nan, gy)  # NaN for an infinite loss, as torch
        return g * scale[:, None, None]


# ---------------------------------------------------------------- argument checks (host side)
def _host(a):
    return backend.to_numpy(a.data if isinstance(a, Tensor) else a)


def _int_array(a, name, fn="ctc_loss"):
    a = numpy.asarray(a)
    if a.dtype.kind == "f" and numpy.all(numpy.isfinite(a)) and numpy.all(a == numpy.round(a)):
        a = a.astype(numpy.int64)
    if a.dtype.kind not in "iu":
        raise DataError(f"{fn}: {name} must be integers. Received: dtype {a.dtype}.")
    return a.astype(numpy.int64)


def _lengths(lengths, n, limit, name, limit_name, fn="ctc_loss"):
    lengths = _int_array(lengths, name, fn)
    lengths = numpy.full(n, lengths) if lengths.ndim == 0 else lengths.reshape(-1)  # a scalar serves all
    if lengths.shape != (n,):
        raise ShapeError(f"{fn}: {name} needs one entry per sample ({n}). Received: shape {lengths.shape}.")
    bad = numpy.flatnonzero((lengths < 0) | (lengths > limit))
    if bad.size:
        i = int(bad[0])
        raise ShapeError(f"{fn}: {name}[{i}] = {lengths[i]} is outside [0, {limit}] ({limit_name}).")
    return lengths


def _padded_labels(labels, n, label_lengths):
    """Labels as an (N, S) int array plus lengths, from a padded array, a list of sequences,
    or torch's 1-D concatenation (with ``label_lengths``)."""
    if isinstance(labels, (list, tuple)) and any(numpy.ndim(seq) == 1 for seq in labels):
        seqs = [_int_array(seq, "labels").reshape(-1) for seq in labels]
        if len(seqs) != n:
            raise ShapeError(f"ctc_loss: labels has {len(seqs)} sequences for a batch of {n} samples.")
        lengths = numpy.array([len(q) for q in seqs], dtype=numpy.int64)
        padded = numpy.zeros((n, int(lengths.max(initial=0))), dtype=numpy.int64)
        for i, q in enumerate(seqs):
            padded[i, :len(q)] = q
        if label_lengths is not None:
            lengths = _lengths(label_lengths, n, padded.shape[1], "label_lengths", "at most the longest label")
            too_long = numpy.flatnonzero(lengths > [len(q) for q in seqs])
            if too_long.size:
                i = int(too_long[0])
                raise ShapeError(f"ctc_loss: label_lengths[{i}] = {lengths[i]} exceeds the length "
                                 f"{len(seqs[i])} of labels[{i}].")
        return padded, lengths
    labels = _int_array(_host(labels), "labels")
    if labels.ndim == 1:  # torch's concatenated targets
        if label_lengths is None:
            raise ShapeError("ctc_loss: 1-D labels are read as all samples' labels concatenated, which "
                             "needs label_lengths. Pass an (N, S) padded array or a list of sequences instead.")
        lengths = _lengths(label_lengths, n, labels.size, "label_lengths", "the number of labels")
        if lengths.sum() != labels.size:
            raise ShapeError(f"ctc_loss: concatenated labels hold {labels.size} entries but label_lengths "
                             f"sum to {int(lengths.sum())}.")
        padded = numpy.zeros((n, int(lengths.max(initial=0))), dtype=numpy.int64)
        padded[numpy.arange(padded.shape[1])[None, :] < lengths[:, None]] = labels
        return padded, lengths
    if labels.ndim != 2 or labels.shape[0] != n:
        raise ShapeError(f"ctc_loss: labels must be (N, S) = ({n}, max label length), a list of {n} "
                         f"sequences, or 1-D concatenated. Received: shape {labels.shape}.")
    lengths = (numpy.full(n, labels.shape[1]) if label_lengths is None else
               _lengths(label_lengths, n, labels.shape[1], "label_lengths", "the labels' padded width"))
    return labels, lengths


def _check_labels(labels, lab_len, in_len, classes, blank):
    n, width = labels.shape
    inside = numpy.arange(width)[None, :] < lab_len[:, None]  # padding past a label's length is ignored
    for what, bad in (("the blank index", labels == blank),
                      (f"out of range [0, {classes})", (labels < 0) | (labels >= classes))):
        where = numpy.argwhere(bad & inside)
        if where.size:
            i, j = (int(k) for k in where[0])
            raise DataError(f"ctc_loss: labels[{i}, {j}] = {labels[i, j]} is {what}; labels must be classes in "
                            f"[0, {classes}) other than blank={blank}.")
    repeats = ((labels[:, 1:] == labels[:, :-1]) & inside[:, 1:]).sum(axis=1)
    need = lab_len + repeats  # each repeated neighbour needs a blank between the two
    short = numpy.flatnonzero(need > in_len)
    if short.size:
        i = int(short[0])
        more = f" ({short.size} samples in all: {short[:8].tolist()})" if short.size > 1 else ""
        raise ShapeError(
            f"ctc_loss: the label of sample {i} is longer than its input allows: {lab_len[i]} labels with "
            f"{repeats[i]} repeated neighbours need at least {need[i]} time steps (a blank between repeats), "
            f"but input_lengths[{i}] = {in_len[i]}{more}. Shorten the label, or give the model more time "
            "steps (less pooling or striding over time).")


def _extended(labels, blank, xp):
    """(N, 2S+1): blank, l1, blank, l2, ..., blank (padding past a label's end is masked later)."""
    n, width = labels.shape
    ext = numpy.full((n, 2 * width + 1), blank, dtype=numpy.int64)
    ext[:, 1::2] = numpy.where(labels >= 0, labels, blank)
    return xp.asarray(ext)


def ctc_loss(log_probs_or_logits, labels, input_lengths=None, label_lengths=None, blank=0, from_logits=True,
             reduction="none", zero_infinity=False):
    """Connectionist Temporal Classification loss: -log p(labels | inputs), summed over alignments.

    Args:
        log_probs_or_logits: float ``(N, T, C)`` batch-major network outputs (torch's
            ``F.ctc_loss`` wants ``(T, N, C)``). Logits when ``from_logits=True`` (a
            log-softmax over C is applied inside), else log-probabilities.
        labels: the targets without blanks: an int ``(N, S)`` array padded past each
            label's length (padding is ignored), a list of N sequences, or torch's 1-D
            concatenation of all labels (then ``label_lengths`` is required).
        input_lengths: ``(N,)`` valid time steps per sample; steps past it are ignored and
            get zero gradient. Default: all T.
        label_lengths: ``(N,)`` label lengths; zero is allowed. Default: S, or each list's length.
        blank: the class index of the blank (negative counts from the end, ``-1`` = last).
        from_logits: see ``log_probs_or_logits``.
        reduction: ``"none"`` (per-sample, shape ``(N,)``), ``"sum"``, or ``"mean"``
            (torch's: each loss divided by its label length (at least 1), then averaged).
        zero_infinity: give impossible samples (possible only with ``-inf`` log-probabilities)
            loss 0 and gradient 0; otherwise their loss is ``inf`` and their gradient NaN.

    Raises:
        ShapeError: wrong shapes or lengths, or a label longer than its input allows
            (L labels with r repeated neighbours need L + r steps); names the sample.
        DataError: a label equal to the blank or outside ``[0, C)``.

    Example:
        >>> logits = Tensor(np.random.randn(2, 6, 4), requires_grad=True)
        >>> loss = ctc_loss(logits, [[1, 2, 2], [3]], input_lengths=[6, 4], reduction="mean")
        >>> loss.backward()
    """
    x = as_tensor(log_probs_or_logits)
    if x.ndim != 3 or 0 in x.shape:
        raise ShapeError("ctc_loss: inputs must be (batch, time, classes) with no empty axis. "
                         f"Received: shape {x.shape}.")
    if x.dtype.kind != "f":
        raise DataError(f"ctc_loss: inputs must be floats (logits or log-probabilities). Received: dtype {x.dtype}.")
    if reduction not in _REDUCTIONS:
        raise unknown_name("reduction", reduction, _REDUCTIONS)
    n, steps, classes = x.shape
    if not -classes <= int(blank) < classes:
        raise ConfigError(f"ctc_loss: blank must be a class index in [0, {classes}). Received: blank={blank}.")
    blank = int(blank) % classes
    labels, lab_len = _padded_labels(labels, n, None if label_lengths is None else _host(label_lengths))
    in_len = (numpy.full(n, steps) if input_lengths is None else
              _lengths(_host(input_lengths), n, steps, "input_lengths", "the input's time axis"))
    _check_labels(labels, lab_len, in_len, classes, blank)
    xp = backend.get_array_module(x.data)
    labels = numpy.where(numpy.arange(labels.shape[1])[None, :] < lab_len[:, None], labels, -1)
    loss = CTCLoss(_extended(labels, blank, xp), xp.asarray(in_len), xp.asarray(lab_len),
                   bool(from_logits), bool(zero_infinity))(x)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return _sum(loss)
    return _mean(loss * xp.asarray(1.0 / numpy.maximum(lab_len, 1), dtype=x.dtype))


# ---------------------------------------------------------------- decoding (NumPy level, no graph)
def _decode_inputs(x, input_lengths, blank, fn):
    x = numpy.asarray(_host(x))
    if x.ndim != 3 or 0 in x.shape:
        raise ShapeError(f"{fn}: inputs must be (batch, time, classes) with no empty axis. Received: shape {x.shape}.")
    n, steps, classes = x.shape
    if not -classes <= int(blank) < classes:
        raise ConfigError(f"{fn}: blank must be a class index in [0, {classes}). Received: blank={blank}.")
    lengths = numpy.full(n, steps) if input_lengths is None else _lengths(
        _host(input_lengths), n, steps, "input_lengths", "the input's time axis", fn)
    return x, lengths, int(blank) % classes


def ctc_greedy_decode(probs_or_logits, input_lengths=None, blank=0, merge_repeated=True):
    """Best-path decoding: the most likely class at each step, repeats merged, blanks dropped.

    Works on probabilities, logits or log-probabilities alike (only the argmax matters).
    The best path's labelling need not be the most probable labelling; see
    ``ctc_beam_search_decode``. With ``merge_repeated=False`` only blanks are dropped.

    Returns a list of N label lists. Example: steps "a a - b b - - c" decode to "a b c".
    """
    x, lengths, blank = _decode_inputs(probs_or_logits, input_lengths, blank, "ctc_greedy_decode")
    best = x.argmax(axis=-1)
    keep = (best != blank) & (numpy.arange(best.shape[1])[None, :] < lengths[:, None])
    if merge_repeated:
        keep[:, 1:] &= best[:, 1:] != best[:, :-1]
    return [row[k].tolist() for row, k in zip(best, keep)]


def _beam_step(beams, lp, blank, width):
    """One step of prefix beam search; beams = (prefixes, p_blank, p_nonblank, last class)."""
    prefixes, pb, pnb, last = beams
    total = numpy.logaddexp(pb, pnb)
    has_last = last >= 0
    stay_b = total + lp[blank]  # the prefix is unchanged by a blank ...
    stay_nb = numpy.where(has_last, pnb + lp[numpy.maximum(last, 0)], _NEG_INF)  # ... or by repeating its end
    ext = total[:, None] + lp[None, :]  # (B, C): append class c
    rows = numpy.flatnonzero(has_last)
    ext[rows, last[rows]] = pb[rows] + lp[last[rows]]  # a repeat extends only after a blank
    ext[:, blank] = _NEG_INF
    index = {p: i for i, p in enumerate(prefixes)}
    for j, p in enumerate(prefixes):  # an extension that is already a beam merges into it
        i = index.get(p[:-1]) if p else None
        if i is not None:
            stay_nb[j] = numpy.logaddexp(stay_nb[j], ext[i, p[-1]])
            ext[i, p[-1]] = _NEG_INF
    scores = numpy.concatenate([numpy.logaddexp(stay_b, stay_nb), ext.ravel()])
    order = numpy.argsort(-scores, kind="stable")[:width]
    order = order[scores[order] > _NEG_INF] if numpy.isfinite(scores[order[0]]) else order[:1]
    classes, b = lp.shape[0], len(prefixes)
    new = ([], [], [], [])
    for k in order.tolist():
        if k < b:
            item = (prefixes[k], stay_b[k], stay_nb[k], last[k])
        else:
            i, c = divmod(k - b, classes)
            item = (prefixes[i] + (c,), _NEG_INF, ext[i, c], c)
        for lst, v in zip(new, item):
            lst.append(v)
    return new[0], numpy.array(new[1]), numpy.array(new[2]), numpy.array(new[3], dtype=numpy.int64)


def ctc_beam_search_decode(log_probs, input_lengths=None, beam_width=10, blank=0, top_paths=1):
    """Prefix beam search: the most probable labellings, summing over their alignments.

    Each beam is a labelling prefix with two log-probabilities, of the paths so far that end
    in a blank and that end in its last label; paths that read the same prefix merge, so the
    score is the labelling's probability (not one path's, as in greedy decoding). Wide
    enough beams find the most probable labelling even where the best path does not.

    Args:
        log_probs: ``(N, T, C)`` log-probabilities or logits (a log-softmax over C is applied,
            which leaves log-probabilities unchanged; pass ``log(probs)``, not probabilities).
        input_lengths: ``(N,)`` valid steps per sample; default all T.
        beam_width: prefixes kept per step.
        blank: the blank's class index.
        top_paths: how many labellings to return per sample (at most ``beam_width``).

    Returns:
        A list of N lists of ``(labels, log_prob)`` pairs, most probable first.
    """
    fn = "ctc_beam_search_decode"
    if int(beam_width) < 1 or not 1 <= int(top_paths) <= int(beam_width):
        raise ConfigError(f"{fn}: need beam_width >= 1 and 1 <= top_paths <= beam_width. "
                          f"Received: beam_width={beam_width}, top_paths={top_paths}.")
    x, lengths, blank = _decode_inputs(log_probs, input_lengths, blank, fn)
    logp = _log_softmax(x.astype(numpy.float64), -1)
    results = []
    for n in range(x.shape[0]):
        beams = ([()], numpy.zeros(1), numpy.full(1, _NEG_INF), numpy.full(1, -1))
        for t in range(lengths[n]):
            beams = _beam_step(beams, logp[n, t], blank, int(beam_width))
        scores = numpy.logaddexp(beams[1], beams[2])
        order = numpy.argsort(-scores, kind="stable")[:int(top_paths)]
        results.append([(list(beams[0][k]), float(scores[k])) for k in order])
    return results
