"""The recipe doctor: real runs that go wrong in the lecture's ways, and the verdict for each."""
import math
import warnings

import pytest

from threestep import backend
from threestep.callbacks import GradientMonitor
from threestep.datasets import digits
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.models.diagnosis import Diagnosis, diagnose
from threestep.optimizers import SGD, Adam
from threestep.utils import to_categorical


@pytest.fixture(scope="module")
def data():
    (x, y), (xt, yt) = digits.load_data()
    return ((x.reshape(len(x), 64).astype("float32") / 16, to_categorical(y, 10)),
            (xt.reshape(len(xt), 64).astype("float32") / 16, to_categorical(yt, 10)))


def _run(data, act, depth, width, optimizer, n_train, epochs, batch_size=32):
    (x, y), val = data
    backend.set_seed(0)
    layers = [Dense(width, activation=act, input_dim=64)] + [Dense(width, activation=act) for _ in range(depth - 1)]
    model = Sequential(layers + [Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(x[:n_train], y[:n_train], epochs=epochs, batch_size=batch_size, verbose=0, validation_data=val,
                  baseline=True, callbacks=[GradientMonitor(every=5)])
    return model, model.diagnose()


def test_a_deep_sigmoid_mlp_has_vanishing_gradients(data):
    _, d = _run(data, "sigmoid", 6, 32, SGD(0.1), 512, 3)
    assert d.verdict == "training-poor"
    assert "vanishing gradients" in d.causes
    assert d.evidence["grad_ratio_first_to_last"] < 0.01
    text = d.report()
    assert "NOT overfitting" in text and "ReLU" in text and "Adam" in text
    assert "Do NOT add dropout" in text


def test_b_overparameterised_net_on_small_set_overfits(data):
    _, d = _run(data, "relu", 2, 128, Adam(0.001), 40, 40, batch_size=20)
    assert d.verdict == "overfitting"
    assert d.evidence["final_accuracy"] == pytest.approx(1.0)
    assert d.evidence["generalisation_gap"] > 0.1
    best = d.evidence["best_epoch"]
    assert 1 <= best <= 40
    assert f"epoch {best}" in d.report() or f"epoch ({best})" in d.report()
    assert "Dropout" in d.report() and "l2" in d.report()


def test_c_diverging_learning_rate(data):
    model, d = _run(data, "tanh", 2, 64, SGD(3.0), 512, 3)
    assert d.verdict == "training-poor"
    assert d.causes == ["learning rate too high (loss diverging)"]  # saturation here is a symptom, not a cause
    assert max(model.history.history["loss"]) > 1.5 * d.evidence["reference_loss"]
    assert "Lower the learning rate" in d.report()


def test_d_healthy_run_is_good(data):
    _, d = _run(data, "relu", 2, 64, Adam(0.003), 1000, 8)
    assert d.verdict == "good", d.report()
    assert d.causes == []
    assert d.evidence["final_accuracy"] > 0.95


def test_diagnose_accepts_run_json_and_grad_stats():
    run = {"epochs": [1, 2, 3], "baseline": {"loss": 2.3, "accuracy": 0.1},
           "history": {"loss": [2.29, 2.29, 2.28], "accuracy": [0.11, 0.1, 0.12]}}
    d = diagnose(run, grad_stats={"dense_1": [1e-6, 1e-6, 1e-6], "dense_2": [0.5, 0.5, 0.5]})
    assert d.verdict == "training-poor"
    assert "vanishing gradients" in d.causes
    assert d.evidence["grad_ratio_first_to_last"] == pytest.approx(2e-6)


def test_flat_loss_without_gradient_evidence_blames_learning_rate():
    d = diagnose({"loss": [1.0, 0.99, 0.98]}, baseline={"loss": 1.0})
    assert d.verdict == "training-poor"
    assert d.causes == ["learning rate too low or optimizer stuck (loss flat)"]


def test_nan_loss_is_divergence_and_no_validation_is_said():
    assert diagnose({"loss": [2.0, math.nan]}).causes[0].startswith("learning rate too high")
    d = diagnose({"loss": [1.0, 0.05], "accuracy": [0.5, 0.99]}, chance=0.5)
    assert d.verdict == "good" and "No validation data" in d.report()


def test_rising_validation_loss_is_overfitting_with_best_epoch():
    hist = {"loss": [1.0, 0.3, 0.1, 0.05], "val_loss": [1.0, 0.5, 0.7, 0.9]}
    d = diagnose(hist, baseline={"loss": 2.0})
    assert d.verdict == "overfitting"
    assert d.evidence["best_epoch"] == 2
    assert "lowest at epoch 2" in d.report() and "EarlyStopping" in d.report()
    assert isinstance(d, Diagnosis) and "overfitting" in repr(d)


def test_bad_history():
    with pytest.raises(ConfigError, match="no 'loss'"):
        diagnose({"accuracy": [0.5]})
    with pytest.raises(ConfigError, match="Call fit first"):
        Sequential([Dense(1, input_dim=2)]).diagnose()


@pytest.mark.parametrize("optimizer, adaptive", [("adam", True), ("rmsprop", True), ("sgd", False), (None, False)])
def test_advice_fits_the_optimizer_the_run_used(optimizer, adaptive):
    d = diagnose({"loss": [1.0, 0.99, 0.98]}, baseline={"loss": 1.0}, optimizer=optimizer)
    text = " ".join(d.advice)
    assert ("Use an adaptive learning rate" in text) is not adaptive
    if adaptive:
        assert f"already uses an adaptive learning rate ({optimizer})" in text


def test_doctor_reads_the_optimizer_from_run_json(tmp_path, capsys):
    from threestep import cli

    run = tmp_path / "run"
    run.mkdir()
    (run / "history.json").write_text('{"format": 1, "epochs": [1, 2, 3], "history": {"loss": [1.0, 0.99, 0.98]},'
                                      ' "baseline": {"loss": 1.0}, "best": null, "fits": []}')
    (run / "run.json").write_text('{"optimizer": "adam"}')
    assert cli.main(["doctor", str(run)]) == 0
    out = capsys.readouterr().out
    assert "already uses an adaptive learning rate (adam)" in out and "Use an adaptive learning rate" not in out
