"""ModelCheckpoint: naming, save_best_only, weights-only, refusing diverged models, and
resuming from a checkpoint bit-identically."""
import json
import os
import zipfile

import numpy as np
import pytest
import safetensors.numpy as st_ref

from threestep import backend
from threestep.callbacks.checkpoint import ModelCheckpoint
from threestep.errors import ConfigError
from threestep.layers import Dense
from threestep.models import Sequential, load_model
from threestep.optimizers import SGD


def saved_training_state(path):
    """The training state a checkpoint wrote: the file's config.json, field training_state."""
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("config.json"))["training_state"]


def _data(n=96, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def _model(lr=0.05):
    model = Sequential([Dense(32, activation="relu", input_dim=5), Dense(3, activation="softmax")])
    model.compile(optimizer=SGD(lr, momentum=0.9), loss="categorical_crossentropy", metrics=["accuracy"])
    return model


def _drive(callback, model, logs_per_epoch):
    """Call the hooks as fit does, with chosen logs (to script improvements)."""
    callback.set_model(model)
    callback.on_train_begin()
    for epoch, logs in enumerate(logs_per_epoch):
        callback.on_epoch_begin(epoch)
        callback.on_epoch_end(epoch, logs)


def test_filepath_is_formatted_with_epoch_and_logs(tmp_path):
    x, y = _data()
    backend.set_seed(0)
    model = _model()
    pattern = str(tmp_path / "w.{epoch:02d}-{val_loss:.3f}.ts")
    history = model.fit(x[:64], y[:64], epochs=3, batch_size=16, verbose=0, validation_data=(x[64:], y[64:]),
                        callbacks=[ModelCheckpoint(pattern)])
    expected = [f"w.{e + 1:02d}-{v:.3f}.ts" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == expected
    last = load_model(tmp_path / expected[-1])
    assert np.array_equal(last.predict(x), model.predict(x))
    state = saved_training_state(tmp_path / expected[-1])
    assert state["epoch"] == 3 and state["history_epochs"] == [0, 1, 2]
    assert state["history"]["val_loss"] == history.history["val_loss"]


def test_save_best_only_messages_and_files(tmp_path, capsys):
    path = tmp_path / "best.ts"
    model = _model()
    ckpt = ModelCheckpoint(str(path), monitor="val_loss", save_best_only=True, verbose=1)
    _drive(ckpt, model, [{"val_loss": 0.51234}])
    first = path.read_bytes()
    model.layers[0].kernel.data[...] = 0.0  # a different model from now on
    for epoch, value in [(1, 0.6), (2, 0.41234)]:
        ckpt.on_epoch_end(epoch, {"val_loss": value})
        if epoch == 1:
            assert path.read_bytes() == first  # did not improve: file untouched
    out = capsys.readouterr().out
    assert f"Epoch 00001: val_loss improved from inf to 0.51234, saving model to {path}" in out
    assert "Epoch 00002: val_loss did not improve from 0.51234" in out
    assert f"Epoch 00003: val_loss improved from 0.51234 to 0.41234, saving model to {path}" in out
    assert not load_model(path).layers[0].kernel.data.any()


def test_mode_auto_maximises_accuracy(tmp_path, capsys):
    ckpt = ModelCheckpoint(str(tmp_path / "a.ts"), monitor="val_acc", save_best_only=True, verbose=1)
    assert ckpt.mode == "max"
    assert ModelCheckpoint("x", monitor="val_loss").mode == "min"
    _drive(ckpt, _model(), [{"val_acc": 0.5}, {"val_acc": 0.4}, {"val_acc": 0.7}])
    out = capsys.readouterr().out
    assert "val_acc improved from -inf to 0.50000" in out
    assert "val_acc did not improve from 0.50000" in out
    assert "val_acc improved from 0.50000 to 0.70000" in out


def test_missing_monitor_warns_with_available_keys(tmp_path):
    x, y = _data()
    ckpt = ModelCheckpoint(str(tmp_path / "m.ts"), monitor="val_loss", save_best_only=True)
    with pytest.warns(RuntimeWarning, match=r"val_loss available, skipping.*Available keys: \['accuracy', 'loss'"):
        _model().fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[ckpt])
    assert os.listdir(tmp_path) == []


def test_unknown_placeholder_in_filepath(tmp_path):
    x, y = _data()
    with pytest.raises(ConfigError, match=r"\{val_acc\}.*Available"):
        _model().fit(x, y, epochs=1, verbose=0, callbacks=[ModelCheckpoint(str(tmp_path / "{val_acc}.ts"))])


def test_weights_only_and_period(tmp_path):
    x, y = _data()
    model = _model()
    ckpt = ModelCheckpoint(str(tmp_path / "w{epoch}.safetensors"), save_weights_only=True, period=2)
    model.fit(x, y, epochs=4, batch_size=32, verbose=0, callbacks=[ckpt])
    assert sorted(os.listdir(tmp_path)) == ["w2.safetensors", "w4.safetensors"]
    path = tmp_path / "w4.safetensors"
    assert not zipfile.is_zipfile(path)
    assert len(st_ref.load_file(str(path))) == 4
    fresh = _model()
    fresh.load_weights(path)
    assert np.array_equal(fresh.predict(x), model.predict(x))


def test_save_freq_in_batches(tmp_path, capsys):
    x, y = _data(n=64)
    ckpt = ModelCheckpoint(str(tmp_path / "b.ts"), save_freq=3, verbose=1)
    _model().fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=[ckpt])  # 8 batches: saves after 3 and 6
    assert capsys.readouterr().out.count("saving model to") == 2
    state = saved_training_state(tmp_path / "b.ts")
    assert state["epoch"] == 1 and state["mid_epoch"]
    with pytest.raises(ConfigError, match="save_freq"):
        ModelCheckpoint("x", save_freq=0)


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:.*training stopped")
def test_diverged_training_never_overwrites_the_good_checkpoint(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = rng.normal(size=(64, 2)).astype("float32")
    model = Sequential([Dense(8, input_dim=4), Dense(2)])
    model.compile(optimizer=SGD(0.01), loss="mse")
    path = tmp_path / "ckpt.ts"
    ckpt = ModelCheckpoint(str(path), monitor="loss")
    model.fit(x, y, epochs=1, batch_size=16, verbose=0, callbacks=[ckpt])
    good = path.read_bytes()

    model.optimizer.learning_rate = 1e10  # diverges within a few steps
    with pytest.warns(RuntimeWarning, match="not saving epoch 2 .*loss is (nan|inf)"):
        history = model.fit(x, y, epochs=3, initial_epoch=1, batch_size=16, verbose=0, callbacks=[ckpt])
    assert not np.isfinite(history.history["loss"][-1])
    assert path.read_bytes() == good
    assert all(np.isfinite(w).all() for w in load_model(path).get_weights())


def test_nan_weights_are_never_saved(tmp_path):
    path = tmp_path / "ckpt.ts"
    model = _model()
    ckpt = ModelCheckpoint(str(path), monitor="val_loss", verbose=1)
    _drive(ckpt, model, [{"val_loss": 0.5}])
    good = path.read_bytes()
    model.layers[1].bias.data[0] = np.nan
    with pytest.warns(RuntimeWarning, match="weights contain NaN or inf"):
        ckpt.on_epoch_end(1, {"val_loss": 0.4})
    weights_only = ModelCheckpoint(str(tmp_path / "w.safetensors"), save_weights_only=True)
    weights_only.set_model(model)
    with pytest.warns(RuntimeWarning, match="weights contain NaN or inf"):
        weights_only.on_epoch_end(0, {})
    assert path.read_bytes() == good
    assert sorted(os.listdir(tmp_path)) == ["ckpt.ts"]


def test_resume_from_checkpoint_is_bit_identical(tmp_path):
    x, y = _data()
    backend.set_seed(1)
    uninterrupted = _model()
    full = uninterrupted.fit(x, y, epochs=4, batch_size=16, shuffle=True, verbose=0)

    backend.set_seed(1)
    first_half = _model()
    pattern = str(tmp_path / "ckpt-{epoch:02d}.ts")
    first_half.fit(x, y, epochs=2, batch_size=16, shuffle=True, verbose=0, callbacks=[ModelCheckpoint(pattern)])
    backend.set_seed(12345)  # whatever happened to the generators since, the checkpoint restores them

    resumed = load_model(tmp_path / "ckpt-02.ts")
    history = resumed.fit(x, y, epochs=4, initial_epoch=2, batch_size=16, shuffle=True, verbose=0,
                          callbacks=[ModelCheckpoint(pattern)])
    for a, b in zip(uninterrupted.get_weights(), resumed.get_weights()):
        assert np.array_equal(a, b), f"max diff {np.abs(a - b).max()}"
    assert history.epoch == full.epoch == [0, 1, 2, 3]
    assert history.history == full.history
    assert saved_training_state(tmp_path / "ckpt-04.ts")["history"] == full.history


def test_unsaveable_generator_state_is_left_out_with_a_warning(tmp_path, monkeypatch):
    """CuPy's generators expose no state; the checkpoint is still written, without it."""
    monkeypatch.setattr(backend, "get_rng_state", lambda: {"rng": object(), "host_rng": {}})
    model = _model()
    ckpt = ModelCheckpoint(str(tmp_path / "c.ts"))
    with pytest.warns(RuntimeWarning, match="random-generator state cannot be written as JSON"):
        _drive(ckpt, model, [{"loss": 1.0}])
    monkeypatch.setattr(backend, "set_rng_state", lambda state: pytest.fail("nothing to restore"))
    assert saved_training_state(tmp_path / "c.ts")["rng"] is None
    load_model(tmp_path / "c.ts")  # loads without trying to restore a generator state
