"""The lecture's Keras code runs with only its import lines changed."""
import warnings

import numpy as np
import pytest

import threestep as ts
from threestep.datasets import digits


@pytest.fixture(scope="module")
def data():
    from threestep.keras.utils import np_utils

    (x_train, y_train), (x_test, y_test) = digits.load_data()
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16
    return x_train, np_utils.to_categorical(y_train, 10), x_test, np_utils.to_categorical(y_test, 10)


def test_lecture_code_with_keras1_spellings(data, capsys):
    from threestep.keras.layers.core import Activation, Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x_train, y_train, x_test, y_test = data
    ts.backend.set_seed(0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = Sequential()
        model.add(Dense(input_dim=8 * 8, output_dim=500))
        model.add(Activation("sigmoid"))
        model.add(Dense(output_dim=500))
        model.add(Activation("sigmoid"))
        model.add(Dense(output_dim=10))
        model.add(Activation("softmax"))
        model.compile(loss="mse", optimizer=SGD(lr=0.1), metrics=["accuracy"])
        history = model.fit(x_train, y_train, batch_size=100, nb_epoch=2)
    messages = [str(w.message) for w in caught if issubclass(w.category, DeprecationWarning)]
    assert any("'output_dim'" in m and "'units'" in m for m in messages)
    assert any("'lr'" in m and "learning_rate" in m for m in messages)
    assert any("'nb_epoch'" in m and "'epochs'" in m for m in messages)
    assert len(history.history["loss"]) == 2
    score = model.evaluate(x_test, y_test)
    assert len(score) == 2 and 0 <= score[1] <= 1
    result = model.predict(x_test)
    assert result.shape == (len(x_test), 10)
    np.testing.assert_allclose(result.sum(axis=1), 1, rtol=1e-5)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out


def test_lecture_network_relu_cross_entropy_reaches_95_percent(data):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x_train, y_train, x_test, y_test = data
    ts.backend.set_seed(0)
    model = Sequential([Dense(500, activation="relu", input_dim=64), Dense(500, activation="relu"),
                        Dense(10, activation="softmax")])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.05, momentum=0.9),
                  metrics=["accuracy"])
    model.fit(x_train, y_train, batch_size=32, epochs=12, verbose=0)
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    assert accuracy >= 0.95, accuracy


def test_same_seed_gives_identical_weights(data):
    from threestep.layers import Dense
    from threestep.models import Sequential

    x_train, y_train, _, _ = data

    def run():
        ts.backend.set_seed(7)
        model = Sequential([Dense(32, activation="sigmoid", input_dim=64), Dense(10, activation="softmax")])
        model.compile(loss="categorical_crossentropy", optimizer="sgd")
        model.fit(x_train, y_train, batch_size=50, epochs=2, verbose=0)
        return model.get_weights()

    for a, b in zip(run(), run()):
        assert np.array_equal(a, b)


def test_fit_seed_argument_fixes_shuffling(data):
    from threestep.layers import Dense
    from threestep.models import Sequential

    x_train, y_train, _, _ = data
    ts.backend.set_seed(1)
    model = Sequential([Dense(10, activation="softmax", input_dim=64)])
    model.compile(loss="categorical_crossentropy", optimizer="sgd")
    start = model.get_weights()
    model.fit(x_train, y_train, epochs=1, verbose=0, seed=5)
    first = model.get_weights()
    model.set_weights(start)
    model.fit(x_train, y_train, epochs=1, verbose=0, seed=5)
    for a, b in zip(first, model.get_weights()):
        assert np.array_equal(a, b)


def test_keras_namespace_paths():
    import threestep.keras as keras

    assert keras.layers.core.Dense is keras.layers.Dense
    assert keras.utils.to_categorical is keras.utils.np_utils.to_categorical
    assert hasattr(keras.callbacks, "EarlyStopping") and hasattr(keras.callbacks, "History")
    assert hasattr(keras.optimizers, "SGD")
    from threestep.keras.datasets import digits as d

    assert d.load_data is digits.load_data
