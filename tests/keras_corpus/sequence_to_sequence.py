"""Sequence to sequence with a variable time axis: an LSTM encoder's states start the decoder."""
import numpy as np

from threestep.keras.layers import LSTM, Dense, Input
from threestep.keras.models import Model

num_encoder_tokens, num_decoder_tokens, latent_dim = 7, 9, 16

encoder_inputs = Input(shape=(None, num_encoder_tokens))
encoder_outputs, state_h, state_c = LSTM(latent_dim, return_state=True)(encoder_inputs)
encoder_states = [state_h, state_c]

decoder_inputs = Input(shape=(None, num_decoder_tokens))
decoder_lstm = LSTM(latent_dim, return_sequences=True, return_state=True)
decoder_outputs, _, _ = decoder_lstm(decoder_inputs, initial_state=encoder_states)
decoder_dense = Dense(num_decoder_tokens, activation="softmax")
decoder_outputs = decoder_dense(decoder_outputs)
model = Model([encoder_inputs, decoder_inputs], decoder_outputs)
model.compile(optimizer="rmsprop", loss="categorical_crossentropy")

rng = np.random.RandomState(9)
n, in_len, out_len = 24, 10, 13
encoder_input_data = np.eye(num_encoder_tokens, dtype="float32")[rng.randint(0, num_encoder_tokens, (n, in_len))]
decoder_target = rng.randint(0, num_decoder_tokens, (n, out_len))
decoder_target_data = np.eye(num_decoder_tokens, dtype="float32")[decoder_target]
decoder_input_data = np.zeros_like(decoder_target_data)
decoder_input_data[:, 1:] = decoder_target_data[:, :-1]
model.fit([encoder_input_data, decoder_input_data], decoder_target_data, batch_size=8, epochs=2,
          validation_split=0.25, verbose=0)

# inference models reuse the trained layers
encoder_model = Model(encoder_inputs, encoder_states)
state_input_h, state_input_c = Input(shape=(latent_dim,)), Input(shape=(latent_dim,))
outs, h, c = decoder_lstm(decoder_inputs, initial_state=[state_input_h, state_input_c])
decoder_model = Model([decoder_inputs, state_input_h, state_input_c], [decoder_dense(outs), h, c])
states = encoder_model.predict(encoder_input_data[:1])
target_seq = np.zeros((1, 1, num_decoder_tokens), dtype="float32")
tokens, hh, cc = decoder_model.predict([target_seq] + states)
assert tokens.shape == (1, 1, num_decoder_tokens) and hh.shape == (1, latent_dim)
