"""Model subclassing as tf.keras users write it (layers as attributes, ``call``), against tf-keras
2.21: the same weights give the same predictions, one SGD step moves them the same way, and
the weights survive a file round trip into a new instance."""
import numpy as np
import pytest

from keras_oracle import import_tf_keras
from threestep.errors import NotSupportedError
from threestep.keras import Model, layers
from threestep.keras.optimizers import SGD

RNG = np.random.default_rng(5)
X = RNG.normal(size=(24, 6)).astype(np.float32)
LABELS = RNG.integers(0, 3, size=24)


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _classes(lib, layer_cls):
    """The same subclassed model written against ``lib`` (threestep.keras or tf_keras)."""
    class Classifier(lib.Model):
        def __init__(self):
            super().__init__()
            self.hidden = [lib.layers.Dense(8, activation="relu"), lib.layers.Dense(5, activation="tanh")]
            self.drop = lib.layers.Dropout(0.5)
            self.head = lib.layers.Dense(3, activation="softmax")

        def call(self, x, training=None):
            for layer in self.hidden:
                x = layer(x)
            return self.head(self.drop(x, training=training))

    class Centred(lib.Model):  # computes across the batch: subtracts the batch's mean
        def __init__(self):
            super().__init__()
            self.dense = lib.layers.Dense(2)

        def call(self, x):
            return self.dense(x - lib.backend.mean(x, axis=0, keepdims=True))

    return {"classifier": Classifier, "centred": Centred}[layer_cls]


def _copy(ours, theirs):
    theirs.set_weights([RNG.normal(scale=0.4, size=w.shape).astype(np.float32) for w in theirs.get_weights()])
    ours.set_weights(theirs.get_weights())


def test_a_subclassed_classifier_predicts_and_trains_like_tf_keras(keras):
    import threestep.keras as ours_lib

    ours, theirs = _classes(ours_lib, "classifier")(), _classes(keras, "classifier")()
    theirs(X[:1])
    ours.build((None, 6))
    assert [w.shape for w in ours.get_weights()] == [tuple(w.shape) for w in theirs.get_weights()]
    assert ours.count_params() == theirs.count_params() == 56 + 45 + 18
    _copy(ours, theirs)
    np.testing.assert_allclose(ours.predict(X, batch_size=8), theirs.predict(X, batch_size=8, verbose=0),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours(X).numpy(), theirs(X).numpy(), rtol=1e-5, atol=1e-6)
    ours.layers[2].rate = theirs.drop.rate = 0.0  # a fit step without random masks, to compare
    ours.compile(SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    theirs.compile(keras.optimizers.SGD(0.1), "sparse_categorical_crossentropy", metrics=["accuracy"])
    got = ours.train_on_batch(X, LABELS)
    want = theirs.train_on_batch(X, LABELS)
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(X, LABELS, verbose=0), theirs.evaluate(X, LABELS, verbose=0),
                               rtol=1e-5, atol=1e-6)


def test_training_is_seen_by_call_and_fit_moves_every_layer():
    import threestep.keras as ours_lib

    model = _classes(ours_lib, "classifier")()
    model.compile("adam", "sparse_categorical_crossentropy")
    history = model.fit(X, LABELS, epochs=3, batch_size=8, verbose=0)
    assert len(history.history["loss"]) == 3
    before = model.get_weights()
    model.fit(X, LABELS, epochs=1, batch_size=8, verbose=0)
    assert all(not np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    assert [type(layer).__name__ for layer in model.layers] == ["Dense", "Dense", "Dropout", "Dense"]
    inference = model.predict(X)
    np.testing.assert_allclose(model.predict(X), inference)  # dropout off at test time
    assert not np.allclose(model(X, training=True).numpy(), inference)


def test_a_model_that_computes_across_the_batch_is_not_cut_into_row_blocks(keras):
    import threestep.keras as ours_lib

    ours, theirs = _classes(ours_lib, "centred")(), _classes(keras, "centred")()
    theirs(X[:1])
    ours.build((None, 6))
    _copy(ours, theirs)
    big = RNG.normal(size=(600, 6)).astype(np.float32)
    np.testing.assert_allclose(ours.predict(big, batch_size=600), theirs.predict(big, batch_size=600, verbose=0),
                               rtol=1e-4, atol=1e-5)


def test_weights_round_trip_and_the_architecture_cannot_be_saved(tmp_path):
    import threestep.keras as ours_lib

    model = _classes(ours_lib, "classifier")()
    model.compile("sgd", "sparse_categorical_crossentropy")
    model.fit(X, LABELS, epochs=1, verbose=0)
    path = str(tmp_path / "w.h5")
    model.save_weights(path)
    again = _classes(ours_lib, "classifier")()
    again.build((None, 6))
    again.load_weights(path)
    np.testing.assert_allclose(again.predict(X), model.predict(X), rtol=1e-6)
    with pytest.raises(NotSupportedError, match="subclassed model.*save_weights"):
        model.save(str(tmp_path / "m.h5"))
    with pytest.raises(NotSupportedError, match="subclassed model"):
        model.get_config()


def test_a_plain_model_without_call_still_explains_itself():
    from threestep.errors import ConfigError

    with pytest.raises(ConfigError, match="call\\(self, x\\)"):
        Model().layers
    assert isinstance(layers.Dense(2), layers.Layer)
