"""The operating-point metrics (``SensitivityAtSpecificity``, ``SpecificityAtSensitivity``,
``PrecisionAtRecall``, ``RecallAtPrecision``) against tf-keras 2.21: streamed batches with
weights, ``num_thresholds`` (one threshold too), ``class_id``, unreachable constraints, names,
configs, errors, distributed state, ``fit`` / ``evaluate`` and a saved model keeping the arguments."""
import numpy as np
import pytest

from keras_oracle import assert_fit_evaluate_reload_match, assert_streams_match, import_tf_keras
from threestep.errors import ConfigError, DataError
from threestep.keras import metrics as M

RNG = np.random.default_rng(5)
CLASSES = ("SensitivityAtSpecificity", "SpecificityAtSensitivity", "PrecisionAtRecall", "RecallAtPrecision")
DEFAULT_NAMES = ("sensitivity_at_specificity", "specificity_at_sensitivity", "precision_at_recall",
                 "recall_at_precision")


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _binary(n=64):
    y_true = RNG.integers(0, 2, (n, 1)).astype(np.float32)
    scores = np.clip(0.5 * y_true + RNG.uniform(0, 0.6, (n, 1)), 0, 1).astype(np.float32)
    return y_true, scores


def _multiclass(n=48, k=4):
    y_true = np.eye(k, dtype=np.float32)[RNG.integers(0, k, n)]
    return y_true, RNG.dirichlet(np.ones(k), n).astype(np.float32)


@pytest.mark.parametrize("cls", CLASSES)
@pytest.mark.parametrize("value, kwargs", [(0.5, {}), (0.8, {"num_thresholds": 7}), (0.3, {"num_thresholds": 1}),
                                           (0.7, {"class_id": 2}), (0.95, {}), (0.0, {"num_thresholds": 2})])
def test_streamed_batches_with_weights_match_tf_keras(keras, cls, value, kwargs):
    ours, theirs = getattr(M, cls)(value, **kwargs), getattr(keras.metrics, cls)(value, **kwargs)
    data = _multiclass if "class_id" in kwargs else _binary
    assert_streams_match(ours, theirs, data, RNG)


def test_a_constraint_of_one_is_met_exactly():
    """Counts are float64 sums: every positive above threshold 0 is a sensitivity of exactly 1 (tf-keras's
    float32 counts can leave a false-negative weight of ~1e-6 there, and then report 0)."""
    y_true = np.array([0, 0, 1, 1, 0, 1], np.float32)
    y_pred = np.array([0.0, 0.2, 0.3, 0.9, 0.6, 0.7], np.float32)
    weights = np.array([0.3, 0.7, 0.1, 0.9, 0.5, 0.2], np.float32)
    m = M.SpecificityAtSensitivity(1.0)
    m.update_state(y_true, y_pred, sample_weight=weights)
    # the highest threshold that keeps every positive above it is just below 0.3: specificity (0.3 + 0.7) / 1.5
    assert m.result() == pytest.approx(1.0 / 1.5, rel=1e-6)


@pytest.mark.parametrize("cls", CLASSES)
def test_an_unreachable_constraint_gives_zero_as_tf_keras(keras, cls):
    y_true, y_pred = np.zeros((6, 1), np.float32), RNG.uniform(size=(6, 1)).astype(np.float32)  # no positives
    ours, theirs = getattr(M, cls)(0.9), getattr(keras.metrics, cls)(0.9)
    assert ours.result() == 0.0  # nothing seen yet
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    assert ours.result() == pytest.approx(float(theirs.result()), abs=1e-7)


@pytest.mark.parametrize("cls, name", zip(CLASSES, DEFAULT_NAMES))
def test_names_and_configs(keras, cls, name):
    ours, theirs = getattr(M, cls)(0.25, num_thresholds=9, class_id=1), getattr(keras.metrics, cls)(0.25, 9, 1)
    assert ours.name == name and theirs.name.startswith(name)
    config, their_config = ours.get_config(), theirs.get_config()
    for key in config:
        if key != "name":
            assert config[key] == their_config[key], key
    again = type(ours).from_config(config)
    assert again.get_config() == config
    ours.update_state(*_multiclass())
    assert ours.fresh().get_config() == config and ours.fresh().result() == 0.0


def test_errors_name_the_argument():
    with pytest.raises(ConfigError, match="specificity must be a number in \\[0, 1\\]"):
        M.SensitivityAtSpecificity(1.5)
    with pytest.raises(ConfigError, match="recall"):
        M.PrecisionAtRecall("high")
    with pytest.raises(ConfigError, match="num_thresholds must be an integer > 0"):
        M.RecallAtPrecision(0.5, num_thresholds=0)
    with pytest.raises(ConfigError, match="class_id"):
        M.SpecificityAtSensitivity(0.5, class_id=-1)
    with pytest.raises(DataError, match="probabilities in \\[0, 1\\]"):
        M.PrecisionAtRecall(0.5).update_state([[1.0]], [[3.0]])


def test_state_adds_across_shards():
    y_true, y_pred = _binary()
    whole, first, second, joined = (M.PrecisionAtRecall(0.6) for _ in range(4))
    whole.update_state(y_true, y_pred)
    first.update_state(y_true[:20], y_pred[:20])
    second.update_state(y_true[20:], y_pred[20:])
    joined.set_state(np.add(first.state(), second.state()))
    assert joined.result() == pytest.approx(whole.result(), rel=1e-12)


def test_fit_evaluate_and_a_saved_model_keep_the_arguments(keras, tmp_path):
    x = RNG.normal(size=(96, 5)).astype(np.float32)
    y = (x[:, 0] + 0.5 * RNG.normal(size=96) > 0).astype(np.float32)[:, None]
    make = lambda ns: [ns.PrecisionAtRecall(0.7, num_thresholds=50, name="p_at_r"),  # noqa: E731
                       ns.SensitivityAtSpecificity(0.6, name="s_at_s")]
    loaded = assert_fit_evaluate_reload_match(keras, make, "binary_crossentropy", 1, "sigmoid", x, y,
                                              ("loss", "p_at_r", "s_at_s", "val_p_at_r", "val_s_at_s"), tmp_path)
    assert [m.get_config() for m in loaded._make_metrics()[-2:]] == [m.get_config() for m in make(M)]
