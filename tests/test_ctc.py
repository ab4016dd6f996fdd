"""CTC: the loss against PyTorch and brute force, its gradient, its errors, and both decoders.

Our inputs are batch-major (N, T, C); torch's ``F.ctc_loss`` takes (T, N, C), so the torch
side permutes. Torch's gradient w.r.t. ``log_probs`` is its fused logits gradient (it assumes
a log-softmax before it), so we compare gradients w.r.t. logits on both sides.
"""
import itertools
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import threestep.ops as ops
from threestep.autograd import Tensor
from threestep.errors import ConfigError, DataError, ShapeError
from threestep.ops.ctc import ctc_beam_search_decode, ctc_greedy_decode, ctc_loss
from helpers import assert_close, check_against_torch, check_gradcheck

COVERED_OPS = {"ctc_loss", "ctc_greedy_decode", "ctc_beam_search_decode"}


def make_batch(rng, blank, n=5, steps=12, classes=5):
    """Random labels with forced repeats, varied input and label lengths (one empty label)."""
    in_len = np.array([12, 9, 7, 12, 5])[:n]
    lab_len = np.array([4, 0, 3, 5, 2])[:n]
    others = [c for c in range(classes) if c != blank]
    labels = np.full((n, lab_len.max()), blank if blank else -1)  # padding is ignored, whatever it holds
    for i in range(n):
        labels[i, :lab_len[i]] = rng.choice(others, lab_len[i])
    labels[0, :4] = [others[0], others[0], others[1], others[1]]  # repeats need blanks between
    labels[3, 1] = labels[3, 0]
    logits = rng.standard_normal((n, steps, classes)) * 2
    return logits, labels, in_len, lab_len


def torch_ctc(labels, in_len, lab_len, blank, reduction, zero_infinity=False):
    targets = torch.from_numpy(np.where(labels < 0, 0, labels))
    return lambda z: F.ctc_loss(F.log_softmax(z, -1).permute(1, 0, 2), targets, torch.from_numpy(in_len),
                                torch.from_numpy(lab_len), blank=blank, reduction=reduction,
                                zero_infinity=zero_infinity)


def brute_force(logp, blank):
    """{labelling: log-probability}, summing every one of the C**T paths (tiny T and C only)."""
    steps, classes = logp.shape
    totals = {}
    for path in itertools.product(range(classes), repeat=steps):
        merged = [c for k, c in enumerate(path) if k == 0 or c != path[k - 1]]
        key = tuple(c for c in merged if c != blank)
        totals[key] = np.logaddexp(totals.get(key, -np.inf), logp[np.arange(steps), path].sum())
    return totals


def log_softmax(x):
    return x - np.logaddexp.reduce(x, axis=-1, keepdims=True)


# ---------------------------------------------------------------- the loss against torch
@pytest.mark.parametrize("blank", [0, 3])
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_loss_and_grad_match_torch_float64(rng, blank, reduction):
    logits, labels, in_len, lab_len = make_batch(rng, blank)
    check_against_torch(lambda z: ctc_loss(z, labels, in_len, lab_len, blank=blank, reduction=reduction),
                        torch_ctc(labels, in_len, lab_len, blank, reduction), [logits])


def test_loss_and_grad_match_torch_float32(rng):
    logits, labels, in_len, lab_len = make_batch(rng, 0)
    check_against_torch(lambda z: ctc_loss(z, labels, in_len, lab_len),
                        torch_ctc(labels, in_len, lab_len, 0, "none"), [logits.astype(np.float32)],
                        atol=1e-4, rtol=1e-5, grad_atol=1e-5)


def test_log_probs_input_through_our_log_softmax_matches_torch(rng):
    logits, labels, in_len, lab_len = make_batch(rng, 1)
    ours = lambda z: ctc_loss(ops.log_softmax(z), labels, in_len, lab_len, blank=1, from_logits=False)
    check_against_torch(ours, torch_ctc(labels, in_len, lab_len, 1, "none"), [logits])


def test_label_formats_agree(rng):
    logits, labels, in_len, lab_len = make_batch(rng, 0)
    seqs = [labels[i, :lab_len[i]].tolist() for i in range(len(labels))]
    padded = ctc_loss(logits, labels, in_len, lab_len).data
    assert_close(ctc_loss(logits, seqs, in_len).data, padded, 1e-12, 1e-12, "list of sequences")
    flat = np.concatenate([np.array(s, dtype=np.int64) for s in seqs])
    assert_close(ctc_loss(logits, flat, in_len, lab_len).data, padded, 1e-12, 1e-12, "concatenated")


def test_empty_labels_and_empty_inputs_match_torch(rng):
    labels, in_len, lab_len = np.array([[0], [1], [0]]), np.array([0, 3, 4]), np.array([0, 1, 0])
    check_against_torch(lambda z: ctc_loss(z, [[], [1], []], in_len),
                        torch_ctc(labels, in_len, lab_len, 0, "none"), [rng.standard_normal((3, 4, 3))])


def test_loss_is_minus_log_of_summed_paths(rng):
    logits = rng.standard_normal((3, 5, 3))
    labels = [[1, 1], [2, 1, 2], []]
    expected = [-brute_force(log_softmax(z), 0)[tuple(l)] for z, l in zip(logits, labels)]
    assert_close(ctc_loss(logits, labels).data, np.array(expected), 1e-12, 1e-12, "loss vs brute force")


# ---------------------------------------------------------------- gradients
@pytest.mark.parametrize("from_logits", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradcheck(rng, from_logits, reduction):
    x = rng.standard_normal((3, 5, 4))  # from_logits=False: unnormalised "log-probs" test the general formula
    labels, in_len, lab_len = np.array([[1, 1], [2, 3], [3, 0]]), np.array([5, 3, 4]), np.array([2, 2, 0])
    check_gradcheck(lambda z: ctc_loss(z, labels, in_len, lab_len, from_logits=from_logits,
                                       reduction=reduction), [x])


def test_steps_and_labels_past_their_lengths_are_ignored(rng):
    logits, labels, in_len, lab_len = make_batch(rng, 0)
    x = Tensor(logits.copy(), requires_grad=True)
    loss = ctc_loss(x, labels, in_len, lab_len)
    loss.backward(np.ones(len(labels)))
    for i, t in enumerate(in_len):
        assert np.all(x.grad[i, t:] == 0), f"sample {i}: gradient past input length {t}"
    changed, relabelled = logits.copy(), labels.copy()
    for i, (t, s) in enumerate(zip(in_len, lab_len)):
        changed[i, t:] = 1e3
        relabelled[i, s:] = 4
    assert_close(ctc_loss(changed, relabelled, in_len, lab_len).data, loss.data, 0, 0, "loss after padding changes")


def test_huge_logits_stay_finite_and_match_torch(rng):
    logits, labels, in_len, lab_len = make_batch(rng, 0)
    logits *= 1e4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow / invalid-value warnings either
        out, _ = check_against_torch(lambda z: ctc_loss(z, labels, in_len, lab_len),
                                     torch_ctc(labels, in_len, lab_len, 0, "none"), [logits], rtol=1e-9)
    assert np.all(np.isfinite(out.data))


def test_infinite_loss_gives_nan_grad_or_zero_with_zero_infinity():
    logp = np.log(np.full((1, 3, 3), 1 / 3))
    logp[0, :, 2] = -np.inf  # class 2 can never be emitted
    for zero_inf, want_loss, grad_ok in ((False, np.inf, np.isnan), (True, 0.0, lambda g: g == 0)):
        x = Tensor(logp.copy(), requires_grad=True)
        loss = ctc_loss(x, [[2]], from_logits=False, zero_infinity=zero_inf)
        loss.backward()
        assert loss.data[0] == want_loss and np.all(grad_ok(x.grad)), (zero_inf, loss.data, x.grad)


# ---------------------------------------------------------------- clear errors
def test_label_too_long_for_input_names_sample_and_lengths():
    x = np.zeros((2, 4, 3))
    with pytest.raises(ShapeError, match=r"sample 1 .*3 labels with 2 repeated neighbours need at least 5 "
                                         r"time steps.*input_lengths\[1\] = 4"):
        ctc_loss(x, [[1, 2], [1, 1, 1]])
    with pytest.raises(ShapeError, match="sample 0"):
        ctc_loss(x, np.array([[1, 2, 1], [1, 0, 0]]), input_lengths=[2, 4], label_lengths=[3, 1])
    assert issubclass(ShapeError, ValueError)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(labels=[[1, 0], [2]]), DataError, r"labels\[0, 1\] = 0 is the blank"),
    (dict(labels=[[1, 5], [2]]), DataError, r"labels\[0, 1\] = 5 is out of range"),
    (dict(labels=[[1.5], [2]]), DataError, "must be integers"),
    (dict(labels=[[1]]), ShapeError, "1 sequences for a batch of 2"),
    (dict(labels=np.ones((2, 2), int), label_lengths=[1, 3]), ShapeError, r"label_lengths\[1\] = 3"),
    (dict(labels=np.ones((2, 2), int), label_lengths=[1, 1, 1]), ShapeError, "one entry per sample"),
    (dict(labels=[[1], [2]], input_lengths=[7, 3]), ShapeError, r"input_lengths\[0\] = 7 is outside \[0, 6\]"),
    (dict(labels=[1, 2, 3]), ShapeError, "needs label_lengths"),
    (dict(labels=[[1], [2]], blank=5), ConfigError, "blank"),
    (dict(labels=[[1], [2]], reduction="avg"), ConfigError, "reduction"),
])
def test_bad_arguments_raise_clear_errors(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        ctc_loss(np.zeros((2, 6, 4)), **kwargs)


def test_bad_input_shapes_raise():
    for shape in [(6, 4), (0, 6, 4), (2, 0, 4)]:
        with pytest.raises(ShapeError, match="batch, time, classes"):
            ctc_loss(np.zeros(shape), [[1]] * max(shape[0], 1))
    with pytest.raises(ShapeError):
        ctc_greedy_decode(np.zeros((6, 4)))


# ---------------------------------------------------------------- greedy decoding
def onehot_path(path, classes=4):
    """A (1, T, C) probability array whose best path is ``path`` (a string over '-abc')."""
    idx = ["-abc".index(ch) for ch in path.replace(" ", "")]
    probs = np.full((len(idx), classes), 0.1)
    probs[np.arange(len(idx)), idx] = 0.7
    return probs[None]


def test_greedy_decode_hand_examples():
    x = onehot_path("a a - b b - - c")
    assert ctc_greedy_decode(x) == [[1, 2, 3]]
    assert ctc_greedy_decode(x, merge_repeated=False) == [[1, 1, 2, 2, 3]]
    assert ctc_greedy_decode(onehot_path("a - a a")) == [[1, 1]]  # a blank separates a doubled label
    assert ctc_greedy_decode(np.log(x), input_lengths=[4]) == [[1, 2]]  # log-probs, truncated
    assert ctc_greedy_decode(Tensor(onehot_path("- - a - b")), blank=1) == [[0, 0, 2]]
    assert ctc_greedy_decode(np.concatenate([x[:, :3], onehot_path("- - c")])) == [[1], [3]]


# ---------------------------------------------------------------- beam search
def test_beam_search_matches_brute_force(rng):
    logits = rng.standard_normal((4, 5, 3)) * 1.5
    for blank in (0, 2):
        got = ctc_beam_search_decode(logits, beam_width=64, blank=blank, top_paths=4)
        for z, paths in zip(logits, got):
            ranked = sorted(brute_force(log_softmax(z), blank).items(), key=lambda kv: -kv[1])[:4]
            assert [p for p, _ in paths] == [list(k) for k, _ in ranked], (paths, ranked)
            assert_close(np.array([s for _, s in paths]), np.array([s for _, s in ranked]), 1e-12, 1e-12,
                         "beam log-probs vs brute force")


def test_beam_search_finds_the_labelling_greedy_misses():
    probs = np.array([[[0.6, 0.4], [0.6, 0.4]]])  # best path "--" (0.36) but p("a") = 0.64
    assert ctc_greedy_decode(probs) == [[]]
    assert [p for p, _ in ctc_beam_search_decode(np.log(probs), beam_width=1)[0]] == [[]]
    (labels, score), = ctc_beam_search_decode(np.log(probs), beam_width=2)[0]
    assert labels == [1] and np.isclose(score, np.log(0.64))


def test_beam_search_agrees_with_greedy_on_peaked_outputs(rng):
    logits = rng.standard_normal((6, 10, 5)) + 8 * np.eye(5)[rng.integers(0, 5, (6, 10))]
    in_len = np.array([10, 7, 10, 1, 4, 9])
    greedy = ctc_greedy_decode(logits, in_len)
    for width in (1, 10):
        assert [r[0][0] for r in ctc_beam_search_decode(logits, in_len, beam_width=width)] == greedy


def test_beam_search_respects_input_lengths_and_arguments(rng):
    logits = rng.standard_normal((2, 8, 4))
    full = ctc_beam_search_decode(logits[:1, :5], top_paths=3)
    assert ctc_beam_search_decode(logits, [5, 8], top_paths=3)[0] == full[0]
    with pytest.raises(ConfigError, match="top_paths"):
        ctc_beam_search_decode(logits, beam_width=2, top_paths=3)
