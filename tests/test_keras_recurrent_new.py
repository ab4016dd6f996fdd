"""Stateful recurrent layers, recurrent_dropout, unroll and implementation, against tf-keras 2.21.

recurrent_dropout draws random masks in both libraries; the oracle comparison gives
tf-keras's cells the same masks (its ``get_recurrent_dropout_mask_for_cell`` is replaced
for the test) and checks outputs and gradients; separate tests check that our masks are
drawn once per sequence and are inactive at test time.
"""
import os

import numpy as np
import pytest

from threestep import backend
from threestep.autograd import Tensor
from threestep.backend import to_numpy
from threestep.errors import ShapeError
from threestep.keras import layers as L


@pytest.fixture(scope="module")
def tfk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    return tf, keras


RNNS = [("SimpleRNN", {}), ("LSTM", {}), ("GRU", {}), ("GRU", {"reset_after": False}),
        ("LSTM", {"go_backwards": True, "return_sequences": True})]


@pytest.mark.slow
@pytest.mark.parametrize("cls,kwargs", RNNS)
def test_recurrent_dropout_with_the_same_masks_matches_tf_keras(tfk, rng, cls, kwargs):
    tf, keras = tfk
    units, gates = 5, {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}[cls]
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)
    rate = 0.4
    masks = [((rng.uniform(size=(3, units)) >= rate) / (1 - rate)).astype(np.float32) for _ in range(gates)]
    theirs = getattr(keras.layers, cls)(units, recurrent_dropout=rate, **kwargs)
    theirs(x)
    theirs.cell.get_recurrent_dropout_mask_for_cell = \
        lambda inputs, training, count=1: tf.constant(masks[0]) if count == 1 else [tf.constant(m) for m in masks]
    ours = getattr(L, cls)(units, recurrent_dropout=rate, **kwargs)
    ours(x)
    ours.set_weights(theirs.get_weights())
    ours._recurrent_masks = lambda _x: masks
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        ty = theirs(xv, training=True)
        loss = tf.reduce_sum(ty * ty)
    tgrads = tape.gradient(loss, [xv] + theirs.trainable_weights)
    xt = Tensor(x, requires_grad=True)
    oy = ours(xt, training=True)
    np.testing.assert_allclose(oy.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)
    (oy * oy).sum().backward()
    for o, t in zip([xt.grad] + [w.grad for w in ours.trainable_weights], tgrads):
        np.testing.assert_allclose(to_numpy(o), np.asarray(t), rtol=1e-4, atol=1e-5)
    # at test time no mask: the fused op, equal to tf-keras's inference
    del theirs.cell.get_recurrent_dropout_mask_for_cell  # (the replacement ignores `training`)
    np.testing.assert_allclose(ours(x, training=False).numpy(), theirs(x, training=False).numpy(), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cls,kwargs", RNNS + [("LSTM", {"mask": True})])
def test_step_loop_equals_the_fused_op(rng, cls, kwargs):
    """The loop (recurrent_dropout's path) with all-ones masks is the fused op: values and gradients."""
    kwargs = dict(kwargs)
    masked = kwargs.pop("mask", False)
    layer = getattr(L, cls)(4, recurrent_dropout=0.5, **kwargs)
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    seq_mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], bool) if masked else None
    layer(x)
    xa, xb = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    ones = [np.ones((3, 4), np.float32)] * layer.gates
    layer._recurrent_masks = lambda _x: ones
    ya = layer(xa, training=True, mask=seq_mask)
    (ya * ya).sum().backward()
    grads_a = [xa.grad] + [w.grad.copy() for w in layer.trainable_weights]
    for w in layer.trainable_weights:
        w.grad = None
    yb = layer(xb, training=False, mask=seq_mask)
    (yb * yb).sum().backward()
    np.testing.assert_allclose(ya.numpy(), yb.numpy(), rtol=1e-5, atol=1e-6)
    for a, b in zip(grads_a, [xb.grad] + [w.grad for w in layer.trainable_weights]):
        np.testing.assert_allclose(to_numpy(a), to_numpy(b), rtol=1e-4, atol=1e-5)


def test_recurrent_dropout_masks_are_drawn_once_per_sequence(rng):
    backend.set_seed(3)
    layer = L.SimpleRNN(200, recurrent_dropout=0.5, activation="linear", return_sequences=True,
                        recurrent_initializer="identity", kernel_initializer="zeros")
    x = np.zeros((2, 4, 1), np.float32)
    h0 = np.ones((2, 200), np.float32)
    y = layer(x, initial_state=[h0], training=True).numpy()
    # identity recurrence and zero input: h_t = h_{t-1} * m, so a unit dropped once stays 0 and a kept
    # unit is scaled by 2 at every step -- one mask for all steps
    kept = y[:, 0] != 0
    assert 0.35 < kept.mean() < 0.65
    for t in range(4):
        np.testing.assert_array_equal(to_numpy(y[:, t]) != 0, kept)
        np.testing.assert_allclose(y[:, t][kept], 2.0 ** (t + 1))


def _stateful_pair(keras, cls, batch=4):
    theirs = keras.Sequential([getattr(keras.layers, cls)(5, stateful=True, batch_input_shape=(batch, 3, 2)),
                               keras.layers.Dense(2)])
    from threestep.keras.models import Sequential

    ours = Sequential([getattr(L, cls)(5, stateful=True, batch_input_shape=(batch, 3, 2)), L.Dense(2)])
    ours.set_weights(theirs.get_weights())
    return theirs, ours


@pytest.mark.slow
@pytest.mark.parametrize("cls", ["SimpleRNN", "LSTM", "GRU"])
def test_stateful_layers_carry_states_like_tf_keras(tfk, rng, cls):
    _, keras = tfk
    theirs, ours = _stateful_pair(keras, cls)
    a, b = rng.normal(size=(4, 3, 2)).astype(np.float32), rng.normal(size=(4, 3, 2)).astype(np.float32)
    first = ours.predict(a, batch_size=4)
    np.testing.assert_allclose(first, theirs.predict(a, batch_size=4, verbose=0), rtol=1e-5, atol=1e-6)
    second = ours.predict(b, batch_size=4)  # starts from a's final states
    np.testing.assert_allclose(second, theirs.predict(b, batch_size=4, verbose=0), rtol=1e-5, atol=1e-6)
    assert not np.allclose(second, ours.predict(b, batch_size=4))  # the states moved on again
    theirs.reset_states()
    ours.reset_states()
    np.testing.assert_allclose(ours.predict(a, batch_size=4), first, rtol=1e-6)
    ours.layers[0].reset_states()
    theirs.layers[0].reset_states()
    np.testing.assert_allclose(ours.predict(a, batch_size=4), theirs.predict(a, batch_size=4, verbose=0),
                               rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_stateful_fit_matches_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.optimizers import SGD

    theirs, ours = _stateful_pair(keras, "LSTM")
    x, y = rng.normal(size=(12, 3, 2)).astype(np.float32), rng.normal(size=(12, 2)).astype(np.float32)
    theirs.compile(loss="mse", optimizer=keras.optimizers.SGD(0.1))
    ours.compile(loss="mse", optimizer=SGD(0.1))
    for _ in range(2):
        kh = theirs.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0).history
        oh = ours.fit(x, y, batch_size=4, epochs=1, shuffle=False, verbose=0).history
        np.testing.assert_allclose(oh["loss"], kh["loss"], rtol=1e-5)
        theirs.reset_states()
        ours.reset_states()
    for p, q in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)


def test_stateful_batch_size_mismatch_and_reset_values(rng):
    layer = L.LSTM(3, stateful=True)
    layer(rng.normal(size=(4, 2, 2)).astype(np.float32))
    with pytest.raises(ShapeError, match="batches of 4"):
        layer(rng.normal(size=(3, 2, 2)).astype(np.float32))
    layer.reset_states([np.ones((3, 3)), np.zeros((3, 3))])
    assert layer(rng.normal(size=(3, 2, 2)).astype(np.float32)).shape == (3, 3)
    with pytest.raises(ShapeError, match="2 state"):
        layer.reset_states([np.ones((3, 3))])


def test_unroll_and_implementation_are_accepted_and_serialized(tfk):
    _, keras = tfk
    for cls in ("LSTM", "GRU"):
        ours = getattr(L, cls)(4, unroll=True, implementation=1, stateful=True, recurrent_dropout=0.1)
        config = ours.get_config()
        theirs = getattr(keras.layers, cls)(4, unroll=True, implementation=1, stateful=True,
                                            recurrent_dropout=0.1).get_config()
        for key in ("unroll", "implementation", "stateful", "recurrent_dropout"):
            assert config[key] == theirs[key], key
        assert type(ours).from_config(config).get_config()["implementation"] == 1
    x = np.random.default_rng(0).normal(size=(2, 3, 2)).astype(np.float32)
    a, b = L.GRU(3, implementation=1, unroll=True), L.GRU(3)
    a(x)
    b(x)
    b.set_weights(a.get_weights())
    np.testing.assert_allclose(a(x).numpy(), b(x).numpy())


# ------------------------------------------------------------------ ConvLSTM2D

CONVLSTM = [
    {"filters": 3, "kernel_size": 3, "padding": "same"},
    {"filters": 2, "kernel_size": (3, 2), "return_sequences": True},
    {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "go_backwards": True,
     "return_sequences": True, "activation": "relu", "recurrent_activation": "sigmoid"},
]


@pytest.mark.slow
@pytest.mark.parametrize("kwargs", CONVLSTM)
def test_conv_lstm_2d_matches_tf_keras(tfk, rng, kwargs):
    tf, keras = tfk
    x = rng.normal(size=(2, 4, 6, 5, 3)).astype(np.float32)
    theirs = keras.layers.ConvLSTM2D(**kwargs)
    xv = tf.Variable(x)
    with tf.GradientTape() as tape:
        ty = theirs(xv)
        r = tf.constant(rng.normal(size=ty.shape).astype(np.float32))
        loss = tf.reduce_sum(ty * r)
    tgrads = tape.gradient(loss, [xv] + theirs.trainable_weights)
    ours = L.ConvLSTM2D(**kwargs)
    ours(x)
    ours.set_weights(theirs.get_weights())
    xt = Tensor(x, requires_grad=True)
    oy = ours(xt)
    np.testing.assert_allclose(oy.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)
    (oy * r.numpy()).sum().backward()
    for o, t in zip([xt.grad] + [w.grad for w in ours.trainable_weights], tgrads):
        np.testing.assert_allclose(to_numpy(o), np.asarray(t), rtol=1e-4, atol=1e-4)
    assert ours.count_params() == theirs.count_params()
    assert tuple(ours.compute_output_shape((None,) + x.shape[1:])) == \
        tuple(theirs.compute_output_shape((None,) + x.shape[1:]))


def test_conv_lstm_2d_default_config_matches_tf_keras(tfk):
    _, keras = tfk
    theirs = keras.layers.ConvLSTM2D(4, 3).get_config()
    config = L.ConvLSTM2D(4, 3).get_config()
    skip = {"name", "groups", "kernel_constraint", "bias_constraint", "recurrent_constraint", "unroll",
            "time_major"}
    for key, value in theirs.items():
        if key in skip:
            continue
        assert key in config, key
        ours = config[key]
        norm = (lambda v: list(v) if isinstance(v, tuple) else v["class_name"] if isinstance(v, dict) else v)
        assert norm(ours) == norm(value), (key, ours, value)


def test_conv_lstm_2d_state_carry_dropout_and_channels_first(rng):
    x = rng.normal(size=(2, 3, 5, 5, 2)).astype(np.float32)
    layer = L.ConvLSTM2D(3, 3, padding="same", return_state=True, stateful=True)
    out, h, c = layer(x)
    assert out.shape == h.shape == c.shape == (2, 5, 5, 3)
    again, _, _ = layer(x)  # starts from the carried states
    assert not np.allclose(again.numpy(), out.numpy())
    layer.reset_states()
    np.testing.assert_allclose(layer(x)[0].numpy(), out.numpy(), rtol=1e-6)
    first = L.ConvLSTM2D(3, 3, data_format="channels_first", return_sequences=True)
    last = L.ConvLSTM2D(3, 3, return_sequences=True)
    y_last = last(x)
    first(x.transpose(0, 1, 4, 2, 3))
    first.set_weights(last.get_weights())
    np.testing.assert_allclose(first(x.transpose(0, 1, 4, 2, 3)).numpy(), y_last.numpy().transpose(0, 1, 4, 2, 3),
                               rtol=1e-5, atol=1e-6)
    drop = L.ConvLSTM2D(3, 3, dropout=0.3, recurrent_dropout=0.3)
    y0 = drop(x, training=False).numpy()
    assert drop(x, training=True).shape == y0.shape
    assert not np.allclose(drop(x, training=True).numpy(), y0)
    np.testing.assert_allclose(drop(x, training=False).numpy(), y0)


def test_model_reset_states_reaches_wrapped_stateful_layers(rng):
    from threestep.keras.models import Sequential

    model = Sequential([L.Bidirectional(L.LSTM(3, stateful=True), batch_input_shape=(2, 4, 2)), L.Dense(1)])
    x = rng.normal(size=(2, 4, 2)).astype(np.float32)
    first = model.predict(x, batch_size=2)
    assert not np.allclose(model.predict(x, batch_size=2), first)
    model.reset_states()
    np.testing.assert_allclose(model.predict(x, batch_size=2), first, rtol=1e-6)
