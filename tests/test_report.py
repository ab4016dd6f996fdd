"""model.evaluate_report: per-class precision / recall / F1 against scikit-learn, and the PNG."""
import numpy as np
import pytest
from sklearn.metrics import classification_report as sk_report
from sklearn.metrics import confusion_matrix as sk_confusion
from sklearn.metrics import precision_recall_fscore_support

import threestep as ts
from threestep import errors
from threestep.layers import Dense
from threestep.models import Sequential
from threestep.models.report import classification_report, confusion_matrix


@pytest.fixture
def model_and_data(rng):
    """A 4-class softmax model trained briefly on overlapping blobs: right often, not always."""
    centers = rng.normal(0, 1.5, (4, 5))
    y = rng.integers(0, 4, 200)
    x = (centers[y] + rng.normal(0, 1.0, (200, 5))).astype("float32")
    ts.backend.set_seed(0)
    model = Sequential([Dense(4, activation="softmax", input_dim=5)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam")
    model.fit(x, y, epochs=3, verbose=0)
    return model, x, y


def test_matches_scikit_learn(model_and_data, capsys):
    model, x, y = model_and_data
    pred = model.predict(x).argmax(axis=1)
    assert 0.3 < (pred == y).mean() < 1.0  # a report worth reading: some mistakes
    report = model.evaluate_report(x, y)
    p, r, f, s = precision_recall_fscore_support(y, pred, labels=range(4), zero_division=0)
    for k in range(4):
        row = report[str(k)]
        np.testing.assert_allclose([row["precision"], row["recall"], row["f1-score"]], [p[k], r[k], f[k]], rtol=1e-12)
        assert row["support"] == s[k]
    for avg, key in (("macro", "macro avg"), ("weighted", "weighted avg")):
        want = precision_recall_fscore_support(y, pred, labels=range(4), average=avg, zero_division=0)[:3]
        got = report[key]
        np.testing.assert_allclose([got["precision"], got["recall"], got["f1-score"]], want, rtol=1e-12)
        assert got["support"] == 200
    assert report["accuracy"] == pytest.approx((pred == y).mean())
    printed = capsys.readouterr().out
    assert printed == sk_report(y, pred, labels=range(4), zero_division=0)
    want = sk_report(y, pred, labels=range(4), zero_division=0, output_dict=True)
    assert set(report) == set(want)
    for key, row in want.items():
        assert report[key] == pytest.approx(row, rel=1e-12)


def test_confusion_matrix_matches_scikit_learn(rng):
    y_true, y_pred = rng.integers(0, 5, 300), rng.integers(0, 5, 300)
    np.testing.assert_array_equal(confusion_matrix(y_true, y_pred, 5), sk_confusion(y_true, y_pred, labels=range(5)))


def test_a_class_never_predicted_gets_zeros_and_names_are_used():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1, 0, 1])  # class 2 is never predicted
    text, report = classification_report(y_true, y_pred, 3, ["cat", "dog", "bird"], digits=3)
    assert report["bird"] == {"precision": 0.0, "recall": 0.0, "f1-score": 0.0, "support": 2}
    assert text == sk_report(y_true, y_pred, labels=range(3), target_names=["cat", "dog", "bird"], digits=3,
                             zero_division=0)


def test_one_hot_labels_confusion_png_and_quiet(model_and_data, tmp_path, capsys):
    model, x, y = model_and_data
    names = ["a", "b", "c", "d"]
    report = model.evaluate_report(x, np.eye(4)[y], path=tmp_path / "cm.png", class_names=names, verbose=0)
    assert capsys.readouterr().out == ""
    assert set(report) == {"a", "b", "c", "d", "accuracy", "macro avg", "weighted avg"}
    assert (tmp_path / "cm.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_binary_sigmoid_output(rng):
    x = rng.normal(size=(80, 3)).astype("float32")
    y = (x[:, 0] > 0).astype("float32")
    ts.backend.set_seed(0)
    model = Sequential([Dense(1, activation="sigmoid", input_dim=3)])
    report = model.evaluate_report(x, y, verbose=0)
    pred = (model.predict(x)[:, 0] > 0.5).astype(int)
    p, r, f, s = precision_recall_fscore_support(y.astype(int), pred, labels=[0, 1], zero_division=0)
    assert [report["0"]["recall"], report["1"]["recall"]] == pytest.approx(list(r))


def test_bad_inputs(model_and_data):
    model, x, y = model_and_data
    with pytest.raises(errors.ConfigError, match="class_names has 3 names but the model has 4 classes"):
        model.evaluate_report(x, y, class_names=["a", "b", "c"], verbose=0)
    with pytest.raises(errors.DataError, match="x has 200 samples but y has 10"):
        model.evaluate_report(x, y[:10], verbose=0)
    with pytest.raises(errors.DataError, match="y holds class 7 but the model outputs only 4 classes"):
        model.evaluate_report(x, np.full(200, 7), verbose=0)
    with pytest.raises(errors.DataError, match="non-integer values"):
        model.evaluate_report(x, np.full(200, 0.5), verbose=0)
