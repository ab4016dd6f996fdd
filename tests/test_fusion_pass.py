"""The compile-time graph pass (``models.fusion``) and the one-hot cross-entropy kernel: the
lecture's spelling -- ``Dense``/``Conv2D`` then ``Activation("relu")``, ``Activation("softmax")``
with ``categorical_crossentropy`` on one-hot labels -- gives the outputs, gradients and trained
weights of the unfused layer-by-layer computation, of the fused spelling, and of PyTorch."""
import numpy as np
import pytest
import torch

from threestep import backend, losses, ops
from threestep import layers as L
from threestep import optimizers as O
from threestep.autograd import Tensor
from threestep.models import Model, Sequential
from helpers import assert_close


def _mlp(lecture):
    if lecture:
        return [L.Dense(16, input_dim=12), L.Activation("relu"), L.Dense(16), L.Activation("relu"),
                L.Dense(5), L.Activation("softmax")]
    return [L.Dense(16, activation="relu", input_dim=12), L.Dense(16, activation="relu"),
            L.Dense(5, activation="softmax")]


def _cnn(lecture):
    if lecture:
        return [L.Conv2D(4, 3, input_shape=(8, 8, 2)), L.Activation("relu"), L.MaxPooling2D(2), L.Flatten(),
                L.Dense(5), L.Activation("softmax")]
    return [L.Conv2D(4, 3, activation="relu", input_shape=(8, 8, 2)), L.MaxPooling2D(2), L.Flatten(),
            L.Dense(5, activation="softmax")]


def _data(shape, n=48, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n,) + shape).astype(np.float32)
    labels = rng.integers(0, 5, n)
    return x, labels, np.eye(5, dtype=np.float32)[labels]


def _pair(make, optimizer):
    """The lecture's spelling with categorical_crossentropy and the fused spelling with sparse
    labels, with the same weights."""
    backend.set_seed(0)
    lecture, fused = Sequential(make(True)), Sequential(make(False))
    fused.set_weights(lecture.get_weights())
    lecture.compile(loss="categorical_crossentropy", optimizer=optimizer())
    fused.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer())
    return lecture, fused


def _unfused_grads(model, x, onehot):
    """dL/dw layer by layer (each layer's own call, softmax probabilities, the loss's log path)."""
    out = Tensor(x)
    for layer in model.layers:
        out = layer.call(out, training=True)
    losses.CategoricalCrossentropy()(onehot, out).backward()
    grads = [backend.to_numpy(w.grad) for w in model.trainable_weights]
    for w in model.trainable_weights:
        w.grad = None
    return grads


def _ops_in_graph(out):
    """The Function class names of the graph below ``out`` (walked through the public creators)."""
    names, stack, seen = [], [out.creator], set()
    while stack:
        func = stack.pop()
        if func is None or id(func) in seen:
            continue
        seen.add(id(func))
        names.append(type(func).__name__)
        stack += [x.creator for x in func.inputs]
    return sorted(names)


@pytest.mark.parametrize("make,shape", [(_mlp, (12,)), (_cnn, (8, 8, 2))], ids=["mlp", "cnn"])
def test_the_lecture_spelling_records_the_fused_spellings_graph(make, shape):
    x, _, _ = _data(shape, n=4)
    lecture, fused = _pair(make, lambda: O.SGD(0.1))
    got = _ops_in_graph(lecture(x, training=True))
    assert "ReLU" not in got
    assert got == _ops_in_graph(fused(x, training=True))


@pytest.mark.parametrize("make,shape", [(_mlp, (12,)), (_cnn, (8, 8, 2))], ids=["mlp", "cnn"])
def test_the_lecture_spelling_gives_the_unfused_gradients_and_the_fused_spellings_training(make, shape):
    x, labels, onehot = _data(shape)
    for optimizer in (lambda: O.SGD(0.1), lambda: O.Adam(0.01)):
        lecture, fused = _pair(make, optimizer)
        want = _unfused_grads(lecture, x[:16], onehot[:16])
        lecture.train_on_batch(x[:16], onehot[:16])  # keeps .grad
        for w, g in zip(lecture.trainable_weights, want):
            assert_close(w.grad, g, atol=1e-5, rtol=1e-4, what=f"dL/d{w.name}")
        fused.train_on_batch(x[:16], labels[:16])
        h1 = lecture.fit(x, onehot, batch_size=16, epochs=2, shuffle=False, verbose=0)
        h2 = fused.fit(x, labels, batch_size=16, epochs=2, shuffle=False, verbose=0)
        np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)
        for a, b in zip(lecture.get_weights(), fused.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
        np.testing.assert_allclose(lecture.predict(x, verbose=0), fused.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_the_lecture_mlp_trains_like_pytorch():
    x, labels, onehot = _data((12,))
    lecture, _ = _pair(_mlp, lambda: O.SGD(0.2))
    w = lecture.get_weights()
    lecture.fit(x, onehot, batch_size=16, epochs=2, shuffle=False, verbose=0)
    net = [torch.nn.Linear(12, 16), torch.nn.Linear(16, 16), torch.nn.Linear(16, 5)]
    with torch.no_grad():
        for layer, k, b in zip(net, w[0::2], w[1::2]):
            layer.weight.copy_(torch.from_numpy(k.T))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD([p for layer in net for p in layer.parameters()], lr=0.2)
    for _ in range(2):
        for s in range(0, len(x), 16):
            opt.zero_grad()
            out = net[2](torch.relu(net[1](torch.relu(net[0](torch.from_numpy(x[s:s + 16]))))))
            torch.nn.functional.cross_entropy(out, torch.from_numpy(onehot[s:s + 16])).backward()
            opt.step()
    want = [t.detach().numpy() for layer in net for t in (layer.weight.T, layer.bias)]
    for a, b in zip(lecture.get_weights(), want):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_the_pass_leaves_observable_outputs_alone():
    """An activity regularizer, another reader of the Dense output, or a model output: the
    functional graph computes the same values as the layers called one by one."""
    x, _, _ = _data((12,))
    backend.set_seed(1)
    inp = L.Input((12,))
    h = L.Dense(8)(inp)
    a = L.Activation("relu")(h)
    both = L.Concatenate()([a, h])  # h read twice: no merge
    g = L.Activation("relu")(L.Dense(6)(both))  # merged
    r = L.Activation("relu")(L.Dense(4, activity_regularizer="l2")(g))  # not merged
    model = Model(inp, [r, L.Dense(3)(g)])
    assert _ops_in_graph(model(x, training=True)[1]).count("ReLU") == 1  # a's ReLU; g's is fused
    got = model.predict(x, verbose=0)
    t = Tensor(x)
    values = {}
    for node in model._graph.nodes:
        args = node.inputs
        value = [values[s.uid] for s in args] if isinstance(args, list) else (t if args.node is None else values[args.uid])
        values[node.outputs[0].uid] = node.layer.call(value)
    want = [values[o.uid].numpy() for o in model.outputs]
    for a_, b_ in zip(got, want):
        np.testing.assert_allclose(a_, b_, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_cross_entropy_against_probability_targets_matches_pytorch(dtype, reduction):
    """One-hot and soft targets (rows need not sum to one): the float32 kernel and the float64
    reference give torch's loss and dL/dlogits."""
    rng = np.random.default_rng(3)
    z = rng.standard_normal((7, 6)).astype(dtype) * 3
    t = rng.random((7, 6)).astype(dtype)
    t[:3] = np.eye(6, dtype=dtype)[[0, 4, 5]]
    logits = Tensor(backend.on_device(z), requires_grad=True)
    loss = ops.softmax_cross_entropy(logits, backend.on_device(t), reduction=reduction)
    up = rng.standard_normal(loss.shape).astype(dtype)
    loss.backward(up if loss.ndim else None)
    zt = torch.tensor(z, requires_grad=True)
    want = torch.nn.functional.cross_entropy(zt, torch.tensor(t), reduction=reduction)
    want.backward(torch.tensor(up) if want.ndim else None)
    tol = 1e-5 if dtype == np.float32 else 1e-10
    assert_close(loss.data, want.detach().numpy(), atol=tol, rtol=tol, what="loss")
    assert_close(logits.grad, zt.grad.numpy(), atol=tol, rtol=tol, what="dL/dlogits")
