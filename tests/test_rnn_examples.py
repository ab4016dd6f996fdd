"""The recurrent examples run from the command line and print their metric (small settings,
except slot filling, whose full default run takes about a second; the full runs' figures
are in each example's docstring)."""
import math

import numpy as np

from helpers import load_example

load = load_example


def test_slot_filling_tags_the_same_city_by_its_context(capsys):
    example = load("slot_filling")
    accuracy = example.main([])  # the full default run (~1 s of training)
    assert accuracy >= 0.95
    out = capsys.readouterr().out
    assert "per-token test accuracy" in out
    assert "taipei/B-dest" in out and "taipei/B-depart" in out  # arrive ... vs leave ...


def test_seq2seq_addition_runs_and_prints_exact_match(capsys):
    example = load("seq2seq_addition")
    accuracy = example.main(["--train", "1000", "--test", "100", "--epochs", "1", "--units", "32"])
    assert 0.0 <= accuracy <= 1.0
    assert "exact-match accuracy on 100 held-out additions" in capsys.readouterr().out


def test_seq2seq_inference_models_decode_like_rerunning_the_training_model():
    """The one-step decoder fed its own states writes what the teacher-forcing model, re-run
    on the growing prefix (datasets.seq2seq.greedy_decode), writes: the layers are shared."""
    import threestep as ts
    from threestep.datasets import seq2seq

    example = load("seq2seq_addition")
    table = seq2seq.CharTable(seq2seq.ADDITION_CHARS)
    questions, answers = seq2seq.addition(600, seed=3)
    enc, dec_in, dec_out = seq2seq.teacher_forcing(questions, answers, table, example.IN_LEN, example.OUT_LEN,
                                                   reverse=True)
    ts.backend.set_seed(0)
    model, encoder, decoder = example.build_models(table.size, 16)
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit([table.one_hot(enc), table.one_hot(dec_in)], dec_out, epochs=2, verbose=0)
    ours = example.greedy_decode(encoder, decoder, table, enc[:100])
    rerun = seq2seq.greedy_decode(lambda e, d: model.predict([table.one_hot(e), table.one_hot(d)]), enc[:100],
                                  example.OUT_LEN)
    np.testing.assert_array_equal(ours, rerun)


def test_adding_problem_runs_both_networks(capsys):
    example = load("adding_problem")
    results = example.main(["--T", "20", "--train", "256", "--test", "128", "--epochs", "1", "--units", "8"])
    assert set(results) == {"lstm", "rnn"}
    assert all(math.isfinite(v) and 0 <= v < 2 for v in results.values())
    out = capsys.readouterr().out
    assert "LSTM: test MSE" in out and "SimpleRNN (tanh): test MSE" in out and "baseline" in out


def test_ctc_digit_strings_are_rendered_side_by_side():
    from threestep.datasets import digits

    example = load("ctc_digits")
    (x_train, y_train), _ = digits.load_data()
    x, targets, lengths = example.render_strings(x_train, y_train, 50, np.random.default_rng(0))
    assert x.shape == (50, 8, example.WIDTH) and x.dtype == np.float32
    assert lengths.min() >= example.MIN_LEN and lengths.max() <= example.MAX_LEN
    for image, target, k in zip(x[:5], targets[:5], lengths[:5]):
        assert not image[:, 8 * k:].any()  # blank columns after the string
        for j in range(k):  # each glyph is a training image of its label
            glyph = image[:, 8 * j:8 * j + 8] * 16
            matches = np.flatnonzero((x_train == glyph).all(axis=(1, 2)))
            assert matches.size and (y_train[matches] == target[j]).all()
    jittered, _, _ = example.render_strings(x_train, y_train, 50, np.random.default_rng(0), jitter=True)
    assert jittered.shape == x.shape and 0 <= jittered.min() and jittered.max() <= 1


def test_ctc_digits_runs_and_prints_sequence_accuracy(capsys):
    example = load("ctc_digits")
    accuracy = example.main(["--train", "256", "--test", "64", "--epochs", "1", "--beam", "2"])
    assert 0.0 <= accuracy <= 1.0
    out = capsys.readouterr().out
    assert "sequence accuracy on 64 test strings" in out and "beam search" in out


def test_rnn_benchmark_emits_ratios(capsys):
    import json

    from benchmarks import rnn

    rnn.main(["--samples", "128", "--repeats", "1", "--cells", "simple_rnn"])
    report = json.loads(capsys.readouterr().out)
    assert report["ratios_threestep_over_pytorch"]["simple_rnn"] > 0
