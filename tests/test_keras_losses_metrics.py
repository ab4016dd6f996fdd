"""Keras 2.3's losses and the top-k / AUC / Precision / Recall metrics, checked against tf-keras.

The oracle is tf-keras 2.21 (Keras 2's API on TensorFlow), imported once per module.
Values are float32 and compared at 1e-5; gradients with respect to the predictions come
from ``tf.GradientTape``.
"""
import os

import numpy as np
import pytest

from threestep import losses, metrics
from threestep.autograd import Tensor
from threestep.backend import to_numpy
from threestep.errors import ConfigError, DataError


@pytest.fixture(scope="module")
def tfk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    return tf, keras


def _data(kind, rng, shape=(6, 4)):
    f = np.float32
    if kind == "real":
        return rng.normal(size=shape).astype(f), rng.normal(size=shape).astype(f)
    if kind == "mape":
        t = (rng.uniform(0.5, 2, shape) * rng.choice([-1, 1], shape)).astype(f)
        return t, rng.normal(size=shape).astype(f)
    if kind == "positive":
        return rng.uniform(0.1, 3, shape).astype(f), rng.uniform(0.1, 3, shape).astype(f)
    if kind == "pm1":
        return rng.choice([-1.0, 1.0], shape).astype(f), rng.normal(size=shape).astype(f)
    if kind == "01":
        return rng.choice([0.0, 1.0], shape).astype(f), rng.normal(size=shape).astype(f)
    if kind == "onehot":
        return np.eye(shape[-1], dtype=f)[rng.integers(0, shape[-1], shape[0])], rng.normal(size=shape).astype(f)
    if kind == "dist":
        t, p = rng.uniform(0.05, 1, shape), rng.uniform(0.05, 1, shape)
        return (t / t.sum(-1, keepdims=True)).astype(f), (p / p.sum(-1, keepdims=True)).astype(f)
    if kind == "counts":
        return rng.poisson(2.0, shape).astype(f), rng.uniform(0.2, 4, shape).astype(f)
    raise AssertionError(kind)


# (our name, tf-keras name, data kind)
LOSSES = [
    ("mape", "mape", "mape"), ("mean_absolute_percentage_error", "mape", "mape"),
    ("msle", "msle", "positive"), ("mean_squared_logarithmic_error", "msle", "positive"),
    ("hinge", "hinge", "pm1"), ("hinge", "hinge", "01"),
    ("squared_hinge", "squared_hinge", "pm1"), ("squared_hinge", "squared_hinge", "01"),
    ("categorical_hinge", "categorical_hinge", "onehot"),
    ("logcosh", "logcosh", "real"), ("log_cosh", "log_cosh", "real"),
    ("kld", "kld", "dist"), ("kullback_leibler_divergence", "kld", "dist"),
    ("poisson", "poisson", "counts"),
    ("cosine_similarity", "cosine_similarity", "real"), ("cosine_proximity", "cosine_similarity", "real"),
    ("huber", "huber", "real"),
]


@pytest.mark.parametrize("name,kname,kind", LOSSES)
def test_loss_values_and_gradients_match_tf_keras(tfk, rng, name, kname, kind):
    tf, keras = tfk
    t, p = _data(kind, rng)
    t[0, 0], p[0, 0] = 0.0, 3.0  # a large error: huber's linear part, logcosh's tail
    expected = keras.losses.get(kname)(t, p).numpy()
    fn = getattr(losses, name)
    ours = fn(t, Tensor(p))
    np.testing.assert_allclose(ours.numpy(), expected, rtol=1e-5, atol=1e-5)
    # gradient of the batch mean w.r.t. the predictions
    tp = tf.Variable(p)
    with tf.GradientTape() as tape:
        value = tf.reduce_mean(keras.losses.get(kname)(t, tp))
    expected_grad = tape.gradient(value, tp).numpy()
    x = Tensor(p, requires_grad=True)
    loss = losses.get(name)(t, x)
    loss.backward()
    np.testing.assert_allclose(float(loss.data), float(value.numpy()), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), expected_grad, rtol=1e-4, atol=1e-6)


CLASSES = [
    ("MeanAbsolutePercentageError", {}, "mape"), ("MeanSquaredLogarithmicError", {}, "positive"),
    ("Hinge", {}, "pm1"), ("SquaredHinge", {}, "01"), ("CategoricalHinge", {}, "onehot"),
    ("LogCosh", {}, "real"), ("KLDivergence", {}, "dist"), ("Poisson", {}, "counts"),
    ("CosineSimilarity", {"axis": -1}, "real"), ("Huber", {"delta": 0.5}, "real"), ("Huber", {}, "real"),
]


@pytest.mark.parametrize("cls,kwargs,kind", CLASSES)
@pytest.mark.parametrize("reduction", ["auto", "sum", "none", "sum_over_batch_size"])
def test_loss_classes_reduction_and_sample_weight_match_tf_keras(tfk, rng, cls, kwargs, kind, reduction):
    _, keras = tfk
    t, p = _data(kind, rng)
    w = rng.uniform(0, 2, len(t)).astype(np.float32)
    theirs = getattr(keras.losses, cls)(reduction=reduction, **kwargs)
    ours = getattr(losses, cls)(reduction=reduction, **kwargs)
    np.testing.assert_allclose(ours(t, p).numpy(), theirs(t, p).numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours(t, p, sample_weight=w).numpy(), theirs(t, p, sample_weight=w).numpy(),
                               rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls", ["MeanAbsolutePercentageError", "MeanSquaredLogarithmicError", "Hinge",
                                 "SquaredHinge", "CategoricalHinge", "LogCosh", "KLDivergence", "Poisson",
                                 "CosineSimilarity", "Huber"])
def test_loss_class_default_config_matches_tf_keras(tfk, cls):
    _, keras = tfk
    theirs = getattr(keras.losses, cls)().get_config()
    theirs.pop("fn", None)
    ours = getattr(losses, cls)()
    assert ours.get_config() == theirs
    assert ours.name == getattr(keras.losses, cls)().name
    again = type(ours).from_config(ours.get_config())
    assert again.get_config() == ours.get_config()


def test_mae_and_upper_case_aliases_as_functions_in_compile(tfk):
    keras = tfk[1]
    from threestep.keras import losses as kl, metrics as km  # noqa: PLC0415
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415

    assert kl.mae is kl.MAE is kl.mean_absolute_error and kl.MSE is kl.mse is kl.mean_squared_error
    assert isinstance(losses.get(kl.mae), losses.MeanAbsoluteError)
    x = np.random.default_rng(3).normal(size=(32, 4)).astype(np.float32)
    y = x[:, :2] * 2.0
    theirs = keras.Sequential([keras.layers.Dense(2, input_shape=(4,))])
    ours = Sequential([Dense(2, input_shape=(4,))])
    ours.set_weights(theirs.get_weights())
    theirs.compile("sgd", loss=keras.losses.mae, metrics=[keras.metrics.mae, keras.metrics.MSE])
    ours.compile("sgd", loss=kl.mae, metrics=[km.mae, km.MSE])
    kh = theirs.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    oh = ours.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    for key in ("loss", "mean_absolute_error", "mean_squared_error"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-5, atol=1e-6, err_msg=key)


def test_every_keras_loss_name_is_known_as_string_function_and_class():
    for name in ["mape", "MAPE", "msle", "MSLE", "kld", "KLD", "hinge", "squared_hinge", "categorical_hinge",
                 "logcosh", "poisson", "cosine_proximity", "cosine_similarity", "huber", "Huber",
                 "kullback_leibler_divergence", "mean_absolute_percentage_error", "mean_squared_logarithmic_error"]:
        assert isinstance(losses.get(name), losses.Loss)
    assert isinstance(losses.get(losses.hinge), losses.Hinge)
    assert isinstance(losses.get(losses.kld), losses.KLDivergence)
    h = losses.Huber(delta=2.0)
    assert losses.get(h) is h
    with pytest.raises(ConfigError, match="delta"):
        losses.Huber(delta=0)
    with pytest.raises(ConfigError, match="reduction"):
        losses.Hinge(reduction="mean")


def _model_pair(keras, activation, seed=0):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential

    kmodel = keras.Sequential([keras.layers.Dense(5, activation="tanh", input_shape=(4,)),
                               keras.layers.Dense(3, activation=activation)])
    ours = Sequential([Dense(5, activation="tanh", input_shape=(4,)), Dense(3, activation=activation)])
    ours.set_weights(kmodel.get_weights())
    return kmodel, ours


FIT = [("mape", "linear", "mape"), ("msle", "softplus", "positive"), ("hinge", "tanh", "pm1"),
       ("squared_hinge", "tanh", "01"), ("categorical_hinge", "linear", "onehot"), ("logcosh", "linear", "real"),
       ("kld", "softmax", "dist"), ("poisson", "softplus", "counts"), ("cosine_similarity", "linear", "real"),
       ("huber", "linear", "real")]


@pytest.mark.slow
@pytest.mark.parametrize("name,activation,kind", FIT)
def test_one_fit_step_matches_tf_keras(tfk, rng, name, activation, kind):
    _, keras = tfk
    from threestep.keras.optimizers import SGD

    t, _ = _data(kind, rng, (8, 3))
    x = rng.normal(size=(8, 4)).astype(np.float32)
    kmodel, ours = _model_pair(keras, activation)
    kmodel.compile(loss=name, optimizer=keras.optimizers.SGD(0.1))
    ours.compile(loss="cosine_proximity" if name == "cosine_similarity" else name, optimizer=SGD(0.1))
    klosses = kmodel.train_on_batch(x, t)
    our_loss = ours.train_on_batch(x, t)
    np.testing.assert_allclose(our_loss, klosses, rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["auto", "sum", "sum_over_batch_size"])
def test_huber_class_with_delta_and_reduction_in_fit_matches_tf_keras(tfk, rng, reduction):
    _, keras = tfk
    from threestep.keras.optimizers import SGD

    x, t = rng.normal(size=(8, 4)).astype(np.float32), 2 * rng.normal(size=(8, 3)).astype(np.float32)
    kmodel, ours = _model_pair(keras, "linear")
    kmodel.compile(loss=keras.losses.Huber(delta=0.3, reduction=reduction), optimizer=keras.optimizers.SGD(0.01))
    ours.compile(loss=losses.Huber(delta=0.3, reduction=reduction), optimizer=SGD(0.01))
    np.testing.assert_allclose(ours.evaluate(x, t, verbose=0), kmodel.evaluate(x, t, verbose=0), rtol=1e-5)
    np.testing.assert_allclose(ours.train_on_batch(x, t), kmodel.train_on_batch(x, t), rtol=1e-5)
    for a, b in zip(ours.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ metrics


def test_top_k_metrics_match_tf_keras_including_ties(tfk, rng):
    _, keras = tfk
    p = rng.integers(0, 4, (50, 6)).astype(np.float32)  # many ties
    labels = rng.integers(0, 6, 50)
    onehot = np.eye(6, dtype=np.float32)[labels]
    for k in (1, 2, 3, 5):
        np.testing.assert_allclose(metrics.top_k_categorical_accuracy(onehot, p, k=k),
                                   keras.metrics.top_k_categorical_accuracy(onehot, p, k=k).numpy())
        np.testing.assert_allclose(metrics.sparse_top_k_categorical_accuracy(labels, p, k=k),
                                   keras.metrics.sparse_top_k_categorical_accuracy(labels, p, k=k).numpy())
        np.testing.assert_allclose(metrics.sparse_top_k_categorical_accuracy(labels[:, None], p, k=k),
                                   keras.metrics.sparse_top_k_categorical_accuracy(labels[:, None], p, k=k).numpy()
                                   .ravel())
    m, km = metrics.SparseTopKCategoricalAccuracy(k=2), keras.metrics.SparseTopKCategoricalAccuracy(k=2)
    for i in range(0, 50, 20):
        m.update_state(labels[i:i + 20], p[i:i + 20])
        km.update_state(labels[i:i + 20], p[i:i + 20])
    assert m.result() == pytest.approx(float(km.result().numpy()), abs=1e-6)
    assert m.name == km.name


def _stream(ours, theirs, batches):
    for t, p, w in batches:
        ours.update_state(t, p, sample_weight=w)
        theirs.update_state(t, p, sample_weight=w)
    return ours.result(), theirs.result().numpy()


def _batches(rng, n=3, shape=(40,), weights=False):
    out = []
    for _ in range(n):
        t = (rng.uniform(size=shape) < 0.4).astype(np.float32)
        p = np.clip(0.6 * t + 0.6 * rng.uniform(size=shape) - 0.1, 0, 1).astype(np.float32)
        out.append((t, p, rng.uniform(0, 2, shape[0]).astype(np.float32) if weights else None))
    return out


@pytest.mark.parametrize("kwargs", [
    {}, {"curve": "PR"}, {"summation_method": "minoring"}, {"summation_method": "majoring"},
    {"curve": "PR", "summation_method": "majoring"}, {"num_thresholds": 7}, {"thresholds": [0.2, 0.5, 0.7]},
])
@pytest.mark.parametrize("weights", [False, True])
def test_auc_streamed_over_batches_matches_tf_keras(tfk, rng, kwargs, weights):
    _, keras = tfk
    ours, theirs = _stream(metrics.AUC(**kwargs), keras.metrics.AUC(**kwargs), _batches(rng, weights=weights))
    assert ours == pytest.approx(float(theirs), abs=1e-5)


def test_auc_multi_label_and_from_logits_match_tf_keras(tfk, rng):
    _, keras = tfk
    batches = _batches(rng, shape=(30, 3))
    ours, theirs = _stream(metrics.AUC(multi_label=True), keras.metrics.AUC(multi_label=True), batches)
    assert ours == pytest.approx(float(theirs), abs=1e-5)
    lw = [0.2, 1.0, 3.0]
    ours, theirs = _stream(metrics.AUC(multi_label=True, label_weights=lw),
                           keras.metrics.AUC(multi_label=True, label_weights=lw), batches)
    assert ours == pytest.approx(float(theirs), abs=1e-5)
    logits = [(t, (4 * p - 2).astype(np.float32), w) for t, p, w in batches]
    ours, theirs = _stream(metrics.AUC(from_logits=True), keras.metrics.AUC(from_logits=True), logits)
    assert ours == pytest.approx(float(theirs), abs=1e-5)


@pytest.mark.parametrize("cls", ["Precision", "Recall"])
@pytest.mark.parametrize("kwargs", [{}, {"thresholds": 0.3}, {"thresholds": [0.1, 0.5, 0.9]}, {"top_k": 2},
                                    {"class_id": 1}, {"class_id": 2, "thresholds": 0.2}])
def test_precision_recall_streamed_match_tf_keras(tfk, rng, cls, kwargs):
    _, keras = tfk
    ours, theirs = _stream(getattr(metrics, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs),
                           _batches(rng, shape=(25, 4), weights=True))
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


@pytest.mark.parametrize("cls", ["AUC", "Precision", "Recall"])
def test_confusion_metric_default_config_and_reset_match_tf_keras(tfk, rng, cls):
    _, keras = tfk
    theirs = getattr(keras.metrics, cls)().get_config()
    ours = getattr(metrics, cls)()
    assert set(ours.get_config()) >= set(theirs) - {"thresholds"} or cls != "AUC"
    for key, value in theirs.items():
        if key != "name":
            assert ours.get_config().get(key) == value, key
    assert ours.name == cls.lower()
    t, p, _ = _batches(rng, 1)[0]
    ours.update_state(t, p)
    assert ours.result() > 0
    ours.reset_states()
    assert ours.result() == 0.0
    with pytest.raises(DataError, match="probabilities"):
        ours.update_state(t, p + 2)


def test_stateful_metrics_in_fit_logs_match_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x = rng.normal(size=(96, 4)).astype(np.float32)
    y = (x[:, :1] + 0.5 * rng.normal(size=(96, 1)) > 0).astype(np.float32)
    xv, yv = x[:40] + 0.1, y[:40]
    kmodel = keras.Sequential([keras.layers.Dense(1, activation="sigmoid", input_shape=(4,))])
    ours = Sequential([Dense(1, activation="sigmoid", input_shape=(4,))])
    ours.set_weights(kmodel.get_weights())
    kmodel.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1),
                   metrics=[keras.metrics.AUC(name="auc"), keras.metrics.Precision(name="precision"),
                            keras.metrics.Recall(name="recall"), "mape"])
    ours.compile(loss="binary_crossentropy", optimizer=SGD(0.1),
                 metrics=[metrics.AUC(), metrics.Precision(), metrics.Recall(), "mape"])
    kh = kmodel.fit(x, y, batch_size=32, epochs=2, shuffle=False, validation_data=(xv, yv), verbose=0).history
    oh = ours.fit(x, y, batch_size=32, epochs=2, shuffle=False, validation_data=(xv, yv), verbose=0).history
    for key in ("loss", "auc", "precision", "recall", "val_auc", "val_precision", "val_recall", "val_mape"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    values = ours.evaluate(xv, yv, verbose=0)
    kvalues = kmodel.evaluate(xv, yv, verbose=0)
    np.testing.assert_allclose(values, kvalues, rtol=1e-4, atol=1e-5)
    with pytest.raises(ConfigError, match="'auc'"):
        ours.compile(loss="binary_crossentropy", optimizer="sgd", metrics=[metrics.AUC(), "AUC"])
    ours.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["AUC", metrics.AUC(name="auc_2")])


def test_mean_metric_wrapper_of_a_function_in_fit_and_evaluate_matches_tf_keras(tfk, rng):
    tf, keras = tfk
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    def worst(y_true, y_pred, power=1):  # one value per sample, written once for both libraries
        return (abs(y_pred - y_true) ** power).max(axis=-1)

    def tf_worst(y_true, y_pred, power=1):
        return tf.reduce_max(tf.abs(y_pred - y_true) ** power, axis=-1)

    x = rng.normal(size=(48, 4)).astype(np.float32)
    y = rng.normal(size=(48, 2)).astype(np.float32)
    kmodel = keras.Sequential([keras.layers.Dense(2, input_shape=(4,))])
    ours = Sequential([Dense(2, input_shape=(4,))])
    ours.set_weights(kmodel.get_weights())
    kmodel.compile(loss="mse", optimizer=keras.optimizers.SGD(0.05),
                   metrics=[keras.metrics.MeanMetricWrapper(tf_worst, name="worst"),
                            keras.metrics.MeanMetricWrapper(tf_worst, name="worst_sq", power=2)])
    ours.compile(loss="mse", optimizer=SGD(0.05),
                 metrics=[metrics.MeanMetricWrapper(worst, name="worst"),
                          metrics.MeanMetricWrapper(worst, name="worst_sq", power=2)])
    kh = kmodel.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    for key in ("worst", "worst_sq", "val_worst", "val_worst_sq"):
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), kmodel.evaluate(x, y, verbose=0), rtol=1e-4)
    unnamed = metrics.MeanMetricWrapper(worst)
    assert unnamed.name == "worst" and unnamed.fresh().name == "worst"


@pytest.mark.parametrize("name", ["mape", "msle", "hinge", "logcosh", "kld", "poisson", "cosine_similarity",
                                  "cosine_proximity", "squared_hinge", "categorical_hinge"])
def test_losses_as_metric_names(tfk, rng, name):
    _, keras = tfk
    t, p = _data("dist", rng)
    m = metrics.get(name)
    m.update_state(t, p)
    kname = "cosine_similarity" if name == "cosine_proximity" else name
    kfn = keras.metrics.get(kname) if kname == "cosine_similarity" else keras.losses.get(kname)
    expected = float(np.mean(kfn(t, p).numpy()))
    sign = -1 if name == "cosine_proximity" else 1  # Keras 2.3's metric is the (negative) loss
    assert m.result() == pytest.approx(sign * expected, rel=1e-5)
    assert m.name == name


def test_unknown_metric_lists_the_known_ones():
    with pytest.raises(ConfigError, match="AUC"):
        metrics.get("auroc")


def test_saved_model_keeps_its_keras_loss_and_stateful_metrics(tmp_path, rng):
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential, load_model

    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(loss=losses.Huber(delta=0.25), optimizer="sgd", metrics=[metrics.AUC(), "mape"])
    model.save(tmp_path / "m.zip")
    loaded = load_model(tmp_path / "m.zip")
    assert isinstance(loaded.loss, losses.Huber) and loaded.loss.delta == 0.25
    assert [m.name for m in loaded._make_metrics()] == ["auc", "mape"]


def test_sparse_top_k_metric_in_fit_matches_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    x, y = rng.normal(size=(64, 5)).astype(np.float32), rng.integers(0, 6, 64)
    kmodel = keras.Sequential([keras.layers.Dense(6, activation="softmax", input_shape=(5,))])
    ours = Sequential([Dense(6, activation="softmax", input_shape=(5,))])
    ours.set_weights(kmodel.get_weights())
    spec = ["sparse_top_k_categorical_accuracy"]
    kmodel.compile(loss="sparse_categorical_crossentropy", optimizer=keras.optimizers.SGD(0.1),
                   metrics=spec + [keras.metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    ours.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.1),
                 metrics=spec + [metrics.SparseTopKCategoricalAccuracy(k=2, name="top2")])
    kh = kmodel.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.25).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, validation_split=0.25).history
    for key in ("sparse_top_k_categorical_accuracy", "top2", "val_top2", "val_sparse_top_k_categorical_accuracy"):
        np.testing.assert_allclose(oh[key], kh[key], atol=1e-6, err_msg=key)


def test_compile_rejects_a_per_sample_reduction():
    from threestep.keras.layers import Dense
    from threestep.keras.models import Sequential

    model = Sequential([Dense(1, input_shape=(2,))])
    with pytest.raises(ConfigError, match="reduction='none'"):
        model.compile(loss=losses.Huber(reduction="none"), optimizer="sgd")


def test_loss_functions_take_arrays_and_serve_as_metric_functions(tfk, rng):
    _, keras = tfk
    t, p = _data("pm1", rng)
    np.testing.assert_allclose(losses.hinge(t, p).numpy(), keras.losses.hinge(t, p).numpy(), rtol=1e-6)
    for fn, kfn in [(metrics.mape, keras.metrics.mape), (metrics.kld, keras.metrics.kld),
                    (losses.logcosh, keras.losses.logcosh), (metrics.squared_hinge, keras.metrics.squared_hinge)]:
        m = metrics.get(fn)
        m.update_state(t, p)
        assert m.name == fn.__name__
        assert m.result() == pytest.approx(float(np.mean(kfn(t, p).numpy())), rel=1e-5)
    assert isinstance(losses.get(losses.Huber), losses.Huber)


@pytest.mark.parametrize("make", [lambda: metrics.AUC(), lambda: metrics.AUC(curve="PR", multi_label=True, num_labels=3),
                                  lambda: metrics.Precision(thresholds=[0.2, 0.7]), lambda: metrics.Recall(class_id=1),
                                  lambda: metrics.get("mape"), lambda: metrics.TopKCategoricalAccuracy(k=2)])
def test_metric_states_add_across_shards(rng, make):
    """A distributed fit sums every rank's ``state()``: that must equal one metric seeing every batch."""
    batches = _batches(rng, n=4, shape=(20, 3))
    whole, a, b, merged = make(), make(), make(), make()
    for i, (t, p, _) in enumerate(batches):
        whole.update_state(t, p)
        (a if i % 2 else b).update_state(t, p)
    empty = make()  # a rank that saw no batch contributes zeros
    merged.set_state(np.asarray(a.state()) + np.asarray(b.state()) + np.asarray(empty.state()))
    np.testing.assert_allclose(merged.result(), whole.result(), rtol=1e-12)


@pytest.mark.parametrize("name", ["mean_squared_error", "mean_absolute_error", "categorical_crossentropy",
                                  "sparse_categorical_crossentropy", "binary_crossentropy"])
def test_core_loss_functions_return_one_value_per_sample_as_keras_does(tfk, rng, name):
    """``losses.mean_squared_error(y, p)`` and the other four core functions return one value per
    sample (and per step for a sequence), as tf-keras's do, with their gradient; the classes
    still average."""
    tf, keras = tfk
    from threestep.keras import losses as kl  # noqa: PLC0415

    shapes = [(6, 4)] if "categorical" in name else [(6, 4), (3, 5, 2)]
    for shape in shapes:
        p = rng.uniform(0.05, 1.0, shape).astype(np.float32)
        if "categorical" not in name:  # the cross-entropies read unnormalised rows as Keras does
            p /= p.sum(axis=-1, keepdims=True)
        if name == "sparse_categorical_crossentropy":
            t = rng.integers(0, shape[-1], shape[:-1])
        elif name == "categorical_crossentropy":
            t = np.eye(shape[-1], dtype=np.float32)[rng.integers(0, shape[-1], shape[:-1])]
        else:
            t = rng.choice([0.0, 1.0], shape).astype(np.float32)
        tp = tf.Variable(p)
        with tf.GradientTape() as tape:
            theirs = getattr(keras.losses, name)(t, tp)
            total = tf.reduce_sum(theirs * np.arange(1, theirs.shape[0] + 1).reshape((-1,) + (1,) * (theirs.ndim - 1)))
        x = Tensor(p, requires_grad=True)
        ours = getattr(kl, name)(t, x)
        assert ours.shape == tuple(theirs.shape)
        np.testing.assert_allclose(to_numpy(ours.data), theirs.numpy(), rtol=1e-5, atol=1e-6)
        weights = np.arange(1, ours.shape[0] + 1, dtype=np.float32).reshape((-1,) + (1,) * (ours.ndim - 1))
        (ours * weights).sum().backward()
        np.testing.assert_allclose(to_numpy(x.grad), tape.gradient(total, tp).numpy(), rtol=1e-4, atol=1e-6)
    cls = type(losses.get(name))
    np.testing.assert_allclose(to_numpy(cls()(t, p).data), theirs.numpy().mean(), rtol=1e-5)


def test_a_loss_built_from_a_core_function_weighs_samples_as_in_keras(tfk, rng):
    """A user's loss written around ``keras.losses.mean_squared_error`` (per sample in Keras) with
    sample weights: fit's loss and weights equal tf-keras's (a batch mean there would count every
    sample alike)."""
    tf, keras = tfk
    from threestep.keras import losses as kl  # noqa: PLC0415
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential  # noqa: PLC0415
    from threestep.keras.optimizers import SGD  # noqa: PLC0415

    def scaled(y_true, y_pred):
        return 2.0 * kl.mean_squared_error(y_true, y_pred)

    def tf_scaled(y_true, y_pred):
        return 2.0 * keras.losses.mean_squared_error(y_true, y_pred)

    x = rng.normal(size=(32, 4)).astype(np.float32)
    y = rng.normal(size=(32, 2)).astype(np.float32)
    w = rng.uniform(0.0, 3.0, 32).astype(np.float32)
    theirs = keras.Sequential([keras.layers.Dense(2, input_shape=(4,))])
    ours = Sequential([Dense(2, input_shape=(4,))])
    ours.set_weights(theirs.get_weights())
    theirs.compile(optimizer=keras.optimizers.SGD(0.05), loss=tf_scaled)
    ours.compile(optimizer=SGD(0.05), loss=scaled)
    kh = theirs.fit(x, y, sample_weight=w, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    oh = ours.fit(x, y, sample_weight=w, batch_size=8, epochs=2, shuffle=False, verbose=0).history
    np.testing.assert_allclose(oh["loss"], kh["loss"], rtol=1e-5)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
