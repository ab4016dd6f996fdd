"""BatchNormalization's ``scale`` / ``center`` / constraint options against tf-keras 2.21.

Keras creates no gamma with ``scale=False`` and no beta with ``center=False``: weight lists,
parameter counts and model files must line up with that, and the layer must still compute
the same thing (a scale of one, a shift of zero), in inference, in training and in a fit step.
"""
import numpy as np
import pytest

from keras_oracle import import_tf_keras
from threestep.autograd import Tensor, using_config
from threestep.backend import to_numpy
from threestep.keras import layers as L
from threestep.keras.models import Sequential, load_model

OPTIONS = [{}, {"scale": False}, {"center": False}, {"scale": False, "center": False}]


@pytest.fixture(scope="module")
def keras():
    return import_tf_keras()


def _pair(keras, options, shape, rng, axis=-1):
    """The same BatchNormalization in both libraries, tf-keras's random weights copied to ours."""
    theirs = keras.layers.BatchNormalization(axis=axis, **options)
    theirs.build((None,) + shape[1:])
    theirs.set_weights([rng.normal(size=w.shape).astype(np.float32) if "variance" not in w.name
                        else rng.uniform(0.5, 2.0, size=w.shape).astype(np.float32) for w in theirs.weights])
    ours = L.BatchNormalization(axis=axis, **options)
    ours.build((None,) + shape[1:])
    ours.set_weights(theirs.get_weights())
    return ours, theirs


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: ",".join(f"{k}={v}" for k, v in o.items()) or "default")
@pytest.mark.parametrize("shape,axis", [((6, 5), -1), ((4, 3, 5), 1)])
def test_weights_outputs_and_gradients_match_tf_keras(keras, options, shape, axis):
    import tensorflow as tf

    rng = np.random.default_rng(0)
    ours, theirs = _pair(keras, options, shape, rng, axis)
    assert [w.name.split("/")[-1] for w in ours.weights] == [w.name.split("/")[-1].split(":")[0]
                                                            for w in theirs.weights]
    assert ours.count_params() == theirs.count_params()
    assert len(ours.trainable_weights) == len(theirs.trainable_weights)
    x = rng.normal(size=shape).astype(np.float32) * 2 + 0.5
    r = rng.normal(size=shape).astype(np.float32)
    for training in (False, True):
        tx = tf.Variable(x)
        with tf.GradientTape() as tape:
            ty = theirs(tx, training=training)
            loss = tf.reduce_sum(ty * r)
        tgrads = tape.gradient(loss, [tx] + theirs.trainable_weights)
        ox = Tensor(x, requires_grad=True)
        with using_config("training", training):
            oy = ours(ox, training=training)
        np.testing.assert_allclose(oy.numpy(), ty.numpy(), rtol=1e-5, atol=1e-5)
        (oy * r).sum().backward()
        for o, t in zip([ox.grad] + [w.grad for w in ours.trainable_weights], tgrads):
            np.testing.assert_allclose(to_numpy(o), t.numpy(), rtol=1e-4, atol=1e-4)
        for w in ours.trainable_weights:
            w.grad = None
    # the training call moved the moving mean as tf-keras does; the moving variance takes the
    # batch variance with Bessel's correction, as Keras 2.3 and PyTorch do (tf-keras: without)
    ours_w, theirs_w = ours.get_weights(), theirs.get_weights()
    np.testing.assert_allclose(ours_w[-2], theirs_w[-2], rtol=1e-5, atol=1e-6)
    reduce = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    n = x.size // shape[axis]
    start = ours_w[-1]  # set from tf-keras's start, moved once: undo tf-keras's step to find it
    before = (theirs_w[-1] - 0.01 * x.var(axis=reduce)) / 0.99
    np.testing.assert_allclose(start, 0.99 * before + 0.01 * x.var(axis=reduce) * n / (n - 1), rtol=1e-4)


@pytest.mark.parametrize("options", OPTIONS[1:], ids=["no-scale", "no-center", "neither"])
def test_one_fit_step_and_a_keras_h5_file_agree(keras, options, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(16, 4)).astype(np.float32)
    y = rng.normal(size=(16, 2)).astype(np.float32)
    theirs = keras.Sequential([keras.layers.Dense(3, input_shape=(4,)), keras.layers.BatchNormalization(**options),
                               keras.layers.Dense(2)])
    theirs.compile(keras.optimizers.SGD(0.1), "mse")
    path = str(tmp_path / "bn.h5")
    theirs.save(path)
    ours = load_model(path)
    assert ours.count_params() == theirs.count_params()
    for a, b in zip(ours.get_weights(), theirs.get_weights()):
        np.testing.assert_array_equal(a, b)
    ours.compile("sgd", "mse")
    ours.optimizer.learning_rate = 0.1
    theirs.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    ours.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
    ours_w, theirs_w = ours.layers[1].get_weights(), theirs.layers[1].get_weights()
    for a, b in zip(ours.get_weights()[:2] + ours_w[:-1] + ours.get_weights()[-2:],
                    theirs.get_weights()[:2] + theirs_w[:-1] + theirs.get_weights()[-2:]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    # the moving variance started at ones; its step is Bessel-corrected here (Keras 2.3), not in tf-keras
    np.testing.assert_allclose(ours_w[-1] - 0.99, (theirs_w[-1] - 0.99) * 16 / 15, rtol=1e-4)
    ours.layers[1].set_weights(ours_w[:-1] + theirs_w[-1:])
    np.testing.assert_allclose(ours.predict(x, verbose=0), theirs.predict(x, verbose=0), rtol=1e-4, atol=1e-5)


def test_constraints_apply_after_each_step_and_survive_the_config():
    model = Sequential([L.Dense(3, input_shape=(4,)),
                        L.BatchNormalization(beta_constraint="non_neg", gamma_constraint="non_neg")])
    bn = model.layers[1]
    bn.set_weights([-np.ones(3, np.float32), -np.ones(3, np.float32), np.zeros(3, np.float32),
                    np.ones(3, np.float32)])
    model.compile("sgd", "mse")
    x = np.random.default_rng(2).normal(size=(8, 4)).astype(np.float32)
    model.fit(x, np.zeros((8, 3), np.float32), epochs=1, verbose=0)
    gamma, beta = bn.get_weights()[:2]
    assert (gamma >= 0).all() and (beta >= 0).all()
    config = bn.get_config()
    assert config["beta_constraint"]["class_name"] == "NonNeg"
    again = L.BatchNormalization.from_config(config)
    assert type(again.gamma_constraint).__name__ == "NonNeg"


def test_without_scale_the_layer_reads_a_constant_scale_of_one():
    bn = L.BatchNormalization(scale=False, center=False)
    bn.build((None, 3))
    assert bn.weights == [bn.moving_mean, bn.moving_variance]
    np.testing.assert_array_equal(to_numpy(bn.gamma.data), np.ones(3, np.float32))
    np.testing.assert_array_equal(to_numpy(bn.beta.data), np.zeros(3, np.float32))


def test_a_torch_state_loads_into_a_layer_without_scale_only_when_its_weight_is_ones():
    import torch

    from threestep.errors import ConfigError
    from threestep.interop.torch_state import load_state_dict

    bn = L.BatchNormalization(scale=False)
    bn.build((None, 3))
    state = torch.nn.BatchNorm1d(3).state_dict()
    state["bias"] = torch.tensor([0.5, -1.0, 2.0])
    state["running_mean"] = torch.tensor([1.0, 2.0, 3.0])
    load_state_dict(bn, state)
    np.testing.assert_allclose(bn.get_weights()[0], [0.5, -1.0, 2.0])
    np.testing.assert_allclose(bn.get_weights()[1], [1.0, 2.0, 3.0])
    state["weight"] = torch.tensor([2.0, 1.0, 1.0])
    with pytest.raises(ConfigError, match="scale=False.*'weight' is not all 1s"):
        load_state_dict(bn, state)
    plain = L.BatchNormalization(scale=False, center=False)
    plain.build((None, 3))
    load_state_dict(plain, torch.nn.BatchNorm1d(3, affine=False).state_dict())  # no weight, no bias
