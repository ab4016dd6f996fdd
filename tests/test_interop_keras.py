"""Keras files in and out, checked with real tf-keras 2.21: tf-keras trains a model one step and
saves .h5 and .keras; threestep loads them and predicts the same; threestep writes them back
and tf-keras loads them and predicts the same."""
import os

import numpy as np
import pytest

import threestep
from threestep import layers as ts_layers
from threestep.errors import ModelFileError
from threestep.models import Sequential, load_model

ATOL = 1e-5


@pytest.fixture(scope="module")
def keras():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras  # noqa: PLC0415

    tf_keras.utils.set_random_seed(0)
    return tf_keras


def _models(keras):
    """(name, model, input) for each architecture the issue lists."""
    L = keras.layers
    rng = np.random.default_rng(0)
    ids = rng.integers(1, 12, size=(4, 7))
    ids[0, 4:] = 0  # padding, masked by mask_zero
    ids[2, 2:] = 0
    a, b = keras.Input((4,), name="a"), keras.Input((5,), name="b")
    ha, hb = L.Dense(6, activation="relu")(a), L.Dense(6, activation="tanh")(b)
    merged = L.Concatenate()([L.Add()([ha, hb]), L.Multiply()([ha, hb]), L.Subtract()([ha, hb]),
                              L.Average()([ha, hb]), L.Maximum()([ha, hb])])
    functional = keras.Model([a, b], L.Dense(2, activation="softmax")(merged))
    x = keras.Input((6,))  # branches, a shared layer and two outputs: Keras orders its layers by depth
    left, right, shared = L.Dense(4, name="left")(x), L.Dense(4, activation="tanh")(x), L.Dense(4, name="shared")
    out = L.Dense(3)(L.Concatenate()([shared(left), shared(right), left]))
    branchy = keras.Model(x, [out, L.Dense(2)(right)])
    return [
        ("mlp", keras.Sequential([L.Dense(16, activation="relu", input_shape=(8,)), L.Dropout(0.3),
                                  L.Dense(4, activation="softmax")]), rng.normal(size=(5, 8))),
        ("cnn", keras.Sequential([L.Conv2D(4, 3, input_shape=(8, 8, 2)), L.BatchNormalization(), L.LeakyReLU(0.1),
                                  L.MaxPooling2D(), L.Flatten(), L.Dense(3)]), rng.normal(size=(5, 8, 8, 2))),
        ("embedding_lstm", keras.Sequential([L.Embedding(12, 6, mask_zero=True, input_shape=(7,)), L.LSTM(5),
                                             L.Dense(2)]), ids),
        ("gru_reset_after", keras.Sequential([L.GRU(5, return_sequences=True, input_shape=(6, 3)), L.GRU(4)]),
         rng.normal(size=(4, 6, 3))),
        ("gru_reset_before", keras.Sequential([L.GRU(5, return_sequences=True, reset_after=False, input_shape=(6, 3)),
                                               L.GRU(4, reset_after=False)]), rng.normal(size=(4, 6, 3))),
        ("bilstm_timedistributed", keras.Sequential([L.Bidirectional(L.LSTM(4, return_sequences=True),
                                                                     input_shape=(6, 3)),
                                                     L.TimeDistributed(L.Dense(2))]), rng.normal(size=(4, 6, 3))),
        ("two_inputs", functional, [rng.normal(size=(5, 4)), rng.normal(size=(5, 5))]),
        ("shared_two_outputs", branchy, rng.normal(size=(5, 6))),
        ("conv1d_dilated", keras.Sequential([L.Conv1D(4, 3, dilation_rate=2, padding="causal", activation="relu",
                                                      input_shape=(12, 3)),
                                             L.Conv1D(3, 2, padding="same"), L.GlobalAveragePooling1D(), L.Dense(2)]),
         rng.normal(size=(4, 12, 3))),
        ("simple_rnn", keras.Sequential([L.SimpleRNN(5, return_sequences=True, input_shape=(6, 3)),
                                         L.SimpleRNN(3)]), rng.normal(size=(4, 6, 3))),
        ("layer_zoo", keras.Sequential([L.ZeroPadding2D(((1, 2), (0, 1)), input_shape=(6, 5, 2)),
                                        L.Conv2D(3, 3, activation="elu"), L.Cropping2D(((0, 1), (1, 0))),
                                        L.UpSampling2D(2), L.AveragePooling2D(2, padding="same"),
                                        L.PReLU(shared_axes=[1, 2]), L.Reshape((-1, 3)), L.ZeroPadding1D(1),
                                        L.UpSampling1D(2), L.Cropping1D((0, 1)), L.GlobalMaxPooling1D(),
                                        L.Dense(6), L.ReLU(max_value=2.0), L.ELU(0.5), L.RepeatVector(2),
                                        L.Flatten(), L.Dense(4), L.Activation("tanh"), L.Softmax()]),
         rng.normal(size=(4, 6, 5, 2))),
        ("masking", keras.Sequential([L.Masking(0.0, input_shape=(5, 2)), L.SimpleRNN(3)]),
         np.concatenate([rng.normal(size=(3, 3, 2)), np.zeros((3, 2, 2))], axis=1)),
    ]


@pytest.fixture(scope="module")
def trained(keras, tmp_path_factory):
    """Each model after one Adam step, saved by tf-keras as .h5 and .keras."""
    folder = tmp_path_factory.mktemp("keras_files")
    out = []
    for name, model, x in _models(keras):
        x = [v.astype("float32") for v in x] if isinstance(x, list) else x.astype("float32")
        model.compile(optimizer="adam", loss="mse", run_eagerly=True)  # no graph tracing: one step is cheap
        y = model(x, training=False)
        y = [v.numpy() for v in y] if isinstance(y, list) else y.numpy()
        target = np.random.default_rng(1)
        model.train_on_batch(x, [target.normal(size=v.shape).astype("float32") for v in y] if isinstance(y, list)
                             else target.normal(size=y.shape).astype("float32"))
        paths = {fmt: str(folder / f"{name}.{fmt}") for fmt in ("h5", "keras")}
        for path in paths.values():
            model.save(path)
        out.append((name, model, x, _flat(model(x, training=False)), paths))
    return out


def _flat(outputs):
    """One array from a model's output or list of outputs."""
    if isinstance(outputs, (list, tuple)):
        return np.concatenate([np.asarray(o) for o in outputs], axis=-1)
    return np.asarray(outputs)


def _predict(model, x):
    return _flat(model.predict(x, verbose=0))


@pytest.mark.slow
def test_keras_files_load_into_threestep_and_predict_the_same(trained):
    for name, _, x, expected, paths in trained:
        for fmt, path in paths.items():
            model = load_model(path)
            got = _predict(model, x)
            np.testing.assert_allclose(got, expected, atol=ATOL, rtol=ATOL, err_msg=f"{name} from .{fmt}")


@pytest.mark.slow
def test_threestep_writes_files_tf_keras_loads_and_predicts_the_same(trained, keras, tmp_path):
    for name, _, x, expected, paths in trained:
        model = load_model(paths["h5"])
        for fmt in ("h5", "keras"):
            out = str(tmp_path / f"{name}_back.{fmt}")
            model.save(out)
            back = keras.models.load_model(out, compile=False)
            np.testing.assert_allclose(_flat(back(x, training=False)), expected, atol=ATOL, rtol=ATOL,
                                       err_msg=f"{name} written as .{fmt}")


@pytest.mark.slow
def test_weights_files_both_ways(trained, keras, tmp_path):
    name, kmodel, x, expected, _ = next(t for t in trained if t[0] == "cnn")
    kmodel.save_weights(str(tmp_path / "k.h5"))
    ours = Sequential([ts_layers.Conv2D(4, 3, input_shape=(8, 8, 2)), ts_layers.BatchNormalization(),
                       ts_layers.LeakyReLU(0.1), ts_layers.MaxPooling2D(), ts_layers.Flatten(), ts_layers.Dense(3)])
    ours.load_weights(str(tmp_path / "k.h5"))  # by topological order
    np.testing.assert_allclose(_predict(ours, x), expected, atol=ATOL, rtol=ATOL)
    for fname in ("w.h5", "w.weights.h5"):
        ours.save_weights(str(tmp_path / fname))
        clone = keras.models.clone_model(kmodel)
        clone.load_weights(str(tmp_path / fname))
        np.testing.assert_allclose(clone(x, training=False).numpy(), expected, atol=ATOL, rtol=ATOL, err_msg=fname)


@pytest.mark.slow
def test_load_weights_by_name_and_skip_mismatch(trained, tmp_path):
    _, kmodel, x, expected, _ = next(t for t in trained if t[0] == "mlp")
    kmodel.save_weights(str(tmp_path / "mlp.h5"))
    names = [layer.name for layer in kmodel.layers]
    ours = Sequential([ts_layers.Dense(16, activation="relu", input_shape=(8,), name=names[0]),
                       ts_layers.Dense(4, activation="softmax", name=names[2])])
    ours.load_weights(str(tmp_path / "mlp.h5"), by_name=True)
    np.testing.assert_allclose(_predict(ours, x), expected, atol=ATOL, rtol=ATOL)
    wrong = Sequential([ts_layers.Dense(16, activation="relu", input_shape=(8,), name=names[0]),
                        ts_layers.Dense(3, name=names[2])])
    with pytest.raises(ModelFileError, match="shape"):
        wrong.load_weights(str(tmp_path / "mlp.h5"), by_name=True)
    before = wrong.layers[1].get_weights()
    with pytest.warns(RuntimeWarning, match="Skipping layer"):
        wrong.load_weights(str(tmp_path / "mlp.h5"), by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(wrong.layers[1].get_weights()[0], before[0])
    np.testing.assert_array_equal(wrong.layers[0].get_weights()[0], kmodel.layers[0].get_weights()[0])


@pytest.mark.slow
def test_keras_errors_for_layers_threestep_lacks(keras, tmp_path):
    L = keras.layers
    # Keras layers that work on a (batch, features) input; the first one threestep lacks is used,
    # so the test keeps its point as threestep gains layers.
    candidates = {"UnitNormalization": lambda: L.UnitNormalization(),
                  "GroupNormalization": lambda: L.GroupNormalization(groups=1),
                  "EinsumDense": lambda: L.EinsumDense("ab,bc->ac", output_shape=2)}
    missing = [name for name in candidates if not hasattr(ts_layers, name)]
    assert missing, "threestep has every candidate layer; add a Keras layer it still lacks"
    model = keras.Sequential([L.Dense(3, input_shape=(4,)), candidates[missing[0]]()])
    model.save(str(tmp_path / "m.h5"))
    with pytest.raises(ModelFileError, match="threestep has no layer") as error:
        load_model(str(tmp_path / "m.h5"))
    assert missing[0] in str(error.value)


@pytest.mark.slow
def test_lambda_bytecode_is_never_executed(keras, tmp_path):
    marker = tmp_path / "ran"
    marker_name = str(marker)
    L = keras.layers

    def side_effect(x):  # if the loader ran this, the marker file would appear
        open(marker_name, "w").close()  # noqa: SIM115
        return x * 2

    model = keras.Sequential([L.Dense(3, input_shape=(4,)), L.Lambda(side_effect)])
    model.save(str(tmp_path / "lambda.h5"))
    marker.unlink(missing_ok=True)
    with pytest.raises(ModelFileError, match="custom_objects"):
        load_model(str(tmp_path / "lambda.h5"))
    assert not marker.exists()


def test_save_format_by_extension_and_threestep_default(tmp_path):
    model = Sequential([ts_layers.Dense(3, input_shape=(4,))])
    model.save(str(tmp_path / "m.h5"))
    model.save(str(tmp_path / "m.keras"))
    model.save(str(tmp_path / "m.bin"), save_format="h5")
    model.save(str(tmp_path / "m.zip"))
    with open(tmp_path / "m.h5", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"
    with open(tmp_path / "m.bin", "rb") as f:
        assert f.read(8) == b"\x89HDF\r\n\x1a\n"
    assert threestep.interop.sniff(str(tmp_path / "m.keras")) == "keras"
    assert threestep.interop.sniff(str(tmp_path / "m.zip")) is None
    x = np.random.default_rng(0).normal(size=(2, 4)).astype("float32")
    for name in ("m.h5", "m.keras", "m.bin", "m.zip"):
        np.testing.assert_allclose(_predict(load_model(str(tmp_path / name)), x), _predict(model, x), atol=1e-7)


@pytest.mark.slow
def test_keras_models_exported_to_onnx_match_keras(trained, tmp_path):
    import onnxruntime  # noqa: PLC0415

    from threestep.export import to_onnx  # noqa: PLC0415

    for name, _, x, expected, paths in trained:
        if name == "masking":
            continue  # Masking has no ONNX converter
        model = load_model(paths["keras"])
        path = to_onnx(model, tmp_path / f"{name}.onnx")
        runtime = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        xs = x if isinstance(x, list) else [x]
        feeds = {i.name: (v.astype(np.int64) if "int64" in i.type else v) for i, v in zip(runtime.get_inputs(), xs)}
        tol = 1e-4 if any(k in name for k in ("lstm", "gru", "rnn")) else ATOL
        np.testing.assert_allclose(_flat(runtime.run(None, feeds)), expected, atol=tol, rtol=tol, err_msg=name)


@pytest.mark.slow
def test_keras3_archives_load(tmp_path):
    import keras as keras3  # noqa: PLC0415  (Keras 3 comes with tensorflow 2.21)

    L = keras3.layers
    rng = np.random.default_rng(2)
    a, b = keras3.Input((4,)), keras3.Input((5,))
    functional = keras3.Model([a, b], L.Dense(2)(L.Concatenate()([L.Dense(3)(a), L.Dense(3, activation="relu")(b)])))
    sequential = keras3.Sequential([keras3.Input((6, 3)), L.Bidirectional(L.LSTM(4, return_sequences=True)),
                                    L.GRU(3), L.BatchNormalization(), L.Dense(2, activation="softmax")])
    cases = [(functional, [rng.normal(size=(3, 4)).astype("float32"), rng.normal(size=(3, 5)).astype("float32")]),
             (sequential, rng.normal(size=(3, 6, 3)).astype("float32"))]
    for i, (model, x) in enumerate(cases):
        model.save(str(tmp_path / f"k3_{i}.keras"))
        want = np.asarray(model.predict(x, verbose=0))
        np.testing.assert_allclose(_predict(load_model(str(tmp_path / f"k3_{i}.keras")), x), want, atol=ATOL, rtol=ATOL)


@pytest.mark.slow
def test_compiled_model_is_compiled_in_tf_keras_too(keras, tmp_path):
    from threestep.optimizers import Adam  # noqa: PLC0415

    model = Sequential([ts_layers.Dense(3, activation="relu", input_shape=(4,)), ts_layers.Dense(2)])
    model.compile(optimizer=Adam(learning_rate=0.0123), loss="mse", metrics=["mae"])
    model.save(str(tmp_path / "c.h5"))
    back = keras.models.load_model(str(tmp_path / "c.h5"))
    assert back.optimizer.__class__.__name__ == "Adam"
    assert abs(float(back.optimizer.learning_rate.numpy()) - 0.0123) < 1e-7
    again = load_model(str(tmp_path / "c.h5"))  # and threestep compiles it from the same config
    assert again.compiled and type(again.optimizer).__name__ == "Adam"
    assert abs(again.optimizer.get_config()["learning_rate"] - 0.0123) < 1e-7
