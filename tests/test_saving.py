"""Model files: round trips, optimizer state, custom objects, atomic writes, corrupt files,
and our safetensors reader/writer against the reference ``safetensors`` package."""
import io
import json
import os
import pickle
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest
import safetensors.numpy as st_ref

from threestep import backend, regularizers
from threestep.errors import ConfigError, ModelFileError
from threestep.layers import Activation, Dense, Layer, activations, initializers
from threestep.models import Sequential, load_model
from threestep.optimizers import SGD
from threestep.saving import safetensors as st
from threestep.saving import load_weights, save_model, save_weights


def _data(rng, n=48):
    x = rng.normal(size=(n, 6)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, n)]
    return x, y


def _model(compiled=True):
    model = Sequential([
        Dense(16, input_dim=6, kernel_initializer=initializers.RandomNormal(stddev=0.3),
              bias_initializer=initializers.Constant(0.1), kernel_regularizer=regularizers.l2(0.01),
              bias_regularizer=regularizers.l1(0.001)),
        Activation("tanh"),
        Dense(3, kernel_initializer="he_uniform"),
        Activation("softmax"),
    ])
    if compiled:
        model.compile(optimizer=SGD(0.05, momentum=0.9, nesterov=True), loss="categorical_crossentropy",
                      metrics=["accuracy"])
    return model


def _members(path):
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def _write_zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


# ---------------------------------------------------------------------- round trips
def test_round_trip_gives_identical_predictions_config_and_compile_settings(tmp_path, rng):
    x, y = _data(rng)
    backend.set_seed(3)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "model.ts"
    model.save(path)

    loaded = load_model(path)
    assert np.array_equal(loaded.predict(x), model.predict(x))
    assert loaded.get_config() == model.get_config()
    assert [type(layer) for layer in loaded.layers] == [Dense, Activation, Dense, Activation]
    assert loaded.layers[0].kernel_regularizer.get_config() == {"l1": 0.0, "l2": 0.01}
    assert loaded.compile_config() == model.compile_config()
    assert loaded.optimizer.nesterov and loaded.optimizer.momentum == 0.9
    assert loaded.evaluate(x, y, verbose=0) == model.evaluate(x, y, verbose=0)
    assert json.loads(_members(path)["config.json"])["training_state"] is None
    assert sorted(_members(path)) == ["config.json", "optimizer.safetensors", "weights.safetensors"]


def test_optimizer_state_restored_so_the_next_step_matches(tmp_path, rng):
    x, y = _data(rng)
    backend.set_seed(4)
    model = _model()
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    path = tmp_path / "model.ts"
    save_model(model, path)
    loaded = load_model(path)
    assert loaded.optimizer.iterations == model.optimizer.iterations == 6

    model.train_on_batch(x[:16], y[:16])
    loaded.train_on_batch(x[:16], y[:16])
    for a, b in zip(model.get_weights(), loaded.get_weights()):
        assert np.array_equal(a, b)


def test_without_optimizer_or_compile(tmp_path, rng):
    x, y = _data(rng)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "m.ts"
    model.save(path, include_optimizer=False)
    assert "optimizer.safetensors" not in _members(path)
    assert load_model(path).optimizer.iterations == 0
    bare = load_model(path, compile=False)
    assert not bare.compiled and np.array_equal(bare.predict(x), model.predict(x))


class SavingTestScale(Layer):
    """A custom layer: multiplies each feature by a learned factor."""

    def __init__(self, init_value=1.0, **kwargs):
        super().__init__(**kwargs)
        self.init_value = init_value

    def build(self, input_shape):
        self.scale = self.add_weight("scale", (input_shape[-1],), initializers.Constant(self.init_value))

    def call(self, x, training=None):
        return x * self.scale

    def get_config(self):
        return {**super().get_config(), "init_value": self.init_value}


def _cube_tanh(x):
    return activations.tanh(x * x * x)


def test_custom_layer_and_registered_activation_round_trip(tmp_path, rng):
    activations.register_activation("test_saving_cube_tanh", _cube_tanh)
    x, _ = _data(rng)
    model = Sequential([Dense(5, input_dim=6, activation="test_saving_cube_tanh"), SavingTestScale(0.5), Dense(2)])
    model.layers[1].set_weights([np.array([1, 2, 3, 4, 5], "float32")])
    model.save(tmp_path / "custom.ts")

    loaded = load_model(tmp_path / "custom.ts")
    assert isinstance(loaded.layers[1], SavingTestScale) and loaded.layers[1].init_value == 0.5
    assert loaded.layers[0].activation is _cube_tanh
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_unregistered_custom_activation_needs_custom_objects(tmp_path, rng):
    def test_saving_square(t):
        return t * t

    x, _ = _data(rng)
    model = Sequential([Dense(4, input_dim=6, activation=test_saving_square)])
    model.save(tmp_path / "m.ts")
    with pytest.raises(ModelFileError, match="custom_objects"):
        load_model(tmp_path / "m.ts")
    loaded = load_model(tmp_path / "m.ts", custom_objects={"test_saving_square": test_saving_square})
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_save_weights_and_load_weights(tmp_path, rng):
    x, y = _data(rng)
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    path = tmp_path / "w.safetensors"
    model.save_weights(path)

    reference = st_ref.load_file(str(path))  # a plain safetensors file, readable by anyone
    assert list(reference) == [f"{i:04d}:{w.name}" for i, w in enumerate(model.weights)]

    other = _model()  # same architecture, different layer names and random weights
    assert not np.array_equal(other.predict(x), model.predict(x))
    other.load_weights(path)
    assert np.array_equal(other.predict(x), model.predict(x))

    model.save(tmp_path / "full.ts")  # load_weights also reads a full model file
    third = _model()
    load_weights(third, tmp_path / "full.ts")
    assert np.array_equal(third.predict(x), model.predict(x))

    wrong = Sequential([Dense(16, input_dim=6), Activation("tanh"), Dense(4), Activation("softmax")])
    with pytest.raises(ModelFileError, match=r"shape \(16, 3\).*shape \(16, 4\)"):
        wrong.load_weights(path)
    with pytest.raises(ModelFileError, match="holds 4 weight arrays but model .* has 2"):
        Sequential([Dense(3, input_dim=6)]).load_weights(path)


class SavingTestOpaque(Layer):
    def get_config(self):
        return {**super().get_config(), "fn": print}


def test_config_that_is_not_json_data_is_refused_before_writing(tmp_path):
    with pytest.raises(ConfigError, match="get_config.*builtin_function_or_method"):
        Sequential([Dense(2, input_dim=3), SavingTestOpaque()]).save(tmp_path / "m.ts")
    with pytest.raises(ConfigError, match="training_state cannot be written as JSON"):
        save_model(_model(), tmp_path / "m.ts", training_state={"epoch": object()})
    assert os.listdir(tmp_path) == []


def test_overwrite_false_raises_and_keeps_the_file(tmp_path):
    path = tmp_path / "m.ts"
    model = _model()
    model.save(path)
    before = path.read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=False"):
        model.save(path, overwrite=False)
    with pytest.raises(FileExistsError):
        save_weights(model, path, overwrite=False)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.ts"]  # no temporary file left behind


# ---------------------------------------------------------------------- crash safety
_CHILD = """
import sys
import numpy as np
from threestep.layers import Dense
from threestep.models import Sequential
model = Sequential([Dense(1000, input_dim=4000), Dense(10)])
for i in range(1000):
    for w in model.weights:
        w.data[...] = i
    model.save(sys.argv[1])
    print(i, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")
def test_killed_mid_save_leaves_the_previous_complete_file(tmp_path):
    path = tmp_path / "big.ts"
    child = subprocess.Popen([sys.executable, "-c", _CHILD, str(path)], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "0"  # one complete version exists
        deadline = time.monotonic() + 30
        while not _partly_written_temp(tmp_path):  # wait until a later save is half-way through
            assert time.monotonic() < deadline, "the child never started a second save"
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.kill()
        child.wait()
    assert child.returncode == -signal.SIGKILL
    assert _partly_written_temp(tmp_path), "the kill should have interrupted a save"
    loaded = load_model(path)
    values = {float(v) for w in loaded.get_weights() for v in np.unique(w)}
    assert len(values) == 1, f"the file mixes versions: {sorted(values)[:5]}"
    assert [n for n in os.listdir(tmp_path) if not n.endswith(".tmp")] == ["big.ts"]


def _partly_written_temp(directory):
    """A temporary file of the save in progress with some data in it."""
    for name in os.listdir(directory):
        if name.endswith(".tmp"):
            try:
                if os.path.getsize(directory / name) > 1_000_000:
                    return True
            except FileNotFoundError:  # renamed meanwhile
                pass
    return False


# ---------------------------------------------------------------------- bad files
def _saved(tmp_path):
    path = tmp_path / "good.ts"
    _model().save(path)
    return path


def _truncated(tmp_path):
    good = _saved(tmp_path).read_bytes()
    (tmp_path / "bad").write_bytes(good[: len(good) // 2])


def _pickle(tmp_path):
    (tmp_path / "bad").write_bytes(pickle.dumps({"weights": [np.zeros(3)]}))


def _random_zip(tmp_path):
    _write_zip(tmp_path / "bad", {"readme.txt": b"hello", "data.bin": os.urandom(64)})


def _torch_like_zip(tmp_path):
    _write_zip(tmp_path / "bad", {"archive/data.pkl": pickle.dumps([1, 2]), "archive/version": b"3"})


def _edit_config(tmp_path, **changes):
    members = _members(_saved(tmp_path))
    config = json.loads(members["config.json"])
    config.update(changes)
    members["config.json"] = json.dumps(config).encode()
    _write_zip(tmp_path / "bad", members)


def _lying_offsets(tmp_path):
    members = _members(_saved(tmp_path))
    raw = members["weights.safetensors"]
    n = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + n])
    name = next(k for k in header if k != "__metadata__")
    header[name]["data_offsets"][1] += 4  # claims more bytes than its shape needs
    new = json.dumps(header).encode()
    members["weights.safetensors"] = len(new).to_bytes(8, "little") + new + raw[8 + n:]
    _write_zip(tmp_path / "bad", members)


def _wrong_shapes(tmp_path):
    members = _members(_saved(tmp_path))
    config = json.loads(members["config.json"])
    config["model"]["config"]["layers"][0]["config"]["units"] = 17
    members["config.json"] = json.dumps(config).encode()
    _write_zip(tmp_path / "bad", members)


def _slots_of_another_optimizer(tmp_path):
    x, y = _data(np.random.default_rng(0))
    model = _model()
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    model.save(tmp_path / "good.ts")
    members = _members(tmp_path / "good.ts")
    config = json.loads(members["config.json"])
    config["compile"]["optimizer"]["config"]["momentum"] = 0.0  # plain SGD has no momentum slots
    members["config.json"] = json.dumps(config).encode()
    _write_zip(tmp_path / "bad", members)


def _flipped_byte(tmp_path):
    data = bytearray(_saved(tmp_path).read_bytes())
    data[len(data) // 2] ^= 0xFF  # inside a member: the zip CRC catches it
    (tmp_path / "bad").write_bytes(bytes(data))


@pytest.mark.parametrize("make, message", [
    (_truncated, "truncated or corrupt"),
    (_pickle, r"it looks like a Python pickle; threestep never loads pickles"),
    (_random_zip, "not a threestep model file: it has no config.json"),
    (_torch_like_zip, "PyTorch/pickle checkpoint"),
    (lambda p: _edit_config(p, format_version=999), "written by a newer threestep.*Upgrade threestep"),
    (lambda p: _edit_config(p, format="keras-v3"), "declares format 'keras-v3'"),
    (lambda p: _edit_config(p, model={"class_name": "Functional", "config": {}}), "unknown model class"),
    (_lying_offsets, r"needs \d+ bytes but its data_offsets"),
    (_wrong_shapes, r"shape \(6, 16\) but .* has shape \(6, 17\)"),
    (_slots_of_another_optimizer, "optimizer.safetensors: .*saved state has slots"),
    (_flipped_byte, "corrupt|not a valid safetensors"),
    (lambda p: (p / "bad").write_bytes(b""), "is empty"),
    (lambda p: (p / "bad").write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100)), "HDF5"),
], ids=["truncated", "pickle", "random-zip", "torch-zip", "newer-version", "foreign-format", "unknown-class",
        "lying-offsets", "wrong-shapes", "optimizer-mismatch", "flipped-byte", "empty", "hdf5"])
def test_bad_model_files_raise_model_file_error(tmp_path, make, message):
    make(tmp_path)
    with pytest.raises(ModelFileError, match=message):
        load_model(tmp_path / "bad")


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="No model file"):
        load_model(tmp_path / "nothing.ts")


class _Payload:
    """Unpickling this creates the marker file: proof that something was unpickled."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_loading_never_unpickles(tmp_path):
    payload = pickle.dumps(_Payload(tmp_path / "proof"))
    pickle.loads(payload).close()  # the payload is live: unpickling it does create a file
    assert (tmp_path / "proof").exists()

    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    members = _members(_saved(tmp_path))
    for name in ("weights.safetensors", "optimizer.safetensors"):
        _write_zip(tmp_path / "evil.ts", {**members, name: payload})
        with pytest.raises(ModelFileError, match="pickle"):
            load_model(tmp_path / "evil.ts")
    (tmp_path / "evil.safetensors").write_bytes(payload)
    with pytest.raises(ModelFileError, match="pickle"):
        load_weights(_model(), tmp_path / "evil.safetensors")
    (tmp_path / "evil.pkl").write_bytes(payload)
    with pytest.raises(ModelFileError, match="pickle"):
        load_model(tmp_path / "evil.pkl")
    assert not marker.exists()


# ---------------------------------------------------------------------- safetensors
_TENSORS = {
    "f32": np.arange(12, dtype="float32").reshape(3, 4) / 7,
    "f64": np.linspace(-1, 1, 5),
    "f16": np.array([0.5, -2.0], "float16"),
    "i64": np.array([-(2**40), 7], "int64"),
    "i32": np.arange(6, dtype="int32").reshape(1, 2, 3),
    "u8": np.array([0, 255], "uint8"),
    "bool": np.array([True, False, True]),
    "scalar": np.array(3.25, "float32"),
    "empty": np.zeros((0, 4), "float32"),
}


def _assert_same(got, expected):
    assert list(sorted(got)) == list(sorted(expected))
    for name, array in expected.items():
        assert got[name].dtype == array.dtype and got[name].shape == array.shape, name
        assert np.array_equal(got[name], array), name


def test_safetensors_we_write_the_reference_reads():
    blob = st.save(_TENSORS, metadata={"format": "test"})
    _assert_same(st_ref.load(blob), _TENSORS)
    assert st.load_with_metadata(blob)[1] == {"format": "test"}


def test_safetensors_the_reference_writes_we_read(tmp_path):
    st_ref.save_file(_TENSORS, str(tmp_path / "ref.safetensors"), metadata={"k": "v"})
    tensors, metadata = st.load_file_with_metadata(tmp_path / "ref.safetensors")
    _assert_same(tensors, _TENSORS)
    assert metadata == {"k": "v"}
    tensors["f32"][0, 0] = 99  # arrays are writable copies


def test_safetensors_big_endian_input_is_stored_little_endian():
    blob = st.save({"x": np.arange(4, dtype=">f4")})
    assert np.array_equal(st_ref.load(blob)["x"], np.arange(4, dtype="float32"))


def _blob(header, data=b""):
    raw = json.dumps(header).encode() if isinstance(header, dict) else header
    return len(raw).to_bytes(8, "little") + raw + data


@pytest.mark.parametrize("blob, message", [
    (b"\x01\x02", "shorter than the 8-byte header length"),
    ((10**6).to_bytes(8, "little") + b"{}", "header claims 1000000 bytes"),
    (_blob(b"{not json"), "not valid JSON"),
    (_blob(b"[1, 2]"), "must be a JSON object"),
    (_blob({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}, "a ": 1}, bytes(8)),
     "must have exactly dtype, shape and data_offsets"),
    (_blob({"a": {"dtype": "BF16", "shape": [2], "data_offsets": [0, 4]}}, bytes(4)), "dtype 'BF16'"),
    (_blob({"a": {"dtype": "F32", "shape": [-2], "data_offsets": [0, 8]}}, bytes(8)), "invalid shape"),
    (_blob({"a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 0]}}, bytes(8)), "invalid data_offsets"),
    (_blob({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)), "needs 12 bytes"),
    (_blob({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, bytes(4)), "truncated"),
    (_blob({"a": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)), "gap at byte 0"),
    (_blob({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)), "overlaps"),
    (_blob({"__metadata__": {"n": 1}}), "__metadata__ must be an object of strings"),
    (_blob(b'{"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}, '
           b'"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}}'), "duplicate keys"),
], ids=["short", "header-too-long", "bad-json", "not-object", "bad-entry", "unknown-dtype", "negative-shape",
        "reversed-offsets", "wrong-byte-count", "truncated-data", "gap", "overlap", "bad-metadata", "duplicate"])
def test_safetensors_reader_validates(blob, message):
    with pytest.raises(ModelFileError, match=message):
        st.load(blob)


def test_safetensors_writer_rejects_what_it_cannot_store():
    with pytest.raises(ModelFileError, match="complex128"):
        st.save({"c": np.zeros(2, "complex128")})
    with pytest.raises(ModelFileError, match="str to str"):
        st.save({"a": np.zeros(1)}, metadata={"n": 1})
    with pytest.raises(ModelFileError, match="__metadata__"):
        st.save({"__metadata__": np.zeros(1)})


def test_safetensors_streams_to_a_file_object():
    buf = io.BytesIO()
    st.write(buf, {"x": np.ones((2, 2), "float32")})
    assert np.array_equal(st_ref.load(buf.getvalue())["x"], np.ones((2, 2), "float32"))
