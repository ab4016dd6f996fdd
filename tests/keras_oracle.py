"""The real-Keras oracle for tests: tf-keras (Keras 2's API on TensorFlow), imported lazily."""
import os


def import_tf_keras():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras  # noqa: PLC0415

    return tf_keras


def assert_streams_match(ours, theirs, batch, rng, rtol=1e-5, atol=1e-6):
    """Feed a threestep metric and its tf-keras twin the same three batches from ``batch()`` (the
    last two with per-sample weights from ``rng``), compare their results, reset both, and compare
    again after one more batch."""
    import numpy as np  # noqa: PLC0415

    for step in range(3):
        y_true, y_pred = batch()
        weights = rng.uniform(size=len(y_true)).astype(np.float32) if step else None
        ours.update_state(y_true, y_pred, sample_weight=weights)
        theirs.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=rtol, atol=atol)
    ours.reset_state()
    theirs.reset_state()
    y_true, y_pred = batch()
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=rtol, atol=atol)


def assert_fit_evaluate_reload_match(keras, make_metrics, loss, units, activation, x, y, keys, tmp_path):
    """One Dense(units, activation) model in tf-keras and in threestep with the same weights,
    compiled with ``loss`` and ``make_metrics(namespace)`` (keras.metrics, then threestep's):
    their fit histories (``keys``, with a validation split) and evaluations match, and the
    threestep model saved and loaded evaluates the same. Returns the loaded model."""
    import numpy as np  # noqa: PLC0415
    from threestep.keras import metrics  # noqa: PLC0415
    from threestep.keras.layers import Dense  # noqa: PLC0415
    from threestep.keras.models import Sequential, load_model  # noqa: PLC0415
    from threestep.keras.optimizers import SGD  # noqa: PLC0415

    theirs = keras.Sequential([keras.layers.Dense(units, activation=activation, input_shape=x.shape[1:])])
    ours = Sequential([Dense(units, activation=activation, input_shape=x.shape[1:])])
    ours.set_weights(theirs.get_weights())
    theirs.compile(keras.optimizers.SGD(0.1), loss, metrics=make_metrics(keras.metrics))
    ours.compile(SGD(0.1), loss, metrics=make_metrics(metrics))
    kh = theirs.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    oh = ours.fit(x, y, batch_size=16, epochs=2, shuffle=False, validation_split=0.25, verbose=0).history
    for key in keys:
        np.testing.assert_allclose(oh[key], kh[key], rtol=1e-4, atol=1e-5, err_msg=key)
    want = ours.evaluate(x, y, verbose=0)
    np.testing.assert_allclose(want, theirs.evaluate(x, y, verbose=0), rtol=1e-4, atol=1e-5)
    ours.save(tmp_path / "m.ts")
    loaded = load_model(tmp_path / "m.ts")
    np.testing.assert_allclose(loaded.evaluate(x, y, verbose=0), want, rtol=1e-6)
    return loaded
