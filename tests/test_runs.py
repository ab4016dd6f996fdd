"""RunLogger: a run directory with history, models, gradient stats and plots; resuming appends."""
import json
import math
import os

import numpy as np
import pytest

from threestep import backend
from threestep.callbacks import RunLogger
from threestep.callbacks.run_logger import load_run, plot_run
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.saving import load_model


def _data(rng, n=96):
    x = rng.normal(size=(n, 4)).astype("float32")
    y = (x[:, :1] + 0.5 * x[:, 1:2] > 0).astype("float32")
    return x, y


def _model():
    backend.set_seed(0)
    model = Sequential([Dense(8, activation="relu", input_dim=4), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def test_run_directory_contents(rng, tmp_path):
    x, y = _data(rng)
    model = _model()
    run_dir = tmp_path / "run"
    logger = RunLogger(run_dir, gradient_every=2, run_info={"data": "synthetic", "command": "pytest"})
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, validation_split=0.25, baseline=True,
                        callbacks=[logger])
    files = set(os.listdir(run_dir))
    assert {"history.json", "run.json", "gradients.json", "model_best.ts", "model_last.ts", "history.png",
            "grad_norm.png", "update_ratio.png", "dead_relu.png"} <= files
    assert not [f for f in files if f.startswith(".")]  # no temporary files left behind
    run = load_run(run_dir)
    assert run["epochs"] == [1, 2, 3]
    for key in ("loss", "val_loss", "accuracy", "lr"):
        assert run["history"][key] == pytest.approx(history.history[key])
    assert run["baseline"] == pytest.approx(history.baseline)
    assert len(run["history"]["epoch_time"]) == 3
    assert run["history"]["wall_time"] == pytest.approx(np.cumsum(run["history"]["epoch_time"]))
    name = model.layers[0].name
    assert run["history"][f"grad_norm/{name}"] == pytest.approx(history.history[f"grad_norm/{name}"])
    best_epoch = int(np.argmin(history.history["val_loss"])) + 1
    assert run["best"] == {"monitor": "val_loss", "value": pytest.approx(min(history.history["val_loss"])),
                           "epoch": best_epoch}
    records = json.loads((run_dir / "gradients.json").read_text())["records"]
    assert [(r["epoch"], r["batch"]) for r in records][:4] == [(0, 0), (0, 2), (0, 4), (1, 0)]
    info = json.loads((run_dir / "run.json").read_text())
    assert info["data"] == "synthetic" and info["command"] == "pytest" and "created" in info
    last = load_model(str(run_dir / "model_last.ts"))
    np.testing.assert_allclose(last.predict(x), model.predict(x), rtol=1e-6)


def test_best_model_is_the_best_epoch(rng, tmp_path):
    x, y = _data(rng)
    xv, yv = _data(np.random.default_rng(5), 32)
    model = _model()
    model.fit(x, y, epochs=4, batch_size=16, verbose=0, validation_data=(xv, yv),
              callbacks=[RunLogger(tmp_path, gradient_every=None, plots=False)])
    run = load_run(tmp_path)
    best = load_model(str(tmp_path / "model_best.ts"))
    assert best.evaluate(xv, yv, verbose=0)[0] == pytest.approx(run["best"]["value"], rel=1e-5)
    assert "grad_norm" not in " ".join(run["history"])


def test_resume_with_initial_epoch_keeps_earlier_epochs(rng, tmp_path):
    x, y = _data(rng)
    model = _model()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[RunLogger(tmp_path, plots=False)])
    first = load_run(tmp_path)["history"]["loss"]
    resumed = load_model(str(tmp_path / "model_last.ts"))
    resumed.fit(x, y, epochs=5, initial_epoch=2, batch_size=16, verbose=0,  # redo epoch 3, then 4, 5
                callbacks=[RunLogger(tmp_path, plots=False)])
    run = load_run(tmp_path)
    assert run["epochs"] == [1, 2, 3, 4, 5]
    assert run["history"]["loss"][:2] == first[:2]
    assert len(run["fits"]) == 2 and run["fits"][1]["first_epoch"] == 3
    assert run["best"]["monitor"] == "loss"


def test_second_fit_from_zero_appends(rng, tmp_path):
    x, y = _data(rng)
    model = _model()
    model.fit(x, y, epochs=2, verbose=0, baseline=True, callbacks=[RunLogger(tmp_path, plots=False)])
    before = load_run(tmp_path)
    model.fit(x, y, epochs=2, verbose=0, callbacks=[RunLogger(tmp_path, plots=False)])
    run = load_run(tmp_path)
    assert run["epochs"] == [1, 2, 3, 4]
    assert run["history"]["loss"][:2] == before["history"]["loss"]
    assert run["baseline"] == before["baseline"]
    assert run["history"]["wall_time"] == sorted(run["history"]["wall_time"])
    records = json.loads((tmp_path / "gradients.json").read_text())["records"]
    assert sorted({r["epoch"] for r in records}) == [0, 1, 2, 3]


def test_nan_values_survive_json_and_plots(tmp_path):
    run = {"format": 1, "epochs": [1, 2], "history": {"loss": [1.0, "nan"], "grad_norm/d": [0.1, "inf"]},
           "baseline": None, "best": None, "fits": []}
    (tmp_path / "history.json").write_text(json.dumps(run))
    loaded = load_run(tmp_path)
    assert math.isnan(loaded["history"]["loss"][1]) and math.isinf(loaded["history"]["grad_norm/d"][1])
    paths = plot_run(str(tmp_path))
    assert [os.path.basename(p) for p in paths] == ["history.png", "grad_norm.png"]


def test_missing_or_foreign_run_directory(tmp_path):
    with pytest.raises(ConfigError, match="No run directory"):
        load_run(tmp_path / "nope")
    with pytest.raises(ConfigError, match="no history.json"):
        load_run(tmp_path)


def test_gradient_stats_survive_an_sgd_step_folded_into_backward(tmp_path):
    """Plain SGD folds its step into the dW GEMM on NumPy (and fit writes gradients into the
    optimizer's packed buffer on the GPU), leaving no kernel ``.grad``: a RunLogger sampling
    gradients says it needs them, so fit keeps them and its norms include the kernels'. The
    reference run adds a callback that needs gradients; before the fix the RunLogger-only run
    measured the biases alone (0.11 against 0.31)."""
    from threestep.callbacks import LambdaCallback

    def norms(extra):
        x, y = _data(np.random.default_rng(3))
        model = _model()
        model.compile(loss="binary_crossentropy", optimizer="sgd")
        logger = RunLogger(tmp_path / str(len(extra)), gradient_every=1, plots=False, save_models=False)
        history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[logger] + extra)
        return history.history[f"grad_norm/{model.layers[0].name}"]

    assert RunLogger(tmp_path, gradient_every=3).needs_gradients
    assert not RunLogger(tmp_path, gradient_every=None).needs_gradients
    assert norms([]) == pytest.approx(norms([LambdaCallback(needs_gradients=True)]), rel=1e-6)
