"""Writing your own layers: build with add_weight, call, compute_output_shape, get_config; save and load."""
import os
import tempfile

import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Dense, Layer
from threestep.keras.models import Sequential, load_model


class MyLayer(Layer):
    def __init__(self, output_dim, **kwargs):
        self.output_dim = output_dim
        super(MyLayer, self).__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[1], self.output_dim),
                                      initializer="uniform", trainable=True)
        super(MyLayer, self).build(input_shape)

    def call(self, x):
        return K.dot(x, self.kernel)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.output_dim)

    def get_config(self):
        config = super(MyLayer, self).get_config()
        config["output_dim"] = self.output_dim
        return config


class Antirectifier(Layer):
    """Concatenates the positive and the negative part of the centred, normalised input."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-1] *= 2
        return tuple(shape)

    def call(self, inputs):
        inputs -= K.mean(inputs, axis=1, keepdims=True)
        inputs = K.l2_normalize(inputs, axis=1)
        pos = K.relu(inputs)
        neg = K.relu(-inputs)
        return K.concatenate([pos, neg], axis=1)


rng = np.random.RandomState(2)
x = rng.random_sample((64, 10)).astype("float32")
y = (x[:, :5].sum(axis=1) > x[:, 5:].sum(axis=1)).astype("float32")
model = Sequential([MyLayer(8, input_shape=(10,)), Antirectifier(), Dense(1, activation="sigmoid")])
assert model.output_shape == (None, 1) and model.layers[1].output_shape == (None, 16)
model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
model.fit(x, y, epochs=5, batch_size=16, verbose=0)

path = os.path.join(tempfile.mkdtemp(), "custom.h5")
model.save(path)
restored = load_model(path, custom_objects={"MyLayer": MyLayer, "Antirectifier": Antirectifier})
np.testing.assert_allclose(restored.predict(x), model.predict(x), rtol=1e-6)
