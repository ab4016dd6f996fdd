"""BatchNormalization against PyTorch: training (batch statistics) and inference (moving ones)."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep.autograd import Tensor, gradcheck
from threestep.layers.normalization import BatchNormalization
from threestep.ops.normalization import batch_norm_infer, batch_norm_train
from helpers import to_host

COVERED_OPS = {"batch_norm_train", "batch_norm_infer"}


@pytest.mark.parametrize("shape,axis", [((8, 5), -1), ((4, 3, 3, 6), -1), ((4, 6, 3, 3), 1), ((5, 7, 4), -1)])
def test_training_forward_and_gradients_match_torch(shape, axis):
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape) * 3 + 1
    c = shape[axis]
    gamma, beta = rng.standard_normal(c), rng.standard_normal(c)
    gy = rng.standard_normal(shape)

    tx, tg, tb = (torch.tensor(a, requires_grad=True) for a in (x, gamma, beta))
    moved = tx.movedim(axis, 1) if axis != 1 else tx
    ty = torch.nn.functional.batch_norm(moved, None, None, tg, tb, training=True, eps=1e-3)
    ty = ty.movedim(1, axis) if axis != 1 else ty
    ty.backward(torch.from_numpy(gy))

    ox, og, ob = Tensor(x, requires_grad=True), Tensor(gamma, requires_grad=True), Tensor(beta, requires_grad=True)
    y, mean, var = batch_norm_train(ox, og, ob, axis, 1e-3)
    y.backward(gy)
    np.testing.assert_allclose(to_host(y.data), ty.detach().numpy(), rtol=1e-9, atol=1e-10)
    for ours, theirs in ((ox, tx), (og, tg), (ob, tb)):
        np.testing.assert_allclose(to_host(ours.grad), theirs.grad.numpy(), rtol=1e-8, atol=1e-10)
    reduce = tuple(a for a in range(len(shape)) if a != axis % len(shape))
    np.testing.assert_allclose(to_host(mean), x.mean(axis=reduce), rtol=1e-12)
    np.testing.assert_allclose(to_host(var), x.var(axis=reduce), rtol=1e-12)


def test_gradcheck_train_and_infer():
    rng = np.random.default_rng(1)
    x, g, b = rng.standard_normal((6, 4)), rng.standard_normal(4), rng.standard_normal(4)
    gradcheck(lambda x, g, b: batch_norm_train(x, g, b)[0], [x, g, b])
    mean, var = rng.standard_normal(4), rng.random(4) + 0.5
    gradcheck(lambda x, g, b: batch_norm_infer(x, g, b, mean, var), [x, g, b])


def test_layer_moving_statistics_and_inference_match_torch():
    ts.backend.set_floatx("float64")
    try:
        rng = np.random.default_rng(2)
        layer = BatchNormalization(momentum=0.9, epsilon=1e-5)
        tlayer = torch.nn.BatchNorm1d(3, momentum=0.1, eps=1e-5).double()
        for _ in range(4):
            x = rng.standard_normal((10, 3)) * 2 + 5
            layer(x, training=True)
            tlayer.train()
            tlayer(torch.from_numpy(x))
        np.testing.assert_allclose(to_host(layer.moving_mean.data), tlayer.running_mean.numpy(), rtol=1e-10)
        np.testing.assert_allclose(to_host(layer.moving_variance.data), tlayer.running_var.numpy(), rtol=1e-10)
        x = rng.standard_normal((7, 3))
        tlayer.eval()
        np.testing.assert_allclose(to_host(layer(x, training=False).data), tlayer(torch.from_numpy(x)).detach().numpy(),
                                   rtol=1e-10)
    finally:
        ts.backend.set_floatx("float32")


def test_layer_in_a_model_trains_and_predicts_deterministically():
    from threestep.layers import Dense
    from threestep.models import Sequential

    ts.backend.set_seed(0)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((64, 4)) * 10 + 3
    y = (x[:, 0] > 3).astype("float32")
    model = Sequential([Dense(8, input_dim=4), BatchNormalization(), Dense(1, activation="sigmoid")])
    model.compile(loss="binary_crossentropy", optimizer="sgd", metrics=["accuracy"])
    before = model.layers[1].moving_mean.data.copy()
    model.fit(x, y, epochs=3, batch_size=16, verbose=0)
    assert not np.allclose(model.layers[1].moving_mean.data, before)
    assert len(model.trainable_weights) == 6 and len(model.non_trainable_weights) == 2
    np.testing.assert_allclose(model.predict(x[:5]), model.predict(x)[:5], rtol=1e-5)  # batch-independent
    config = model.layers[1].get_config()
    assert BatchNormalization.from_config({**config, "name": "bn_copy"}).momentum == 0.99


def test_bad_arguments():
    with pytest.raises(ts.errors.ConfigError, match="momentum=1.5"):
        BatchNormalization(momentum=1.5)
    with pytest.raises(ts.errors.ShapeError, match="axis=0"):
        BatchNormalization(axis=0)(np.zeros((4, 3)))
