"""Headless plots: learning curves with a baseline at epoch 0, line families, History.plot."""
import builtins
import os
import sys

import pytest

from threestep.callbacks import History
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.utils import plotting

PNG = b"\x89PNG\r\n\x1a\n"


def _is_png(path):
    with open(path, "rb") as f:
        return f.read(8) == PNG


def test_split_history_groups_loss_and_metrics():
    hist = {"loss": [1], "val_loss": [2], "accuracy": [0.5], "val_accuracy": [0.4], "lr": [0.1],
            "grad_norm/dense_1": [3.0]}
    loss, metrics = plotting.split_history(hist)
    assert loss == ["loss", "val_loss"]
    assert metrics == ["accuracy", "val_accuracy"]
    assert plotting.split_history(hist, metrics=["accuracy"]) == ([], ["accuracy", "val_accuracy"])


def test_plot_history_writes_png_with_baseline(tmp_path):
    path = plotting.plot_history({"loss": [1.0, 0.5, float("nan")], "accuracy": [0.3, 0.6, 0.7]},
                                 tmp_path / "h.png", baseline={"loss": 2.3, "accuracy": 0.1}, title="t")
    assert _is_png(path)


def test_plot_history_draws_baseline_at_epoch_zero(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    drawn = []
    original = Axes.plot

    def spy(self, xs, ys, *args, **kwargs):
        drawn.append((kwargs.get("label"), list(xs), list(ys)))
        return original(self, xs, ys, *args, **kwargs)

    monkeypatch.setattr(Axes, "plot", spy)
    plotting.plot_history({"loss": [1.0, 0.5], "val_loss": [1.2, 0.9]}, tmp_path / "h.png", baseline={"loss": 2.0})
    by_label = {label: (xs, ys) for label, xs, ys in drawn}
    assert by_label["loss"] == ([0, 1, 2], [2.0, 1.0, 0.5])
    assert by_label["val_loss"] == ([1, 2], [1.2, 0.9])


def test_plot_lines_logscale_and_bad_series(tmp_path):
    path = plotting.plot_lines({"a": ([1, 10, 100], [1.0, 0.0, 0.01]), "b": ([1, 2], [3, 4])},
                               tmp_path / "l.png", "lr", "loss", logx=True, logy=True)
    assert _is_png(path)
    with pytest.raises(ConfigError, match="equal length"):
        plotting.plot_lines({"a": ([1, 2], [1])}, tmp_path / "x.png", "x", "y")
    with pytest.raises(ConfigError, match="non-empty dict"):
        plotting.plot_lines({}, tmp_path / "x.png", "x", "y")


def test_errors_name_the_problem(tmp_path):
    with pytest.raises(ConfigError, match="nothing to plot"):
        plotting.plot_history({"lr": [0.1]}, tmp_path / "h.png")
    with pytest.raises(ConfigError, match="not in the history"):
        plotting.plot_history({"loss": [1.0]}, tmp_path / "h.png", metrics=["accuracy"])
    with pytest.raises(FileNotFoundError, match="does not exist"):
        plotting.plot_history({"loss": [1.0]}, tmp_path / "missing" / "h.png")


def test_missing_matplotlib_names_the_extra(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "matplotlib" or name.startswith("matplotlib."):
            raise ImportError("No module named 'matplotlib'")
        return real_import(name, *args, **kwargs)

    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setattr(builtins, "__import__", fake_import)
    with pytest.raises(ImportError, match=r'pip install "threestep\[plot\]"'):
        plotting.new_figure()


def test_history_plot_after_fit_with_baseline(tmp_path, rng):
    x = rng.normal(size=(64, 4)).astype("float32")
    y = (x[:, :1] > 0).astype("float32")
    model = Sequential([Dense(8, activation="relu", input_dim=4), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["accuracy"])
    history = model.fit(x, y, epochs=2, batch_size=16, verbose=0, baseline=True, validation_data=(x, y))
    assert set(history.baseline) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    # the baseline is the untrained model: evaluate before fit gives the same number
    assert isinstance(history, History)
    assert history.baseline["loss"] == pytest.approx(history.baseline["val_loss"], rel=1e-5)
    path = history.plot(str(tmp_path / "curves.png"))
    assert _is_png(path)


def test_baseline_equals_evaluate_before_training(rng):
    x = rng.normal(size=(40, 3)).astype("float32")
    y = rng.normal(size=(40, 1)).astype("float32")
    model = Sequential([Dense(1, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    before = model.evaluate(x, y, verbose=0)
    history = model.fit(x, y, epochs=1, verbose=0, baseline=True)
    assert history.baseline["loss"] == pytest.approx(before, rel=1e-6)
    assert model.fit(x, y, epochs=1, verbose=0).baseline is None


def _tiny_fit(rng, callbacks, epochs=2):
    x = rng.normal(size=(32, 3)).astype("float32")
    y = rng.normal(size=(32, 1)).astype("float32")
    model = Sequential([Dense(1, input_dim=3)])
    model.compile(loss="mse", optimizer="sgd")
    return model.fit(x, y, epochs=epochs, verbose=0, baseline=True, callbacks=callbacks)


def test_live_plot_writes_png_each_epoch(rng, tmp_path):
    from threestep.callbacks import LivePlot
    from threestep.callbacks.live_plot import in_notebook

    assert in_notebook() is False  # pytest is not a Jupyter kernel
    live = LivePlot(tmp_path / "live.png", min_interval=0)
    _tiny_fit(rng, [live], epochs=3)
    assert live.draws == 3 and live.history["loss"] and _is_png(tmp_path / "live.png")


def test_live_plot_redraws_at_most_once_per_interval_and_after_the_last_epoch(rng, tmp_path):
    from threestep.callbacks import LivePlot

    live = LivePlot(tmp_path / "live.png", min_interval=3600)
    _tiny_fit(rng, [live], epochs=20)
    assert live.draws == 2  # the first epoch, then the last one at the end of training
    assert len(live.history["loss"]) == 20


def test_live_plot_outside_a_notebook_needs_a_path(rng, tmp_path, monkeypatch):
    from threestep.callbacks import LivePlot

    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="LivePlot\\('curves.png'\\)"):
        _tiny_fit(rng, [LivePlot()], epochs=1)
    assert os.listdir(tmp_path) == []


def test_history_plot_outside_a_notebook_needs_a_path(rng, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    history = _tiny_fit(rng, [], epochs=1)
    with pytest.raises(ConfigError, match="history.plot\\('history.png'\\)"):
        history.plot()
    assert os.listdir(tmp_path) == []
    assert _is_png(history.plot(tmp_path / "h.png"))


def test_live_plot_displays_in_a_notebook(rng, tmp_path, monkeypatch):
    import types

    from threestep.callbacks import LivePlot

    shown = []
    fake = types.ModuleType("IPython")
    fake.get_ipython = lambda: types.SimpleNamespace(kernel=object())
    display = types.ModuleType("IPython.display")
    display.Image = lambda filename: ("image", filename)
    display.clear_output = lambda wait=False: shown.append(("clear", wait))
    display.display = lambda obj: shown.append(obj)
    monkeypatch.setitem(sys.modules, "IPython", fake)
    monkeypatch.setitem(sys.modules, "IPython.display", display)
    _tiny_fit(rng, [LivePlot(tmp_path / "live.png", min_interval=0)], epochs=2)
    assert shown == [("clear", True), ("image", str(tmp_path / "live.png"))] * 2
    shown.clear()
    _tiny_fit(rng, [LivePlot(min_interval=0)], epochs=1)  # no path: a temporary file, removed after
    assert len(shown) == 2 and not os.path.exists(shown[1][1])


def test_history_plot_draws_gradient_monitor_columns(tmp_path):
    hist = {"loss": [1.0, 0.5], "grad_norm/dense_1": [1e-4, 2e-4], "grad_norm/dense_2": [0.1, 0.2],
            "saturated/dense_1": [30.0, 40.0]}
    assert plotting.split_history(hist) == (["loss"], [])
    path = plotting.plot_history(hist, tmp_path / "g.png", metrics=["loss", "grad_norm", "saturated"])
    assert _is_png(path)
    path = plotting.plot_history(hist, tmp_path / "g2.png", metrics=["grad_norm"])
    assert _is_png(path)


def test_plots_leave_the_pyplot_backend_alone(tmp_path):
    """A notebook's inline backend must survive: figures are drawn without importing pyplot."""
    import subprocess

    code = ("import sys; from threestep.utils.plotting import plot_history, plot_lines; "
            f"plot_lines({{'a': ([0, 1], [1, 2])}}, {str(tmp_path / 'a.png')!r}, 'x', 'y'); "
            f"plot_history({{'loss': [1.0, 0.5]}}, {str(tmp_path / 'b.png')!r}); "
            "print('matplotlib.pyplot' in sys.modules, 'matplotlib' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "True"]
    assert _is_png(tmp_path / "a.png") and _is_png(tmp_path / "b.png")
