"""Keras 2's cell API (``RNN(cell)``, SimpleRNNCell, LSTMCell, GRUCell, StackedRNNCells, a
user's own cell) against tf-keras 2.21: same weights, equal outputs, equal gradients with
respect to inputs, initial states and weights, one equal ``fit`` step; masks, configs,
saving, Bidirectional, and the errors a wrong cell or state gets.
"""
import os

import numpy as np
import pytest

import threestep as ts
from threestep import errors
from threestep.autograd import Tensor, gradcheck
from threestep.backend import to_numpy
from threestep.keras import backend as K
from threestep.keras import layers as L


@pytest.fixture(scope="module")
def tfk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    return tf, keras


@pytest.fixture
def float64():
    ts.backend.set_floatx("float64")
    yield
    ts.backend.set_floatx("float32")


def two_state_cell(Layer, backend):
    """A user's cell written once for either library: two states, an output that is not a state."""

    class TwoStateCell(Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.state_size = [units, units]
            self.output_size = units

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                          initializer="glorot_uniform")
            self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units),
                                                    initializer="orthogonal")
            self.built = True

        def call(self, inputs, states, training=None):
            h, total = states[0], states[1]
            new = backend.tanh(backend.dot(inputs, self.kernel) + backend.dot(h, self.recurrent_kernel))
            return new + 0.5 * total, [new, total + new]

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    return TwoStateCell


def constants_cell(Layer, backend):
    """A user's cell that reads a constant at every step (Keras's ``constants=``)."""

    class ConstantsCell(Layer):
        def __init__(self, units, constant_dim, **kwargs):
            super().__init__(**kwargs)
            self.units, self.constant_dim = units, constant_dim
            self.state_size = units

        def build(self, input_shape):  # tf-keras 2 builds a cell for the step input only
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                          initializer="glorot_uniform")
            self.constant_kernel = self.add_weight(name="constant_kernel", shape=(self.constant_dim, self.units),
                                                   initializer="glorot_uniform")
            self.recurrent_kernel = self.add_weight(name="recurrent_kernel", shape=(self.units, self.units),
                                                    initializer="orthogonal")
            self.built = True

        def call(self, inputs, states, constants):
            out = backend.tanh(backend.dot(inputs, self.kernel) + backend.dot(states[0], self.recurrent_kernel)
                               + backend.dot(constants[0], self.constant_kernel))
            return out, [out]

    return ConstantsCell


CELLS = {
    "simple": lambda M: M.SimpleRNNCell(5),
    "lstm": lambda M: M.LSTMCell(5),
    "gru": lambda M: M.GRUCell(5),
    "gru_v1": lambda M: M.GRUCell(5, reset_after=False),
    "stacked": lambda M: [M.LSTMCell(4), M.GRUCell(3, reset_after=False), M.SimpleRNNCell(5, activation="relu")],
    "custom": "custom",
}
OPTIONS = [
    {},
    {"return_sequences": True},
    {"return_state": True},
    {"return_sequences": True, "return_state": True, "go_backwards": True},
    {"go_backwards": True},
    {"time_major": True, "return_sequences": True},
]
MASK = np.array([[1, 1, 1, 0, 0, 0], [1, 1, 1, 1, 1, 1], [0, 1, 1, 0, 1, 0]], bool)  # padding, gaps, a masked start


def make_cell(kind, M, K_):
    if kind == "custom":
        return two_state_cell(M.Layer, K_)(4)
    return CELLS[kind](M)


def _theirs_ours(keras, kind, **kwargs):
    theirs = keras.layers.RNN(make_cell(kind, keras.layers, keras.backend), **kwargs)
    ours = L.RNN(make_cell(kind, L, K), **kwargs)
    return theirs, ours


def run_theirs(tf, layer, x, r=None, mask=None, initial_state=None, constants=None):
    """Outputs and gradients of sum(out * r) in tf-keras (r drawn from the output shapes when None)."""
    xv = tf.Variable(x)
    nested = tf.nest.map_structure(tf.Variable, initial_state) if initial_state is not None else []
    states = tf.nest.flatten(nested)
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = tf.constant(mask)
    if initial_state is not None:
        kwargs["initial_state"] = nested
    if constants is not None:
        kwargs["constants"] = tf.constant(constants)
    with tf.GradientTape() as tape:
        outs = tf.nest.flatten(layer(xv, **kwargs))  # tf-keras nests a stack's states per cell
        if r is None:
            rng = np.random.default_rng(7)
            r = [rng.normal(size=o.shape).astype(np.float32) for o in outs]
        loss = tf.add_n([tf.reduce_sum(o * ri) for o, ri in zip(outs, r)])
    grads = tape.gradient(loss, [xv] + states + layer.trainable_weights)
    return [o.numpy() for o in outs], [np.asarray(g) for g in grads], r


def run_ours(layer, x, r, mask=None, initial_state=None, constants=None):
    xt = Tensor(x, requires_grad=True)
    states = [Tensor(s, requires_grad=True) for s in initial_state] if initial_state is not None else []
    kwargs = {}
    if mask is not None:
        kwargs["mask"] = mask
    if initial_state is not None:
        kwargs["initial_state"] = states
    if constants is not None:
        kwargs["constants"] = constants
    out = layer(xt, **kwargs)
    outs = out if isinstance(out, list) else [out]
    loss = outs[0].sum() * 0
    for o, ri in zip(outs, r):
        loss = loss + (o * Tensor(ri)).sum()
    loss.backward()
    return [o.numpy() for o in outs], [to_numpy(t.grad) for t in [xt] + states + layer.trainable_weights]


def assert_same(ours, theirs, grads_ours=None, grads_theirs=None):
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        np.testing.assert_allclose(o, t, rtol=1e-5, atol=1e-5)
    if grads_ours is not None:
        assert len(grads_ours) == len(grads_theirs)
        for o, t in zip(grads_ours, grads_theirs):
            np.testing.assert_allclose(o, t, rtol=1e-4, atol=1e-5)


def _compare(tfk, kind, options, mask=None, initial=False, rng=None):
    tf, keras = tfk
    rng = rng or np.random.default_rng(0)
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)
    if options.get("time_major"):
        x = x.transpose(1, 0, 2).copy()
    theirs, ours = _theirs_ours(keras, kind, **options)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    assert ours.count_params() == theirs.count_params()
    states = None
    if initial:
        states = [rng.normal(size=(3,) + s).astype(np.float32) for s in ours._state_shapes]
    # tf-keras takes (and returns) a stack's states nested per cell; threestep takes either, returns them flat
    nested = [states[:2], states[2], states[3]] if kind == "stacked" and states else states
    out_t, grads_t, r = run_theirs(tf, theirs, x, mask=mask, initial_state=nested)
    out_o, grads_o = run_ours(ours, x, r, mask=mask, initial_state=states)
    assert_same(out_o, out_t, grads_o, grads_t)
    shape = (None,) + x.shape[1:]
    expected = [tuple(s) for s in tf.nest.flatten(theirs.compute_output_shape(shape),
                                                  expand_composites=False)] if options.get("return_state") \
        else tuple(theirs.compute_output_shape(shape))
    assert ours.compute_output_shape(shape) == expected


# ---------------------------------------------------------------------- against tf-keras
@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(o) or "plain")
def test_rnn_of_cells_matches_tf_keras(tfk, kind, options):
    _compare(tfk, kind, options)


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(CELLS))
@pytest.mark.parametrize("options", [{"return_sequences": True, "return_state": True},
                                     {"go_backwards": True, "return_sequences": True}, {}],
                         ids=["sequences", "backwards", "last"])
def test_masked_steps_match_tf_keras(tfk, kind, options):
    """A masked step carries every state and repeats the previous output (zeros before the first real step)."""
    _compare(tfk, kind, options, mask=MASK)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["simple", "lstm", "stacked", "custom"])
def test_initial_state_matches_tf_keras(tfk, kind):
    _compare(tfk, kind, {"return_sequences": True, "return_state": True}, initial=True)
    _compare(tfk, kind, {"return_state": True}, mask=MASK, initial=True)


def test_masked_output_repeats_the_previous_output():
    layer = L.RNN(L.SimpleRNNCell(3), return_sequences=True, return_state=True)
    x = np.random.default_rng(1).normal(size=(3, 6, 2)).astype(np.float32)
    out, h = layer(x, mask=MASK)
    np.testing.assert_array_equal(to_numpy(out.mask), MASK)  # the mask travels on with the sequence
    seq = out.numpy()
    np.testing.assert_allclose(seq[0, 3:], np.repeat(seq[0, 2:3], 3, axis=0))
    np.testing.assert_array_equal(seq[2, 0], 0.0)  # nothing real yet
    np.testing.assert_allclose(seq[2, 3], seq[2, 2])
    np.testing.assert_allclose(h.numpy()[0], seq[0, 2])


@pytest.mark.slow
def test_constants_match_tf_keras(tfk, rng):
    tf, keras = tfk
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    c = rng.normal(size=(2, 4)).astype(np.float32)
    theirs = keras.layers.RNN(constants_cell(keras.layers.Layer, keras.backend)(3, 4), return_sequences=True)
    ours = L.RNN(constants_cell(L.Layer, K)(3, 4), return_sequences=True)
    theirs(x, constants=tf.constant(c))
    ours(x, constants=c)
    ours.set_weights(theirs.get_weights())
    out_t, grads_t, r = run_theirs(tf, theirs, x, constants=c)
    out_o, grads_o = run_ours(ours, x, r, constants=c)
    assert_same(out_o, out_t, grads_o, grads_t)
    # the same layer in a functional model, the constant an input of its own
    from threestep.keras.models import Model

    x_in, c_in = L.Input((None, 3)), L.Input((4,))
    model = Model([x_in, c_in], ours(x_in, constants=c_in))
    np.testing.assert_allclose(model.predict([x, c]), out_t[0], rtol=1e-5, atol=1e-5)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["lstm", "gru", "gru_v1", "simple"])
@pytest.mark.parametrize("rates", [(0.3, 0.0), (0.0, 0.4), (0.3, 0.4)])
def test_cell_dropout_with_the_same_masks_matches_tf_keras(tfk, rng, kind, rates):
    """Both libraries' cells get the same dropout masks; then outputs and gradients agree
    (implementation 2 shares the first input mask, recurrent dropout gives every gate its own)."""
    tf, keras = tfk
    dropout, recurrent = rates
    units, gates = 5, {"simple": 1, "lstm": 4, "gru": 3, "gru_v1": 3}[kind]
    extra = {"reset_after": False} if kind == "gru_v1" else {}
    name = {"simple": "SimpleRNNCell", "lstm": "LSTMCell", "gru": "GRUCell", "gru_v1": "GRUCell"}[kind]
    x = rng.normal(size=(3, 6, 4)).astype(np.float32)

    def masks(width, rate):
        return [((rng.uniform(size=(3, width)) >= rate) / (1 - rate)).astype(np.float32) for _ in range(gates)]

    dp, rdp = masks(4, dropout or 0.5), masks(units, recurrent or 0.5)
    theirs = keras.layers.RNN(getattr(keras.layers, name)(units, dropout=dropout, recurrent_dropout=recurrent,
                                                          **extra), return_sequences=True)
    ours = L.RNN(getattr(L, name)(units, dropout=dropout, recurrent_dropout=recurrent, **extra),
                 return_sequences=True)
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    assert getattr(ours.cell, "implementation", 0) == getattr(theirs.cell, "implementation", 0)

    def pick(ms, rate, to):
        return lambda inputs, training, count=1: (None if not rate else to(ms[0]) if count == 1 else [to(m) for m in ms])

    theirs.cell.get_dropout_mask_for_cell = pick(dp, dropout, tf.constant)
    theirs.cell.get_recurrent_dropout_mask_for_cell = pick(rdp, recurrent, tf.constant)
    ours.cell.get_dropout_mask_for_cell = pick(dp, dropout, np.asarray)
    ours.cell.get_recurrent_dropout_mask_for_cell = pick(rdp, recurrent, np.asarray)
    xv = tf.Variable(x)
    r = rng.normal(size=(3, 6, units)).astype(np.float32)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(theirs(xv, training=True) * r)
    grads_t = tape.gradient(loss, [xv] + theirs.trainable_weights)
    xt = Tensor(x, requires_grad=True)
    out = ours(xt, training=True)
    (out * Tensor(r)).sum().backward()
    np.testing.assert_allclose(out.numpy(), theirs(xv, training=True).numpy(), rtol=1e-5, atol=1e-5)
    for o, t in zip([xt.grad] + [w.grad for w in ours.trainable_weights], grads_t):
        np.testing.assert_allclose(to_numpy(o), np.asarray(t), rtol=1e-4, atol=1e-5)


def test_cell_dropout_masks_are_drawn_once_per_sequence_and_off_at_test_time(rng):
    ts.backend.set_seed(5)
    layer = L.RNN(L.SimpleRNNCell(300, recurrent_dropout=0.5, activation="linear", recurrent_initializer="identity",
                                  kernel_initializer="zeros"), return_sequences=True)
    x = np.zeros((2, 4, 1), np.float32)
    h0 = np.ones((2, 300), np.float32)
    y = layer(x, initial_state=[h0], training=True).numpy()
    kept = y[:, 0] != 0
    assert 0.35 < kept.mean() < 0.65
    for t in range(4):  # the same units dropped at every step: one mask per sequence
        np.testing.assert_array_equal(y[:, t] != 0, kept)
        np.testing.assert_allclose(y[:, t][kept], 2.0 ** (t + 1))
    again = layer(x, initial_state=[h0], training=True).numpy()
    assert not np.array_equal(again[:, 0] != 0, kept)  # a new sequence draws new masks
    np.testing.assert_allclose(layer(x, initial_state=[h0], training=False).numpy(), 1.0)


def _fit_pair(keras, kind, embedding=False, **options):
    rng = np.random.default_rng(3)
    if embedding:
        x = rng.integers(1, 9, size=(6, 7))
        x[0, 4:] = 0
        x[3, 2:] = 0
        x[4, 0] = 0
    else:
        x = rng.normal(size=(6, 7, 3)).astype(np.float32)
    y = rng.normal(size=(6, 2)).astype(np.float32)

    def model(M, Kb, Seq):
        layers = [M.Embedding(10, 3, mask_zero=True, input_shape=(7,))] if embedding else []
        layers += [M.RNN(make_cell(kind, M, Kb), **options, **({} if embedding else {"input_shape": (7, 3)})),
                   M.Dense(2)]
        return Seq(layers)

    from threestep.keras.models import Sequential
    from threestep.keras.optimizers import SGD

    theirs = model(keras.layers, keras.backend, keras.Sequential)
    ours = model(L, K, Sequential)
    ours.set_weights(theirs.get_weights())
    theirs.compile(loss="mse", optimizer=keras.optimizers.SGD(0.1))
    ours.compile(loss="mse", optimizer=SGD(0.1))
    return theirs, ours, x, y


@pytest.mark.slow
@pytest.mark.parametrize("kind,embedding", [("simple", False), ("lstm", False), ("gru", False), ("gru_v1", False),
                                            ("stacked", False), ("custom", False), ("lstm", True),
                                            ("stacked", True)])
def test_one_fit_step_matches_tf_keras(tfk, kind, embedding):
    _, keras = tfk
    theirs, ours, x, y = _fit_pair(keras, kind, embedding)
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-5)
    kh = theirs.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0).history
    oh = ours.fit(x, y, batch_size=6, epochs=1, shuffle=False, verbose=0).history
    np.testing.assert_allclose(oh["loss"], kh["loss"], rtol=1e-5)
    for p, q in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.evaluate(x, y, verbose=0), theirs.evaluate(x, y, verbose=0), rtol=1e-5)


@pytest.mark.slow
def test_embedding_mask_sequence_outputs_match_tf_keras(tfk):
    _, keras = tfk
    theirs, ours, x, _ = _fit_pair(keras, "custom", embedding=True, return_sequences=True)
    t_seq = keras.Model(theirs.inputs, theirs.layers[1].output)(x)
    o_seq = ours.layers[1](ours.layers[0](x))
    np.testing.assert_allclose(o_seq.numpy(), t_seq.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(to_numpy(o_seq.mask), x != 0)
    np.testing.assert_array_equal(t_seq._keras_mask.numpy(), x != 0)


@pytest.mark.slow
def test_stateful_rnn_of_cells_carries_states_like_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.models import Sequential

    theirs = keras.Sequential([keras.layers.RNN(keras.layers.GRUCell(4), stateful=True, batch_input_shape=(2, 3, 2))])
    ours = Sequential([L.RNN(L.GRUCell(4), stateful=True, batch_input_shape=(2, 3, 2))])
    ours.set_weights(theirs.get_weights())
    a, b = rng.normal(size=(2, 3, 2)).astype(np.float32), rng.normal(size=(2, 3, 2)).astype(np.float32)
    for batch in (a, b):
        np.testing.assert_allclose(ours.predict(batch, batch_size=2), theirs.predict(batch, batch_size=2, verbose=0),
                                   rtol=1e-5, atol=1e-6)
    ours.reset_states()
    theirs.reset_states()
    np.testing.assert_allclose(ours.predict(b, batch_size=2), theirs.predict(b, batch_size=2, verbose=0),
                               rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- Bidirectional
@pytest.mark.slow
@pytest.mark.parametrize("masked", [False, True])
def test_bidirectional_rnn_of_cells_matches_tf_keras(tfk, rng, masked):
    tf, keras = tfk
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    mask = MASK if masked else None
    # Bidirectional outputs zeros at masked steps: it sets zero_output_for_mask on both halves
    theirs = keras.layers.Bidirectional(keras.layers.RNN(keras.layers.GRUCell(3), return_sequences=True))
    ours = L.Bidirectional(L.RNN(L.GRUCell(3), return_sequences=True))
    theirs(x)
    ours(x)
    ours.set_weights(theirs.get_weights())
    out_t, grads_t, r = run_theirs(tf, theirs, x, mask=mask)
    out_o, grads_o = run_ours(ours, x, r, mask=mask)
    assert_same(out_o, out_t, grads_o, grads_t)


def test_bidirectional_of_rnn_cells_saves_and_loads(tmp_path, rng):
    from threestep.keras.models import Sequential, load_model

    model = Sequential([L.Bidirectional(L.RNN([L.LSTMCell(3), L.SimpleRNNCell(2)]), input_shape=(5, 2)),
                        L.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    model.save(tmp_path / "bi.ts")
    again = load_model(tmp_path / "bi.ts")
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert again.count_params() == model.count_params() == 2 * (4 * 3 * (2 + 3 + 1) + 2 * (3 + 2 + 1)) + 5


def test_bidirectional_zeroes_both_halves_at_masked_steps_where_rnn_alone_carries(rng):
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    layer = L.Bidirectional(L.RNN(L.SimpleRNNCell(3), return_sequences=True))
    out = layer(x, mask=MASK).numpy()
    np.testing.assert_array_equal(out[~MASK], 0.0)  # both halves: zeros, as Keras's Bidirectional
    alone = L.RNN(L.SimpleRNNCell(3), return_sequences=True)
    forward = alone(x, mask=MASK).numpy()
    np.testing.assert_allclose(forward[0, 3:], np.repeat(forward[0, 2:3], 3, axis=0))  # carried, as RNN alone


# ---------------------------------------------------------------------- threestep's own paths
def test_rnn_of_lstm_cell_equals_lstm_layer(rng):
    x = rng.normal(size=(3, 7, 4)).astype(np.float32)
    for options in ({}, {"return_sequences": True, "return_state": True, "go_backwards": True}):
        layer, cell_rnn = L.LSTM(5, **options), L.RNN(L.LSTMCell(5), **options)
        layer(x)
        cell_rnn(x)
        cell_rnn.set_weights(layer.get_weights())
        r = None
        outs, grads = [], []
        for each in (layer, cell_rnn):
            xt = Tensor(x, requires_grad=True)
            out = each(xt)
            out = out if isinstance(out, list) else [out]
            r = r or [np.random.default_rng(2).normal(size=o.shape).astype(np.float32) for o in out]
            sum(((o * Tensor(ri)).sum() for o, ri in zip(out, r)), out[0].sum() * 0).backward()
            outs.append([o.numpy() for o in out])
            grads.append([to_numpy(g) for g in [xt.grad] + [w.grad for w in each.trainable_weights]])
        assert_same(outs[1], outs[0], grads[1], grads[0])


@pytest.mark.parametrize("kind", ["simple", "lstm", "gru", "gru_v1"])
def test_fused_path_equals_the_step_loop(rng, kind):
    """A built-in cell without a mask runs the fused op; an all-true mask forces the loop: same values, same grads."""
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    layer = L.RNN(make_cell(kind, L, K), return_sequences=True, go_backwards=True)
    layer(x)
    results = []
    for mask in (None, np.ones((2, 5), bool)):
        for w in layer.trainable_weights:
            w.grad = None
        xt = Tensor(x, requires_grad=True)
        y = layer(xt, mask=mask)
        (y * y).sum().backward()
        results.append([y.numpy(), to_numpy(xt.grad)] + [to_numpy(w.grad) for w in layer.trainable_weights])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kind", ["lstm", "gru_v1", "stacked", "custom"])
def test_step_loop_gradients_match_finite_differences(float64, rng, kind):
    layer = L.RNN(make_cell(kind, L, K), return_sequences=True, return_state=True, go_backwards=True)
    x = rng.normal(size=(2, 4, 3))
    layer(x)
    weights = layer.trainable_weights
    mask = np.array([[1, 1, 0, 1], [0, 1, 1, 1]], bool)

    def f(x):
        seq, *states = layer(x, mask=mask)  # the mask selects the step loop
        return ts.ops.concatenate([ts.ops.reshape(seq, (2, -1))] + states, axis=1)

    originals = [w.data.copy() for w in weights]
    assert gradcheck(lambda x, *ws: _swap(layer, weights, ws, lambda: f(x)), [x] + originals)


def _swap(layer, weights, new, run):
    """Run with the gradcheck leaves as the layer's weights, so gradients reach them."""
    cells = [c for c in [layer.cell] + list(getattr(layer.cell, "cells", []))]
    saved = []
    for cell in cells:
        for attr, value in list(vars(cell).items()):
            for w, leaf in zip(weights, new):
                if value is w:
                    saved.append((cell, attr, value))
                    setattr(cell, attr, leaf)
    try:
        return run()
    finally:
        for cell, attr, value in saved:
            setattr(cell, attr, value)


def test_unstack_op_gradients(float64, rng):
    from threestep.layers.recurrent_cell import _steps

    x = rng.normal(size=(2, 4, 3))
    assert gradcheck(lambda x: ts.ops.stack([s * (i + 1.0) for i, s in list(enumerate(_steps(x)))[::2]], axis=1), [x])


def test_functional_model_initial_state_and_summary(rng, capsys):
    from threestep.keras.models import Model

    x_in = L.Input((None, 3))
    h_in, c_in = L.Input((4,)), L.Input((4,))
    seq, h, c = L.RNN(L.LSTMCell(4), return_sequences=True, return_state=True)(x_in, initial_state=[h_in, c_in])
    model = Model([x_in, h_in, c_in], [L.Dense(2)(seq), h, c])
    x = rng.normal(size=(2, 5, 3)).astype(np.float32)
    h0, c0 = rng.normal(size=(2, 4)).astype(np.float32), rng.normal(size=(2, 4)).astype(np.float32)
    y, hh, cc = model.predict([x, h0, c0])
    assert y.shape == (2, 5, 2) and hh.shape == cc.shape == (2, 4)
    lstm = L.LSTM(4, return_state=True)
    lstm(x)
    lstm.set_weights(next(la for la in model.layers if type(la).__name__ == "RNN").get_weights())
    np.testing.assert_allclose(hh, lstm(x, initial_state=[h0, c0])[1].numpy(), rtol=1e-5, atol=1e-6)
    model.summary()
    text = capsys.readouterr().out
    assert "(RNN)" in text and str(4 * 4 * (3 + 4 + 1)) in text
    assert model.count_params() == 4 * 4 * (3 + 4 + 1) + 4 * 2 + 2


# ---------------------------------------------------------------------- configs and files
@pytest.mark.slow
@pytest.mark.parametrize("kind", ["simple", "lstm", "gru", "stacked"])
def test_config_matches_tf_keras_and_round_trips(tfk, kind):
    _, keras = tfk
    options = {"return_sequences": True, "go_backwards": True, "unroll": True}
    theirs, ours = _theirs_ours(keras, kind, **options)
    tc, oc = theirs.get_config(), ours.get_config()
    assert set(tc) == set(oc)
    for key in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll", "time_major"):
        assert oc[key] == tc[key], key
    assert oc["cell"]["class_name"] == tc["cell"]["class_name"]
    inner_t, inner_o = tc["cell"]["config"], oc["cell"]["config"]
    pairs = (zip(inner_o["cells"], inner_t["cells"]) if kind == "stacked" else [(oc["cell"], tc["cell"])])
    for o, t in pairs:
        assert set(o["config"]) == set(t["config"]), o["class_name"]
        for key, value in t["config"].items():
            if isinstance(value, dict):
                assert o["config"][key]["class_name"] == value["class_name"], key
            elif key != "name":
                assert o["config"][key] == value, key
    again = L.RNN.from_config(oc)
    assert type(again) is type(ours) and again.get_config() == oc


def test_config_round_trip_of_a_custom_cell_and_from_a_dict():
    cell = two_state_cell(L.Layer, K)(3, name="mine")
    layer = L.RNN([cell, L.GRUCell(2)], return_state=True, zero_output_for_mask=True)
    config = layer.get_config()
    assert config["cell"]["class_name"] == "StackedRNNCells" and config["zero_output_for_mask"] is True
    again = ts.layers.deserialize_layer({"class_name": "RNN", "config": config})
    assert isinstance(again, L.RNN) and again.get_config() == config
    assert type(again.cell.cells[0]).__name__ == "TwoStateCell" and again.cell.cells[0].units == 3


@pytest.mark.parametrize("suffix", [".ts", ".json"])
def test_model_save_and_load_round_trip(tmp_path, rng, suffix):
    from threestep.keras.models import Model, load_model, model_from_json

    x_in = L.Input((6, 2))
    seq = L.RNN([two_state_cell(L.Layer, K)(3), L.LSTMCell(4)], return_sequences=True)(x_in)
    out = L.RNN(L.GRUCell(2, reset_after=False), go_backwards=True)(seq)
    model = Model(x_in, L.Dense(1)(out))
    model.compile(loss="mse", optimizer="sgd")
    x = rng.normal(size=(3, 6, 2)).astype(np.float32)
    model.fit(x, np.ones((3, 1), np.float32), epochs=1, verbose=0)
    if suffix == ".json":
        again = model_from_json(model.to_json())
        again.set_weights(model.get_weights())
    else:
        model.save(tmp_path / f"m{suffix}")
        again = load_model(tmp_path / f"m{suffix}")
    np.testing.assert_allclose(again.predict(x), model.predict(x), rtol=1e-6)
    assert [type(layer).__name__ for layer in again.layers] == [type(layer).__name__ for layer in model.layers]


@pytest.mark.slow
def test_keras_h5_file_with_rnn_cells_loads(tfk, tmp_path, rng):
    _, keras = tfk
    from threestep.keras.models import load_model

    theirs = keras.Sequential([keras.layers.RNN([keras.layers.LSTMCell(4), keras.layers.GRUCell(3)],
                                                input_shape=(5, 2)), keras.layers.Dense(1)])
    theirs.save(tmp_path / "k.h5")
    x = rng.normal(size=(3, 5, 2)).astype(np.float32)
    ours = load_model(tmp_path / "k.h5")
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------- errors
class NoStateSize(L.Layer):
    def call(self, inputs, states):
        return inputs, states


class NoCall(L.Layer):
    state_size = 3


@pytest.mark.parametrize("cell,match", [
    (NoStateSize(), r"no state_size attribute.*self\.state_size = units"),
    (NoCall(), r"has no call method.*call\(self, inputs, states\)"),
    (8, r"cell must be a cell layer.*received 8.*SimpleRNN\(units\)"),
    ("lstm", r"cell must be a cell layer.*'lstm'"),
    (L.LSTM(4), r"recurrent layer .*LSTM.*not a cell"),
    ([L.LSTMCell(2), "gru"], r"cell must be a cell layer.*'gru'"),
])
def test_not_a_cell_is_a_clear_error(cell, match):
    with pytest.raises(errors.ConfigError, match=match):
        L.RNN(cell)


def test_bad_state_size_and_units_argument():
    bad = NoStateSize()
    bad.state_size = "four"
    with pytest.raises(errors.ConfigError, match=r"state_size must be a positive int.*'four'"):
        L.RNN(bad)
    with pytest.raises(errors.ConfigError, match=r"RNN takes a cell, not units.*SimpleRNN\(8\)"):
        L.RNN(units=8)


def test_wrong_initial_state_is_a_clear_error(rng):
    layer = L.RNN(L.LSTMCell(4))
    x = rng.normal(size=(2, 3, 2)).astype(np.float32)
    with pytest.raises(errors.ShapeError, match=r"initial_state takes 2 tensor\(s\).*received 1"):
        layer(x, initial_state=[np.zeros((2, 4), np.float32)])
    with pytest.raises(errors.ShapeError, match=r"initial_state\[1\] must have shape \(2, 4\).*received \(2, 5\)"):
        layer(x, initial_state=[np.zeros((2, 4), np.float32), np.zeros((2, 5), np.float32)])
    with pytest.raises(errors.ShapeError, match=r"initial_state\[0\] must have shape \(None, 4\).*\(None, 3\)"):
        L.RNN(L.LSTMCell(4))(L.Input((3, 2)), initial_state=[L.Input((3,)), L.Input((4,))])


def test_shape_and_cell_contract_errors(rng):
    x = rng.normal(size=(2, 3, 2)).astype(np.float32)
    layer = L.RNN(L.SimpleRNNCell(3))
    with pytest.raises(errors.ShapeError, match=r"expects a sequence \(batch, time, features\).*\(None, 2\)"):
        layer(x[:, 0])
    layer(x)
    with pytest.raises(errors.ShapeError, match=r"built for steps of shape \(2,\).*\(5,\)"):
        layer(np.zeros((2, 3, 5), np.float32))
    with pytest.raises(errors.ConfigError, match=r"called with constants.*takes no `constants` argument"):
        L.RNN(L.SimpleRNNCell(3))(x, constants=np.zeros((2, 2), np.float32))

    class WrongStates(L.Layer):
        state_size = [3, 3]

        def build(self, input_shape):
            self.built = True

        def call(self, inputs, states):
            return states[0], [states[0]]

    with pytest.raises(errors.ShapeError, match=r"returned states of shapes \[\(2, 3\)\].*state_size=\[3, 3\]"):
        L.RNN(WrongStates())(x)
    with pytest.raises(errors.NotSupportedError, match="wrap it: RNN"):
        L.LSTMCell(3)(L.Input((2,)))


def test_cells_called_directly_keep_keras_state_structure(rng):
    x = rng.normal(size=(2, 3)).astype(np.float32)
    out, state = L.SimpleRNNCell(4)(x, np.zeros((2, 4), np.float32))
    assert out.shape == (2, 4) and isinstance(state, Tensor)
    out, states = L.LSTMCell(4)(x)
    assert isinstance(states, list) and [s.shape for s in states] == [(2, 4), (2, 4)]
    stack = L.StackedRNNCells([L.LSTMCell(4), L.GRUCell(2)])
    out, states = stack(x)
    assert out.shape == (2, 2) and stack.state_size == ([4, 4], 2) and stack.output_size == 2
    assert [len(s) for s in states] == [2, 1]
    assert L.GRUCell(3).get_initial_state(batch_size=2).shape == (2, 3)


def test_keras_paths_name_the_cells():
    from threestep.keras.layers import recurrent

    for name in ("SimpleRNNCell", "GRUCell", "LSTMCell", "StackedRNNCells", "RNN"):
        assert getattr(recurrent, name) is getattr(ts.layers, name)
    assert isinstance(L.LSTM(8), L.RNN) and isinstance(L.RNN(L.LSTMCell(8)), L.RNN)
    assert type(L.RNN(L.GRUCell(2))).__name__ == "RNN" and ts.layers.layer_class("RNN") is type(L.RNN(L.GRUCell(2)))


@pytest.mark.parametrize("name", ["m.h5", "m.keras"])
def test_rnn_of_cells_written_as_a_keras_file_loads_in_tf_keras(tfk, tmp_path, name):
    from threestep.keras.models import Sequential, load_model

    _, keras = tfk
    model = Sequential([
        L.RNN([L.LSTMCell(4), L.LSTMCell(3), L.GRUCell(3, reset_after=False)], return_sequences=True,
              input_shape=(5, 2)),
        L.RNN(L.SimpleRNNCell(2))])
    x = np.random.default_rng(7).normal(size=(3, 5, 2)).astype(np.float32)
    want = model.predict(x)
    path = str(tmp_path / name)
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(load_model(path).predict(x), want, rtol=1e-6)
