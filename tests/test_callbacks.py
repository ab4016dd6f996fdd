"""Callbacks: exact Keras rules on hand-written log sequences, then end to end with fit."""
import math
import warnings

import numpy as np
import pytest

from threestep.callbacks.base import Callback
from threestep.callbacks.csv_logger import CSVLogger
from threestep.callbacks.recipe import (EarlyStopping, LambdaCallback, LearningRateScheduler,
                                        ReduceLROnPlateau, TerminateOnNaN)
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.optimizers import SGD


# --------------------------------------------------------------------------- a fake model
class FakeOptimizer:
    def __init__(self, learning_rate=0.01):
        self.learning_rate = learning_rate
        self.iterations = 0


class FakeModel:
    """Its single weight is the index of the epoch that produced it."""

    def __init__(self, learning_rate=0.01):
        self.stop_training = False
        self.optimizer = FakeOptimizer(learning_rate)
        self.w = -1.0

    def get_weights(self):
        return [np.array([self.w])]

    def set_weights(self, weights):
        self.w = float(weights[0][0])


def drive(cb, values, monitor="val_loss", model=None):
    """Run ``cb`` through one fit whose epoch e logs ``{monitor: values[e]}``.

    Returns the number of epochs run, the model, and the lr seen at each epoch's end.
    """
    model = model or FakeModel()
    model.stop_training = False
    cb.set_model(model)
    cb.on_train_begin()
    epochs, lrs = 0, []
    for epoch, value in enumerate(values):
        cb.on_epoch_begin(epoch)
        model.w = float(epoch)  # "training" this epoch
        cb.on_epoch_end(epoch, {"loss": 1.0, monitor: value})
        lrs.append(model.optimizer.learning_rate)
        epochs += 1
        if model.stop_training:
            break
    cb.on_train_end()
    return epochs, model, lrs


# --------------------------------------------------------------------------- EarlyStopping
@pytest.mark.parametrize("patience,values,expected_epochs,stopped", [
    (0, [1.0, 0.9, 0.95, 0.8], 3, 2),               # patience=0: first non-improving epoch stops
    (2, [1.0, 0.9, 0.95, 0.96, 0.5], 4, 3),         # two bad epochs in a row
    (2, [1.0, 0.9, 0.95, 0.85, 0.86, 0.87], 6, 5),  # an improvement resets wait
    (2, [1.0, 0.9, 0.9, 0.9], 4, 3),                # equal is not an improvement
    (3, [1.0, 0.9, 0.8], 3, 0),                     # never stops
])
def test_early_stopping_patience(patience, values, expected_epochs, stopped):
    es = EarlyStopping(patience=patience)
    epochs, model, _ = drive(es, values)
    assert epochs == expected_epochs
    assert es.stopped_epoch == stopped
    assert model.stop_training == bool(stopped)


def test_early_stopping_min_delta_min_mode():
    es = EarlyStopping(min_delta=0.1, patience=1)
    assert drive(es, [1.0, 0.95, 0.5])[0] == 2  # 0.95 beats 1.0 by < 0.1: not an improvement
    es = EarlyStopping(min_delta=-0.1, patience=2)  # the sign is ignored
    assert drive(es, [1.0, 0.95, 0.85, 0.84, 0.83])[0] == 5
    assert es.best == 0.85 and es.best_epoch == 2 and es.stopped_epoch == 4


def test_early_stopping_min_delta_max_mode():
    es = EarlyStopping(monitor="val_acc", min_delta=0.1, patience=1)
    assert drive(es, [0.5, 0.55, 0.9], monitor="val_acc")[0] == 2
    es = EarlyStopping(monitor="val_acc", min_delta=0.1, patience=2)
    assert drive(es, [0.5, 0.55, 0.65, 0.7, 0.72], monitor="val_acc")[0] == 5
    assert es.best == 0.65


@pytest.mark.parametrize("monitor,mode,expected", [
    ("val_acc", "auto", "max"), ("val_accuracy", "auto", "max"), ("acc", "auto", "max"),
    ("val_loss", "auto", "min"), ("val_mae", "auto", "min"),
    ("val_loss", "max", "max"), ("val_accuracy", "min", "min"),
])
def test_early_stopping_mode(monitor, mode, expected):
    es = EarlyStopping(monitor=monitor, mode=mode, patience=0)
    rising = [0.1, 0.2, 0.3, 0.4]
    assert es.mode == expected
    assert drive(es, rising, monitor=monitor)[0] == (4 if expected == "max" else 2)


def test_early_stopping_unknown_mode_falls_back_to_auto():
    with pytest.warns(RuntimeWarning, match="mode 'biggest' is unknown, fallback to auto"):
        es = EarlyStopping(monitor="val_accuracy", mode="biggest")
    assert es.mode == "max"


def test_early_stopping_baseline():
    # Never beats the baseline: patience counts from the first epoch.
    es = EarlyStopping(baseline=0.5, patience=2)
    assert drive(es, [0.8, 0.7, 0.6, 0.4])[0] == 2
    assert es.stopped_epoch == 1 and es.best == 0.5
    # Beating it resets wait; then two bad epochs stop.
    es = EarlyStopping(baseline=0.5, patience=2)
    assert drive(es, [0.8, 0.4, 0.45, 0.46, 0.1])[0] == 4
    # Max mode baseline.
    es = EarlyStopping(monitor="val_accuracy", baseline=0.9, patience=1)
    assert drive(es, [0.95, 0.5], monitor="val_accuracy")[0] == 2
    assert drive(es, [0.85, 0.99], monitor="val_accuracy")[0] == 1


def test_early_stopping_restore_best_weights_restores_the_best_epoch(capsys):
    es = EarlyStopping(patience=2, restore_best_weights=True)
    epochs, model, _ = drive(es, [1.0, 0.5, 0.7, 0.8, 0.1])
    assert epochs == 4 and es.best_epoch == 1
    assert model.w == 1.0  # the weights at the end of epoch 1, not of epoch 3
    assert capsys.readouterr().out == ""  # verbose=0 prints nothing, as in Keras
    es = EarlyStopping(patience=2, restore_best_weights=True, verbose=1)
    drive(es, [1.0, 0.5, 0.7, 0.8, 0.1])
    assert "Restoring model weights from the end of the best epoch: 2." in capsys.readouterr().out


def test_early_stopping_restores_only_when_it_stops(capsys):
    es = EarlyStopping(patience=5, restore_best_weights=True)
    epochs, model, _ = drive(es, [1.0, 0.5, 0.7])
    assert epochs == 3 and model.w == 2.0
    assert "Restoring" not in capsys.readouterr().out


def test_early_stopping_restore_when_nothing_beats_the_baseline(capsys):
    es = EarlyStopping(baseline=0.1, patience=3, restore_best_weights=True, verbose=1)
    epochs, model, _ = drive(es, [0.5, 0.3, 0.4])
    assert epochs == 3 and model.w == 1.0 and es.best_epoch == 1
    assert "best epoch: 2." in capsys.readouterr().out


def test_early_stopping_all_nan_does_not_restore():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    with pytest.warns(RuntimeWarning, match="not restored"):
        epochs, model, _ = drive(es, [math.nan, math.nan])
    assert epochs == 1 and model.w == 0.0


def test_early_stopping_nan_is_not_an_improvement():
    es = EarlyStopping(patience=1)
    assert drive(es, [1.0, math.nan, 0.5])[0] == 2


def test_early_stopping_start_from_epoch():
    values = [1.0, 2.0, 3.0, 2.5, 2.6]
    assert drive(EarlyStopping(patience=0), values)[0] == 2
    es = EarlyStopping(patience=0, start_from_epoch=2)
    assert drive(es, values)[0] == 5  # epochs 0, 1 ignored; 3.0 is the first best
    assert es.stopped_epoch == 4 and es.best_epoch == 3


def test_early_stopping_is_reusable():
    es = EarlyStopping(patience=1, restore_best_weights=True)
    assert drive(es, [1.0, 2.0, 3.0])[0] == 2
    assert es.stopped_epoch == 1
    epochs, model, _ = drive(es, [5.0, 4.0, 3.0, 2.0])  # higher values than the first run's best
    assert epochs == 4 and es.stopped_epoch == 0 and es.wait == 0 and es.best == 2.0
    assert model.w == 3.0


def test_early_stopping_verbose_message(capsys):
    drive(EarlyStopping(patience=1, verbose=1), [1.0, 1.0, 1.0, 1.0])
    assert capsys.readouterr().out == "Epoch 00002: early stopping\n"
    drive(EarlyStopping(patience=1), [1.0, 1.0, 1.0, 1.0])
    assert capsys.readouterr().out == ""
    drive(EarlyStopping(patience=1, verbose=1), [1.0, 0.9])
    assert capsys.readouterr().out == ""


def test_early_stopping_missing_monitor_warns_and_lists_keys():
    es = EarlyStopping(monitor="val_acc", patience=0)
    message = r"metric `val_acc` which is not available\. Available metrics are: loss,val_loss"
    with pytest.warns(RuntimeWarning, match=message):
        epochs, model, _ = drive(es, [1.0, 2.0, 3.0])
    assert epochs == 3 and not model.stop_training


@pytest.mark.parametrize("kwargs", [{"patience": -1}, {"patience": 1.5}, {"start_from_epoch": -2}])
def test_early_stopping_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="Received"):
        EarlyStopping(**kwargs)


# --------------------------------------------------------------------------- TerminateOnNaN
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_terminate_on_nan(bad, capsys):
    cb, model = TerminateOnNaN(), FakeModel()
    cb.set_model(model)
    cb.on_train_begin()
    cb.on_epoch_begin(1)
    cb.on_train_batch_end(0, {"loss": 1.0})
    cb.on_train_batch_end(1, {})
    assert not model.stop_training and capsys.readouterr().out == ""
    cb.on_train_batch_end(3, {"loss": np.float32(bad)})
    assert model.stop_training
    assert capsys.readouterr().out == "Batch 3: Invalid loss, terminating training (epoch 2).\n"


# --------------------------------------------------------------------------- LearningRateScheduler
def test_lr_scheduler_epoch_only_schedule():
    cb = LearningRateScheduler(lambda epoch: 0.1 / (epoch + 1))
    _, _, lrs = drive(cb, [1.0] * 4)
    assert lrs == pytest.approx([0.1, 0.05, 0.1 / 3, 0.025])


def test_lr_scheduler_epoch_and_lr_schedule_logs_and_message(capsys):
    def halve(epoch, lr):
        return lr * 0.5

    cb = LearningRateScheduler(halve, verbose=1)
    model = FakeModel(learning_rate=0.08)
    cb.set_model(model)
    cb.on_train_begin()
    for epoch in range(3):
        cb.on_epoch_begin(epoch)
        logs = {"loss": 1.0}
        cb.on_epoch_end(epoch, logs)
        assert logs["lr"] == model.optimizer.learning_rate == 0.08 * 0.5 ** (epoch + 1)
    out = capsys.readouterr().out.splitlines()
    assert out == ["Epoch 00001: LearningRateScheduler setting learning rate to 0.04.",
                   "Epoch 00002: LearningRateScheduler setting learning rate to 0.02.",
                   "Epoch 00003: LearningRateScheduler setting learning rate to 0.01."]


def test_lr_scheduler_keeps_lr_already_in_logs():
    cb = LearningRateScheduler(lambda epoch: 0.5)
    cb.set_model(FakeModel())
    logs = {"lr": 0.25}
    cb.on_epoch_end(0, logs)
    assert logs["lr"] == 0.25


@pytest.mark.parametrize("bad", ["0.1", None, math.nan, -0.1, True])
def test_lr_scheduler_rejects_non_numbers(bad):
    cb = LearningRateScheduler(lambda epoch: bad)
    cb.set_model(FakeModel())
    with pytest.raises(ValueError, match="non-negative finite number"):
        cb.on_epoch_begin(0)


def test_lr_scheduler_replaces_a_schedule_with_a_float():
    model = FakeModel(learning_rate=lambda step: 0.1)
    cb = LearningRateScheduler(lambda epoch, lr: lr / 2)
    cb.set_model(model)
    with pytest.warns(UserWarning, match="replaced by the constant 0.05"):
        cb.on_epoch_begin(0)
    assert model.optimizer.learning_rate == 0.05


def test_lr_scheduler_not_callable():
    with pytest.raises(ValueError, match="schedule must be a function"):
        LearningRateScheduler(0.1)


# --------------------------------------------------------------------------- ReduceLROnPlateau
@pytest.mark.parametrize("cooldown,expected", [
    (0, [0.01, 0.01, 0.005, 0.005, 0.0025, 0.0025, 0.00125]),
    (2, [0.01, 0.01, 0.005, 0.005, 0.005, 0.0025, 0.0025]),
])
def test_reduce_lr_patience_and_cooldown(cooldown, expected):
    cb = ReduceLROnPlateau(factor=0.5, patience=2, cooldown=cooldown)
    _, _, lrs = drive(cb, [1.0] * 7)
    assert lrs == pytest.approx(expected)


def test_reduce_lr_min_delta_min_lr_and_message(capsys):
    cb = ReduceLROnPlateau(factor=0.1, patience=1, min_lr=0.005, verbose=1)
    # 0.99995 is not below 1.0 - 1e-4: no improvement.
    _, _, lrs = drive(cb, [1.0, 0.99995, 0.99995, 0.99995])
    assert lrs == pytest.approx([0.01, 0.005, 0.005, 0.005])  # clipped at min_lr, then left alone
    assert capsys.readouterr().out == "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.005.\n"


def test_reduce_lr_improvements_reset_wait_and_max_mode():
    cb = ReduceLROnPlateau(monitor="val_accuracy", factor=0.5, patience=2)
    _, _, lrs = drive(cb, [0.5, 0.5, 0.6, 0.6, 0.6], monitor="val_accuracy")
    assert lrs == pytest.approx([0.01, 0.01, 0.01, 0.01, 0.005])


def test_reduce_lr_logs_the_rate_used_and_is_reusable():
    cb = ReduceLROnPlateau(factor=0.5, patience=1)
    model = FakeModel()
    cb.set_model(model)
    for _ in range(2):
        model.optimizer.learning_rate = 0.01
        cb.on_train_begin()
        logs0, logs1 = {"val_loss": 1.0}, {"val_loss": 2.0}
        cb.on_epoch_end(0, logs0)
        cb.on_epoch_end(1, logs1)
        assert logs0["lr"] == logs1["lr"] == 0.01  # the rate used during the epoch
        assert model.optimizer.learning_rate == 0.005


def test_reduce_lr_bad_arguments():
    with pytest.raises(ValueError, match=r"factor >= 1\.0\. Received: factor=1\.5"):
        ReduceLROnPlateau(factor=1.5)
    with pytest.raises(TypeError, match="unexpected"):
        ReduceLROnPlateau(paitence=3)
    with pytest.warns(DeprecationWarning):
        assert ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5


def test_reduce_lr_missing_monitor_warns():
    cb = ReduceLROnPlateau(monitor="val_acc", patience=0)
    with pytest.warns(RuntimeWarning, match="Available metrics are: loss,val_loss"):
        _, _, lrs = drive(cb, [1.0, 2.0])
    assert lrs == [0.01, 0.01]


# --------------------------------------------------------------------------- LambdaCallback
def test_lambda_callback_hooks_and_keras2_names():
    calls = []
    cb = LambdaCallback(
        on_train_begin=lambda logs: calls.append(("train_begin", logs)),
        on_epoch_begin=lambda epoch, logs: calls.append(("epoch_begin", epoch)),
        on_batch_begin=lambda batch, logs: calls.append(("batch_begin", batch)),
        on_batch_end=lambda batch, logs: calls.append(("batch_end", batch, logs["loss"])),
        on_epoch_end=lambda epoch, logs: calls.append(("epoch_end", epoch, logs["loss"])),
        on_train_end=lambda logs: calls.append(("train_end", logs)),
        on_test_end=lambda logs: calls.append(("test_end",)),
    )
    cb.on_train_begin()
    cb.on_epoch_begin(0)
    cb.on_train_batch_begin(0, {"batch": 0})
    cb.on_train_batch_end(0, {"loss": 2.0})
    cb.on_epoch_end(0, {"loss": 3.0})
    cb.on_test_end()
    cb.on_train_end()
    assert calls == [("train_begin", {}), ("epoch_begin", 0), ("batch_begin", 0), ("batch_end", 0, 2.0),
                     ("epoch_end", 0, 3.0), ("test_end",), ("train_end", {})]
    LambdaCallback().on_epoch_end(0, {})  # unset hooks are no-ops


def test_lambda_callback_bad_arguments():
    with pytest.raises(TypeError, match="same hook"):
        LambdaCallback(on_batch_end=print, on_train_batch_end=print)
    with pytest.raises(TypeError, match="on_epoch_ending"):
        LambdaCallback(on_epoch_ending=print)
    with pytest.raises(ValueError, match="must be a function"):
        LambdaCallback(on_epoch_end=3)


# --------------------------------------------------------------------------- CSVLogger
def test_csv_logger_writes_flushes_and_closes(tmp_path):
    path = tmp_path / "log.csv"
    cb = CSVLogger(path)
    cb.set_model(FakeModel())
    cb.on_train_begin()
    cb.on_epoch_end(0, {"val_loss": 0.5, "loss": 1.0, "acc": np.float32(0.25)})
    assert path.read_text() == "epoch,acc,loss,val_loss\n0,0.25,1.0,0.5\n"  # flushed already
    cb.on_epoch_end(1, {"loss": 0.75, "acc": 0.5})  # val_loss missing: NA
    cb.on_train_end()
    assert cb.csv_file.closed
    assert path.read_text().splitlines() == ["epoch,acc,loss,val_loss", "0,0.25,1.0,0.5", "1,0.5,0.75,NA"]


def test_csv_logger_separator_append_and_overwrite(tmp_path):
    path = tmp_path / "log.csv"
    for append, epochs in [(False, [0, 1]), (True, [2]), (True, [3])]:
        cb = CSVLogger(path, separator=";", append=append)
        cb.on_train_begin()
        for e in epochs:
            cb.on_epoch_end(e, {"loss": float(e), "b": 1})
        cb.on_train_end()
    assert path.read_text().splitlines() == ["epoch;b;loss", "0;1;0.0", "1;1;1.0", "2;1;2.0", "3;1;3.0"]
    cb = CSVLogger(path)  # append=False overwrites
    cb.on_train_begin()
    cb.on_epoch_end(0, {"loss": 9.0})
    cb.on_train_end()
    assert path.read_text() == "epoch,loss\n0,9.0\n"


def test_csv_logger_append_keeps_existing_columns(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("epoch,val_loss,loss\n0,2.0,1.0\n")
    cb = CSVLogger(path, append=True)
    cb.on_train_begin()
    with pytest.warns(RuntimeWarning, match="'lr'.*not logged"):
        cb.on_epoch_end(1, {"loss": 0.5, "val_loss": 1.5, "lr": 0.1})
    cb.on_train_end()
    assert path.read_text() == "epoch,val_loss,loss\n0,2.0,1.0\n1,1.5,0.5\n"


# --------------------------------------------------------------------------- end to end with fit
RNG = np.random.default_rng(0)
X = RNG.standard_normal((64, 4)).astype("float32")
T = (2 * X @ RNG.standard_normal((4, 1))).astype("float32")


def linear_model(learning_rate=0.01):
    model = Sequential([Dense(1, input_dim=4)])
    model.compile(loss="mse", optimizer=SGD(learning_rate))
    return model


def fit_rising(model, callbacks, epochs=10):
    """Train on T, validate on -T: the training loss falls while val_loss rises every epoch."""
    return model.fit(X, T, batch_size=16, epochs=epochs, validation_data=(X, -T), callbacks=callbacks,
                     verbose=0, seed=0)


def test_fit_early_stopping_stops_and_restores_the_best_epoch(capsys):
    snapshots = []
    model = linear_model()
    es = EarlyStopping(patience=2, verbose=1, restore_best_weights=True)
    keep = LambdaCallback(on_epoch_end=lambda epoch, logs: snapshots.append(model.get_weights()))
    history = fit_rising(model, [keep, es])
    val = history.history["val_loss"]
    assert all(b > a for a, b in zip(val, val[1:]))
    assert len(history.history["loss"]) == 3 and es.stopped_epoch == 2 and es.best_epoch == 0
    for got, want in zip(model.get_weights(), snapshots[0]):
        np.testing.assert_array_equal(got, want)
    out = capsys.readouterr().out
    assert "Restoring model weights from the end of the best epoch: 1." in out
    assert "Epoch 00003: early stopping" in out
    # Reused on a second fit: it starts over and stops after the same number of epochs.
    assert len(fit_rising(linear_model(), [es]).history["loss"]) == 3


def test_fit_early_stopping_on_training_loss_runs_to_the_end():
    history = fit_rising(linear_model(), [EarlyStopping(monitor="loss", patience=0)], epochs=5)
    assert len(history.history["loss"]) == 5


def test_fit_csv_logger(tmp_path):
    path = tmp_path / "training.log"
    history = fit_rising(linear_model(), [CSVLogger(path)], epochs=3)
    lines = path.read_text().splitlines()
    header = lines[0].split(",")
    assert header[0] == "epoch" and header[1:] == sorted(history.history)
    assert [row.split(",")[0] for row in lines[1:]] == ["0", "1", "2"]
    for key in ("loss", "val_loss"):
        column = [float(row.split(",")[header.index(key)]) for row in lines[1:]]
        assert column == pytest.approx(history.history[key])


def test_fit_reduce_lr_on_plateau_lowers_the_learning_rate(capsys):
    model = linear_model()
    history = fit_rising(model, [ReduceLROnPlateau(factor=0.5, patience=1, verbose=1)], epochs=4)
    assert model.optimizer.learning_rate == pytest.approx(0.01 * 0.5 ** 3)
    # 'lr' is the rate each epoch trained with; the reduction at an epoch's end shows in the next.
    assert history.history["lr"] == pytest.approx([0.01, 0.01, 0.005, 0.0025])
    assert "Epoch 00002: ReduceLROnPlateau reducing learning rate to 0.005." in capsys.readouterr().out


def test_fit_learning_rate_scheduler_sets_the_rate_each_epoch():
    model = linear_model()
    seen = []
    spy = LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(model.optimizer.learning_rate))
    history = fit_rising(model, [LearningRateScheduler(lambda epoch: 0.02 * 0.5 ** epoch), spy], epochs=4)
    assert seen == pytest.approx([0.02, 0.01, 0.005, 0.0025])
    assert history.history["lr"] == pytest.approx(seen)


def test_fit_terminate_on_nan_stops_a_diverging_run(capsys):
    model = linear_model(learning_rate=1e10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # overflow, and fit's own non-finite warning
        history = model.fit(X, 100 * T, batch_size=4, epochs=5, callbacks=[TerminateOnNaN()], verbose=0, seed=0)
    assert len(history.history["loss"]) == 1
    assert "Invalid loss, terminating training (epoch 1)." in capsys.readouterr().out


# --------------------------------------------------------------------------- metrics in batch logs
class BatchSpy(Callback):
    def __init__(self):
        super().__init__()
        self.keys = []

    def on_train_batch_end(self, batch, logs=None):
        self.keys.append(sorted(logs))


class EpochOnly(Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.last = dict(logs)


def _classifier():
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.1), metrics=["accuracy"])
    return model


@pytest.mark.parametrize("verbose, callbacks, per_batch", [
    (0, lambda: [EpochOnly()], False),
    (2, lambda: [EpochOnly()], False),  # one line per epoch: no live bar
    (1, lambda: [EpochOnly()], True),   # the live bar shows them
    (0, lambda: [BatchSpy()], True),    # a callback with its own on_train_batch_end
    (0, lambda: [LambdaCallback(on_batch_end=lambda batch, logs: None)], True),
    (0, lambda: [LambdaCallback(on_epoch_end=lambda epoch, logs: None)], False),
])
def test_fit_reads_the_metrics_after_each_batch_only_when_a_callback_reads_them(monkeypatch, capsys, verbose,
                                                                                callbacks, per_batch):
    """On a GPU each metric read waits for the device; fit reads them once per epoch unless a
    callback reads batch logs (its own on_train_batch_end, or reads_batch_logs=True). The epoch's
    logs and History are the same either way."""
    from threestep import backend
    from threestep.metrics import Metric

    labels = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    history = []
    calls = []
    for watch in (False, True):
        if watch:
            real = Metric.result
            monkeypatch.setattr(Metric, "result", lambda self: calls.append(1) or real(self))
        cbs = callbacks()
        backend.set_seed(0)  # the same initial weights
        history.append(_classifier().fit(X, labels, batch_size=16, epochs=2, verbose=verbose, seed=0,
                                         callbacks=cbs).history)
    steps = 2 * 4
    assert len(calls) == (steps if per_batch else 2)
    assert history[0] == history[1] and set(history[1]) == {"loss", "accuracy", "lr"}
    if isinstance(cbs[0], BatchSpy):
        assert cbs[0].keys == [["accuracy", "loss"]] * steps
    if isinstance(cbs[0], EpochOnly):
        assert set(cbs[0].last) >= {"loss", "accuracy"}
    if verbose == 2:
        assert "accuracy: " in capsys.readouterr().out


def test_a_callback_can_say_it_reads_batch_logs():
    from threestep.callbacks.base import reads_batch_logs
    from threestep.callbacks.progress import ProgbarLogger

    class Declared(Callback):
        reads_batch_logs = True

    class Quiet(BatchSpy):
        reads_batch_logs = False

    assert reads_batch_logs(Declared()) and not reads_batch_logs(Quiet()) and not reads_batch_logs(EpochOnly())
    bar = ProgbarLogger()
    for verbose, want in ((1, True), (2, False)):
        bar.set_params({"verbose": verbose})
        assert reads_batch_logs(bar) is want


def test_built_in_callbacks_that_read_only_the_batch_loss_do_not_ask_for_metrics(tmp_path):
    """TerminateOnNaN, GradientMonitor and RunLogger read only the loss in batch logs, which fit
    always passes, so with them fit still reads the metrics once per epoch."""
    from threestep.callbacks.base import reads_batch_logs
    from threestep.callbacks.gradient_monitor import GradientMonitor
    from threestep.callbacks.run_logger import RunLogger

    for cb in (TerminateOnNaN(), GradientMonitor(), RunLogger(tmp_path / "run")):
        assert cb.__class__.on_train_batch_end is not Callback.on_train_batch_end
        assert not reads_batch_logs(cb), cb
