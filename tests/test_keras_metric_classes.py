"""Keras 2's metric classes (accuracies, RMSE, log-cosh, Mean / Sum, confusion counts) against
tf-keras 2.21: standalone update_state / result with sample weights, and in compile + fit."""
import numpy as np
import pytest

from keras_oracle import import_tf_keras
from threestep.keras import metrics as M

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _data(kind):
    if kind == "sparse":
        return RNG.integers(0, 4, size=(12, 1)), RNG.dirichlet(np.ones(4), size=12).astype(np.float32)
    if kind == "onehot":
        return np.eye(4, dtype=np.float32)[RNG.integers(0, 4, 12)], RNG.dirichlet(np.ones(4), size=12).astype(np.float32)
    if kind == "binary":
        return RNG.integers(0, 2, size=(12, 3)).astype(np.float32), RNG.uniform(size=(12, 3)).astype(np.float32)
    if kind == "labels":
        return RNG.integers(0, 3, size=(12, 2)), RNG.integers(0, 3, size=(12, 2))
    return RNG.normal(size=(12, 3)).astype(np.float32), RNG.normal(size=(12, 3)).astype(np.float32)


CASES = [("Accuracy", {}, "labels"), ("BinaryAccuracy", {}, "binary"), ("BinaryAccuracy", {"threshold": 0.7}, "binary"),
         ("CategoricalAccuracy", {}, "onehot"), ("SparseCategoricalAccuracy", {}, "sparse"),
         ("LogCoshError", {}, "real"), ("RootMeanSquaredError", {}, "real"),
         ("TruePositives", {}, "binary"), ("FalsePositives", {"thresholds": 0.3}, "binary"),
         ("TrueNegatives", {}, "binary"), ("FalseNegatives", {"thresholds": [0.2, 0.6]}, "binary")]


@pytest.mark.parametrize("cls,kwargs,kind", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_streamed_values_with_sample_weights_match_tf_keras(keras, cls, kwargs, kind):
    ours, theirs = getattr(M, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    assert ours.name == theirs.name
    for batch in range(3):
        y_true, y_pred = _data(kind)
        weights = RNG.uniform(size=len(y_true)).astype(np.float32) if batch else None
        ours.update_state(y_true, y_pred, sample_weight=weights)
        theirs.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-5, atol=1e-6)
    ours.reset_state()
    y_true, y_pred = _data(kind)
    ours.update_state(y_true, y_pred)
    theirs.reset_state()
    theirs.update_state(y_true, y_pred)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-5, atol=1e-6)


def test_mean_and_sum_of_plain_values_match_tf_keras(keras):
    for cls in ("Mean", "Sum"):
        ours, theirs = getattr(M, cls)(), getattr(keras.metrics, cls)()
        for values, weights in (([1.0, 3.0], None), ([5.0, 2.0, 4.0], [1.0, 0.5, 0.0])):
            ours.update_state(values, sample_weight=weights)
            theirs.update_state(values, sample_weight=weights)
        np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-6)
        assert ours.name == theirs.name


def test_metric_objects_in_fit_report_what_tf_keras_reports(keras):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x = RNG.normal(size=(64, 5)).astype(np.float32)
    y = RNG.integers(0, 3, size=64)
    theirs = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(5,))])
    ours = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy",
                   metrics=[keras.metrics.SparseCategoricalAccuracy(), keras.metrics.RootMeanSquaredError(name="rmse")])
    ours.compile(SGD(0.1), "sparse_categorical_crossentropy",
                 metrics=[M.SparseCategoricalAccuracy(), M.RootMeanSquaredError(name="rmse")])
    kh = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    for key in ("sparse_categorical_accuracy", "val_sparse_categorical_accuracy", "loss", "val_loss"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    # rmse of sparse labels against probabilities: both broadcast the (n, 1) labels over the classes
    np.testing.assert_allclose(oh["rmse"], kh["rmse"], rtol=1e-4, atol=1e-5)
    again = M.get("SparseCategoricalAccuracy")
    assert isinstance(again, M.SparseCategoricalAccuracy)
