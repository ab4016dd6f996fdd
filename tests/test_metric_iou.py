"""The intersection-over-union metrics (``IoU``, ``MeanIoU``, ``BinaryIoU``, ``OneHotIoU``,
``OneHotMeanIoU``) against tf-keras 2.21: streamed batches of segmentation maps with weights,
``ignore_class``, dense targets and scores, the threshold, classes never seen, names, errors,
distributed state, ``fit`` / ``evaluate``, and a saved model keeping the metrics' arguments."""
import numpy as np
import pytest

from keras_oracle import assert_fit_evaluate_reload_match, import_tf_keras
from threestep.errors import ConfigError, DataError, ShapeError
from threestep.keras import metrics as M

RNG = np.random.default_rng(21)


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _maps(classes=4, shape=(3, 5, 5)):
    return RNG.integers(0, classes, shape), RNG.integers(0, classes, shape)


CASES = {
    "IoU": (dict(num_classes=4, target_class_ids=[1, 3]), "sparse"),
    "IoU one class, ignore_class": (dict(num_classes=4, target_class_ids=[2], ignore_class=0), "sparse"),
    "IoU dense predictions": (dict(num_classes=4, target_class_ids=[0, 1, 2], sparse_y_pred=False), "scores"),
    "MeanIoU": (dict(num_classes=4), "sparse"),
    "MeanIoU dense both": (dict(num_classes=4, sparse_y_true=False, sparse_y_pred=False), "one-hot"),
    "BinaryIoU": (dict(target_class_ids=[0, 1], threshold=0.4), "binary"),
    "BinaryIoU class 1": (dict(target_class_ids=[1]), "binary"),
    "OneHotIoU": (dict(num_classes=4, target_class_ids=[0, 3]), "one-hot"),
    "OneHotMeanIoU": (dict(num_classes=4), "one-hot"),
}


def _data(kind):
    y_true, y_pred = _maps()
    if kind == "scores":
        return y_true, RNG.uniform(size=y_true.shape + (4,)).astype(np.float32)
    if kind == "one-hot":
        return np.eye(4, dtype=np.float32)[y_true], RNG.uniform(size=y_true.shape + (4,)).astype(np.float32)
    if kind == "binary":
        return (y_true % 2).astype(np.float32), RNG.uniform(size=y_true.shape).astype(np.float32)
    return y_true, y_pred


@pytest.mark.parametrize("case", list(CASES))
def test_streamed_batches_with_weights_match_tf_keras(keras, case):
    kwargs, kind = CASES[case]
    cls = case.split()[0]
    ours, theirs = getattr(M, cls)(**kwargs), getattr(keras.metrics, cls)(**kwargs)
    assert theirs.name.startswith(ours.name)  # (tf-keras numbers further instances: io_u_1, ...)
    for batch in range(3):
        y_true, y_pred = _data(kind)
        shape = y_true.shape[:-1] if kind == "one-hot" else y_true.shape
        weights = RNG.uniform(size=shape).astype(np.float32) if batch == 1 else None
        ours.update_state(y_true, y_pred, sample_weight=weights)
        theirs.update_state(y_true, y_pred, sample_weight=weights)
    np.testing.assert_allclose(ours.result(), theirs.result().numpy(), rtol=1e-5, atol=1e-6)
    ours.reset_state()
    theirs.reset_state()
    assert ours.result() == theirs.result().numpy() == 0


def test_classes_never_seen_are_not_averaged(keras):
    y_true, y_pred = np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1])  # classes 2 and 3 never occur
    ours, theirs = M.MeanIoU(num_classes=4), keras.metrics.MeanIoU(num_classes=4)
    ours.update_state(y_true, y_pred)
    theirs.update_state(y_true, y_pred)
    assert ours.result() == pytest.approx(float(theirs.result()), rel=1e-6)
    assert ours.result() == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_errors_name_the_fix():
    with pytest.raises(ConfigError, match="num_classes"):
        M.MeanIoU(num_classes=0)
    with pytest.raises(ConfigError, match="target_class_ids"):
        M.IoU(num_classes=2, target_class_ids=[2])
    with pytest.raises(DataError, match="ignore_class"):
        M.MeanIoU(num_classes=3).update_state([0, 1, 255], [0, 1, 2])
    with pytest.raises(ShapeError, match="sparse_y_pred=False"):
        M.MeanIoU(num_classes=3).update_state([0, 1], np.eye(3)[:2])
    m = M.MeanIoU(num_classes=3, ignore_class=255)  # the way round the first error names
    m.update_state([0, 1, 255], [0, 1, 2])
    assert m.result() == 1.0


def test_state_adds_across_shards():
    y_true, y_pred = _maps()
    whole, first, second = (M.MeanIoU(num_classes=4) for _ in range(3))
    whole.update_state(y_true, y_pred)
    first.update_state(y_true[:1], y_pred[:1])
    second.update_state(y_true[1:], y_pred[1:])
    joined = M.MeanIoU(num_classes=4)
    joined.set_state(np.add(first.state(), second.state()))
    assert joined.result() == pytest.approx(whole.result(), rel=1e-12)


def test_fit_evaluate_and_a_saved_model_keep_the_arguments(keras, tmp_path):
    x = RNG.normal(size=(96, 5)).astype(np.float32)
    labels = np.argmax(x[:, :3] + 0.5 * RNG.normal(size=(96, 3)), axis=1)
    make = lambda ns: [ns.MeanIoU(num_classes=3, sparse_y_pred=False, name="mean_io_u"),  # noqa: E731
                       ns.IoU(num_classes=3, target_class_ids=[2], sparse_y_pred=False, name="iou_2")]
    assert_fit_evaluate_reload_match(keras, make, "sparse_categorical_crossentropy", 3, "softmax", x, labels,
                                     ("loss", "mean_io_u", "iou_2", "val_mean_io_u", "val_iou_2"), tmp_path)
