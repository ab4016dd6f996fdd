"""``FBetaScore`` and ``F1Score`` (tf-keras 2.13+) against tf-keras 2.21: streamed batches with
sample weights, every ``average``, a threshold or the row's maximum (ties, all-zero rows), beta,
the errors, distributed state, and the values ``fit`` / ``evaluate`` report."""
import numpy as np
import pytest

from keras_oracle import assert_streams_match, import_tf_keras
from threestep.errors import ConfigError, ShapeError
from threestep.keras import metrics as M

RNG = np.random.default_rng(11)


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _batch(rows=8, classes=4, multi=False):
    if multi:
        y_true = (RNG.uniform(size=(rows, classes)) > 0.6).astype(np.float32)
    else:
        y_true = np.eye(classes, dtype=np.float32)[RNG.integers(0, classes, rows)]
    y_pred = RNG.uniform(size=(rows, classes)).astype(np.float32)
    return y_true, y_pred


@pytest.mark.parametrize("average", [None, "micro", "macro", "weighted"])
@pytest.mark.parametrize("kind", ["f1", "f2 threshold", "f0.5 multi-label"])
def test_streamed_batches_with_sample_weights_match_tf_keras(keras, average, kind):
    if kind == "f1":
        ours, theirs = M.F1Score(average=average), keras.metrics.F1Score(average=average)
        assert ours.name == theirs.name == "f1_score"
    elif kind == "f2 threshold":
        ours = M.FBetaScore(average=average, beta=2.0, threshold=0.5)
        theirs = keras.metrics.FBetaScore(average=average, beta=2.0, threshold=0.5)
        assert ours.name == theirs.name == "fbeta_score"
    else:
        ours = M.FBetaScore(average=average, beta=0.5, threshold=0.3)
        theirs = keras.metrics.FBetaScore(average=average, beta=0.5, threshold=0.3)
    multi = kind.endswith("multi-label")
    batches = iter([lambda: _batch(multi=multi)] * 3 + [_batch])  # the one after the reset: one-hot
    assert_streams_match(ours, theirs, lambda: next(batches)(), RNG)


def test_ties_zero_rows_and_unseen_classes_as_tf_keras(keras):
    y_true = np.array([[1, 0, 0], [0, 1, 0], [0, 1, 0], [1, 0, 0]], np.float32)  # class 2 never a target
    y_pred = np.array([[0.5, 0.5, 0.0], [0.0, 0.0, 0.0], [0.1, 0.2, 0.7], [0.3, 0.3, 0.3]], np.float32)
    for average in (None, "micro", "macro", "weighted"):
        ours, theirs = M.F1Score(average=average), keras.metrics.F1Score(average=average)
        ours.update_state(y_true, y_pred)
        theirs.update_state(y_true, y_pred)
        np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-6, atol=1e-7, err_msg=str(average))


def test_errors_name_the_fix():
    with pytest.raises(ShapeError, match="to_categorical"):
        M.F1Score().update_state(np.array([0, 1, 2]), np.eye(3))
    metric = M.F1Score()
    metric.update_state(np.eye(2), np.eye(2))
    with pytest.raises(ShapeError, match="one metric object per output"):
        metric.update_state(np.eye(3), np.eye(3))
    with pytest.raises(ConfigError, match="average"):
        M.F1Score(average="samples")
    with pytest.raises(ConfigError, match="beta"):
        M.FBetaScore(beta=0.0)
    with pytest.raises(ConfigError, match="threshold"):
        M.F1Score(threshold=1.5)


def test_state_adds_across_shards():
    y_true, y_pred = _batch(rows=10)
    whole, first, second = M.F1Score("macro"), M.F1Score("macro"), M.F1Score("macro")
    whole.update_state(y_true, y_pred)
    first.update_state(y_true[:4], y_pred[:4])
    second.update_state(y_true[4:], y_pred[4:])
    joined = M.F1Score("macro")
    joined.set_state(np.add(first.state(), second.state()))
    assert joined.result() == pytest.approx(whole.result(), rel=1e-12)


def test_fit_and_evaluate_report_what_tf_keras_reports(keras):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x = RNG.normal(size=(96, 5)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[np.argmax(x[:, :3] + 0.5 * RNG.normal(size=(96, 3)), axis=1)]
    theirs = keras.Sequential([keras.layers.Dense(3, activation="softmax", input_shape=(5,))])
    ours = Sequential([Dense(3, activation="softmax", input_shape=(5,))])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), "categorical_crossentropy",
                   metrics=[keras.metrics.F1Score(average="macro"), keras.metrics.FBetaScore(beta=2.0)])
    ours.compile(SGD(0.1), "categorical_crossentropy", metrics=[M.F1Score(average="macro"), M.FBetaScore(beta=2.0)])
    kh = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    for key in ("loss", "f1_score", "val_f1_score"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    for ours_row, theirs_row in zip(oh["fbeta_score"], kh["fbeta_score"]):  # one score per class
        np.testing.assert_allclose(ours_row, theirs_row, rtol=1e-4, atol=1e-5)
    got, want = ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(got[:2], want[:2], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-4, atol=1e-5)
    assert isinstance(M.get("F1Score"), M.F1Score) and isinstance(M.get("FBetaScore"), M.FBetaScore)


def test_a_saved_model_keeps_the_metrics_arguments(tmp_path):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential, load_model

    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile("sgd", "categorical_crossentropy",
                  metrics=[M.F1Score(average="macro", threshold=0.4), M.FBetaScore(beta=2.0, name="f2"), "accuracy"])
    model.save(tmp_path / "m.ts")
    loaded = load_model(tmp_path / "m.ts")
    x, y = RNG.normal(size=(32, 4)).astype(np.float32), np.eye(3, dtype=np.float32)[RNG.integers(0, 3, 32)]
    got, want = loaded.evaluate(x, y, verbose=0), model.evaluate(x, y, verbose=0)
    assert isinstance(got[1], float)  # averaged, with the threshold: F1Score(average="macro", threshold=0.4)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-12)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-12)  # one F2 per class, under its own name
    assert list(loaded.evaluate(x, y, verbose=0, return_dict=True)) == ["loss", "f1_score", "f2", "accuracy"]
