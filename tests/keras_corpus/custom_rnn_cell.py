"""Writing a recurrent cell: a layer with a state size and a one-step call, looped by RNN."""
import numpy as np

from threestep.keras import backend as K
from threestep.keras import layers
from threestep.keras.layers import RNN, Dense, Input
from threestep.keras.models import Model


class ElmanCell(layers.Layer):
    """The smallest useful cell: new state = input projection + recurrent projection."""

    def __init__(self, units, **kwargs):
        self.units = units
        self.state_size = units
        super(ElmanCell, self).__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), initializer="uniform", name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), initializer="uniform",
                                                name="recurrent_kernel")
        self.built = True

    def call(self, inputs, states):
        previous = states[0]
        output = K.dot(inputs, self.kernel) + K.dot(previous, self.recurrent_kernel)
        return output, [output]


# one cell in an RNN layer, on sequences of any length with 5 features per step
cell = ElmanCell(32)
x = Input((None, 5))
y = RNN(cell)(x)
assert tuple(y.shape) == (None, 32)

# a list of cells is a stacked RNN: the first cell's output is the second cell's input
x = Input((None, 5))
stacked = RNN([ElmanCell(32), ElmanCell(64)])
y = stacked(x)
assert tuple(y.shape) == (None, 64)

model = Model(x, Dense(1)(y))
model.compile(optimizer="sgd", loss="mse")
rng = np.random.RandomState(4)
data, target = rng.normal(size=(16, 7, 5)).astype("float32") * 0.1, rng.normal(size=(16, 1)).astype("float32")
history = model.fit(data, target, epochs=2, batch_size=8, verbose=0)
assert np.isfinite(history.history["loss"]).all()
assert model.predict(data[:, :3]).shape == (16, 1)  # another sequence length, the same weights
assert stacked.count_params() == (5 * 32 + 32 * 32) + (32 * 64 + 64 * 64)

# the cell's arithmetic, checked against NumPy for one sample
kernel, recurrent = cell.get_weights()
state = np.zeros(32, "float32")
sequence = rng.normal(size=(4, 5)).astype("float32")
for step in sequence:
    state = step @ kernel + state @ recurrent
assert np.allclose(RNN(cell)(sequence[None]).numpy()[0], state, atol=1e-5)  # a second RNN shares the cell
