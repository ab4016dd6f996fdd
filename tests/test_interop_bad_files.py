"""Corrupt and hostile Keras files: each gives a ModelFileError, reading little memory."""
import json
import tracemalloc
import zipfile

import h5py
import numpy as np
import pytest

from threestep import layers
from threestep.errors import ConfigError, ModelFileError
from threestep.models import Sequential, load_model


def _good_h5(path):
    model = Sequential([layers.Dense(3, input_shape=(4,), name="d1"), layers.Dense(2, name="d2")])
    model.save(str(path))
    return model


def _edit(path, fn):
    with h5py.File(str(path), "r+") as f:
        fn(f)


def _config(f):
    return json.loads(f.attrs["model_config"])


def _set_config(f, config):
    f.attrs["model_config"] = json.dumps(config)


def _peak_mib(fn):
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


def test_truncated_hdf5_file(tmp_path):
    _good_h5(tmp_path / "m.h5")
    data = (tmp_path / "m.h5").read_bytes()
    (tmp_path / "cut.h5").write_bytes(data[: len(data) // 3])
    with pytest.raises(ModelFileError):
        load_model(str(tmp_path / "cut.h5"))


def test_config_declaring_a_huge_layer_fails_before_allocating(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def huge(f):
        config = _config(f)
        config["config"]["layers"][1]["config"]["units"] = 10**9  # 4e9 weights; the file holds 23
        _set_config(f, config)
    _edit(tmp_path / "m.h5", huge)

    def load():
        with pytest.raises(ModelFileError, match="declares more weights"):
            load_model(str(tmp_path / "m.h5"))
    assert _peak_mib(load) < 50


def test_dataset_declaring_huge_dims_is_not_read(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def huge(f):
        group = f["model_weights/d1/d1"]
        del group["kernel:0"]
        group.create_dataset("kernel:0", shape=(2**20, 2**20), dtype="float32", chunks=(64, 64))  # 4 TiB, unwritten
    _edit(tmp_path / "m.h5", huge)

    def load():
        with pytest.raises(ModelFileError, match="declare more than"):
            load_model(str(tmp_path / "m.h5"))
    assert _peak_mib(load) < 50
    model = Sequential([layers.Dense(3, input_shape=(4,)), layers.Dense(2)])
    with pytest.raises(ModelFileError, match="declare more than"):
        model.load_weights(str(tmp_path / "m.h5"))


def test_dataset_declaring_more_than_it_stores_is_not_read(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def sparse(f):  # 64 MiB declared, nothing written (reads would return the fill value)
        group = f["model_weights/d1/d1"]
        del group["kernel:0"]
        group.create_dataset("kernel:0", shape=(4096, 4096), dtype="float32", chunks=(64, 64))
    _edit(tmp_path / "m.h5", sparse)
    with pytest.raises(ModelFileError, match="stores 0"):
        load_model(str(tmp_path / "m.h5"))


def test_missing_layer_group(tmp_path):
    _good_h5(tmp_path / "m.h5")
    _edit(tmp_path / "m.h5", lambda f: f["model_weights"].__delitem__("d2"))
    with pytest.raises(ModelFileError, match="'d2'"):
        load_model(str(tmp_path / "m.h5"))


def test_missing_weight_dataset(tmp_path):
    _good_h5(tmp_path / "m.h5")
    _edit(tmp_path / "m.h5", lambda f: f["model_weights/d2/d2"].__delitem__("bias:0"))
    with pytest.raises(ModelFileError, match="bias"):
        load_model(str(tmp_path / "m.h5"))


def test_wrong_weight_shape(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def wrong(f):
        group = f["model_weights/d1/d1"]
        del group["kernel:0"]
        group.create_dataset("kernel:0", data=np.zeros((5, 3), "float32"))
    _edit(tmp_path / "m.h5", wrong)
    with pytest.raises(ModelFileError, match=r"shape \(5, 3\), expected \(4, 3\)"):
        load_model(str(tmp_path / "m.h5"))


def test_non_numeric_weights(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def strings(f):
        group = f["model_weights/d2/d2"]
        del group["bias:0"]
        group.create_dataset("bias:0", data=np.array([b"a", b"b"]))
    _edit(tmp_path / "m.h5", strings)
    with pytest.raises(ModelFileError):
        load_model(str(tmp_path / "m.h5"))


def test_links_outside_the_file_are_refused(tmp_path):
    _good_h5(tmp_path / "m.h5")
    other = tmp_path / "other.h5"
    with h5py.File(str(other), "w") as f:
        f.create_dataset("k", data=np.ones((4, 3), "float32"))

    def external(f):
        group = f["model_weights/d1/d1"]
        del group["kernel:0"]
        group["kernel:0"] = h5py.ExternalLink(str(other), "k")
    _edit(tmp_path / "m.h5", external)
    with pytest.raises(ModelFileError, match="ExternalLink"):
        load_model(str(tmp_path / "m.h5"))


def test_external_raw_storage_is_refused(tmp_path):
    _good_h5(tmp_path / "m.h5")
    raw = tmp_path / "raw.bin"
    raw.write_bytes(np.ones((4, 3), "float32").tobytes())

    def external(f):
        group = f["model_weights/d1/d1"]
        del group["kernel:0"]
        group.create_dataset("kernel:0", shape=(4, 3), dtype="float32", external=[(str(raw), 0, 48)])
    _edit(tmp_path / "m.h5", external)
    with pytest.raises(ModelFileError, match="outside the file"):
        load_model(str(tmp_path / "m.h5"))


# marshalled bytecode of `lambda x: x` as Keras stores it (base64); the loader must never run it
_BYTECODE = "4wAAAAAAAAAAAAAAAAEAAAADAAAA8wQAAAB8AFMAKQFOqQApAdoBeHIBAAAAcgEAAAD6AHoIPGxhbWJkYT4BAAAAcwAAAAA="


def _add_lambda(path):
    _edit(path, _lambda_config)


def _lambda_config(f):
    config = _config(f)
    config["config"]["layers"].append({"class_name": "Lambda", "config": {
        "name": "evil", "function": [_BYTECODE, None, None], "function_type": "lambda", "module": "__main__",
        "output_shape": None, "arguments": {}}})
    _set_config(f, config)
    f["model_weights"].attrs["layer_names"] = [b"d1", b"d2", b"evil"]
    f["model_weights"].create_group("evil").attrs["weight_names"] = []


def test_lambda_is_resolved_from_custom_objects_when_threestep_has_a_lambda_layer(tmp_path):
    from threestep.layers.base import LAYER_CLASSES, Layer  # noqa: PLC0415

    previous = LAYER_CLASSES.get("Lambda")
    if previous is None:  # a minimal stand-in with Keras's signature, removed afterwards
        class Lambda(Layer):
            def __init__(self, function, output_shape=None, **kwargs):
                super().__init__(**kwargs)
                self.function = function

            def call(self, x, training=None):
                return self.function(x)
    try:
        model = _good_h5(tmp_path / "m.h5")
        _add_lambda(tmp_path / "m.h5")
        loaded = load_model(str(tmp_path / "m.h5"), custom_objects={"evil": lambda x: x * 2.0})
        x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
        np.testing.assert_allclose(loaded.predict(x, verbose=0), 2 * model.predict(x, verbose=0), atol=1e-6)
        with pytest.raises(ModelFileError, match="custom_objects"):
            load_model(str(tmp_path / "m.h5"))
    finally:
        if previous is None:
            LAYER_CLASSES.pop("Lambda", None)


def test_lambda_with_marshalled_bytecode_is_refused(tmp_path):
    _good_h5(tmp_path / "m.h5")
    _add_lambda(tmp_path / "m.h5")
    with pytest.raises(ModelFileError, match="never executes.*custom_objects"):
        load_model(str(tmp_path / "m.h5"))


def test_unknown_layer_is_named(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def unknown(f):
        config = _config(f)
        config["config"]["layers"][2]["class_name"] = "MultiHeadAttentionXL"
        _set_config(f, config)
    _edit(tmp_path / "m.h5", unknown)
    with pytest.raises(ModelFileError, match="MultiHeadAttentionXL"):
        load_model(str(tmp_path / "m.h5"))


def test_config_that_is_not_json(tmp_path):
    _good_h5(tmp_path / "m.h5")
    _edit(tmp_path / "m.h5", lambda f: f.attrs.__setitem__("model_config", "{" * 100000))
    with pytest.raises(ModelFileError, match="JSON"):
        load_model(str(tmp_path / "m.h5"))


def test_weights_only_file_given_to_load_model(tmp_path):
    model = _good_h5(tmp_path / "m.h5")
    model.save_weights(str(tmp_path / "w.h5"))
    with pytest.raises(ModelFileError, match="load_weights"):
        load_model(str(tmp_path / "w.h5"))


def test_weight_count_mismatch_in_load_weights(tmp_path):
    _good_h5(tmp_path / "m.h5")
    model = Sequential([layers.Dense(3, input_shape=(4,))])
    with pytest.raises(ModelFileError, match="2 layers"):
        model.load_weights(str(tmp_path / "m.h5"))


def test_keras_archive_with_corrupt_weights(tmp_path):
    Sequential([layers.Dense(3, input_shape=(4,))]).save(str(tmp_path / "m.keras"))
    with zipfile.ZipFile(str(tmp_path / "m.keras")) as zf:
        members = {name: zf.read(name) for name in zf.namelist()}
    members["model.weights.h5"] = members["model.weights.h5"][:200]
    with zipfile.ZipFile(str(tmp_path / "bad.keras"), "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ModelFileError):
        load_model(str(tmp_path / "bad.keras"))
    members["config.json"] = b"not json"
    with zipfile.ZipFile(str(tmp_path / "bad2.keras"), "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    with pytest.raises(ModelFileError, match="JSON"):
        load_model(str(tmp_path / "bad2.keras"))


def test_keras_2_3_style_file(tmp_path):
    """Keras 2.3 (multi-backend) wrote byte-string attributes, class 'Model' for functional
    models and VarianceScaling initializer configs; such files load the same."""
    a = layers.Input((4,), name="in_a")
    out = layers.Dense(2, name="out")(layers.GRU(3, reset_after=False, name="gru")(
        layers.Reshape((2, 2), name="reshape")(a)))
    from threestep.models import Model  # noqa: PLC0415

    model = Model(a, out)
    model.save(str(tmp_path / "m.h5"))

    def keras23(f):
        config = _config(f)
        config["class_name"] = "Model"
        for spec in config["config"]["layers"]:
            if "kernel_initializer" in spec["config"]:
                spec["config"]["kernel_initializer"] = {"class_name": "VarianceScaling", "config": {
                    "scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}}
        f.attrs["model_config"] = np.bytes_(json.dumps(config).encode())
        f.attrs["keras_version"] = np.bytes_(b"2.3.1")
    _edit(tmp_path / "m.h5", keras23)
    x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(load_model(str(tmp_path / "m.h5")).predict(x, verbose=0), model.predict(x, verbose=0),
                               atol=1e-6)


def test_threestep_round_trips_through_every_keras_layout(tmp_path):
    model = Sequential([layers.Conv1D(3, 2, input_shape=(5, 2)), layers.BatchNormalization(center=False),
                        layers.LSTM(2), layers.Dense(2)])
    x = np.random.default_rng(0).normal(size=(3, 5, 2)).astype("float32")
    want = model.predict(x, verbose=0)
    for name in ("w.h5", "w.weights.h5", "m.keras", "m.h5"):
        path = str(tmp_path / name)
        model.save_weights(path) if name.startswith("w") else model.save(path)
        fresh = Sequential([layers.Conv1D(3, 2, input_shape=(5, 2)), layers.BatchNormalization(center=False),
                            layers.LSTM(2), layers.Dense(2)])
        fresh.load_weights(path)
        np.testing.assert_allclose(fresh.predict(x, verbose=0), want, atol=1e-7, err_msg=name)


def test_duplicate_layer_names_are_refused_on_save(tmp_path):
    # Building refuses a repeated name, so the duplicate comes from renaming a layer afterwards.
    with pytest.raises(ConfigError, match="unique names"):
        Sequential([layers.Dense(4, input_shape=(3,), name="same"), layers.Dense(2, name="same")])
    model = Sequential([layers.Dense(4, input_shape=(3,), name="same"), layers.Dense(2, name="other")])
    model.layers[1].name = "same"
    with pytest.raises(ModelFileError, match="unique name"):
        model.save_weights(str(tmp_path / "w.h5"))
    assert not (tmp_path / "w.h5").exists()


def test_layers_keras_lacks_are_refused_on_save(tmp_path):
    model = Sequential([layers.Dense(4, input_shape=(3,)), layers.Maxout(2)])
    for name in ("m.h5", "m.keras"):
        with pytest.raises(ModelFileError, match="Maxout"):
            model.save(str(tmp_path / name))
        assert not (tmp_path / name).exists()


def test_unknown_activation_is_named(tmp_path):
    _good_h5(tmp_path / "m.h5")

    def gelu(f):
        config = _config(f)
        config["config"]["layers"][1]["config"]["activation"] = "gelu_tanh_approx"
        _set_config(f, config)
    _edit(tmp_path / "m.h5", gelu)
    with pytest.raises(ModelFileError, match="gelu_tanh_approx.*custom_objects"):
        load_model(str(tmp_path / "m.h5"))


def test_missing_optional_packages_name_their_extra(monkeypatch, tmp_path):
    import sys  # noqa: PLC0415

    from threestep.errors import ConfigError  # noqa: PLC0415
    from threestep.export import to_onnx  # noqa: PLC0415

    model = Sequential([layers.Dense(2, input_shape=(3,))])
    monkeypatch.setitem(sys.modules, "onnx", None)  # import onnx now raises ImportError
    with pytest.raises(ConfigError, match=r'threestep\[onnx\]'):
        to_onnx(model, tmp_path / "m.onnx")
    monkeypatch.setitem(sys.modules, "h5py", None)
    with pytest.raises(ConfigError, match=r'threestep\[keras-io\]'):
        model.save(str(tmp_path / "m.h5"))


def test_training_only_arguments_warn_and_unsupported_ones_refuse(tmp_path):
    model = _good_h5(tmp_path / "m.h5")

    def constraint(f):
        config = _config(f)
        config["config"]["layers"][1]["config"]["kernel_constraint"] = {"class_name": "MaxNorm",
                                                                        "config": {"max_value": 2}}
        config["config"]["layers"][2]["config"]["time_major"] = False  # neutral: dropped silently
        _set_config(f, config)
    _edit(tmp_path / "m.h5", constraint)
    with pytest.warns(RuntimeWarning, match="kernel_constraint.*Predictions are unaffected"):
        loaded = load_model(str(tmp_path / "m.h5"))
    x = np.ones((2, 4), "float32")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-7)

    def groups(f):
        config = _config(f)
        config["config"]["layers"][1]["config"]["sparse_output"] = True
        _set_config(f, config)
    _edit(tmp_path / "m.h5", groups)
    with pytest.raises(ModelFileError, match="sparse_output=True"):
        load_model(str(tmp_path / "m.h5"))


@pytest.mark.slow
def test_many_layers_split_the_layer_names_attribute(tmp_path):
    model = Sequential([layers.Dense(2, input_shape=(2,), name="d" * 240 + "0")] +
                       [layers.Dense(2, name="d" * 240 + str(i)) for i in range(1, 300)])
    model.save_weights(str(tmp_path / "w.h5"))
    with h5py.File(str(tmp_path / "w.h5"), "r") as f:
        assert "layer_names" not in f.attrs and "layer_names1" in f.attrs
    fresh = Sequential([layers.Dense(2, input_shape=(2,))] + [layers.Dense(2) for _ in range(299)])
    fresh.load_weights(str(tmp_path / "w.h5"))
    np.testing.assert_array_equal(fresh.layers[-1].get_weights()[0], model.layers[-1].get_weights()[0])
