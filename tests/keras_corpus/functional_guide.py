"""The functional API: a model with two inputs and two outputs, shared layers, models as layers."""
import numpy as np

from threestep.keras.layers import LSTM, Dense, Embedding, Input, concatenate
from threestep.keras.models import Model

rng = np.random.RandomState(1)

# two inputs (a headline's words and extra data), two outputs with their own losses and weights
headline = Input(shape=(12,), dtype="int32", name="main_input")
words = Embedding(output_dim=16, input_dim=100, input_length=12)(headline)
summary = LSTM(8)(words)
auxiliary_output = Dense(1, activation="sigmoid", name="aux_output")(summary)
extra = Input(shape=(5,), name="aux_input")
joined = concatenate([summary, extra])
hidden = Dense(16, activation="relu")(joined)
main_output = Dense(1, activation="sigmoid", name="main_output")(hidden)
model = Model(inputs=[headline, extra], outputs=[main_output, auxiliary_output])
model.compile(optimizer="rmsprop", loss={"main_output": "binary_crossentropy", "aux_output": "binary_crossentropy"},
              loss_weights={"main_output": 1.0, "aux_output": 0.2})

texts = rng.randint(1, 100, size=(64, 12))
extras = rng.random_sample((64, 5)).astype("float32")
targets = (extras[:, 0] > 0.5).astype("float32")
history = model.fit({"main_input": texts, "aux_input": extras}, {"main_output": targets, "aux_output": targets},
                    epochs=3, batch_size=16, verbose=0)
assert set(history.history) >= {"loss", "main_output_loss", "aux_output_loss"}
main_pred, aux_pred = model.predict([texts, extras])
assert main_pred.shape == (64, 1) and aux_pred.shape == (64, 1)

# a shared layer: the same LSTM reads two sequences (weights shared)
tweet_a, tweet_b = Input(shape=(10, 6)), Input(shape=(10, 6))
shared_lstm = LSTM(4)
merged = concatenate([shared_lstm(tweet_a), shared_lstm(tweet_b)], axis=-1)
same_author = Model(inputs=[tweet_a, tweet_b], outputs=Dense(1, activation="sigmoid")(merged))
same_author.compile(optimizer="rmsprop", loss="binary_crossentropy", metrics=["accuracy"])
a, b = rng.random_sample((20, 10, 6)), rng.random_sample((20, 10, 6))
same_author.fit([a, b], rng.randint(0, 2, (20, 1)), epochs=1, verbose=0)
assert len(same_author.layers) == 3  # the LSTM appears once

# every model is callable like a layer, on a new input
encoder_input = Input(shape=(6,))
encoder = Model(encoder_input, Dense(3, activation="relu")(encoder_input))
new_input = Input(shape=(6,))
classifier = Model(new_input, Dense(2, activation="softmax")(encoder(new_input)))
classifier.compile("sgd", "sparse_categorical_crossentropy")
classifier.fit(rng.random_sample((16, 6)), rng.randint(0, 2, 16), verbose=0)
assert classifier.count_params() == encoder.count_params() + 3 * 2 + 2
