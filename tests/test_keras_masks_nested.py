"""Masks that Keras users rely on, against tf-keras 2.21: GlobalAveragePooling1D over the
unmasked steps only, and TimeDistributed passing a (batch, time, steps) mask to the layer it
wraps (a ``Masking`` layer on (batch, time, steps, features) inputs: words of characters,
days of events)."""
import numpy as np
import pytest

from keras_oracle import import_tf_keras
from threestep.autograd import Tensor
from threestep.backend import to_numpy
from threestep.keras import layers as L
from threestep.keras.models import Sequential
from threestep.keras.optimizers import SGD


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _same_weights(ours, theirs, rng):
    for mine, their in zip(ours.layers, theirs.layers):
        values = [rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in their.get_weights()]
        their.set_weights(values)
        mine.set_weights(values)


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_global_average_pooling_1d_averages_the_unmasked_steps(keras, data_format):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 6) if data_format == "channels_first" else (3, 6, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0, 0], [1, 0, 1, 1, 1, 1], [1, 1, 1, 1, 1, 1]], bool)
    theirs = keras.layers.GlobalAveragePooling1D(data_format=data_format)
    tx = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tx)
        ty = theirs(tx, mask=tf.constant(mask))
        loss = tf.reduce_sum(ty * np.arange(12, dtype=np.float32).reshape(3, 4))
    ox = Tensor(x, requires_grad=True)
    ox.mask = mask
    oy = L.GlobalAveragePooling1D(data_format=data_format)(ox)
    (oy * np.arange(12, dtype=np.float32).reshape(3, 4)).sum().backward()
    np.testing.assert_allclose(oy.numpy(), ty.numpy(), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(ox.grad), tape.gradient(loss, tx).numpy(), rtol=1e-6)
    assert not np.allclose(oy.numpy()[0], x.mean(axis=2 if data_format == "channels_first" else 1)[0])


def test_a_sequence_masked_everywhere_averages_to_zero_with_finite_gradients():
    x = Tensor(np.ones((2, 3, 2), np.float32), requires_grad=True)
    x.mask = np.array([[0, 0, 0], [1, 1, 0]], bool)
    y = L.GlobalAveragePooling1D()(x)
    y.sum().backward()
    np.testing.assert_array_equal(y.numpy(), [[0, 0], [1, 1]])
    assert np.isfinite(to_numpy(x.grad)).all()


def test_embedding_mask_reaches_global_average_pooling_in_a_model(keras):
    rng = np.random.default_rng(1)
    tokens = np.array([[3, 5, 2, 0, 0], [7, 0, 0, 0, 0], [1, 2, 3, 4, 5]])
    theirs = keras.Sequential([keras.layers.Embedding(8, 4, mask_zero=True, input_shape=(5,)),
                               keras.layers.GlobalAveragePooling1D(), keras.layers.Dense(2)])
    ours = Sequential([L.Embedding(8, 4, mask_zero=True, input_shape=(5,)), L.GlobalAveragePooling1D(), L.Dense(2)])
    _same_weights(ours, theirs, rng)
    np.testing.assert_allclose(ours.predict(tokens, verbose=0), theirs.predict(tokens, verbose=0), rtol=1e-5)


def _nested(lib, inner):
    """Masking on (batch, time, steps, features), then a TimeDistributed stage, then an LSTM."""
    layers = lib.layers
    stages = {"lstm": lambda: [layers.TimeDistributed(layers.LSTM(3))],
              "gap": lambda: [layers.TimeDistributed(layers.GlobalAveragePooling1D())],
              "dense-gap": lambda: [layers.TimeDistributed(layers.Dense(3, activation="tanh")),
                                    layers.TimeDistributed(layers.GlobalAveragePooling1D())]}[inner]()
    return lib.Sequential([layers.Masking(0.0, input_shape=(5, 4, 3))] + stages + [layers.LSTM(2)])


def _masked_words(rng, padded_words=True):
    x = rng.normal(size=(4, 5, 4, 3)).astype(np.float32)
    if padded_words:
        x[0, 3:] = 0  # two padded words
    x[1, 2, 2:] = 0  # a short word
    x[2, :, 3] = 0  # every word one step short
    return x


@pytest.mark.parametrize("inner", ["lstm", "gap", "dense-gap"])
def test_time_distributed_passes_the_inner_mask_on_like_tf_keras(keras, inner):
    import threestep.keras as ours_lib

    rng = np.random.default_rng(2)
    x, y = _masked_words(rng), rng.normal(size=(4, 2)).astype(np.float32)
    theirs, ours = _nested(keras, inner), _nested(ours_lib, inner)
    _same_weights(ours, theirs, rng)
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
    # One SGD step on words that each keep a step: tf-keras's GlobalAveragePooling1D divides 0 / 0
    # for a word masked throughout, and its gradient makes every weight nan (threestep: zeros).
    xs = _masked_words(rng, padded_words=False)
    theirs.compile(keras.optimizers.SGD(0.1), "mse")
    ours.compile(SGD(0.1), "mse")
    theirs.fit(xs, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    ours.fit(xs, y, batch_size=4, epochs=1, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    before = ours.predict(x, verbose=0)
    ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0)  # with the padded words
    assert all(np.isfinite(w).all() for w in ours.get_weights())
    assert not np.allclose(ours.predict(x, verbose=0), before)


def test_time_distributed_output_mask_is_the_wrapped_layers_in_batch_time_shape():
    x = Tensor(_masked_words(np.random.default_rng(3)))
    masked = L.Masking(0.0)(x)
    assert masked.mask.shape == (4, 5, 4)
    dense = L.TimeDistributed(L.Dense(3))(masked)  # Dense keeps its input's (rows, steps) mask
    np.testing.assert_array_equal(to_numpy(dense.mask), to_numpy(masked.mask))
    pooled = L.TimeDistributed(L.GlobalAveragePooling1D())(dense)  # used up inside: a word counts if any step does
    np.testing.assert_array_equal(to_numpy(pooled.mask), to_numpy(masked.mask).any(axis=-1))
    assert to_numpy(pooled.mask)[0].tolist() == [True, True, True, False, False]


def test_global_max_pooling_refuses_a_sequence_mask_and_names_the_fix():
    from threestep.errors import ConfigError

    model = Sequential([L.Embedding(8, 4, mask_zero=True, input_shape=(5,)), L.LSTM(3, return_sequences=True),
                        L.GlobalMaxPooling1D()])
    with pytest.raises(ConfigError, match="GlobalMaxPooling1D layer .* received a sequence mask.*GlobalAveragePooling1D"):
        model.predict(np.array([[3, 5, 2, 0, 0]]), verbose=0)
    unmasked = Sequential([L.Embedding(8, 4, input_shape=(5,)), L.LSTM(3, return_sequences=True),
                           L.GlobalMaxPooling1D()])
    assert unmasked.predict(np.array([[3, 5, 2, 0, 0]]), verbose=0).shape == (1, 3)
