"""What a new user meets first: warnings that point at their own line, and honest curves."""
import math
import warnings

import numpy as np
import pytest

from threestep.errors import ThreestepHint, warn
from threestep.layers import Dense
from threestep.models import Sequential


def test_keras1_dense_spelling_warns_at_the_users_line():
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        Dense(output_dim=3, input_dim=2)  # the lecture's Keras 1 spelling
    found = [w for w in record if issubclass(w.category, DeprecationWarning)]
    assert found and found[0].filename == __file__ and "units" in str(found[0].message)


def test_nb_epoch_and_lr_spellings_warn_at_the_users_line():
    from threestep.optimizers import SGD

    model = Sequential([Dense(1, input_dim=2)])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.compile(loss="mse", optimizer=SGD(lr=0.1))
        model.fit(np.zeros((4, 2), "float32"), np.zeros((4, 1), "float32"), nb_epoch=1, verbose=0)
    files = {w.filename for w in record if issubclass(w.category, DeprecationWarning)}
    assert files == {__file__}


def test_hint_points_at_the_users_line():
    from threestep.losses import SparseCategoricalCrossentropy

    model = Sequential([Dense(3, activation="softmax", input_dim=2)])
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        model.compile(loss=SparseCategoricalCrossentropy(from_logits=True), optimizer="sgd")  # softmax twice
    hints = [w for w in record if issubclass(w.category, ThreestepHint)]
    assert hints and hints[0].filename == __file__


def test_warn_outside_the_package_points_at_its_caller():
    with pytest.warns(ThreestepHint) as record:
        warn("a hint")
    assert record[0].filename == __file__


def test_optimizer_experiment_records_each_batch_loss_not_the_running_mean():
    from threestep.experiments.optimization import _BatchLosses

    seen = _BatchLosses()
    seen.on_epoch_begin(0)
    running, total, n = [], 0.0, 0
    for size, loss in [(4, 1.0), (4, 3.0), (2, 0.5)]:
        seen.on_train_batch_begin(len(running), {"size": size})
        total, n = total + loss * size, n + size
        running.append(total / n)
        seen.on_train_batch_end(len(running) - 1, {"loss": running[-1]})
    assert seen.losses == pytest.approx([1.0, 3.0, 0.5])
    seen.on_epoch_begin(1)  # the running mean restarts each epoch
    seen.on_train_batch_begin(0, {"size": 4})
    seen.on_train_batch_end(0, {"loss": 2.0})
    assert seen.losses[-1] == pytest.approx(2.0) and not math.isnan(seen.losses[-1])
