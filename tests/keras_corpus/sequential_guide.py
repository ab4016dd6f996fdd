"""Sequential models: a list of layers or .add(), compile choices, fit / evaluate / predict."""
import numpy as np

from threestep.keras import utils
from threestep.keras.layers import Activation, Dense, Dropout
from threestep.keras.models import Sequential
from threestep.keras.optimizers import SGD

rng = np.random.RandomState(0)

# multi-class softmax classification: an MLP with dropout
x_train = rng.random_sample((200, 20)).astype("float32")
labels = (x_train[:, :10].sum(axis=1) > x_train[:, 10:].sum(axis=1)).astype(int) + (x_train[:, 0] > 0.5)
y_train = utils.to_categorical(labels, num_classes=3)

model = Sequential()
model.add(Dense(32, activation="relu", input_dim=20))
model.add(Dropout(0.2))
model.add(Dense(32, activation="relu"))
model.add(Dropout(0.2))
model.add(Dense(3, activation="softmax"))
sgd = SGD(lr=0.05, decay=1e-6, momentum=0.9, nesterov=True)
model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=15, batch_size=32, verbose=0)
loss, acc = model.evaluate(x_train, y_train, batch_size=64, verbose=0)
assert acc > 0.6, acc
assert history.history["loss"][-1] < history.history["loss"][0]

# binary classification with the list constructor and an Activation layer
binary = Sequential([Dense(16, input_shape=(20,)), Activation("relu"), Dense(1, activation="sigmoid")])
binary.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
binary.fit(x_train, (labels > 0).astype("float32"), epochs=5, batch_size=32, verbose=0)
probabilities = binary.predict(x_train[:5])
assert probabilities.shape == (5, 1) and ((0 <= probabilities) & (probabilities <= 1)).all()

# regression with mean squared error
regression = Sequential([Dense(8, activation="tanh", input_dim=20), Dense(1)])
regression.compile(optimizer="adam", loss="mse", metrics=["mae"])
regression.fit(x_train, x_train.sum(axis=1, keepdims=True), epochs=3, verbose=0, validation_split=0.2)
assert regression.metrics_names == ["loss", "mae"]
