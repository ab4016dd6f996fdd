"""``RunLogger``: one directory per training run, everything needed to look at it later.

A run directory holds:

- ``history.json``: per-epoch metrics (``loss``, ``val_*``, ``lr``, ``epoch_time`` and
  ``wall_time`` in seconds, the GradientMonitor's ``grad_norm/<layer>`` ... columns), the
  baseline (metrics before any update, from ``fit(..., baseline=True)``), the best epoch,
  and one entry per ``fit`` call;
- ``model_best.ts`` (best by ``monitor``) and ``model_last.ts``: full model files with the
  training state, so ``load_model('model_last.ts').fit(..., initial_epoch=k)`` resumes;
- ``gradients.json``: the per-layer statistics of every sampled batch;
- ``run.json``: what produced the run (dataset, model spec, command), for ``threestep
  doctor --overfit-one-batch``; ``history.png``, ``grad_norm.png``, ... plots.

Resuming (``fit(..., initial_epoch=k)``) keeps the epochs before ``k``; a second ``fit``
from epoch 0 into the same directory appends after the epochs already there. Every file
is written atomically (temporary file, fsync, rename).
"""
import datetime
import json
import math
import os
import time
import warnings

from ..errors import ConfigError
from .base import Callback
from .checkpoint import ModelCheckpoint
from .gradient_monitor import GradientMonitor, plot_layer_stats, stats_from_history

HISTORY, RUN, GRADIENTS = "history.json", "run.json", "gradients.json"
BEST, LAST = "model_best.ts", "model_last.ts"
FORMAT = 1


def _number(value):
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else str(value)  # JSON has no NaN: 'nan', 'inf'


def write_json(path, data):
    """Write ``data`` as JSON to ``path`` atomically."""
    from ..saving.atomic import atomic_write  # noqa: PLC0415

    with atomic_write(path) as stream:
        stream.write(json.dumps(data, indent=1).encode("utf-8"))


def read_json(path, default=None):
    if not os.path.exists(path):
        return default
    with open(path, encoding="utf-8") as f:
        return json.load(f)


def load_run(directory):
    """A run directory's ``history.json`` as a dict, with NaN/inf restored as floats.

    Raises ``ConfigError`` naming the directory when it is not a run.
    """
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ConfigError(f"No run directory at {directory!r}. Create one with RunLogger(directory) or "
                          "`threestep train ... --out DIR`.")
    data = read_json(os.path.join(directory, HISTORY))
    if data is None:
        raise ConfigError(f"{directory!r} is not a run directory: it has no {HISTORY}. "
                          "Runs are written by RunLogger or `threestep train --out DIR`.")
    data["history"] = {k: [float(v) if isinstance(v, str) else v for v in vs] for k, vs in data["history"].items()}
    return data


def plot_run(directory, run=None):
    """(Re)write a run's plots: ``history.png`` and one PNG per gradient statistic."""
    run = run or load_run(directory)
    from ..utils.plotting import plot_history  # noqa: PLC0415

    history = {k: [math.nan if v is None else v for v in vs] for k, vs in run["history"].items()}
    paths = [plot_history(history, os.path.join(directory, "history.png"), baseline=run.get("baseline"),
                          title=os.path.basename(os.path.abspath(directory)))]
    stats = stats_from_history(history, [e - 1 for e in run["epochs"]] if run.get("epochs") else None)
    for stat in stats:
        paths.append(plot_layer_stats(stats, os.path.join(directory, f"{stat}.png"), stat))
    return paths


class RunLogger(Callback):
    """Write a run directory (see the module docstring) while ``fit`` trains.

    Args:
        directory: the run directory (created if needed).
        monitor: the quantity that picks ``model_best.ts`` (default ``val_loss``; ``loss``
            when there is no validation data).
        mode: 'min', 'max' or 'auto' (max for accuracies).
        gradient_every: GradientMonitor sampling period in batches (None: no gradient stats).
        save_models: write ``model_best.ts`` and ``model_last.ts``.
        plots: write the PNG plots at the end of training.
        run_info: dict merged into ``run.json`` (e.g. ``{'data': 'digits', 'model': 'mlp'}``).

    Example:
        >>> model.fit(x, y, epochs=10, validation_split=0.1, baseline=True,
        ...           callbacks=[RunLogger("runs/mlp")])
        >>> # then: threestep show runs/mlp ; threestep doctor runs/mlp
    """

    reads_batch_logs = False  # its batch hook only hands the loss to the gradient monitor

    @property
    def needs_gradients(self):
        """Its gradient monitor reads the weights' ``.grad``: fit must leave them there (not fold
        SGD's step into backward on NumPy, nor write them into a packed buffer on the GPU)."""
        return self.gradient_monitor is not None

    def __init__(self, directory, monitor="val_loss", mode="auto", gradient_every=10, save_models=True, plots=True,
                 run_info=None):
        super().__init__()
        self.directory = os.fspath(directory)
        self.monitor = monitor
        self.mode = mode
        self.gradient_monitor = GradientMonitor(every=gradient_every) if gradient_every else None
        self.save_models = save_models
        self.plots = plots
        self.run_info = dict(run_info or {})
        self.run = None
        self._checkpoints = []

    def set_model(self, model):
        super().set_model(model)
        if self.gradient_monitor is not None:
            self.gradient_monitor.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        if self.gradient_monitor is not None:
            self.gradient_monitor.set_params(params)

    def _path(self, name):
        return os.path.join(self.directory, name)

    # ------------------------------------------------------------------ begin
    def on_train_begin(self, logs=None):
        os.makedirs(self.directory, exist_ok=True)
        self.run = read_json(self._path(HISTORY)) or {"format": FORMAT, "epochs": [], "history": {},
                                                      "baseline": None, "best": None, "fits": []}
        self._fit_started = time.perf_counter()
        self._offset = None  # run epoch = fit epoch + offset, fixed at the first epoch
        self._grad_records = (read_json(self._path(GRADIENTS)) or {}).get("records", [])
        baseline = getattr(getattr(self.model, "history", None), "baseline", None)
        if baseline and not self.run["baseline"]:
            self.run["baseline"] = {k: _number(v) for k, v in baseline.items()}
        info = read_json(self._path(RUN), {})
        info.setdefault("created", datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"))
        info.update(self.run_info)
        info["model_name"] = getattr(self.model, "name", None)
        optimizer = getattr(self.model, "optimizer", None)
        if optimizer is not None:  # what trained, for `threestep doctor`'s advice
            info["optimizer"] = type(optimizer).__name__.lower()
            rate = getattr(optimizer, "learning_rate", None)
            info["learning_rate"] = float(rate) if isinstance(rate, (int, float)) else None
        try:
            info.setdefault("model_config", json.loads(json.dumps(self.model.get_config())))
        except Exception:  # noqa: BLE001 - a model without a JSON config still gets a run
            pass
        write_json(self._path(RUN), info)
        if self.gradient_monitor is not None:
            self.gradient_monitor.on_train_begin(logs)
        self._monitor = self.monitor
        if self._monitor.startswith("val_") and not self.params.get("do_validation", False):
            self._monitor = self._monitor[4:]
        self._checkpoints = []
        if self.save_models:
            self._checkpoints = [ModelCheckpoint(self._path(BEST), monitor=self._monitor, mode=self.mode,
                                                 save_best_only=True),
                                 ModelCheckpoint(self._path(LAST), monitor=self._monitor)]
            for ckpt in self._checkpoints:
                ckpt.set_model(self.model)
                ckpt.set_params(self.params)
                ckpt.on_train_begin(logs)
            self._checkpoints[0].best = self._best_so_far()

    def _best_so_far(self):
        best = self.run.get("best")
        if best and best.get("monitor") == self._monitor and isinstance(best.get("value"), float):
            return best["value"]
        return None

    def on_epoch_begin(self, epoch, logs=None):
        if self._offset is None:
            done = self.run["epochs"]
            if epoch == 0 and done:
                self._offset = done[-1]  # a second fit from 0 appends after the last epoch
            else:
                self._offset = 0
                self._truncate(epoch)  # resuming at `epoch`: drop what comes after it
            self.run["fits"].append({"started": datetime.datetime.now(datetime.timezone.utc)
                                     .isoformat(timespec="seconds"), "first_epoch": epoch + self._offset + 1,
                                     "params": {k: v for k, v in self.params.items() if _number(v) is not None}})
        self._epoch_started = time.perf_counter()
        for cb in self._callbacks():
            cb.on_epoch_begin(epoch, logs)

    def _truncate(self, epoch):
        keep = [i for i, e in enumerate(self.run["epochs"]) if e <= epoch]
        self.run["epochs"] = [self.run["epochs"][i] for i in keep]
        self.run["history"] = {k: [v[i] for i in keep if i < len(v)] for k, v in self.run["history"].items()}
        self._grad_records = [r for r in self._grad_records if r.get("epoch", 0) < epoch]

    def _callbacks(self):
        return ([self.gradient_monitor] if self.gradient_monitor is not None else []) + self._checkpoints

    def on_train_batch_begin(self, batch, logs=None):
        if self.gradient_monitor is not None:
            self.gradient_monitor.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        if self.gradient_monitor is not None:
            self.gradient_monitor.on_train_batch_end(batch, logs)

    # ------------------------------------------------------------------ end of an epoch
    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        if self.gradient_monitor is not None:
            self.gradient_monitor.on_epoch_end(epoch, logs)  # adds grad_norm/... to logs
        previous = self.run["history"].get("wall_time") or [0.0]
        epoch_time = time.perf_counter() - self._epoch_started
        row = {**logs, "epoch_time": epoch_time, "wall_time": (previous[-1] or 0.0) + epoch_time}
        n_before = len(self.run["epochs"])
        self.run["epochs"].append(epoch + self._offset + 1)
        for key, value in row.items():
            if _number(value) is None:
                continue
            column = self.run["history"].setdefault(key, [None] * n_before)
            column.extend([None] * (n_before - len(column)))
            column.append(_number(value))
        for column in self.run["history"].values():
            column.extend([None] * (n_before + 1 - len(column)))
        for ckpt in self._checkpoints:
            ckpt.on_epoch_end(epoch, logs)
        self._update_best(epoch, logs)
        if self.gradient_monitor is not None:
            self._grad_records += [{**r, "epoch": r["epoch"] + self._offset} for r in self.gradient_monitor.records
                                   if r["epoch"] == epoch]
            write_json(self._path(GRADIENTS), {"records": [{k: _number(v) for k, v in r.items()}
                                                           for r in self._grad_records]})
        write_json(self._path(HISTORY), self.run)

    def _update_best(self, epoch, logs):
        value = logs.get(self._monitor)
        if value is None or not math.isfinite(float(value)):
            return
        maximise = self.mode == "max" or (self.mode == "auto" and "acc" in self._monitor)
        best = self._best_so_far() if self.run.get("best") else None
        if best is None or (value > best if maximise else value < best):
            self.run["best"] = {"monitor": self._monitor, "value": float(value), "epoch": epoch + self._offset + 1}

    def on_train_end(self, logs=None):
        for cb in self._callbacks():
            cb.on_train_end(logs)
        if self.run is None:
            return
        write_json(self._path(HISTORY), self.run)
        if self.plots and self.run["epochs"]:
            try:
                plot_run(self.directory, load_run(self.directory))
            except ImportError as exc:
                warnings.warn(f"RunLogger: plots skipped: {exc}", RuntimeWarning, stacklevel=2)

    def __repr__(self):
        return f"RunLogger({self.directory!r}, monitor={self.monitor!r})"
