"""Custom losses and metrics written with the backend, and Lambda layers."""
import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Dense, Input, Lambda
from threestep.keras.models import Model, Sequential


def root_mean_squared_error(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))


def mean_pred(y_true, y_pred):
    return K.mean(y_pred)


def weighted_binary_crossentropy(y_true, y_pred):
    weights = y_true * 3.0 + (1.0 - y_true)
    return K.mean(K.binary_crossentropy(y_true, y_pred) * weights, axis=-1)


rng = np.random.RandomState(6)
x = rng.random_sample((80, 6)).astype("float32")
y = x[:, :2] * 2 - 1

regression = Sequential([Dense(16, activation="tanh", input_dim=6), Dense(2)])
regression.compile(optimizer="adam", loss=root_mean_squared_error, metrics=[root_mean_squared_error, mean_pred])
history = regression.fit(x, y, epochs=5, batch_size=16, verbose=0)
# the same function as loss and as metric reports the same value in evaluate
loss, rmse, _ = regression.evaluate(x, y, batch_size=80, verbose=0)
assert abs(loss - rmse) < 1e-5, (loss, rmse)

classifier = Sequential([Dense(1, activation="sigmoid", input_dim=6)])
classifier.compile(optimizer="sgd", loss=weighted_binary_crossentropy, metrics=["accuracy"])
classifier.fit(x, (x[:, 0] > 0.7).astype("float32"), epochs=2, verbose=0)

# Lambda layers: normalisation, slicing with arguments, and a distance between two branches
inputs = Input(shape=(6,))
unit = Lambda(lambda t: K.l2_normalize(t, axis=-1))(inputs)
first = Lambda(lambda t, n: t[:, :n], arguments={"n": 3})(unit)
second = Lambda(lambda t: t[:, 3:])(unit)
distance = Lambda(lambda pair: K.sqrt(K.sum(K.square(pair[0] - pair[1]), axis=1, keepdims=True)),
                  output_shape=(1,))([first, second])
model = Model(inputs, Dense(1, activation="sigmoid")(distance))
model.compile("rmsprop", "binary_crossentropy")
model.fit(x, (x[:, 0] > 0.5).astype("float32"), epochs=1, verbose=0)
assert model.layers[2].output_shape == (None, 3)
norms = K.function([inputs], [unit])([x])[0]
np.testing.assert_allclose(np.linalg.norm(norms, axis=1), 1.0, rtol=1e-5)
