"""Dense + each loss + SGD: five training steps from the same weights and batches give the
same weights as PyTorch (float64, rtol 1e-6)."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep.layers import Activation, Dense
from threestep.models import Sequential
from threestep.optimizers import SGD


@pytest.fixture
def float64():
    ts.backend.set_floatx("float64")
    yield
    ts.backend.set_floatx("float32")


CASES = [
    # loss, output activation, units, target kind
    ("mse", "linear", 3, "real"),
    ("mse", "softmax", 3, "onehot"),  # the lecture's own choice
    ("categorical_crossentropy", "softmax", 3, "onehot"),
    ("sparse_categorical_crossentropy", "softmax", 3, "int"),
    ("binary_crossentropy", "sigmoid", 1, "binary"),
    ("binary_crossentropy", "sigmoid", 3, "multilabel"),
]


def _targets(kind, n, units, rng):
    if kind == "real":
        return rng.standard_normal((n, units))
    if kind == "onehot":
        return np.eye(units)[rng.integers(0, units, n)]
    if kind == "int":
        return rng.integers(0, units, n)
    return rng.integers(0, 2, (n, units)).astype(np.float64)


def _torch_loss(loss, out, y):
    if loss == "mse":
        return torch.nn.functional.mse_loss(out, y)
    if loss == "categorical_crossentropy":
        return -(y * torch.log(out)).sum(-1).mean()
    if loss == "sparse_categorical_crossentropy":
        return torch.nn.functional.nll_loss(torch.log(out), y)
    return torch.nn.functional.binary_cross_entropy(out, y)


@pytest.mark.parametrize("loss,activation,units,kind", CASES)
@pytest.mark.parametrize("separate_activation", [False, True])
def test_five_sgd_steps_match_pytorch(float64, loss, activation, units, kind, separate_activation):
    rng = np.random.default_rng(0)
    n, batch, lr = 40, 8, 0.3
    x = rng.standard_normal((n, 4))
    y = _targets(kind, n, units, rng)

    ts.backend.set_seed(0)
    if separate_activation:  # the lecture's spelling: Dense then Activation
        model = Sequential([Dense(6, input_dim=4), Activation("tanh"), Dense(units), Activation(activation)])
    else:
        model = Sequential([Dense(6, activation="tanh", input_dim=4), Dense(units, activation=activation)])
    model.compile(loss=loss, optimizer=SGD(learning_rate=lr))
    w0 = model.get_weights()

    l1, l2 = torch.nn.Linear(4, 6).double(), torch.nn.Linear(6, units).double()
    with torch.no_grad():
        for layer, (k, b) in zip((l1, l2), (w0[0:2], w0[2:4])):
            layer.weight.copy_(torch.from_numpy(k.T))
            layer.bias.copy_(torch.from_numpy(b))
    act = {"linear": lambda t: t, "softmax": lambda t: torch.softmax(t, -1), "sigmoid": torch.sigmoid}[activation]
    opt = torch.optim.SGD(list(l1.parameters()) + list(l2.parameters()), lr=lr)
    for start in range(0, n, batch):
        xb = torch.from_numpy(x[start:start + batch])
        yb = torch.from_numpy(y[start:start + batch])
        opt.zero_grad()
        _torch_loss(loss, act(l2(torch.tanh(l1(xb)))), yb).backward()
        opt.step()

    model.fit(x, y, batch_size=batch, epochs=1, shuffle=False, verbose=0)
    ours = model.get_weights()
    theirs = [l1.weight.detach().numpy().T, l1.bias.detach().numpy(), l2.weight.detach().numpy().T,
              l2.bias.detach().numpy()]
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)
    assert not np.allclose(ours[0], w0[0])  # the weights really moved


def test_evaluate_and_predict_match_pytorch(float64):
    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((10, 4)), rng.integers(0, 3, 10)
    ts.backend.set_seed(3)
    model = Sequential([Dense(3, activation="softmax", input_dim=4)])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    k, b = model.get_weights()
    logits = torch.from_numpy(x) @ torch.from_numpy(k) + torch.from_numpy(b)
    expected_loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(y)).item()
    loss, acc = model.evaluate(x, y, batch_size=3, verbose=0)
    assert loss == pytest.approx(expected_loss, rel=1e-10)
    assert acc == pytest.approx(float((logits.argmax(-1).numpy() == y).mean()))
    np.testing.assert_allclose(model.predict(x, batch_size=4), torch.softmax(logits, -1).numpy(), rtol=1e-10)


@pytest.mark.parametrize("loss", ["binary_crossentropy", "mse", "mae"])
def test_labels_shaped_batch_for_a_one_unit_output(float64, loss):
    """y of shape (batch,) against an output (batch, 1) must not broadcast to (batch, batch)."""
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6).astype(np.float64)
    model = Sequential([Dense(1, activation="sigmoid", input_dim=3)])
    model.compile(loss=loss, optimizer="sgd")
    p = model.predict(x)[:, 0]
    expected = {"binary_crossentropy": -(y * np.log(p) + (1 - y) * np.log(1 - p)).mean(),
                "mse": ((p - y) ** 2).mean(), "mae": np.abs(p - y).mean()}[loss]
    assert model.evaluate(x, y, verbose=0) == pytest.approx(expected, rel=1e-9)
    assert model.evaluate(x, y[:, None], verbose=0) == pytest.approx(expected, rel=1e-9)
