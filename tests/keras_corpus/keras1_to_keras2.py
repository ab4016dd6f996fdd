"""Keras 1 code run unchanged (apart from imports): channels-first images set once, old argument names."""
import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Activation, Convolution2D, Dense, Dropout, Flatten, MaxPooling2D
from threestep.keras.models import Sequential
from threestep.keras.regularizers import l2
from threestep.keras.utils import np_utils

K.set_image_data_format("channels_first")  # Keras 1's dim_ordering "th", set once for every layer

model2 = Sequential()
model2.add(Convolution2D(25, 3, 3, input_shape=(1, 28, 28)))
model2.add(MaxPooling2D((2, 2)))
model2.add(Convolution2D(50, 3, 3))
model2.add(MaxPooling2D((2, 2)))
model2.add(Flatten())
model2.add(Dense(output_dim=100))
model2.add(Activation("relu"))
model2.add(Dense(output_dim=10))
model2.add(Activation("softmax"))
assert model2.count_params() == 137660
assert model2.layers[3].output_shape == (None, 50, 5, 5)

rng = np.random.RandomState(5)
images = rng.random_sample((32, 1, 28, 28)).astype("float32")
labels = np_utils.to_categorical(rng.randint(0, 10, 32), 10)
model2.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
model2.fit(images, labels, batch_size=16, nb_epoch=1, verbose=0)

# more Keras 1 names: init=, W_regularizer=, border_mode=, subsample=
small = Sequential()
small.add(Convolution2D(4, 3, 3, border_mode="same", subsample=(2, 2), init="he_normal",
                        W_regularizer=l2(0.01), input_shape=(1, 8, 8)))
small.add(MaxPooling2D(pool_size=(2, 2), border_mode="valid"))
small.add(Flatten())
small.add(Dense(output_dim=3, init="glorot_uniform", W_regularizer=l2(0.01), b_regularizer=l2(0.01)))
small.add(Dropout(0.1))
assert small.output_shape == (None, 3) and small.layers[0].output_shape == (None, 4, 4, 4)
