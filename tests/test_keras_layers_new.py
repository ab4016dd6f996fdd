"""The layers added for Keras 2 code written by others, checked against tf-keras 2.21.

Each case builds the same layer in both libraries, copies tf-keras's weights, and
compares the output, the gradients of a random projection of the output with respect to
the input and every weight (``tf.GradientTape``), the parameter count, and the keys and
defaults of ``get_config()`` of a default-constructed layer (float32, 1e-5 relative).
"""
import os

import numpy as np
import pytest

from threestep import activations
from threestep.autograd import Tensor
from threestep.backend import to_numpy
from threestep.errors import ConfigError, ShapeError
from threestep.keras import layers as L


@pytest.fixture(scope="module")
def tfk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    import tf_keras as keras

    return tf, keras


def compare_layer(tfk, cls, kwargs, shapes, rng, rtol=1e-5, atol=1e-5, training=None):
    """Same layer in both, tf-keras's weights copied: outputs and all gradients must agree."""
    tf, keras = tfk
    multi = isinstance(shapes, list)
    xs = [rng.normal(size=s).astype(np.float32) for s in (shapes if multi else [shapes])]
    theirs = getattr(keras.layers, cls)(**kwargs)
    ours = getattr(L, cls)(**kwargs)
    tvars = [tf.Variable(x) for x in xs]
    with tf.GradientTape() as tape:
        ty = theirs(tvars if multi else tvars[0])
        r = tf.constant(rng.normal(size=ty.shape).astype(np.float32))
        tloss = tf.reduce_sum(ty * r)
    tgrads = tape.gradient(tloss, tvars + theirs.trainable_weights)
    txs = [Tensor(x, requires_grad=True) for x in xs]
    oy = ours(txs if multi else txs[0])  # builds
    ours.set_weights(theirs.get_weights())
    oy = ours(txs if multi else txs[0])
    assert tuple(oy.shape) == tuple(ty.shape)
    np.testing.assert_allclose(oy.numpy(), ty.numpy(), rtol=rtol, atol=atol)
    (oy * r.numpy()).sum().backward()
    ograds = [t.grad for t in txs] + [w.grad for w in ours.trainable_weights]
    assert len(ograds) == len(tgrads)
    for o, t in zip(ograds, tgrads):
        np.testing.assert_allclose(to_numpy(o), np.asarray(t), rtol=rtol * 10, atol=atol * 10)
    assert ours.count_params() == theirs.count_params()
    in_shapes = [(None,) + s[1:] for s in shapes] if multi else (None,) + shapes[1:]
    assert tuple(ours.compute_output_shape(in_shapes)) == tuple(theirs.compute_output_shape(in_shapes))
    return ours, theirs


CASES = [
    ("Conv2DTranspose", {"filters": 3, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 5, 6, 4)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": (3, 2), "strides": (2, 1)}, (2, 4, 5, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 2, "strides": 3}, (2, 3, 4, 3)),  # kernel < stride
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "padding": "same", "output_padding": 0},
     (2, 4, 4, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2, "output_padding": 1,
                         "activation": "relu"}, (2, 4, 4, 3)),
    ("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "dilation_rate": 2, "padding": "same"}, (2, 5, 5, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 3, "strides": 2, "padding": "same"}, (2, 7, 3)),
    ("Conv1DTranspose", {"filters": 4, "kernel_size": 5, "strides": 2, "output_padding": 1}, (2, 6, 3)),
    ("Conv3DTranspose", {"filters": 2, "kernel_size": 2, "strides": 2, "padding": "same"}, (2, 3, 2, 3, 3)),
    ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "strides": 2}, (2, 6, 7, 3)),
    ("DepthwiseConv2D", {"kernel_size": (2, 3), "dilation_rate": 2, "activation": "tanh"}, (2, 6, 7, 3)),
    ("SeparableConv2D", {"filters": 5, "kernel_size": 3, "depth_multiplier": 2, "padding": "same"}, (2, 6, 5, 3)),
    ("SeparableConv2D", {"filters": 4, "kernel_size": 3, "strides": 2, "activation": "relu"}, (2, 7, 7, 2)),
    ("SeparableConv1D", {"filters": 4, "kernel_size": 3, "depth_multiplier": 3}, (2, 9, 3)),
    ("Conv3D", {"filters": 4, "kernel_size": (2, 3, 2), "strides": (1, 2, 1), "padding": "same"}, (2, 4, 5, 4, 3)),
    ("Conv3D", {"filters": 3, "kernel_size": 2, "activation": "relu"}, (2, 3, 4, 3, 2)),
    ("MaxPooling3D", {"pool_size": 2}, (2, 4, 4, 5, 3)),
    ("MaxPooling3D", {"pool_size": (2, 3, 2), "strides": 1, "padding": "same"}, (2, 3, 4, 3, 2)),
    ("AveragePooling3D", {"pool_size": 2, "padding": "same"}, (2, 3, 4, 5, 3)),
    ("GlobalMaxPooling3D", {}, (2, 3, 4, 2, 3)),
    ("GlobalAveragePooling3D", {}, (2, 3, 4, 2, 3)),
    ("LocallyConnected1D", {"filters": 4, "kernel_size": 3, "strides": 2}, (2, 9, 3)),
    ("LocallyConnected2D", {"filters": 3, "kernel_size": (2, 3), "activation": "relu"}, (2, 4, 5, 2)),
    ("Permute", {"dims": (2, 1)}, (2, 3, 4)),
    ("Permute", {"dims": (3, 1, 2)}, (2, 3, 4, 5)),
    ("LayerNormalization", {}, (3, 4, 6)),
    ("LayerNormalization", {"axis": [1, 2], "epsilon": 1e-5}, (3, 4, 6)),
    ("LayerNormalization", {"axis": 1, "center": False}, (3, 4, 6)),
    ("LayerNormalization", {"scale": False}, (3, 6)),
    ("ThresholdedReLU", {"theta": 0.5}, (3, 6)),
    ("Dot", {"axes": 1}, [(3, 5), (3, 5)]),
    ("Dot", {"axes": (2, 2)}, [(3, 4, 5), (3, 6, 5)]),
    ("Dot", {"axes": (1, 2)}, [(3, 4, 5), (3, 6, 4)]),
    ("Dot", {"axes": -1, "normalize": True}, [(3, 4, 5), (3, 2, 5)]),
    ("Dot", {"axes": 1, "normalize": True}, [(3, 5), (3, 5)]),
]


@pytest.mark.parametrize("cls,kwargs,shape", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_layer_matches_tf_keras(tfk, rng, cls, kwargs, shape):
    compare_layer(tfk, cls, kwargs, shape, rng)


def _norm(value):
    if isinstance(value, tuple):
        return [_norm(v) for v in value]
    if isinstance(value, list):
        return [_norm(v) for v in value]
    if isinstance(value, dict) and "class_name" in value:
        return value["class_name"]
    return value


# keys of tf-keras's config that have no counterpart here, with the reason (see the module docstring)
NOT_SUPPORTED = {
    "groups": "grouped convolutions are not implemented (groups=1 only)",
    "kernel_constraint": "constraints are applied but not serialized",
    "bias_constraint": "", "depthwise_constraint": "", "pointwise_constraint": "",
    "beta_constraint": "", "gamma_constraint": "",
}

DEFAULTS = [
    ("Conv2DTranspose", (3, 3)), ("Conv1DTranspose", (3, 3)), ("Conv3DTranspose", (3, 3)),
    ("DepthwiseConv2D", (3,)), ("SeparableConv2D", (3, 3)), ("SeparableConv1D", (3, 3)), ("Conv3D", (3, 3)),
    ("MaxPooling3D", ()), ("AveragePooling3D", ()), ("GlobalMaxPooling3D", ()), ("GlobalAveragePooling3D", ()),
    ("LocallyConnected1D", (3, 3)), ("LocallyConnected2D", (3, 3)), ("Permute", ((2, 1),)),
    ("LayerNormalization", ()), ("SpatialDropout1D", (0.2,)), ("SpatialDropout2D", (0.2,)),
    ("SpatialDropout3D", (0.2,)), ("GaussianNoise", (0.1,)), ("GaussianDropout", (0.1,)), ("AlphaDropout", (0.1,)),
    ("ActivityRegularization", ()), ("Dot", (1,)), ("ThresholdedReLU", ()),
]


@pytest.mark.parametrize("cls,args", DEFAULTS)
def test_default_config_matches_tf_keras(tfk, cls, args):
    _, keras = tfk
    theirs = getattr(keras.layers, cls)(*args).get_config()
    ours = getattr(L, cls)(*args)
    config = ours.get_config()
    missing = [k for k in theirs if k not in config and k not in NOT_SUPPORTED]
    assert not missing, f"{cls}: tf-keras config keys missing here: {missing}"
    for key, value in theirs.items():
        if key in config and key != "name":
            assert _norm(config[key]) == _norm(value), (cls, key, config[key], value)
    again = type(ours).from_config(config)
    assert {k: v for k, v in again.get_config().items() if k != "name"} == \
        {k: v for k, v in config.items() if k != "name"}


# ------------------------------------------------------------------ activations

@pytest.mark.parametrize("name", ["selu", "softplus", "softsign", "hard_sigmoid", "exponential", "gelu", "elu",
                                  "relu", "tanh", "sigmoid", "swish"])
def test_activations_match_tf_keras_as_strings_and_functions(tfk, rng, name):
    tf, keras = tfk
    x = rng.normal(scale=2, size=(4, 7)).astype(np.float32)
    xt = tf.Variable(x)
    with tf.GradientTape() as tape:
        y = keras.activations.get(name)(xt)
        loss = tf.reduce_sum(y * y)
    expected_grad = tape.gradient(loss, xt).numpy()
    for fn in (activations.get(name), getattr(activations, name)):
        xo = Tensor(x, requires_grad=True)
        yo = fn(xo)
        np.testing.assert_allclose(yo.numpy(), y.numpy(), rtol=1e-5, atol=1e-6)
        (yo * yo).sum().backward()
        np.testing.assert_allclose(to_numpy(xo.grad), expected_grad, rtol=1e-4, atol=1e-5)
    dense = L.Dense(3, activation=name)
    assert dense.get_config()["activation"] == name


def test_gelu_approximate_matches_tf_keras(tfk, rng):
    _, keras = tfk
    x = rng.normal(scale=3, size=(50,)).astype(np.float32)
    for approximate in (False, True):
        np.testing.assert_allclose(activations.gelu(Tensor(x), approximate=approximate).numpy(),
                                   keras.activations.gelu(x, approximate=approximate).numpy(), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------ noise and regularization layers

@pytest.mark.parametrize("cls,args", [("GaussianNoise", (0.5,)), ("GaussianDropout", (0.3,)), ("AlphaDropout", (0.3,)),
                                      ("SpatialDropout1D", (0.5,)), ("SpatialDropout2D", (0.5,)),
                                      ("ActivityRegularization", (0.1, 0.1))])
def test_noise_layers_are_the_identity_at_test_time_as_in_tf_keras(tfk, rng, cls, args):
    _, keras = tfk
    shape = (4, 5, 6, 3) if cls == "SpatialDropout2D" else (4, 5, 6)
    x = rng.normal(size=shape).astype(np.float32)
    expected = getattr(keras.layers, cls)(*args)(x, training=False).numpy()
    np.testing.assert_array_equal(getattr(L, cls)(*args)(x, training=False).numpy(), expected)


def test_noise_statistics_in_training(rng):
    from threestep import backend

    backend.set_seed(0)
    x = np.ones((200, 500), np.float32)
    y = L.GaussianNoise(0.5)(x, training=True).data
    assert abs(y.mean() - 1) < 0.01 and abs(y.std() - 0.5) < 0.01
    y = L.GaussianDropout(0.2)(x, training=True).data
    assert abs(y.mean() - 1) < 0.01 and abs(y.std() - np.sqrt(0.2 / 0.8)) < 0.01
    z = rng.normal(size=(200, 500)).astype(np.float32)  # AlphaDropout keeps mean 0 and variance 1
    y = L.AlphaDropout(0.2)(z, training=True).data
    assert abs(y.mean()) < 0.02 and abs(y.std() - 1) < 0.02
    alpha_p = -1.6732632423543772 * 1.0507009873554805
    a = ((1 - 0.2) * (1 + 0.2 * alpha_p ** 2)) ** -0.5
    dropped = a * alpha_p - a * alpha_p * 0.2  # a * alpha_p + b: every dropped unit takes this value
    assert 0.18 < np.mean(np.isclose(y, dropped, atol=1e-6)) < 0.22
    img = np.ones((50, 4, 4, 8), np.float32)
    y = L.SpatialDropout2D(0.5)(img, training=True).data
    per_map = y.reshape(50, 16, 8)
    assert np.all(per_map.min(axis=1) == per_map.max(axis=1))  # whole feature maps kept or dropped
    assert 0.4 < np.mean(per_map[:, 0] == 0) < 0.6
    seq = np.ones((50, 7, 8), np.float32)
    y = L.SpatialDropout1D(0.5)(seq, training=True).data
    assert np.all(y.min(axis=1) == y.max(axis=1))
    y = L.SpatialDropout2D(0.5, data_format="channels_first")(img.transpose(0, 3, 1, 2), training=True).data
    assert np.all(y.reshape(50, 8, 16).min(axis=2) == y.reshape(50, 8, 16).max(axis=2))


def test_gaussian_noise_and_alpha_dropout_pass_gradients(rng):
    x = Tensor(rng.normal(size=(3, 4)).astype(np.float32), requires_grad=True)
    L.GaussianNoise(1.0)(x, training=True).sum().backward()
    np.testing.assert_allclose(to_numpy(x.grad), np.ones((3, 4)))
    x.grad = None
    y = L.AlphaDropout(0.5, seed=1)(x, training=True)
    y.sum().backward()
    grad = to_numpy(x.grad)
    kept = grad != 0
    assert 0 < kept.sum() < 12 and np.allclose(grad[kept], grad[kept][0])


def test_activity_regularization_penalty_matches_tf_keras(tfk, rng):
    _, keras = tfk
    x = rng.normal(size=(4, 6)).astype(np.float32)
    layer = keras.layers.ActivityRegularization(l1=0.01, l2=0.02)
    layer(x)
    ours = L.ActivityRegularization(l1=0.01, l2=0.02)
    ours(x)
    # Keras 2.3 sums the penalty over the batch; tf.keras divides it by the batch size
    np.testing.assert_allclose(float(ours.losses[0].data), float(layer.losses[0].numpy()) * len(x), rtol=1e-5)
    with pytest.raises(ConfigError, match="l1"):
        L.ActivityRegularization(l1=-1)


# ------------------------------------------------------------------ models: summary and one fit step

def _fit_step_pair(tfk, build, x, y, loss):
    _, keras = tfk
    from threestep.keras.optimizers import SGD

    kmodel, ours = build(keras.layers), build(L)
    ours.set_weights(kmodel.get_weights())
    assert ours.count_params() == kmodel.count_params()
    for ol, kl in zip(ours.layers, kmodel.layers):
        assert tuple(ol.output_shape) == tuple(kl.output_shape)
    kmodel.compile(loss=loss, optimizer=keras.optimizers.SGD(0.05))
    ours.compile(loss=loss, optimizer=SGD(0.05))
    np.testing.assert_allclose(ours.train_on_batch(x, y), kmodel.train_on_batch(x, y), rtol=1e-5)
    for a, b in zip(ours.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(ours.predict(x), kmodel.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def _sequential(lib, layers):
    from threestep.keras.models import Sequential

    if lib is L:
        return Sequential(layers)
    import tf_keras

    return tf_keras.Sequential(layers)


@pytest.mark.slow
def test_conv_autoencoder_fit_step_matches_tf_keras(tfk, rng):
    def build(lib):
        return _sequential(lib, [
            lib.Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(8, 8, 1)),
            lib.SeparableConv2D(6, 3, padding="same", depth_multiplier=2, activation="relu"),
            lib.DepthwiseConv2D(3, padding="same"),
            lib.LayerNormalization(),
            lib.Conv2DTranspose(4, 3, strides=2, padding="same", activation="relu"),
            lib.Conv2DTranspose(1, 3, padding="same", activation="sigmoid"),
        ])

    x = rng.uniform(size=(6, 8, 8, 1)).astype(np.float32)
    _fit_step_pair(tfk, build, x, x, "binary_crossentropy")


@pytest.mark.slow
def test_volume_and_local_fit_step_matches_tf_keras(tfk, rng):
    def build(lib):
        return _sequential(lib, [
            lib.Conv3D(3, 2, activation="relu", input_shape=(5, 6, 5, 2)),
            lib.MaxPooling3D(2),
            lib.Reshape((2 * 2, 3 * 2)),
            lib.Permute((2, 1)),
            lib.LocallyConnected1D(3, 2, activation="tanh"),
            lib.Flatten(),
            lib.Dense(3, activation="softmax"),
        ])

    x = rng.normal(size=(6, 5, 6, 5, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 6)]
    _fit_step_pair(tfk, build, x, y, "categorical_crossentropy")


def test_dot_in_a_functional_model_matches_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.models import Model
    from threestep.keras.optimizers import SGD

    def build(lib, model_cls):
        a, b = lib.Input((4, 5)), lib.Input((6, 5))
        scores = lib.Dot(axes=(2, 2))([lib.Dense(5)(a), b])
        out = lib.Dense(1, activation="sigmoid")(lib.Flatten()(scores))
        return model_cls([a, b], out)

    kmodel, ours = build(keras.layers, keras.Model), build(L, Model)
    ours.set_weights(kmodel.get_weights())
    xa, xb = rng.normal(size=(8, 4, 5)).astype(np.float32), rng.normal(size=(8, 6, 5)).astype(np.float32)
    y = (rng.uniform(size=(8, 1)) > 0.5).astype(np.float32)
    kmodel.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(0.1))
    ours.compile(loss="binary_crossentropy", optimizer=SGD(0.1))
    np.testing.assert_allclose(ours.train_on_batch([xa, xb], y), kmodel.train_on_batch([xa, xb], y), rtol=1e-5)
    for p, q in zip(ours.get_weights(), kmodel.get_weights()):
        np.testing.assert_allclose(p, q, rtol=1e-4, atol=1e-6)


# ------------------------------------------------------------------ errors and other data formats

def test_channels_first_equals_channels_last_transposed(rng):
    x = rng.normal(size=(2, 4, 5, 3)).astype(np.float32)
    for cls, kwargs in [("Conv2DTranspose", {"filters": 2, "kernel_size": 3, "strides": 2}),
                        ("DepthwiseConv2D", {"kernel_size": 3, "depth_multiplier": 2}),
                        ("SeparableConv2D", {"filters": 2, "kernel_size": 3}),
                        ("LocallyConnected2D", {"filters": 2, "kernel_size": 2})]:
        last = getattr(L, cls)(**kwargs)
        first = getattr(L, cls)(data_format="channels_first", **kwargs)
        y_last = last(x)
        first(x.transpose(0, 3, 1, 2))
        first.set_weights(last.get_weights())
        np.testing.assert_allclose(first(x.transpose(0, 3, 1, 2)).numpy(), y_last.numpy().transpose(0, 3, 1, 2),
                                   rtol=1e-5, atol=1e-6)


def test_bad_arguments_name_the_argument():
    with pytest.raises(ConfigError, match="output_padding"):
        L.Conv2DTranspose(2, 3, strides=2, output_padding=2)
    with pytest.raises(ConfigError, match="padding"):
        L.LocallyConnected1D(2, 3, padding="same")
    with pytest.raises(ConfigError, match="dims"):
        L.Permute((1, 3))
    with pytest.raises(ShapeError, match="Permute"):
        L.Permute((2, 1))(np.zeros((2, 3, 4, 5), np.float32))
    with pytest.raises(ShapeError, match="dimension"):
        L.Dot(axes=1)([np.zeros((2, 3), np.float32), np.zeros((2, 4), np.float32)])
    with pytest.raises(ConfigError, match="rate"):
        L.AlphaDropout(1.5)
    with pytest.raises(ShapeError, match="fixed spatial"):
        L.LocallyConnected1D(2, 3).build_for((None, None, 4))


def test_models_with_the_new_layers_save_and_load(tmp_path, rng):
    from threestep.keras.models import Model, Sequential, load_model

    seq = Sequential([L.ConvLSTM2D(2, 3, padding="same", return_sequences=True, input_shape=(3, 6, 6, 1)),
                      L.Reshape((3, 72)), L.Permute((2, 1)), L.LayerNormalization(), L.SpatialDropout1D(0.1),
                      L.Conv1DTranspose(3, 3, strides=2), L.SeparableConv1D(2, 3), L.LocallyConnected1D(2, 3),
                      L.GaussianNoise(0.1), L.AlphaDropout(0.1), L.ActivityRegularization(l2=0.01), L.Flatten(),
                      L.Dense(2, activation="gelu"), L.GaussianDropout(0.1)])
    seq.compile(loss="huber", optimizer="adam")
    x = rng.uniform(size=(4, 3, 6, 6, 1)).astype(np.float32)
    seq.save(tmp_path / "seq.zip")
    np.testing.assert_array_equal(load_model(tmp_path / "seq.zip").predict(x), seq.predict(x))
    a, b = L.Input((4, 5)), L.Input((6, 5))
    out = L.Dot(axes=(2, 2), normalize=True)([a, b])
    out = L.Conv2DTranspose(2, 3, strides=2)(L.Reshape((4, 6, 1))(out))
    out = L.DepthwiseConv2D(3, depth_multiplier=2)(out)
    out = L.Conv3D(1, 1)(L.Reshape((7, 11, 4, 1))(out))
    out = L.GlobalAveragePooling3D()(L.AveragePooling3D(2)(out))
    model = Model([a, b], out)
    model.compile(loss="mse", optimizer="sgd")
    model.save(tmp_path / "fn.zip")
    xa, xb = rng.uniform(size=(2, 4, 5)).astype(np.float32), rng.uniform(size=(2, 6, 5)).astype(np.float32)
    np.testing.assert_array_equal(load_model(tmp_path / "fn.zip").predict([xa, xb]), model.predict([xa, xb]))


@pytest.mark.slow
def test_masks_pass_through_the_new_layers_as_in_tf_keras(tfk, rng):
    _, keras = tfk
    from threestep.keras.models import Sequential

    def build(lib, model):
        return model([lib.Embedding(10, 4, mask_zero=True, input_length=6), lib.LayerNormalization(),
                      lib.SpatialDropout1D(0.3), lib.GaussianNoise(0.2), lib.AlphaDropout(0.1),
                      lib.LSTM(3, recurrent_dropout=0.2, return_sequences=True), lib.GaussianDropout(0.1),
                      lib.GRU(2, recurrent_dropout=0.3)])

    theirs, ours = build(keras.layers, keras.Sequential), build(L, Sequential)
    x = np.array([[3, 4, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]])
    theirs.predict(x, verbose=0)
    ours.predict(x)
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(x), theirs.predict(x, verbose=0), rtol=1e-5, atol=1e-6)
