"""Filter visualisation / Deep Dream the Keras 2 way: K.gradients of a layer's activation w.r.t. the image."""
import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Conv2D, Dense, Flatten, Input, MaxPooling2D
from threestep.keras.models import Model

image = Input(shape=(16, 16, 3))
h = Conv2D(8, (3, 3), activation="relu", padding="same", name="block1_conv1")(image)
h = MaxPooling2D((2, 2))(h)
h = Conv2D(8, (3, 3), activation="relu", padding="same", name="block2_conv1")(h)
model = Model(image, Dense(5, activation="softmax")(Flatten()(h)))

layer_dict = dict([(layer.name, layer) for layer in model.layers])
layer_output = layer_dict["block2_conv1"].output
filter_index = 3
loss = K.mean(layer_output[:, :, :, filter_index])
grads = K.gradients(loss, image)[0]
grads /= (K.sqrt(K.mean(K.square(grads))) + 1e-5)
iterate = K.function([image], [loss, grads])

rng = np.random.RandomState(8)
input_img_data = rng.random_sample((1, 16, 16, 3)) * 20 + 128.0
first_loss, _ = iterate([input_img_data])
for _ in range(10):
    loss_value, grads_value = iterate([input_img_data])
    input_img_data += grads_value * 1.0
assert loss_value >= first_loss

# the Deep Dream variant: several layers' activations, weighted, gradient ascent on the image
dream = model.input
coeffs = {"block1_conv1": 0.5, "block2_conv1": 1.0}
total = K.variable(0.0)
for name, coeff in coeffs.items():
    activation = layer_dict[name].output
    scaling = K.prod(K.cast(K.shape(activation), "float32"))
    total = total + coeff * K.sum(K.square(activation[:, 2:-2, 2:-2, :])) / scaling
dream_grads = K.gradients(total, dream)[0]
dream_grads /= K.maximum(K.mean(K.abs(dream_grads)), K.epsilon())
fetch = K.function([dream], [total, dream_grads])
value, step = fetch([input_img_data])
assert step.shape == input_img_data.shape and np.isfinite(value)
