"""threestep.keras.backend against tf.keras's backend: values and gradients (tf.GradientTape),
float32 at 1e-5; K.function / K.gradients on functional graphs; image_data_format and keras.json."""
import json
import os

import numpy as np
import pytest

from threestep import backend as ts_backend
from threestep.autograd import Tensor
from threestep.keras import backend as K

RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 4)).astype("float32")
B = RNG.normal(size=(3, 4)).astype("float32")
P = RNG.uniform(0.05, 1.0, size=(3, 4)).astype("float32")
T = np.eye(4, dtype="float32")[[0, 2, 3]]
X3 = RNG.normal(size=(2, 3, 4)).astype("float32")
Y3 = RNG.normal(size=(2, 4, 5)).astype("float32")


@pytest.fixture(scope="module")
def tk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tensorflow as tf
    import tf_keras

    return tf, tf_keras.backend


# (name, function of the backend module and the inputs, inputs) -- the same call on both backends.
UNARY = [
    ("mean", lambda k, a: k.mean(a, axis=1)), ("mean_all", lambda k, a: k.mean(a)),
    ("sum", lambda k, a: k.sum(a, axis=0, keepdims=True)), ("max", lambda k, a: k.max(a, axis=-1)),
    ("min", lambda k, a: k.min(a, axis=1)), ("prod", lambda k, a: k.prod(a, axis=1)),
    ("std", lambda k, a: k.std(a, axis=1)), ("var", lambda k, a: k.var(a, axis=0)),
    ("square", lambda k, a: k.square(a)), ("sqrt", lambda k, a: k.sqrt(a)), ("abs", lambda k, a: k.abs(a)),
    ("exp", lambda k, a: k.exp(a)), ("log", lambda k, a: k.log(k.abs(a) + 0.5)), ("pow", lambda k, a: k.pow(a, 3)),
    ("clip", lambda k, a: k.clip(a, -0.5, 0.7)), ("transpose", lambda k, a: k.transpose(a)),
    ("reshape", lambda k, a: k.reshape(a, (2, 6))), ("permute", lambda k, a: k.permute_dimensions(a, (1, 0))),
    ("expand_dims", lambda k, a: k.expand_dims(a, 1)), ("squeeze", lambda k, a: k.squeeze(k.expand_dims(a, 1), 1)),
    ("tile", lambda k, a: k.tile(a, (2, 3))), ("repeat", lambda k, a: k.repeat(a, 3)),
    ("repeat_elements", lambda k, a: k.repeat_elements(a, 2, axis=1)), ("flatten", lambda k, a: k.flatten(a)),
    ("batch_flatten", lambda k, a: k.batch_flatten(k.reshape(a, (3, 2, 2)))),
    ("gather", lambda k, a: k.gather(a, np.array([2, 0, 2]))), ("l2_normalize", lambda k, a: k.l2_normalize(a, 1)),
    ("softmax", lambda k, a: k.softmax(a)), ("relu", lambda k, a: k.relu(a)),
    ("relu_opts", lambda k, a: k.relu(a, alpha=0.1, max_value=0.8)), ("elu", lambda k, a: k.elu(a, 0.5)),
    ("sigmoid", lambda k, a: k.sigmoid(a)), ("hard_sigmoid", lambda k, a: k.hard_sigmoid(a)),
    ("tanh", lambda k, a: k.tanh(a)), ("softplus", lambda k, a: k.softplus(a)),
    ("softsign", lambda k, a: k.softsign(a)), ("cast", lambda k, a: k.cast(a, "float64")),
    ("switch", lambda k, a: k.switch(k.greater(a, 0.0), a * 2, k.square(a))),
    ("maximum", lambda k, a: k.maximum(a, 0.1)), ("minimum", lambda k, a: k.minimum(a, 0.1)),
    ("cumsum", lambda k, a: k.cumsum(a, axis=1)),
]
BINARY = [
    ("dot", lambda k, a, b: k.dot(a, k.transpose(b))),
    ("concatenate", lambda k, a, b: k.concatenate([a, b], axis=-1)),
    ("stack", lambda k, a, b: k.stack([a, b], axis=1)),
    ("batch_dot_2d", lambda k, a, b: k.batch_dot(a, b, axes=1)),
    ("maximum2", lambda k, a, b: k.maximum(a, b)), ("minimum2", lambda k, a, b: k.minimum(a, b)),
    ("cce", lambda k, a, b: k.categorical_crossentropy(T, k.softmax(a))),
    ("cce_logits", lambda k, a, b: k.categorical_crossentropy(T, a, from_logits=True)),
    ("scce", lambda k, a, b: k.sparse_categorical_crossentropy(np.array([0, 2, 3]), k.softmax(a))
     if k is K else k.categorical_crossentropy(T, k.softmax(a))),  # tf_keras's eager scce returns a graph tensor
    ("scce_logits", lambda k, a, b: k.sparse_categorical_crossentropy(np.array([1, 2, 3]), a, from_logits=True)),
    ("bce", lambda k, a, b: k.binary_crossentropy(k.sigmoid(b), k.sigmoid(a))),
    ("bce_logits", lambda k, a, b: k.binary_crossentropy(k.sigmoid(b), a, from_logits=True)),
]


def _tf_value_and_grads(tf, fn, arrays):
    vars_ = [tf.Variable(a) for a in arrays]
    with tf.GradientTape() as tape:
        out = fn(*vars_)
        total = tf.reduce_sum(tf.cast(out, tf.float32) * _weights(out.shape))
    return out.numpy(), [tf.convert_to_tensor(g).numpy() if g is not None else np.zeros_like(a) for g, a in
                         zip(tape.gradient(total, vars_), arrays)]


def _weights(shape):
    """Fixed non-uniform output weights, so each output entry's gradient is checked."""
    n = int(np.prod(shape))
    return np.linspace(0.5, 1.5, n, dtype="float32").reshape(tuple(shape))


def _ts_value_and_grads(fn, arrays):
    tensors = [Tensor(a.copy(), requires_grad=True) for a in arrays]
    out = fn(*tensors)
    total = (K.cast(out, "float32") * _weights(out.shape)).sum()
    total.backward()
    return out.numpy(), [ts_backend.to_numpy(t.grad) if t.grad is not None else np.zeros_like(a) for t, a in zip(tensors, arrays)]


@pytest.mark.parametrize("name,fn", UNARY, ids=[u[0] for u in UNARY])
def test_unary_matches_tf_keras(tk, name, fn):
    tf, tkb = tk
    a = P if name in ("sqrt", "prod") else A
    want, want_g = _tf_value_and_grads(tf, lambda x: fn(tkb, x), [a])
    got, got_g = _ts_value_and_grads(lambda x: fn(K, x), [a])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got_g[0], want_g[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name,fn", BINARY, ids=[b[0] for b in BINARY])
def test_binary_matches_tf_keras(tk, name, fn):
    tf, tkb = tk
    want, want_g = _tf_value_and_grads(tf, lambda x, y: fn(tkb, x, y), [A, B])
    got, got_g = _ts_value_and_grads(lambda x, y: fn(K, x, y), [A, B])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(got_g, want_g):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("axes", [None, (2, 1), (1, 2)])
def test_batch_dot_3d_and_dot_nd(tk, axes):
    tf, tkb = tk
    y = Y3 if axes != (1, 2) else np.transpose(Y3, (0, 2, 1)).copy()[:, :, :3]
    x = X3 if axes != (1, 2) else X3
    if axes == (1, 2):
        y = RNG.normal(size=(2, 5, 3)).astype("float32")
    want, want_g = _tf_value_and_grads(tf, lambda a, b: tkb.batch_dot(a, b, axes=axes), [x, y])
    got, got_g = _ts_value_and_grads(lambda a, b: K.batch_dot(a, b, axes=axes), [x, y])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(got_g, want_g):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)
    w3 = RNG.normal(size=(3, 4, 6)).astype("float32")
    want, want_g = _tf_value_and_grads(tf, lambda a, b: tkb.dot(a, b), [X3, w3])
    got, got_g = _ts_value_and_grads(lambda a, b: K.dot(a, b), [X3, w3])
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)
    for g, w in zip(got_g, want_g):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-5)


def test_non_differentiable_helpers_and_settings(tk):
    _, tkb = tk
    for name in ("argmax", "argmin"):
        np.testing.assert_array_equal(getattr(K, name)(A, axis=1).numpy(), getattr(tkb, name)(A, axis=1).numpy())
    for name in ("equal", "greater"):
        np.testing.assert_array_equal(getattr(K, name)(A, B).numpy(), getattr(tkb, name)(A, B).numpy())
    assert K.epsilon() == tkb.epsilon() and K.floatx() == tkb.floatx()
    v = K.variable(A)
    assert K.int_shape(v) == tkb.int_shape(tkb.variable(A)) and K.ndim(v) == 2 and K.dtype(v) == "float32"
    K.set_value(v, B)
    np.testing.assert_array_equal(K.get_value(v), B)
    assert [a.shape for a in K.batch_get_value([v, K.zeros((2, 3)), K.ones((1,)), K.eye(3)])] == \
        [(3, 4), (2, 3), (1,), (3, 3)]
    assert int(K.shape(v)[0]) == 3 and K.constant(2.0, shape=(2,)).numpy().tolist() == [2.0, 2.0]
    drop = K.dropout(Tensor(np.ones((200, 50), "float32")), 0.4, seed=1).numpy()
    kept = drop[drop != 0]
    np.testing.assert_allclose(kept, 1 / 0.6, rtol=1e-6)
    assert 0.3 < (drop == 0).mean() < 0.5
    assert K.random_normal((3, 2), seed=1).shape == (3, 2) and K.random_uniform((4,), 2, 3).numpy().min() >= 2
    assert set(np.unique(K.random_binomial((100,), 0.5, seed=2).numpy())) <= {0.0, 1.0}


def test_unseeded_normal_draws_come_from_the_backend_generator():
    """Without a seed the draws use the backend's generator (CuPy's on a GPU, which has
    ``standard_normal`` but no ``normal``): the moments and the truncation hold there too."""
    ts_backend.set_seed(5)
    z = K.random_normal((20000,), mean=2.0, stddev=0.5).numpy()
    assert z.dtype == np.float32 and abs(z.mean() - 2.0) < 0.02 and abs(z.std() - 0.5) < 0.02
    t = K.truncated_normal((20000,), mean=1.0, stddev=0.5).numpy()
    assert np.abs(t - 1.0).max() <= 1.0 and abs(t.mean() - 1.0) < 0.02
    assert abs(t.std() - 0.44) < 0.01  # a normal cut at two standard deviations keeps 88% of its spread


def test_learning_phase_switches(tk):
    x, alt = Tensor(np.ones(3, "float32")), Tensor(np.zeros(3, "float32"))
    assert K.in_train_phase(x, alt, training=True) is x
    assert K.in_test_phase(x, alt, training=True) is alt
    assert K.in_train_phase(lambda: x, lambda: alt, training=0) is alt


def _small_cnn():
    from threestep.keras.layers import Conv2D, Dense, Flatten, Input
    from threestep.keras.models import Model

    inp = Input((6, 6, 2))
    h = Conv2D(3, 3, activation="relu", name="conv")(inp)
    out = Dense(2, activation="softmax", name="out")(Flatten()(h))
    return Model(inp, out)


def _tf_cnn(tf_keras, weights):
    inp = tf_keras.Input((6, 6, 2))
    h = tf_keras.layers.Conv2D(3, 3, activation="relu", name="conv")(inp)
    out = tf_keras.layers.Dense(2, activation="softmax", name="out")(tf_keras.layers.Flatten()(h))
    model = tf_keras.Model(inp, out)
    model.set_weights(weights)
    return model


def test_function_and_gradients_on_a_functional_graph_match_tf(tk):
    """Filter visualisation the Keras 2 way: gradient of a filter's mean activation w.r.t. the input image."""
    tf, _ = tk
    import tf_keras

    model = _small_cnn()
    ref = _tf_cnn(tf_keras, model.get_weights())
    image = RNG.normal(size=(1, 6, 6, 2)).astype("float32")
    loss = K.mean(model.get_layer("conv").output[:, :, :, 1])
    grads = K.gradients(loss, model.input)[0]
    grads = grads / (K.sqrt(K.mean(K.square(grads))) + 1e-5)
    iterate = K.function([model.input], [loss, grads])
    loss_value, grad_value = iterate([image])

    x = tf.Variable(image)
    with tf.GradientTape() as tape:
        feat = tf_keras.Model(ref.input, ref.get_layer("conv").output)(x)
        want_loss = tf.reduce_mean(feat[:, :, :, 1])
    want_grad = tape.gradient(want_loss, x).numpy()
    want_grad = want_grad / (np.sqrt(np.mean(want_grad ** 2)) + 1e-5)
    np.testing.assert_allclose(loss_value, want_loss.numpy(), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(grad_value, want_grad, rtol=1e-4, atol=1e-5)
    # feature extraction with K.function and the learning phase as an input
    features = K.function([model.input, K.learning_phase()], [model.get_layer("conv").output])
    np.testing.assert_allclose(features([image, 0])[0], tf_keras.Model(ref.input, ref.get_layer("conv").output)(image),
                               rtol=1e-5, atol=1e-5)
    # gradient ascent on the input (Deep Dream's loop) raises the loss
    step = K.function([model.input], [loss, grads])
    img = image.copy()
    first = step([img])[0]
    for _ in range(5):
        value, g = step([img])
        img += 0.1 * g
    assert step([img])[0] > first


def test_gradients_with_respect_to_weights(tk):
    tf, _ = tk
    import tf_keras

    model = _small_cnn()
    ref = _tf_cnn(tf_keras, model.get_weights())
    image = RNG.normal(size=(2, 6, 6, 2)).astype("float32")
    total = K.sum(model.output[:, 0])
    fn = K.function([model.input], K.gradients(total, model.trainable_weights))
    got = fn([image])
    with tf.GradientTape() as tape:
        want = tf.reduce_sum(ref(image)[:, 0])
    for g, w in zip(got, tape.gradient(want, ref.trainable_weights)):
        np.testing.assert_allclose(g, w.numpy(), rtol=1e-4, atol=1e-6)


def test_image_data_format_from_keras_json_and_setter(tmp_path, monkeypatch):
    (tmp_path / "keras.json").write_text(json.dumps({"image_data_format": "channels_first", "epsilon": 1e-6}))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    ts_backend.reload_keras_config()
    try:
        assert K.image_data_format() == "channels_first" and K.epsilon() == 1e-6
        from threestep.keras.layers import Conv2D, MaxPooling2D

        assert Conv2D(2, 3).data_format == "channels_first" and MaxPooling2D().data_format == "channels_first"
        K.set_image_data_format("channels_last")
        assert Conv2D(2, 3).data_format == "channels_last"
        with pytest.raises(ValueError, match="channels_last"):
            K.set_image_data_format("nhwc")
    finally:
        monkeypatch.delenv("KERAS_HOME")
        ts_backend.reload_keras_config()
    assert K.image_data_format() in ("channels_last", "channels_first")


def test_symbolic_without_input_in_function_is_a_clear_error():
    model = _small_cnn()
    from threestep.keras.layers import Input

    other = Input((3,))
    with pytest.raises(ValueError, match="not among the function's inputs"):
        K.function([other], [model.output])([np.zeros((1, 3))])


def test_backend_function_not_provided_names_the_alternative():
    assert not hasattr(K, "conv2d")
    with pytest.raises(ValueError, match="Conv2D layer"):
        K.conv2d  # noqa: B018
    with pytest.raises(ValueError, match="updates= is not supported"):
        K.function([_small_cnn().input], [], updates=[1])


def test_placeholders_variables_and_operators_in_k_function(tk):
    _, tkb = tk
    a = K.placeholder(shape=(None, 4))
    w = K.variable(B[:1])
    expr = K.sum(K.square(a - w) * 2.0 + 1.0, axis=1) / 3.0
    got = K.function([a], [expr, K.gradients(K.sum(expr), [w])[0]])([A])
    want = np.sum(np.square(A - B[:1]) * 2.0 + 1.0, axis=1) / 3.0
    np.testing.assert_allclose(got[0], want, rtol=1e-5)
    np.testing.assert_allclose(got[1], (-4.0 / 3.0) * np.sum(A - B[:1], axis=0, keepdims=True), rtol=1e-5)
    assert K.int_shape(expr) == (None,) and K.is_keras_tensor(expr) and not K.is_keras_tensor(w)
