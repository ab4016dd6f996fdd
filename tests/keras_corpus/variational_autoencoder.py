"""A variational autoencoder: a sampling Lambda (the reparameterisation trick) and the KL term via add_loss."""
import numpy as np

from threestep.keras import backend as K
from threestep.keras.layers import Dense, Input, Lambda
from threestep.keras.models import Model

original_dim, intermediate_dim, latent_dim = 12, 8, 2


def sampling(args):
    z_mean, z_log_var = args
    batch = K.shape(z_mean)[0]
    dim = K.int_shape(z_mean)[1]
    epsilon = K.random_normal(shape=(batch, dim))
    return z_mean + K.exp(0.5 * z_log_var) * epsilon


inputs = Input(shape=(original_dim,), name="encoder_input")
x = Dense(intermediate_dim, activation="relu")(inputs)
z_mean = Dense(latent_dim, name="z_mean")(x)
z_log_var = Dense(latent_dim, name="z_log_var")(x)
z = Lambda(sampling, output_shape=(latent_dim,), name="z")([z_mean, z_log_var])
encoder = Model(inputs, [z_mean, z_log_var, z], name="encoder")

latent_inputs = Input(shape=(latent_dim,), name="z_sampling")
decoded = Dense(original_dim, activation="sigmoid")(Dense(intermediate_dim, activation="relu")(latent_inputs))
decoder = Model(latent_inputs, decoded, name="decoder")

outputs = decoder(encoder(inputs)[2])
vae = Model(inputs, outputs, name="vae_mlp")

reconstruction_loss = K.sum(K.binary_crossentropy(inputs, outputs), axis=-1)
kl_loss = -0.5 * K.sum(1 + z_log_var - K.square(z_mean) - K.exp(z_log_var), axis=-1)
vae.add_loss(K.mean(reconstruction_loss + kl_loss))
vae.compile(optimizer="adam")

rng = np.random.RandomState(7)
data = (rng.random_sample((128, original_dim)) > 0.5).astype("float32")
history = vae.fit(data, epochs=4, batch_size=32, verbose=0)
assert history.history["loss"][-1] < history.history["loss"][0]
codes = encoder.predict(data)[0]
assert codes.shape == (128, latent_dim)
assert decoder.predict(codes).shape == (128, original_dim)
