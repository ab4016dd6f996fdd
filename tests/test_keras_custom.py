"""Custom layers, Lambda, add_weight / add_loss, custom losses and metrics, Keras 1 spellings and
the global image_data_format -- written the way Keras 2 users write them, compared with tf-keras."""
import os
import warnings

import numpy as np
import pytest

from threestep import backend as ts_backend
from threestep.keras import backend as K
from threestep.keras import constraints, initializers, regularizers
from threestep.keras.layers import Dense, Input, Lambda, Layer
from threestep.keras.models import Model, Sequential, load_model
from threestep.keras.optimizers import SGD

RNG = np.random.default_rng(1)
X = RNG.normal(size=(16, 5)).astype("float32")
Y = RNG.normal(size=(16, 3)).astype("float32")


@pytest.fixture(scope="module")
def tk():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras

    return tf_keras


@pytest.fixture
def channels_first():
    old = K.image_data_format()
    K.set_image_data_format("channels_first")
    yield
    K.set_image_data_format(old)


class Scale(Layer):
    """The Keras docs' pattern: build with add_weight, call(x) alone, compute_output_shape."""

    def __init__(self, units, **kwargs):
        self.units = units
        super().__init__(**kwargs)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                      initializer="uniform", trainable=True)
        super().build(input_shape)

    def call(self, x):
        return K.tanh(K.dot(x, self.kernel))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], self.units)

    def get_config(self):
        return {**super().get_config(), "units": self.units}


def _tf_scale(tf_keras):
    class TFScale(tf_keras.layers.Layer):
        def __init__(self, units, **kwargs):
            self.units = units
            super().__init__(**kwargs)

        def build(self, input_shape):
            self.kernel = self.add_weight(name="kernel", shape=(input_shape[-1], self.units),
                                          initializer="uniform", trainable=True)

        def call(self, x):
            return tf_keras.backend.tanh(tf_keras.backend.dot(x, self.kernel))

    return TFScale


def rmse(y_true, y_pred):
    return K.sqrt(K.mean(K.square(y_pred - y_true), axis=-1))


def _tf_rmse(tf_keras):
    kb = tf_keras.backend

    def rmse(y_true, y_pred):
        return kb.sqrt(kb.mean(kb.square(y_pred - y_true), axis=-1))

    return rmse


def _one_step(model, tf_model, loss, metrics=(), tf_loss=None, tf_metrics=()):
    model.compile(SGD(0.1), loss=loss, metrics=list(metrics))
    import tf_keras

    tf_model.compile(tf_keras.optimizers.SGD(0.1), loss=tf_loss or loss, metrics=list(tf_metrics))
    tf_model.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict(X), tf_model.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    got = model.train_on_batch(X, Y)
    want = tf_model.train_on_batch(X, Y)
    np.testing.assert_allclose(np.atleast_1d(got), np.atleast_1d(want), rtol=1e-5, atol=1e-6)
    for a, b in zip(model.get_weights(), tf_model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_custom_layer_with_call_x_alone_trains_like_tf_keras(tk):
    model = Sequential([Dense(4, input_dim=5), Scale(3)])
    TFScale = _tf_scale(tk)
    ref = tk.Sequential([tk.layers.Dense(4, input_dim=5), TFScale(3)])
    tf_rmse = _tf_rmse(tk)
    _one_step(model, ref, rmse, metrics=[rmse], tf_loss=tf_rmse, tf_metrics=[tf_rmse])  # one function: loss and metric
    model.fit(X, Y, epochs=1, verbose=0)  # the crash was: call() got an unexpected keyword argument 'training'


def test_call_receives_training_and_mask_only_when_it_takes_them():
    seen = {}

    class Phase(Layer):
        def call(self, x, training=None):
            seen["training"] = training
            return K.in_train_phase(x * 0, x, training=training)

    class Masked(Layer):
        supports_masking = True

        def call(self, x, mask=None):
            seen["mask"] = mask
            return x

    class Implicit(Layer):
        def call(self, x):
            return K.in_train_phase(lambda: x * 0, lambda: x)

    model = Sequential([Dense(3, input_dim=5), Phase(), Masked(), Implicit()])
    model.compile("sgd", "mse")
    model.train_on_batch(X, Y)
    assert seen["training"] is True and seen["mask"] is None
    assert np.abs(model.predict(X)).sum() > 0  # test phase: identity
    np.testing.assert_array_equal(model(X, training=True).numpy(), 0)


def test_lambda_layers_match_tf_keras(tk):
    def pair_distance(pair):
        return K.sum(K.square(pair[0] - pair[1]), axis=-1, keepdims=True)

    a, b = Input((5,)), Input((5,))
    feat = Dense(4, name="shared")
    out = Lambda(pair_distance, output_shape=(1,))([feat(a), feat(b)])
    model = Model([a, b], out)
    ta, tb = tk.Input((5,)), tk.Input((5,))
    tfeat = tk.layers.Dense(4)
    tout = tk.layers.Lambda(lambda p: tk.backend.sum(tk.backend.square(p[0] - p[1]), axis=-1, keepdims=True))(
        [tfeat(ta), tfeat(tb)])
    ref = tk.Model([ta, tb], tout)
    ref.set_weights(model.get_weights())
    np.testing.assert_allclose(model.predict([X, Y[:, :1] + X]), ref.predict([X, Y[:, :1] + X], verbose=0),
                               rtol=1e-5, atol=1e-5)
    # inferred shape, arguments=, and a Lambda in a Sequential model
    seq = Sequential([Dense(6, input_dim=5), Lambda(lambda t, k: t[:, :k] * 2, arguments={"k": 4})])
    assert seq.output_shape == (None, 4)
    varlen = Input((None, 3))
    assert Lambda(lambda t: K.max(t, axis=1))(varlen).shape == (None, 3)


def test_lambda_saved_by_name_needs_custom_objects(tmp_path):
    def double(t):
        return t * 2

    model = Sequential([Dense(3, input_dim=5), Lambda(double)])
    model.compile("sgd", "mse")
    path = str(tmp_path / "m.keras")
    model.save(path)
    with pytest.raises(ValueError, match="custom_objects"):
        load_model(path)
    back = load_model(path, custom_objects={"double": double})
    np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-6)
    anonymous = Sequential([Dense(3, input_dim=5), Lambda(lambda t: t * 2)])
    with pytest.raises(ValueError, match="anonymous"):
        anonymous.save(str(tmp_path / "a.keras"))


def test_custom_layer_config_round_trip_with_custom_objects(tmp_path):
    model = Sequential([Dense(4, input_dim=5), Scale(3, name="scale")])
    model.compile("sgd", "mse")
    path = str(tmp_path / "c.keras")
    model.save(path)
    back = load_model(path, custom_objects={"Scale": Scale})
    assert back.get_layer("scale").units == 3
    np.testing.assert_allclose(back.predict(X), model.predict(X), rtol=1e-6)


def test_add_weight_full_signature_and_constraints(tk):
    class Full(Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[-1], 2), initializer=initializers.Ones(),
                                     regularizer=regularizers.l2(0.1), trainable=True,
                                     constraint=constraints.max_norm(1.0), dtype="float32")
            self.frozen = self.add_weight(name="f", shape=(2,), initializer="zeros", trainable=False)

        def call(self, x):
            return K.dot(x, self.w) + self.frozen

    layer = Full()
    model = Sequential([Dense(5, input_dim=5, kernel_constraint="non_neg"), layer])
    model.compile(SGD(0.5), "mse")
    model.fit(X, Y[:, :2], epochs=2, verbose=0)
    norms = np.sqrt((layer.get_weights()[0] ** 2).sum(axis=0))
    assert np.all(norms <= 1.0 + 1e-5) and np.all(model.layers[0].get_weights()[0] >= 0)
    assert len(layer.trainable_weights) == 1 and len(layer.non_trainable_weights) == 1
    ref = tk.constraints.MaxNorm(1.0)
    w = RNG.normal(size=(4, 3)).astype("float32") * 3
    np.testing.assert_allclose(constraints.MaxNorm(1.0)(w), ref(w).numpy(), rtol=1e-5)
    np.testing.assert_allclose(constraints.UnitNorm()(w), tk.constraints.UnitNorm()(w).numpy(), rtol=1e-5)
    np.testing.assert_allclose(constraints.MinMaxNorm(0.5, 2.0, 0.7)(w),
                               tk.constraints.MinMaxNorm(0.5, 2.0, 0.7)(w).numpy(), rtol=1e-5)
    np.testing.assert_allclose(constraints.NonNeg()(w), tk.constraints.NonNeg()(w).numpy())
    assert constraints.get("max_norm").get_config() == tk.constraints.MaxNorm().get_config()


def test_add_loss_kl_term_like_a_vae(tk):
    """A VAE-style model: layer.add_loss inside call and Model.add_loss of a symbolic term, loss=None."""

    class KL(Layer):
        def call(self, inputs):
            mu, log_var = inputs
            self.add_loss(-0.5 * K.mean(K.sum(1 + log_var - K.square(mu) - K.exp(log_var), axis=-1)))
            return mu

    x = Input((5,))
    mu = Dense(2, name="mu")(x)
    log_var = Dense(2, name="log_var")(x)
    z = KL()([mu, log_var])
    out = Dense(5, name="dec")(z)
    model = Model(x, out)
    model.add_loss(K.mean(K.sum(K.square(x - out), axis=-1)))
    model.compile(optimizer=SGD(0.05))
    tx = tk.Input((5,))
    tmu, tlv = tk.layers.Dense(2, name="mu")(tx), tk.layers.Dense(2, name="log_var")(tx)
    tout = tk.layers.Dense(5, name="dec")(tmu)
    ref = tk.Model(tx, tout)
    kl = -0.5 * tk.backend.mean(tk.backend.sum(1 + tlv - tk.backend.square(tmu) - tk.backend.exp(tlv), axis=-1))
    ref.add_loss(kl)
    ref.add_loss(tk.backend.mean(tk.backend.sum(tk.backend.square(tx - tout), axis=-1)))
    ref.compile(optimizer=tk.optimizers.SGD(0.05))
    names = ("mu", "log_var", "dec")
    for name in names:
        ref.get_layer(name).set_weights(model.get_layer(name).get_weights())
    got = model.train_on_batch(X, None)
    want = ref.train_on_batch(X, None)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    for name in names:
        for a, b in zip(model.get_layer(name).get_weights(), ref.get_layer(name).get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    history = model.fit(X, epochs=3, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_keras1_spellings_warn_at_the_user_line_and_mean_keras2(channels_first):
    from threestep.keras.layers import Convolution2D, MaxPooling2D

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        conv = Convolution2D(4, 3, 3, border_mode="same", subsample=(1, 1), init="he_normal",
                             W_regularizer=regularizers.l2(0.01), input_shape=(1, 8, 8))
        pool = MaxPooling2D((2, 2), border_mode="same")
    deprecations = [w for w in caught if issubclass(w.category, DeprecationWarning)]
    assert deprecations and all(w.filename == __file__ for w in deprecations)
    assert conv.padding == "same" and conv.kernel_size == (3, 3) and conv.data_format == "channels_first"
    assert pool.padding == "same" and pool.data_format == "channels_first"


def test_lecture_cnn_in_keras1_spelling_with_channels_first(channels_first, tk):
    from threestep.keras.layers import Activation, Convolution2D, Flatten, MaxPooling2D

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        model = Sequential()
        model.add(Convolution2D(25, 3, 3, input_shape=(1, 28, 28)))
        model.add(MaxPooling2D((2, 2)))
        model.add(Convolution2D(50, 3, 3))
        model.add(MaxPooling2D((2, 2)))
        model.add(Flatten())
        model.add(Dense(output_dim=100))
        model.add(Activation("relu"))
        model.add(Dense(output_dim=10))
        model.add(Activation("softmax"))
    assert model.count_params() == 137660
    assert [layer.output_shape for layer in model.layers[:5]] == [
        (None, 25, 26, 26), (None, 25, 13, 13), (None, 50, 11, 11), (None, 50, 5, 5), (None, 1250)]
    ref = tk.Sequential([tk.layers.Conv2D(25, 3, input_shape=(1, 28, 28), data_format="channels_first"),
                         tk.layers.MaxPooling2D(2, data_format="channels_first"),
                         tk.layers.Conv2D(50, 3, data_format="channels_first"),
                         tk.layers.MaxPooling2D(2, data_format="channels_first"), tk.layers.Flatten(),
                         tk.layers.Dense(100, activation="relu"), tk.layers.Dense(10, activation="softmax")])
    assert ref.count_params() == 137660
    ref.set_weights(model.get_weights())
    images = RNG.normal(size=(2, 1, 28, 28)).astype("float32")
    np.testing.assert_allclose(model.predict(images), ref.predict(images, verbose=0), rtol=1e-4, atol=1e-6)


def test_mixed_layouts_warn_instead_of_silently_building_another_network():
    from threestep.keras.layers import Conv2D, MaxPooling2D
    from threestep.models.checks import ThreestepHint

    model = Sequential([Conv2D(25, 3, input_shape=(1, 28, 28), data_format="channels_first")])
    with pytest.warns(ThreestepHint, match="set_image_data_format"):
        model.add(MaxPooling2D((2, 2)))


def test_get_config_defaults_match_tf_keras(tk):
    ours = Dense(3).get_config()
    theirs = tk.layers.Dense(3).get_config()
    for key in ("units", "activation", "use_bias", "kernel_constraint", "bias_constraint", "kernel_regularizer"):
        assert ours[key] == theirs[key], key
    assert ours["kernel_initializer"]["class_name"] == theirs["kernel_initializer"]["class_name"]
    lam = Lambda(rmse).get_config()
    assert lam["function"] == "rmse" and lam["arguments"] == tk.layers.Lambda(rmse).get_config()["arguments"]


def test_keras1_recurrent_arguments():
    from threestep.keras.layers import LSTM

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        layer = LSTM(4, dropout_W=0.25, init="he_normal", inner_init="orthogonal", W_regularizer=regularizers.l2(0.1),
                     U_regularizer=regularizers.l1(0.1), b_regularizer=regularizers.l2(0.2))
    assert all(w.filename == __file__ for w in caught if issubclass(w.category, DeprecationWarning))
    assert layer.dropout == 0.25 and layer.kernel_regularizer.l2 == pytest.approx(0.1)
    assert layer.recurrent_regularizer.l1 == pytest.approx(0.1) and layer.bias_regularizer.l2 == pytest.approx(0.2)
    config = layer.get_config()
    assert config["recurrent_initializer"]["class_name"] == "Orthogonal" and config["recurrent_constraint"] is None


def test_custom_layer_mask_rules():
    from threestep.keras.layers import LSTM, Embedding

    class DropMask(Layer):
        supports_masking = True

        def call(self, x, mask=None):
            return x

        def compute_mask(self, inputs, mask=None):
            return None

    tokens = np.array([[3, 4, 0, 0], [5, 0, 0, 0]])
    with_mask = Sequential([Embedding(10, 3, mask_zero=True, input_length=4), LSTM(2, return_sequences=True)])
    without = Sequential([Embedding(10, 3, mask_zero=True, input_length=4), DropMask(), LSTM(2, return_sequences=True)])
    without.set_weights(with_mask.get_weights())
    a, b = with_mask.predict(tokens), without.predict(tokens)
    np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=1e-6)  # same first step
    assert not np.allclose(a[1, 1:], b[1, 1:])  # the padded steps count once the mask is dropped


def test_image_layer_config_defaults_match_tf_keras(tk):
    from threestep.keras.layers import Conv2D, MaxPooling2D

    for ours, theirs in ((Conv2D(4, 3), tk.layers.Conv2D(4, 3)), (MaxPooling2D(), tk.layers.MaxPooling2D())):
        a, b = ours.get_config(), theirs.get_config()
        for key in ("data_format", "padding", "strides"):
            assert tuple(a[key]) == tuple(b[key]) if isinstance(b[key], (list, tuple)) else a[key] == b[key], key
    assert Conv2D(4, 3).get_config()["kernel_constraint"] is None


class Residual(Layer):
    """A layer that owns a Dense and builds it by hand in its own build (a common Keras pattern)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.inner = Dense(5, activation="tanh")

    def build(self, input_shape):
        self.inner.build(input_shape)
        super().build(input_shape)

    def call(self, x):
        return x + self.inner(x)


def test_a_sublayer_built_by_hand_keeps_its_weights_at_its_first_call(tk):
    dense = Dense(3)
    dense.build((None, 4))
    assert dense.built
    kernel = dense.weights[0]
    dense(np.ones((2, 4), np.float32))
    assert len(dense.weights) == 2 and dense.weights[0] is kernel  # not built again with fresh weights
    assert dense.output_shape == (None, 3)

    class TFResidual(tk.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.inner = tk.layers.Dense(5, activation="tanh")

        def build(self, input_shape):
            self.inner.build(input_shape)

        def call(self, x):
            return x + self.inner(x)

    model = Sequential([Residual(input_shape=(5,)), Dense(3)])
    ref = tk.Sequential([TFResidual(input_shape=(5,)), tk.layers.Dense(3)])
    assert model.count_params() == ref.count_params() == 48
    _one_step(model, ref, "mse")


def test_sublayers_in_a_list_and_own_weights_follow_tf_keras_order(tk):
    class Stack(Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = []
            for units in (4, 3):
                self.blocks.append(Dense(units, activation="tanh"))

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(3,), initializer="ones")
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)
            super().build(input_shape)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x * self.scale

    class TFStack(tk.layers.Layer):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.blocks = [tk.layers.Dense(units, activation="tanh") for units in (4, 3)]

        def build(self, input_shape):
            self.scale = self.add_weight(name="scale", shape=(3,), initializer="ones")
            self.count = self.add_weight(name="count", shape=(), initializer="zeros", trainable=False)

        def call(self, x):
            for block in self.blocks:
                x = block(x)
            return x * self.scale

    ours, theirs = Sequential([Stack(input_shape=(5,))]), tk.Sequential([TFStack(input_shape=(5,))])
    assert [tuple(w.shape) for w in ours.layers[0].weights] == [tuple(w.shape) for w in theirs.layers[0].weights]
    assert len(ours.trainable_weights) == len(theirs.trainable_weights) == 5
    ours.set_weights(theirs.get_weights())
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X, verbose=0), rtol=1e-5, atol=1e-6)
    ours.layers[0].trainable = False
    assert ours.trainable_weights == [] and len(ours.non_trainable_weights) == 6
