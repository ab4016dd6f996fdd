"""`threestep train / show / doctor`: runs from the command line, and their errors."""
import json
import os
import textwrap

import pytest

from threestep import cli
from threestep.cli import runs as cli_runs
from threestep.errors import DatasetError

USER_FILE = """
import numpy as np
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.utils import to_categorical


def build_model():
    return Sequential([Dense(16, activation="relu", input_dim=6), Dense(3, activation="softmax")])


def load_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 6)).astype("float32")
    y = to_categorical(np.argmax(x[:, :3], axis=1), 3)
    return (x[:90], y[:90]), (x[90:], y[90:])
"""


@pytest.fixture
def user_file(tmp_path):
    path = tmp_path / "my_model.py"
    path.write_text(textwrap.dedent(USER_FILE))
    return path


def test_train_user_file_writes_run_then_show_and_doctor(user_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert cli.main(["train", str(user_file), "--epochs", "3", "--batch-size", "16", "--out", str(out),
                     "--verbose", "2", "--lr", "0.01"]) == 0
    text = capsys.readouterr().out
    assert "Epoch 3/3" in text and "Test accuracy" in text
    run = json.loads((out / "history.json").read_text())
    assert run["epochs"] == [1, 2, 3] and run["baseline"]["loss"] > 0
    spec = json.loads((out / "run.json").read_text())
    assert spec["file"] == str(user_file) and spec["lr"] == 0.01 and spec["command"].startswith("threestep train")

    os.remove(out / "history.png")
    assert cli.main(["show", str(out)]) == 0
    assert (out / "history.png").exists()
    assert str(out / "history.png") in capsys.readouterr().out

    assert cli.main(["doctor", str(out), "--overfit-one-batch", "--steps", "200"]) == 0
    text = capsys.readouterr().out
    assert "Verdict:" in text and "Evidence:" in text and "PASSED" in text


def test_overfit_one_batch_fails_for_a_stuck_model(tmp_path, capsys):
    path = tmp_path / "stuck.py"
    path.write_text(textwrap.dedent(USER_FILE).replace(
        "def build_model():\n    return", "def build_model():\n    from threestep.optimizers import SGD\n"
        "    m = Sequential([Dense(16, activation='relu', input_dim=6), Dense(3, activation='softmax')])\n"
        "    m.compile(loss='categorical_crossentropy', optimizer=SGD(1e-7), metrics=['accuracy'])\n    return m\n"
        "    return"))
    out = tmp_path / "run"
    assert cli.main(["train", "--file", str(path), "--epochs", "1", "--out", str(out), "--verbose", "0"]) == 0
    capsys.readouterr()
    assert cli.main(["doctor", str(out), "--overfit-one-batch", "--steps", "30"]) == 1
    text = capsys.readouterr().out
    assert "training-poor" in text and "FAILED" in text and "bug" in text


def test_train_builtin_mlp_on_digits_prints_progress_bar(capsys):
    assert cli.main(["train", "--data", "digits", "--model", "mlp", "--epochs", "1", "--optimizer", "adam"]) == 0
    text = capsys.readouterr().out
    assert "Epoch 1/1" in text and "val_accuracy" in text
    accuracy = float(text.strip().splitlines()[-1].split(":")[-1])
    assert accuracy > 0.8


@pytest.mark.parametrize("kind, shape", [("lecture-cnn", (8, 8)), ("lecture-cnn", (28, 28)), ("lecture-cnn", (40,)),
                                         ("lstm", (8, 8)), ("lstm", (40,)), ("mlp", (28, 28))])
def test_builtin_models_fit_every_dataset_shape(kind, shape, rng):
    x = cli_runs.shape_for(kind, rng.random((2,) + shape).astype("float32"))
    model = cli_runs.build_builtin(kind, x.shape[1:], 10)
    assert model.predict(x).shape == (2, 10)


def test_errors_are_one_clear_line(tmp_path, capsys, monkeypatch):
    assert cli.main(["doctor", str(tmp_path / "missing")]) == 2
    assert "No run directory" in capsys.readouterr().err

    no_build = tmp_path / "empty.py"
    no_build.write_text("x = 1\n")
    assert cli.main(["train", str(no_build), "--verbose", "0"]) == 2
    assert "does not define build_model()" in capsys.readouterr().err
    assert cli.main(["train", str(tmp_path / "nofile.py"), "--verbose", "0"]) == 2
    assert "no such file" in capsys.readouterr().err

    with pytest.raises(SystemExit):
        cli.main(["train", "--data", "cifar"])
    assert "invalid choice: 'cifar'" in capsys.readouterr().err

    def missing(*args, **kwargs):
        raise DatasetError("Fashion-MNIST files not found; download them with ... or pass path=.")

    monkeypatch.setattr("threestep.datasets.fashion_mnist.load_data", missing)
    assert cli.main(["train", "--data", "fashion_mnist", "--verbose", "0"]) == 2
    assert "Fashion-MNIST files not found" in capsys.readouterr().err


def test_doctor_overfit_needs_a_train_run(tmp_path, capsys):
    from threestep.callbacks.run_logger import write_json

    write_json(tmp_path / "history.json", {"format": 1, "epochs": [1], "history": {"loss": [1.0]},
                                           "baseline": None, "best": None, "fits": []})
    assert cli.main(["doctor", str(tmp_path), "--overfit-one-batch"]) == 2
    assert "run.json" in capsys.readouterr().err


def test_mlp_options_build_the_deep_sigmoid_net():
    model = cli_runs.build_builtin("mlp", (64,), 10, activation="sigmoid", hidden_layers=4, units=16)
    assert [layer.units for layer in model.layers] == [16, 16, 16, 16, 10]
    assert [layer.output_activation for layer in model.layers] == ["sigmoid"] * 4 + ["softmax"]
    args = cli.build_parser().parse_args(["train", "--activation", "tanh", "--hidden-layers", "3", "--units", "8"])
    assert (args.activation, args.hidden_layers, args.units) == ("tanh", 3, 8)


def test_user_compiled_model_keeps_its_loss_with_a_new_optimizer(tmp_path, capsys):
    path = tmp_path / "compiled.py"
    path.write_text(textwrap.dedent(USER_FILE).replace(
        "def build_model():\n    return", "def build_model():\n"
        "    m = Sequential([Dense(16, activation='relu', input_dim=6), Dense(3)])\n"
        "    m.compile(loss='mse', optimizer='sgd', metrics=['mae'])\n    return m\n    return"))
    assert cli.main(["train", str(path), "--epochs", "1", "--optimizer", "rmsprop", "--verbose", "0"]) == 0
    text = capsys.readouterr().out
    assert "Test loss" in text and "Test mae" in text and "Test accuracy" not in text


INTEGER_LABELS_FILE = """
from threestep.datasets import digits
from threestep.layers import Dense
from threestep.models import Sequential


def build_model():
    return Sequential([Dense(32, activation="relu", input_dim=64), Dense(10, activation="softmax")])


def load_data():
    (x, y), (xt, yt) = digits.load_data()
    return (x.reshape(-1, 64) / 16.0, y), (xt.reshape(-1, 64) / 16.0, yt)
"""


def test_train_uncompiled_user_model_with_integer_labels_picks_sparse_loss(tmp_path, capsys):
    path = tmp_path / "digits_model.py"
    path.write_text(textwrap.dedent(INTEGER_LABELS_FILE))
    out = tmp_path / "run"
    assert cli.main(["train", str(path), "--epochs", "2", "--out", str(out), "--verbose", "0"]) == 0
    accuracy = float(capsys.readouterr().out.split("Test accuracy:")[1].split()[0])
    assert accuracy > 0.3  # it trained (before: "expects one-hot labels" and exit 2)


@pytest.mark.parametrize("y, units, loss", [
    ([0, 2, 1], 3, "sparse_categorical_crossentropy"),
    ([[0], [1], [1]], 1, "binary_crossentropy"),
    ([[1.0, 0.0], [0.0, 1.0]], 2, "categorical_crossentropy"),
    ([0.5, 1.7, -2.0], 1, "mse"),
    ([[0.5, 3.0], [1.0, 2.0]], 2, "mse"),
])
def test_loss_for_labels(y, units, loss):
    import numpy as np

    assert cli_runs.loss_for_labels(np.asarray(y), units) == loss


def test_user_file_importing_a_sibling_says_how_to_run_it(tmp_path, capsys):
    """The user's file is loaded by path and the import path is left alone: a helper beside it is
    not importable, and the error says how to run it (PYTHONPATH=folder)."""
    import sys

    (tmp_path / "helper_beside_model.py").write_text("UNITS = 4\n")
    path = tmp_path / "model_with_helper.py"
    path.write_text("from helper_beside_model import UNITS\n\ndef build_model():\n    return None\n")
    before = list(sys.path)
    assert cli.main(["train", str(path), "--epochs", "1", "--verbose", "0"]) == 2
    err = capsys.readouterr().err
    assert "helper_beside_model" in err and f"PYTHONPATH={tmp_path}" in err
    assert sys.path == before
