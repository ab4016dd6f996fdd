"""FAQ recipes: intermediate layer outputs (a model, or K.function), freezing layers, weights only."""
import os
import tempfile

import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Dense, Dropout, Input
from threestep.keras.models import Model, Sequential

rng = np.random.RandomState(3)
data = rng.random_sample((32, 8)).astype("float32")

model = Sequential([Dense(16, activation="relu", input_dim=8, name="my_layer"), Dropout(0.5),
                    Dense(4, activation="softmax")])
model.compile("adam", "categorical_crossentropy")

# 1) a model that outputs the layer of interest
intermediate_layer_model = Model(inputs=model.input, outputs=model.get_layer("my_layer").output)
intermediate_output = intermediate_layer_model.predict(data)
assert intermediate_output.shape == (32, 16)

# 2) a backend function (with the learning phase, so dropout can be on or off)
get_output = K.function([model.layers[0].input, K.learning_phase()], [model.layers[2].output])
test_mode = get_output([data, 0])[0]
np.testing.assert_allclose(test_mode, model.predict(data), rtol=1e-5, atol=1e-6)
assert not np.allclose(get_output([data, 1])[0], test_mode)

# 3) freezing layers: trainable=False before compile
frozen = Dense(8, trainable=False)
x = Input(shape=(8,))
y = Dense(2)(frozen(x))
frozen_model = Model(x, y)
frozen_model.compile(optimizer="rmsprop", loss="mse")
before = frozen.get_weights()[0].copy()
frozen_model.fit(data, rng.random_sample((32, 2)), verbose=0)
np.testing.assert_array_equal(frozen.get_weights()[0], before)
assert len(frozen_model.trainable_weights) == 2

# 4) weights only, into a model of the same architecture
path = os.path.join(tempfile.mkdtemp(), "weights.h5")
model.save_weights(path)
twin = Sequential([Dense(16, activation="relu", input_dim=8), Dropout(0.5), Dense(4, activation="softmax")])
twin.load_weights(path)
np.testing.assert_allclose(twin.predict(data), model.predict(data), rtol=1e-6)

# 5) the architecture as JSON
from threestep.keras.models import model_from_json  # noqa: E402

rebuilt = model_from_json(model.to_json())
assert [layer.name for layer in rebuilt.layers] == [layer.name for layer in model.layers]
