"""``R2Score`` (tf-keras 2.13+'s coefficient of determination) against tf-keras 2.21: streamed
batches with sample weights, the three aggregations, the adjusted R^2 and its limits, constant
targets, the errors, and the values ``fit`` / ``evaluate`` report."""
import numpy as np
import pytest

from keras_oracle import assert_streams_match, import_tf_keras
from threestep.errors import ConfigError, ShapeError
from threestep.keras import metrics as M

RNG = np.random.default_rng(5)


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _batch(rows=6, outputs=3):
    y_true = RNG.normal(size=(rows, outputs)).astype(np.float32)
    return y_true, (y_true + RNG.normal(scale=0.6, size=(rows, outputs))).astype(np.float32)


@pytest.mark.parametrize("aggregation", [None, "uniform_average", "variance_weighted_average"])
@pytest.mark.parametrize("regressors", [0, 2])
def test_streamed_batches_with_sample_weights_match_tf_keras(keras, aggregation, regressors):
    ours = M.R2Score(class_aggregation=aggregation, num_regressors=regressors)
    theirs = keras.metrics.R2Score(class_aggregation=aggregation, num_regressors=regressors)
    assert ours.name == theirs.name == "r2_score"
    assert_streams_match(ours, theirs, _batch, RNG)


def test_constant_targets_and_too_many_regressors_as_tf_keras(keras):
    y_true = np.array([[2.0, 1.0], [2.0, 3.0], [2.0, 5.0]], np.float32)  # first column never varies
    y_pred = np.array([[1.0, 1.5], [2.5, 2.0], [2.0, 5.5]], np.float32)
    for kwargs in ({}, {"class_aggregation": None}, {"num_regressors": 5}, {"num_regressors": 4}):
        ours, theirs = M.R2Score(**kwargs), keras.metrics.R2Score(**kwargs)
        ours.update_state(y_true, y_pred)
        theirs.update_state(y_true, y_pred)
        if kwargs.get("num_regressors", 0) >= 5:  # n - 1 = 5 target values minus one: no adjustment, a warning
            with pytest.warns(UserWarning, match="num_regressors"):
                got = ours.result()
        else:
            got = ours.result()
        np.testing.assert_allclose(got, theirs.result().numpy(), rtol=1e-5, atol=1e-6, err_msg=str(kwargs))


def test_errors_name_the_fix():
    with pytest.raises(ShapeError, match=r"reshape to \(batch, 1\)"):
        M.R2Score().update_state(np.ones(3), np.ones(3))
    metric = M.R2Score()
    metric.update_state(np.ones((2, 2)), np.ones((2, 2)))
    with pytest.raises(ShapeError, match="one metric object per output shape"):
        metric.update_state(np.ones((2, 3)), np.ones((2, 3)))
    with pytest.raises(ConfigError, match="class_aggregation"):
        M.R2Score(class_aggregation="macro")
    with pytest.raises(ConfigError, match="num_regressors"):
        M.R2Score(num_regressors=-1)


def test_fit_and_evaluate_report_what_tf_keras_reports(keras):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x = RNG.normal(size=(64, 4)).astype(np.float32)
    y = (x @ RNG.normal(size=(4, 2)) + 0.1 * RNG.normal(size=(64, 2))).astype(np.float32)
    theirs = keras.Sequential([keras.layers.Dense(2, input_shape=(4,))])
    ours = Sequential([Dense(2, input_shape=(4,))])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.05), "mse", metrics=[keras.metrics.R2Score()])
    ours.compile(SGD(0.05), "mse", metrics=[M.R2Score()])
    kh = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    for key in ("loss", "r2_score", "val_loss", "val_r2_score"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-4,
                               atol=1e-5)
    assert isinstance(M.get("R2Score"), M.R2Score)


def test_state_adds_across_shards():
    """A distributed fit sums each rank's ``state()``; the sum's R^2 is that of all the data."""
    y_true, y_pred = _batch(rows=10)
    whole, first, second = M.R2Score(), M.R2Score(), M.R2Score()
    whole.update_state(y_true, y_pred)
    first.update_state(y_true[:4], y_pred[:4])
    second.update_state(y_true[4:], y_pred[4:])
    joined = M.R2Score()
    joined.set_state(np.add(first.state(), second.state()))
    np.testing.assert_allclose(joined.result(), whole.result(), rtol=1e-12)


def test_newer_metric_classes_threestep_lacks_say_so():
    from threestep.errors import NotSupportedError

    for name in ("MeanRelativeError", "MeanTensor", "binary_focal_crossentropy"):
        with pytest.raises(NotSupportedError, match=f"keras.metrics.{name}: threestep does not implement"):
            getattr(M, name)
