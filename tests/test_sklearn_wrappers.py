"""keras.wrappers.scikit_learn: KerasClassifier / KerasRegressor as scikit-learn estimators
(clone, cross_val_score, GridSearchCV), with Keras 2's label handling."""
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

from threestep.errors import ConfigError, NotCompiledError
from threestep.keras.layers import Dense
from threestep.keras.models import Sequential
from threestep.keras.optimizers import Adam
from threestep.keras.wrappers.scikit_learn import KerasClassifier, KerasRegressor


def blobs(n=90, seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[2.0, 0.0], [-2.0, 0.0], [0.0, 2.5]])
    y = np.repeat(np.arange(3), n // 3)
    x = centers[y] + rng.normal(scale=0.4, size=(len(y), 2))
    order = rng.permutation(len(y))
    return x[order].astype("float32"), y[order]


def build_classifier(hidden=8, loss="sparse_categorical_crossentropy", units=3):
    model = Sequential([Dense(hidden, input_dim=2, activation="relu"),
                        Dense(units, activation="softmax" if units > 1 else "sigmoid")])
    model.compile(optimizer=Adam(learning_rate=0.03), loss=loss, metrics=["accuracy"])
    return model


def test_classifier_fits_predicts_and_scores_with_string_labels():
    x, y = blobs()
    names = np.array(["cat", "dog", "emu"])[y]
    clf = KerasClassifier(build_fn=build_classifier, hidden=16, epochs=60, batch_size=16, verbose=0)
    clf.fit(x, names)
    assert list(clf.classes_) == ["cat", "dog", "emu"] and clf.n_classes_ == 3
    pred = clf.predict(x)
    assert pred.dtype.kind == "U" and set(pred) <= {"cat", "dog", "emu"}
    proba = clf.predict_proba(x)
    assert proba.shape == (90, 3)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-5)
    accuracy = clf.score(x, names)
    assert accuracy > 0.9
    assert accuracy == pytest.approx(np.mean(pred == names), abs=1e-6)


def test_categorical_crossentropy_gets_one_hot_labels():
    x, y = blobs()
    clf = KerasClassifier(build_fn=build_classifier, loss="categorical_crossentropy", epochs=40,
                          verbose=0)
    clf.fit(x, y)
    assert clf.score(x, y) > 0.8


def test_single_sigmoid_unit_gives_two_column_probabilities():
    x, y = blobs()
    y = (y == 0).astype(int)
    clf = KerasClassifier(build_fn=build_classifier, loss="binary_crossentropy", units=1,
                          epochs=30, verbose=0)
    clf.fit(x, y)
    proba = clf.predict_proba(x)
    assert proba.shape == (90, 2)
    np.testing.assert_allclose(proba.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(clf.predict(x), (proba[:, 1] > 0.5).astype(int))


def test_clone_and_params_roundtrip():
    clf = KerasClassifier(build_fn=build_classifier, hidden=4, epochs=3, verbose=0)
    params = clf.get_params()
    assert params["hidden"] == 4 and params["build_fn"] is build_classifier
    copy = clone(clf)
    assert copy is not clf and copy.get_params() == clf.get_params()
    copy.set_params(hidden=9)
    assert copy.sk_params["hidden"] == 9 and clf.sk_params["hidden"] == 4


def test_cross_val_score_and_grid_search_run():
    x, y = blobs(60)
    clf = KerasClassifier(build_fn=build_classifier, epochs=30, batch_size=10, verbose=0)
    scores = cross_val_score(clf, x, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.7
    search = GridSearchCV(clf, {"hidden": [2, 8], "epochs": [5, 10]}, cv=2, scoring="neg_log_loss")
    search.fit(x, y)  # as Keras's mnist_sklearn_wrapper example: scored by predict_proba
    assert search.best_params_["hidden"] in (2, 8) and search.best_score_ < 0
    assert search.best_estimator_.predict(x).shape == (60,)


def test_regressor_predicts_squeezed_and_scores_minus_loss():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(64, 3)).astype("float32")
    y = x @ np.array([1.0, -2.0, 0.5], dtype="float32") + 0.3

    def build():
        model = Sequential([Dense(1, input_dim=3)])
        model.compile(optimizer="sgd", loss="mse")
        return model

    reg = KerasRegressor(build_fn=build, epochs=80, batch_size=16, verbose=0)
    reg.fit(x, y)
    pred = reg.predict(x)
    assert pred.shape == (64,)
    score = reg.score(x, y)
    assert score == pytest.approx(-np.mean((pred - y) ** 2), rel=1e-4)
    assert score > -0.05
    assert cross_val_score(KerasRegressor(build_fn=build, epochs=5, verbose=0), x, y, cv=2).shape == (2,)


def test_build_fn_as_subclass_call_and_callable_object():
    x, y = blobs(30)

    class Builder:
        def __call__(self, hidden=4):
            return build_classifier(hidden)

    class MyClassifier(KerasClassifier):
        def __call__(self, hidden=4):
            return build_classifier(hidden)

    for clf in (KerasClassifier(build_fn=Builder(), hidden=3, epochs=1, verbose=0),
                MyClassifier(hidden=3, epochs=1, verbose=0)):
        clf.fit(x, y)
        assert clf.model.layers[0].units == 3


def test_clear_errors():
    with pytest.raises(ConfigError, match="'hiddn' is not an argument"):
        KerasClassifier(build_fn=build_classifier, hiddn=3)
    clf = KerasClassifier(build_fn=build_classifier, verbose=0)
    with pytest.raises(NotCompiledError, match="not fitted"):
        clf.predict(np.zeros((2, 2), "float32"))

    def uncompiled():
        return Sequential([Dense(2, input_dim=2)])

    with pytest.raises(NotCompiledError, match="compile"):
        KerasClassifier(build_fn=uncompiled, verbose=0).fit(*blobs(30))

    def no_accuracy():
        model = Sequential([Dense(3, input_dim=2, activation="softmax")])
        model.compile("sgd", "sparse_categorical_crossentropy")
        return model

    clf = KerasClassifier(build_fn=no_accuracy, epochs=1, verbose=0)
    clf.fit(*blobs(30))
    with pytest.raises(ConfigError, match="metrics=\\['accuracy'\\]"):
        clf.score(*blobs(30))


def test_wrappers_import_without_scikit_learn(monkeypatch):
    import importlib  # noqa: PLC0415
    import sys  # noqa: PLC0415

    for name in [m for m in sys.modules if m == "sklearn" or m.startswith("sklearn.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "sklearn", None)
    module = importlib.reload(sys.modules["threestep.keras.wrappers.scikit_learn"])
    x, y = blobs(30)
    clf = module.KerasClassifier(build_fn=build_classifier, epochs=1, verbose=0)
    clf.fit(x, y)
    assert clf.predict(x).shape == (30,)
