"""`threestep visualize MODEL_FILE --layer NAME --what filters|neurons|classes --out DIR`."""
import numpy as np
import pytest

import threestep as ts
from threestep import cli
from threestep.layers import Conv2D, Dense, Flatten, MaxPooling2D
from threestep.models import Sequential

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def model_file(tmp_path):
    ts.backend.set_seed(0)
    model = Sequential([Conv2D(4, 3, activation="relu", input_shape=(8, 8, 1), name="conv"), MaxPooling2D(2),
                        Flatten(), Dense(6, activation="relu", name="hidden"), Dense(3, activation="softmax",
                                                                                      name="out")])
    path = tmp_path / "model.ts"
    model.save(path)
    return path


@pytest.mark.parametrize("what,layer,files", [
    ("filters", "conv", ["conv_filters.png", "conv_weights.png"]),
    ("neurons", "hidden", ["hidden_neurons.png"]),
    ("classes", None, ["out_classes.png"]),
])
def test_visualize_writes_png_grids(model_file, tmp_path, capsys, what, layer, files):
    out = tmp_path / "vis"
    argv = ["visualize", str(model_file), "--what", what, "--out", str(out), "--steps", "5", "--l1", "0.01"]
    if layer:
        argv += ["--layer", layer]
    assert cli.main(argv) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(files)
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"wrote {out / name}" for name in files]
    for name in files:
        assert (out / name).read_bytes()[:8] == PNG


def test_default_layers_and_max_units(model_file, tmp_path):
    out = tmp_path / "vis"
    assert cli.main(["visualize", str(model_file), "--what", "filters", "--out", str(out), "--steps", "2",
                     "--max-units", "2"]) == 0
    assert (out / "conv_filters.png").exists()
    assert cli.main(["visualize", str(model_file), "--what", "neurons", "--out", str(out), "--steps", "2"]) == 0
    assert (out / "hidden_neurons.png").exists()  # the last hidden layer with weights


def test_visualize_errors(model_file, tmp_path, capsys):
    out = str(tmp_path / "vis")
    assert cli.main(["visualize", str(model_file), "--layer", "nope", "--out", out]) == 2
    assert "no layer named 'nope'" in capsys.readouterr().err
    assert cli.main(["visualize", str(model_file), "--layer", "hidden", "--what", "filters", "--out", out]) == 2
    assert "no filters" in capsys.readouterr().err
    assert cli.main(["visualize", str(tmp_path / "missing.ts"), "--out", out]) == 2
    assert "threestep visualize:" in capsys.readouterr().err
    assert not np.any([p.suffix == ".png" for p in tmp_path.glob("vis/*")])
