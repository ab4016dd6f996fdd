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
