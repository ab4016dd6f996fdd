"""Keras 2 model methods against tf-keras: generators, to_json / model_from_json, clone_model,
get_layer / layer.input / layer.output, metrics_names, *_on_batch, several outputs with loss
dicts and loss_weights, temporal sample weights, weighted_metrics, and variable-length time axes."""
import os

import numpy as np
import pytest

from threestep.keras.layers import LSTM, Dense, Dropout, Input, TimeDistributed
from threestep.keras.models import Model, Sequential, clone_model, model_from_json
from threestep.keras.optimizers import SGD
from threestep.keras.utils import Sequence

RNG = np.random.default_rng(2)
X = RNG.normal(size=(24, 6)).astype("float32")
Y = np.eye(3, dtype="float32")[RNG.integers(0, 3, 24)]


@pytest.fixture(scope="module")
def tk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras

    return tf_keras


def _mlp():
    return Sequential([Dense(8, activation="relu", input_dim=6, name="hidden"), Dropout(0.0),
                       Dense(3, activation="softmax", name="probs")])


def _tf_mlp(tk, weights):
    model = tk.Sequential([tk.layers.Dense(8, activation="relu", input_dim=6, name="hidden"), tk.layers.Dropout(0.0),
                           tk.layers.Dense(3, activation="softmax", name="probs")])
    model.set_weights(weights)
    return model


def _batches(n_batches=3, size=8):
    while True:
        for i in range(n_batches):
            yield X[i * size:(i + 1) * size], Y[i * size:(i + 1) * size]


@pytest.mark.slow
def test_generator_methods_match_tf_keras_fit(tk):
    model = _mlp()
    model.compile(SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    ref = _tf_mlp(tk, model.get_weights())
    ref.compile(tk.optimizers.SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    model.fit_generator(_batches(), steps_per_epoch=3, epochs=2, verbose=0)
    ref.fit(_batches(), steps_per_epoch=3, epochs=2, verbose=0, shuffle=False)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    got = model.evaluate_generator(_batches(), steps=3)
    want = ref.evaluate(_batches(), steps=3, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert model.metrics_names == ["loss", "accuracy"] == ref.metrics_names
    np.testing.assert_allclose(model.predict_generator((xb for xb, _ in _batches()), steps=3), ref.predict(X, verbose=0),
                               rtol=1e-5, atol=1e-6)

    class Batches(Sequence):
        def __len__(self):
            return 3

        def __getitem__(self, i):
            return X[i * 8:(i + 1) * 8], Y[i * 8:(i + 1) * 8]

    model.fit_generator(Batches(), epochs=1, verbose=0, shuffle=False)


def test_on_batch_methods_match_tf_keras(tk):
    model = _mlp()
    model.compile(SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    ref = _tf_mlp(tk, model.get_weights())
    ref.compile(tk.optimizers.SGD(0.1), "categorical_crossentropy", metrics=["accuracy"])
    np.testing.assert_allclose(model.train_on_batch(X, Y), ref.train_on_batch(X, Y), rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(X, Y), ref.test_on_batch(X, Y), rtol=1e-5)
    np.testing.assert_allclose(model.predict_on_batch(X), ref.predict_on_batch(X), rtol=1e-5, atol=1e-6)


def test_json_round_trip_and_clone(tk):
    model = _mlp()
    text = model.to_json()
    rebuilt = model_from_json(text)
    assert [type(layer).__name__ for layer in rebuilt.layers] == ["Dense", "Dropout", "Dense"]
    rebuilt.set_weights(model.get_weights())
    np.testing.assert_allclose(rebuilt.predict(X), model.predict(X), rtol=1e-6)
    clone = clone_model(model)
    assert [w.shape for w in clone.get_weights()] == [w.shape for w in model.get_weights()]
    assert not np.allclose(clone.get_weights()[0], model.get_weights()[0])  # fresh weights, as Keras
    x = Input((6,))
    functional = Model(x, Dense(2, name="out")(Dense(4, name="h")(x)))
    again = model_from_json(functional.to_json())
    assert [layer.name for layer in again.layers] == ["h", "out"]
    assert clone_model(functional).output_shape == (None, 2)


def test_feature_extraction_through_layer_input_and_output(tk):
    model = _mlp()
    ref = _tf_mlp(tk, model.get_weights())
    features = Model(model.input, model.get_layer("hidden").output)
    tf_features = tk.Model(ref.input, ref.get_layer("hidden").output)
    np.testing.assert_allclose(features.predict(X), tf_features.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    assert model.get_layer(index=2) is model.get_layer("probs")
    assert model.get_layer("probs").input_shape == ref.get_layer("probs").input_shape
    assert model.get_layer("probs").output_shape == ref.get_layer("probs").output_shape
    assert model.layers[0].input is model.input and model.layers[-1].output is model.output
    # freezing a layer (FAQ): its weights stay put
    model.get_layer("hidden").trainable = False
    model.compile(SGD(0.5), "categorical_crossentropy")
    before = model.get_layer("hidden").get_weights()[0].copy()
    model.fit(X, Y, epochs=1, verbose=0)
    np.testing.assert_array_equal(model.get_layer("hidden").get_weights()[0], before)


def _two_outputs(lib, layers):
    x = lib.Input((6,)) if lib is not None else Input((6,))
    h = layers.Dense(5, activation="tanh", name="h")(x)
    digit = layers.Dense(3, activation="softmax", name="digit")(h)
    value = layers.Dense(1, name="value")(h)
    return x, [digit, value]


def test_several_outputs_with_dicts_and_loss_weights_match_tf_keras(tk):
    from threestep.keras import layers

    x, outs = _two_outputs(None, layers)
    model = Model(x, outs)
    tx, touts = _two_outputs(tk, tk.layers)
    ref = tk.Model(tx, touts)
    ref.set_weights(model.get_weights())
    spec = dict(loss={"digit": "sparse_categorical_crossentropy", "value": "mse"},
                loss_weights={"digit": 1.0, "value": 0.3}, metrics={"digit": ["accuracy"]})
    model.compile(SGD(0.1), **spec)
    ref.compile(tk.optimizers.SGD(0.1), **spec)
    labels, values = RNG.integers(0, 3, 24), RNG.normal(size=(24, 1)).astype("float32")
    got = model.train_on_batch(X, {"digit": labels, "value": values})
    want = ref.train_on_batch(X, {"digit": labels, "value": values})
    np.testing.assert_allclose(got, want, rtol=1e-5)
    assert model.metrics_names == ref.metrics_names
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.evaluate(X, [labels, values], verbose=0),
                               ref.evaluate(X, [labels, values], verbose=0), rtol=1e-5)


def test_temporal_sample_weights_and_weighted_metrics_match_tf_keras(tk):
    seq = RNG.normal(size=(6, 4, 3)).astype("float32")
    target = RNG.normal(size=(6, 4, 2)).astype("float32")
    weights = RNG.uniform(0, 1, size=(6, 4)).astype("float32")
    model = Sequential([TimeDistributed(Dense(2), input_shape=(4, 3))])
    ref = tk.Sequential([tk.layers.TimeDistributed(tk.layers.Dense(2), input_shape=(4, 3))])
    ref.set_weights(model.get_weights())
    model.compile(SGD(0.1), "mse", sample_weight_mode="temporal", weighted_metrics=["mae"])
    ref.compile(tk.optimizers.SGD(0.1), "mse", sample_weight_mode="temporal", weighted_metrics=["mae"])
    got = model.train_on_batch(seq, target, sample_weight=weights)
    want = ref.train_on_batch(seq, target, sample_weight=weights)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for a, b in zip(model.get_weights(), ref.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_variable_length_time_axis_trains():
    """The bug: labels (27, 29) against an output (None, 29) were refused; None is any length."""
    inp = Input(shape=(None, 5))
    out = TimeDistributed(Dense(29, activation="softmax"))(LSTM(8, return_sequences=True)(inp))
    model = Model(inp, out)
    model.compile("adam", "categorical_crossentropy")
    x = RNG.normal(size=(4, 27, 5)).astype("float32")
    y = np.eye(29, dtype="float32")[RNG.integers(0, 29, (4, 27))]
    history = model.fit(x, y, epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    shorter = RNG.normal(size=(2, 11, 5)).astype("float32")
    assert model.predict(shorter).shape == (2, 11, 29)
    model.train_on_batch(shorter, np.eye(29, dtype="float32")[RNG.integers(0, 29, (2, 11))])
    with pytest.raises(ValueError, match="labels y have shape"):
        model.fit(x, y[:, :, :28], verbose=0)


def test_several_outputs_save_and_load(tmp_path):
    from threestep.keras import layers
    from threestep.keras.models import load_model

    x, outs = _two_outputs(None, layers)
    model = Model(x, outs)
    model.compile("adam", loss={"digit": "sparse_categorical_crossentropy", "value": "mse"},
                  loss_weights={"digit": 1.0, "value": 0.5}, metrics={"digit": ["accuracy"]})
    labels, values = RNG.integers(0, 3, 24), RNG.normal(size=(24, 1)).astype("float32")
    model.fit(X, [labels, values], epochs=1, verbose=0)
    path = str(tmp_path / "two.keras")
    model.save(path)
    back = load_model(path)
    assert back.metrics_names == model.metrics_names
    np.testing.assert_allclose(back.evaluate(X, [labels, values], verbose=0),
                               model.evaluate(X, [labels, values], verbose=0), rtol=1e-5)


def test_model_called_as_a_layer_saves_and_loads(tmp_path):
    from threestep.keras.models import load_model

    inner_input = Input((6,))
    encoder = Model(inner_input, Dense(3, activation="tanh", name="code")(inner_input), name="encoder")
    outer_input = Input((6,))
    model = Model(outer_input, Dense(2, name="head")(encoder(outer_input)))
    model.compile("sgd", "mse")
    model.fit(X, Y[:, :2], epochs=1, verbose=0)
    assert model.count_params() == encoder.count_params() + 8
    path = str(tmp_path / "nested.keras")
    model.save(path)
    back = load_model(path)
    np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-6)
    assert Model.fit.__doc__ and "gradient descent" in Model.fit.__doc__
