"""A user's ``RNN`` subclass that makes its cell in its own ``__init__`` and hands it to
``super().__init__`` (Keras's ``RNN`` takes a cell): it runs as ``RNN(cell)`` does, keeps its own
class, trains, saves, loads and clones; arguments only the fused layers take are refused."""
import numpy as np
import pytest

from threestep.errors import ConfigError
from threestep.keras import backend as K, layers, models

RNG = np.random.default_rng(3)


class MinimalCell(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent = self.add_weight(shape=(self.units, self.units), initializer="uniform", name="recurrent")

    def call(self, inputs, states):
        h = K.tanh(K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent))
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "units": self.units}


class MyRNN(layers.RNN):
    """An RNN of MinimalCells."""

    def __init__(self, units, **kwargs):
        super().__init__(MinimalCell(units), **kwargs)
        self.my_units = units

    def get_config(self):
        config = super().get_config()
        config.pop("cell", None)
        return {**config, "units": self.my_units}


CUSTOM = {"MyRNN": MyRNN, "MinimalCell": MinimalCell}


def test_runs_as_rnn_of_its_cell_and_keeps_its_class(tmp_path):
    x, y = RNG.random((16, 5, 3)).astype("float32"), RNG.random((16, 2)).astype("float32")
    mine = models.Sequential([MyRNN(4, return_sequences=True, input_shape=(5, 3)), layers.Flatten(), layers.Dense(2)])
    plain = models.Sequential([layers.RNN(MinimalCell(4), return_sequences=True, input_shape=(5, 3)),
                               layers.Flatten(), layers.Dense(2)])
    plain.set_weights(mine.get_weights())
    layer = mine.layers[0]
    assert isinstance(layer, MyRNN) and type(layer).__name__ == "MyRNN" and layer.my_units == 4
    assert layer.return_sequences and layer.get_config()["units"] == 4
    np.testing.assert_allclose(mine.predict(x), plain.predict(x), rtol=1e-6)
    for model in (mine, plain):
        model.compile("sgd", "mse")
        model.fit(x, y, epochs=2, batch_size=8, shuffle=False, verbose=0)
    np.testing.assert_allclose(mine.predict(x), plain.predict(x), rtol=1e-5)
    mine.save(tmp_path / "m.ts")
    loaded = models.load_model(tmp_path / "m.ts", custom_objects=CUSTOM)
    np.testing.assert_array_equal(loaded.predict(x), mine.predict(x))
    assert type(loaded.layers[0]).__name__ == "MyRNN"
    clone = models.clone_model(mine)
    clone.set_weights(mine.get_weights())
    np.testing.assert_array_equal(clone.predict(x), mine.predict(x))
    clone.save(tmp_path / "c.ts")  # the clone's cell is named after its layer too
    np.testing.assert_array_equal(models.load_model(tmp_path / "c.ts", custom_objects=CUSTOM).predict(x),
                                  mine.predict(x))


def test_arguments_of_the_fused_layers_are_refused_with_the_keyword_way():
    class Positional(layers.RNN):
        def __init__(self, units):
            super().__init__(MinimalCell(units), True)  # Keras: return_sequences=True, here activation=True

    with pytest.raises(ConfigError, match="return_sequences=True"):
        Positional(3)
