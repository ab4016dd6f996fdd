"""threestep.search: the NSGA-II structure search, its SQLite study that resumes, the Pareto
front, the rebuilt best model, and the `threestep search` command."""
import numpy as np
import pytest

from threestep.errors import ConfigError, DataError
from threestep.experiments.structure import hypervolume
from threestep.search import SearchSpace, build_model, model_cost, pareto_rows, search_structure
from threestep.search import cli as search_cli

SPACE = SearchSpace(depth=(1, 2), widths=(4, 8), activations=("relu", "tanh"), dropout=(0.0, 0.2),
                    optimizers=("adam", "momentum"), learning_rate=(1e-3, 1e-1))


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    centres = rng.normal(scale=3, size=(3, 5))
    y = rng.integers(0, 3, 240)
    return (centres[y] + rng.normal(size=(240, 5))).astype("float32"), y.astype("int64")


@pytest.mark.slow  # SQLAlchemy start-up and 7 trainings
def test_search_stores_a_study_that_resumes_and_returns_the_pareto_front(blobs, tmp_path, capsys):
    x, y = blobs
    url = f"sqlite:///{tmp_path / 'study.db'}"
    first = search_structure(x, y, n_trials=4, epochs=2, space=SPACE, population_size=2, storage=url,
                             study_name="blobs", seed=0)
    printed = capsys.readouterr().out
    assert "Pareto front of 4 trials" in printed and "val accuracy" in printed
    assert (tmp_path / "study.db").exists()
    again = search_structure(x, y, n_trials=3, epochs=2, space=SPACE, population_size=2, storage=url,
                             study_name="blobs", seed=0, retrain=False, verbose=0)
    assert len(again.study.trials) == 7 and again.model is None  # resumed: 4 earlier trials + 3 new
    values = [tuple(t.values) for t in again.study.trials]
    front = [(r["val accuracy"], r["params"]) for r in pareto_rows(again.study)]
    for acc, size in front:  # nothing in the study dominates a front member
        assert not any(a >= acc and s <= size and (a > acc + 1e-4 or s < size) for a, s in values)
    best = first.best_params
    assert first.model.count_params() == model_cost(best, 5, 3) == first.front[0]["params"]
    assert first.model.predict(x[:3]).shape == (3, 3)
    assert first.front[0]["val accuracy"] == max(r["val accuracy"] for r in first.front)


def test_flops_objective_and_front_plot(blobs, tmp_path):
    x, y = blobs
    result = search_structure(x, y, n_trials=3, epochs=1, space=SPACE, population_size=2, storage=None,
                              cost="flops", sampler="random", seed=1, retrain=False, verbose=0)
    for row in result.front:
        assert "flops" in row and row["flops"] % 2 == 0
    path = result.plot_front(str(tmp_path / "front.png"))
    assert (tmp_path / "front.png").stat().st_size > 1000 and path.endswith("front.png")


def test_space_and_model_cost_agree_with_the_built_model():
    params = {"depth": 2, "widths": [7, 3], "activation": "relu", "dropout": 0.1, "optimizer": "adam",
              "learning_rate": 0.01}
    model = build_model(params, (11,), 4)
    assert model.count_params() == model_cost(params, 11, 4) == 11 * 7 + 7 + 7 * 3 + 3 + 3 * 4 + 4
    assert model_cost(params, 11, 4, "flops") == 2 * (11 * 7 + 7 * 3 + 3 * 4)
    image = build_model(params, (4, 4, 1), 2)
    assert image.count_params() == model_cost(params, 16, 2)
    with pytest.raises(ConfigError, match="depth"):
        SearchSpace(depth=(3, 1))
    with pytest.raises(ConfigError, match="optimizers"):
        SearchSpace(optimizers=("lbfgs",))
    with pytest.raises(ConfigError, match="kind"):
        model_cost(params, 11, 4, "latency")


def test_bad_arguments_raise_clear_errors(blobs):
    x, y = blobs
    with pytest.raises(ConfigError, match="sampler"):
        search_structure(x, y, n_trials=1, sampler="cmaes", storage=None, verbose=0)
    with pytest.raises(DataError, match="integer class labels"):
        search_structure(x, y.astype("float32"), n_trials=1, storage=None, verbose=0)
    with pytest.raises(DataError, match="same number"):
        search_structure(x, y[:10], n_trials=1, storage=None, verbose=0)
    with pytest.raises(ConfigError, match="cost"):
        search_structure(x, y, n_trials=1, cost="latency", storage=None, verbose=0)


def test_hypervolume_of_a_staircase():
    assert hypervolume([(10, 0.5)], 1000) == pytest.approx(2 * 0.5)
    assert hypervolume([(10, 0.5), (100, 0.8), (100, 0.2)], 1000) == pytest.approx(0.5 + 0.8)
    assert hypervolume([], 1000) == 0


def test_search_command_runs_on_an_npz_file(blobs, tmp_path, capsys):
    import argparse

    from threestep.cli import main

    x, y = blobs
    data = tmp_path / "blobs.npz"
    np.savez(data, x_train=x[:200], y_train=y[:200], x_test=x[200:], y_test=y[200:])
    code = main(["search", "--data", str(data), "--trials", "2", "--epochs", "1", "--population", "2",
                 "--storage", f"sqlite:///{tmp_path / 's.db'}", "--plot", str(tmp_path / "f.png"),
                 "--save", str(tmp_path / "best.zip")])
    out = capsys.readouterr().out
    assert code == 0 and "Pareto front of 2 trials" in out and "test accuracy" in out
    assert "study 'threestep-search-blobs'" in out and (tmp_path / "best.zip").exists()
    parser = argparse.ArgumentParser()
    search_cli.add_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit, match="--data must be one of"):
        search_cli.run(parser.parse_args(["search", "--data", "imagenet", "--storage", "memory"]))
    with pytest.raises(SystemExit, match="--trials must be >= 0"):
        search_cli.run(parser.parse_args(["search", "--trials", "-1"]))
