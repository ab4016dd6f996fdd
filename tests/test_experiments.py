"""The lecture's experiments: every ``--quick`` run writes its report, and the exact parts are exact.

Quick runs use the embedded digits (never the Fashion-MNIST files) and MNIST-1D generated
with 1,000 samples; they check files and report structure, not whether a claim holds,
except where the claim is an identity that holds whatever the training length.
"""
import argparse
import json

import numpy as np
import pytest

from threestep.errors import ConfigError
from threestep.experiments import all_experiments, get, run_experiment
from threestep.experiments import cli as experiments_cli
from threestep.experiments.catalog import ORDER
from threestep.experiments.common import fat_width, mlp, mlp_params
from threestep.experiments.generalization import all_masks, subnetwork_average, weight_scaled
from threestep.experiments.maxout import maxout_copy, relu_net, unit_activations
from threestep.experiments.optimization import rnn_last_output
from threestep.experiments.report import markdown_table
from threestep.experiments.why_deep import carpet, parity_table

pytest.importorskip("matplotlib")

NAMES = ["deep-vs-fat", "sigmoid-depth", "optimizers", "dropout", "regularization", "early-stopping", "maxout",
         "data-efficiency", "parity", "rnn-error-surface", "lstm-vs-rnn", "what-cnn-learns", "mnist1d-table",
         "fashion-baselines", "seq2seq-autoencoder", "audio-word2vec", "attention", "parsing-as-translation",
         "structure-search"]


def _cli(argv):
    parser = argparse.ArgumentParser(prog="threestep")
    experiments_cli.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


# ---------------------------------------------------------------------------- registry and CLI
def test_all_experiments_are_registered_in_the_issue_order():
    assert [e.name for e in all_experiments()] == NAMES == list(ORDER)
    for exp in all_experiments():
        assert len(exp.claim) > 40 and "\n" not in exp.claim, exp.name


def test_list_prints_every_name_and_claim(capsys):
    assert _cli(["experiment", "list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"\n{name}\n" in "\n" + out
    assert "y^1000 = w^999" in out


def test_threestep_cli_has_the_experiment_command(capsys):
    from threestep.cli import main

    assert main(["experiment", "list"]) == 0
    assert "fashion-baselines" in capsys.readouterr().out


def test_unknown_experiment_names_the_valid_ones():
    with pytest.raises(ConfigError, match="Unknown experiment: 'nope'.*'dropout'"):
        get("nope")
    with pytest.raises(SystemExit, match="Unknown experiment: 'nope'"):
        _cli(["experiment", "run", "nope", "--quick"])


def test_bad_seed_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="seed must be an integer >= 0. Received: seed=-1"):
        run_experiment("parity", tmp_path, quick=True, seed=-1)
    with pytest.raises(SystemExit, match="--seed must be >= 0"):
        _cli(["experiment", "run", "parity", "--quick", "--seed", "-3"])


def test_run_all_writes_one_folder_per_experiment(tmp_path, monkeypatch, capsys):
    from threestep.experiments import base

    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    calls = []

    def fake(out_dir, quick, seed):
        calls.append((out_dir, quick, seed))
        return base.Result(setup="tiny", data="none", table=[{"n": seed}], held=seed == 5, because=f"seed {seed}")

    for name in ("fake-a", "fake-b"):
        base.experiment(name, f"{name} is a claim made only for this test.")(fake)
    monkeypatch.setattr(base, "all_experiments", lambda: [base._REGISTRY["fake-a"], base._REGISTRY["fake-b"]])
    assert _cli(["experiment", "run", "all", "--out", str(tmp_path), "--seed", "5"]) == 0
    assert calls == [(str(tmp_path / "fake-a"), False, 5), (str(tmp_path / "fake-b"), False, 5)]
    report = (tmp_path / "fake-b" / "report.md").read_text(encoding="utf-8")
    assert "**Verdict: held.** seed 5" in report and "fake-b is a claim" in report and "| 5 |" in report
    assert "fake-a: held — seed 5" in capsys.readouterr().out


@pytest.mark.parametrize("name", NAMES)
def test_quick_run_writes_report_results_and_plots(name, tmp_path, capsys):
    out = tmp_path / name
    assert _cli(["experiment", "run", name, "--quick", "--out", str(out), "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert f"\n{name}: " in "\n" + printed and "report.md" in printed
    report = (out / "report.md").read_text(encoding="utf-8")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    exp = get(name)
    assert exp.claim in report and results["claim"] == exp.claim
    assert "**Data:**" in report and results["data"] in report
    lines = report.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("| "))
    assert lines[header + 1].startswith("|---"), "the numbers table has a header separator"
    assert len(lines[header + 2].split(" | ")) == len(lines[header].split(" | ")), "as many cells as the header"
    verdict = [line for line in lines if line.startswith("**Verdict: ")]
    assert len(verdict) == 1
    assert verdict[0].startswith("**Verdict: held" if results["held"] else "**Verdict: did not hold")
    assert results["because"] in verdict[0]
    if name != "rnn-error-surface":  # the only claim here that is exact whatever the training length
        assert "quick run: verdict indicative only" in verdict[0]
    for plot in results["plots"]:
        assert (out / plot).stat().st_size > 1000 and f"]({plot})" in report
    assert results["quick"] is True and results["seed"] == 0 and results["table"]


# ---------------------------------------------------------------------------- exact parts
@pytest.mark.parametrize("rate", [0.5, 0.2])
def test_weight_scaling_equals_the_average_of_all_dropped_linear_subnetworks(rate, rng):
    m = 8
    x, w1, b1 = rng.normal(size=(20, m)), rng.normal(size=(m, 5)), rng.normal(size=5)
    w2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)
    # An independent, loop-by-loop ensemble: every one of the 2^M masks, weighted by its probability.
    total = np.zeros((20, 3))
    for mask in all_masks(m):
        p = np.prod(np.where(mask == 1, 1 - rate, rate))
        total += p * (((x * mask) @ w1 + b1) @ w2 + b2)
    ensemble = subnetwork_average(x, w1, b1, w2, b2, rate)
    np.testing.assert_allclose(ensemble, total, rtol=0, atol=1e-12)
    np.testing.assert_allclose(ensemble, weight_scaled(x, w1, b1, w2, b2, rate), rtol=0, atol=1e-12)
    assert all_masks(m).shape == (2 ** m, m)


def test_weight_scaling_is_only_approximate_for_a_relu_network(rng):
    x, w1, b1 = rng.normal(size=(20, 6)), rng.normal(size=(6, 5)), rng.normal(size=5)
    w2, b2 = rng.normal(size=(5, 3)), rng.normal(size=3)
    gap = np.abs(subnetwork_average(x, w1, b1, w2, b2, 0.5, "relu") - weight_scaled(x, w1, b1, w2, b2, 0.5, "relu"))
    assert gap.max() > 1e-3


def test_threestep_dropout_at_test_time_is_the_ensemble_of_its_training_subnetworks(rng):
    """Inverted dropout: sub-networks scale kept inputs by 1/(1-p); their exact average is predict()."""
    from threestep import backend
    from threestep.layers import Dense, Dropout
    from threestep.models import Sequential

    m, rate = 6, 0.5
    previous = backend.floatx()
    backend.set_floatx("float64")  # the identity is exact; check it in float64
    try:
        model = Sequential([Dropout(rate, input_shape=(m,)), Dense(4), Dense(2)])
        x = rng.normal(size=(10, m))
        w1, b1, w2, b2 = model.get_weights()
        predicted = model.predict(x)
    finally:
        backend.set_floatx(previous)
    assert predicted.dtype == np.float64
    ensemble = subnetwork_average(x, w1 / (1 - rate), b1, w2, b2, rate)
    np.testing.assert_allclose(predicted, ensemble, rtol=0, atol=1e-12)


def test_maxout_copy_reproduces_a_relu_network_exactly(rng):
    relu = relu_net(7, [9, 5], 3)
    relu.build((None, 7))
    copy = maxout_copy(relu)
    x = rng.normal(size=(50, 7)).astype("float32")
    assert np.array_equal(copy.predict(x), relu.predict(x))
    assert [type(layer).__name__ for layer in copy.layers] == ["Maxout", "Maxout", "Dense"]


def test_maxout_unit_activations_are_convex_piecewise_linear():
    from threestep.layers import Maxout

    layer = Maxout(2, pieces=3, input_dim=1)
    layer.build_for((None, 1))
    # piece-major: unit 0 = max(-x, 0, x) = |x|; unit 1 = max(2x - 1, -1, -3) .
    layer.set_weights([np.array([[-1.0, 2.0, 0.0, 0.0, 1.0, 0.0]], dtype="float32"),
                       np.array([0.0, -1.0, 0.0, -1.0, 0.0, -3.0], dtype="float32")])
    x = np.linspace(-2, 2, 9)
    acts, winners = unit_activations(layer, x)
    np.testing.assert_allclose(acts[:, 0], np.abs(x))
    np.testing.assert_allclose(acts[:, 1], np.maximum(2 * x - 1, -1))
    assert (np.diff(acts, n=2, axis=0) >= -1e-12).all()
    assert winners[0, 0] == 0 and winners[-1, 0] == 2 and winners[-1, 1] == 0


def test_one_neuron_rnn_gives_w_to_the_999(capsys):
    for w in (1.0, 0.99, 0.5, 1.01):
        assert rnn_last_output(w) == pytest.approx(w ** 999, rel=1e-12, abs=1e-300)
    assert 2.0e4 < rnn_last_output(1.01) < 2.1e4  # the lecture's "about 20000"
    assert rnn_last_output(0.01) < 1e-300
    assert rnn_last_output(1.1, steps=11) == pytest.approx(1.1 ** 10, rel=1e-12)


def test_parity_table_labels_even_counts_of_ones_as_one():
    x, y = parity_table(3)
    assert x.shape == (8, 3) and y.shape == (8,)
    assert len({tuple(row) for row in x}) == 8
    np.testing.assert_array_equal(y, (x.sum(axis=1) % 2 == 0).astype("float32"))
    assert y[0] == 1 and y[list(map(tuple, x)).index((1.0, 0.0, 0.0))] == 0
    assert y.sum() == 4


def test_carpet_is_a_checkerboard_of_diamonds():
    pts = np.array([[0.1, 0.05], [0.6, 0.6], [-0.1, 0.05], [0.5, -0.1], [0.6, -0.6]])
    np.testing.assert_array_equal(carpet(pts), [0, 1, 0, 0, 1])
    # crossing one diagonal boundary (x + y = 1) flips the label
    assert carpet([[0.7, 0.29]])[0] != carpet([[0.7, 0.31]])[0]
    g = np.linspace(-1, 1, 201)
    grid = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
    assert abs(carpet(grid).mean() - 0.5) < 0.05
    assert carpet(grid).dtype == np.int64


def test_parameter_matching_helpers_agree_with_built_models():
    for hidden in ([], [7], [5, 5, 5]):
        model = mlp(11, hidden, 4)
        assert mlp_params(11, hidden, 4) == model.count_params()
    deep = mlp_params(784, [128] * 3, 10)
    fat = fat_width(784, 10, deep)
    assert abs(mlp_params(784, [fat], 10) - deep) <= 784 + 1 + 10


def test_markdown_table_escapes_pipes_and_formats_numbers():
    text = markdown_table([{"max |w|": 0.000012345, "n": 3, "ok": True}])
    assert text.splitlines()[0] == "| max \\|w\\| | n | ok |"
    assert text.splitlines()[2] == "| 1.234e-05 | 3 | yes |"
