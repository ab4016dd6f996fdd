"""The functional API: Model(inputs, outputs), merges, shared layers, several inputs and
outputs, training, save/load, and errors."""
import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.layers import Activation, Add, Concatenate, Dense, Input
from threestep.models import Model, Sequential, load_model


def test_functional_equals_sequential_with_the_same_weights():
    ts.backend.set_seed(0)
    x = Input((4,))
    y = Dense(3, activation="softmax")(Dense(8, activation="relu")(x))
    model = Model(x, y)
    seq = Sequential([Dense(8, activation="relu", input_dim=4), Dense(3, activation="softmax")])
    seq.set_weights(model.get_weights())
    data = np.random.default_rng(0).standard_normal((10, 4)).astype("float32")
    np.testing.assert_array_equal(model.predict(data), seq.predict(data))
    assert model.output_shape == (None, 3) and model.input_shape == (None, 4)
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense"]


def test_two_inputs_concatenate_and_training():
    ts.backend.set_seed(1)
    a, b = Input((3,), name="a"), Input((2,), name="b")
    h = Concatenate()([Dense(4, activation="tanh")(a), b])
    model = Model([a, b], Dense(2, activation="softmax")(h))
    from threestep.optimizers import Adam

    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.02), metrics=["accuracy"])
    rng = np.random.default_rng(1)
    xa, xb = rng.standard_normal((200, 3)), rng.standard_normal((200, 2))
    y = (xa[:, 0] + xb[:, 1] > 0).astype(int)
    history = model.fit([xa, xb], y, epochs=30, batch_size=20, verbose=0, validation_split=0.2)
    assert history.history["accuracy"][-1] > 0.9
    assert model.evaluate([xa, xb], y, verbose=0)[1] > 0.85
    with pytest.raises(errors.DataError, match="2 input"):
        model.predict(xa)


def test_residual_block_and_shared_layer():
    ts.backend.set_seed(2)
    x = Input((5,))
    shared = Dense(5, activation="relu")
    y = Add()([x, shared(shared(x))])  # the same layer twice: one set of weights
    model = Model(x, y)
    assert len(model.layers) == 2 and len(model.weights) == 2
    data = np.random.default_rng(2).standard_normal((3, 5)).astype("float32")
    k, b = shared.get_weights()
    once = np.maximum(data @ k + b, 0)
    np.testing.assert_allclose(model.predict(data), data + np.maximum(once @ k + b, 0), rtol=1e-5)


def test_several_outputs_predict_a_list():
    x = Input((4,))
    h = Dense(3)(x)
    model = Model(x, [h, Activation("tanh")(h)])
    out = model.predict(np.ones((2, 4)))
    assert isinstance(out, list) and out[0].shape == (2, 3)
    np.testing.assert_allclose(np.tanh(out[0]), out[1], rtol=1e-6)


def test_save_and_load_a_functional_model(tmp_path):
    ts.backend.set_seed(3)
    a, b = Input((3,)), Input((3,))
    shared = Dense(4, activation="relu")
    y = Dense(1, activation="sigmoid")(Concatenate()([shared(a), shared(b)]))
    model = Model([a, b], y)
    model.compile(loss="binary_crossentropy", optimizer="sgd")
    data = [np.random.default_rng(3).standard_normal((5, 3)) for _ in range(2)]
    model.save(tmp_path / "f.ts3")
    loaded = load_model(tmp_path / "f.ts3")
    np.testing.assert_array_equal(loaded.predict(data), model.predict(data))
    assert len(loaded.layers) == 3


def test_disconnected_graph_and_bad_inputs():
    a, b = Input((3,)), Input((3,))
    y = Add()([a, b])
    with pytest.raises(errors.ConfigError, match="disconnected"):
        Model(a, y)
    with pytest.raises(errors.ConfigError, match="Input"):
        Model(y, y)
    with pytest.raises(errors.ShapeError, match="same shape"):
        Add()([Input((3,)), Input((4,))])


def test_input_in_sequential_keras3_style():
    model = Sequential([Input((6,)), Dense(2)])
    assert model.output_shape == (None, 2)
