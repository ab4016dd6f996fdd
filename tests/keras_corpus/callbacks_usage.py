"""Callbacks: a custom Callback recording batch losses, EarlyStopping, ModelCheckpoint, LambdaCallback."""
import os
import tempfile

import numpy as np

from threestep.keras.callbacks import Callback, EarlyStopping, LambdaCallback, ModelCheckpoint
from threestep.keras.layers import Dense
from threestep.keras.models import Sequential


class LossHistory(Callback):
    def on_train_begin(self, logs={}):
        self.losses = []

    def on_batch_end(self, batch, logs={}):
        self.losses.append(logs.get("loss"))


rng = np.random.RandomState(4)
x = rng.random_sample((60, 4)).astype("float32")
y = x @ np.array([[1.0], [-2.0], [0.5], [0.0]], dtype="float32")
model = Sequential([Dense(8, activation="relu", input_dim=4), Dense(1)])
model.compile(loss="mse", optimizer="adam")

history = LossHistory()
epochs_seen = []
path = os.path.join(tempfile.mkdtemp(), "best.h5")
model.fit(x, y, batch_size=20, epochs=30, verbose=0, validation_split=0.25,
          callbacks=[history, EarlyStopping(monitor="val_loss", patience=2),
                     ModelCheckpoint(filepath=path, verbose=0, save_best_only=True),
                     LambdaCallback(on_epoch_end=lambda epoch, logs: epochs_seen.append(epoch))])
assert len(history.losses) == 3 * len(epochs_seen)  # 45 training samples: 3 batches per epoch
assert 1 <= len(epochs_seen) <= 30 and os.path.exists(path)  # EarlyStopping may end it sooner; the best is kept
