"""The real-Keras oracle for tests: tf-keras (Keras 2's API on TensorFlow), imported lazily."""
import os


def import_tf_keras():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras  # noqa: PLC0415

    return tf_keras
