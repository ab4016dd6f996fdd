"""The optimizer's step in the backward pass: gradient sinks (``autograd.sink``), ``Optimizer.minimize``
updating each weight as its gradient arrives, and plain SGD's step folded into a Dense kernel's dW GEMM
(``accel.blas.gemm_update_``) instead of giving it ``.grad``. Checked against the unfolded step,
against PyTorch, and for every case that must not fold (a weight used twice, a regularizer, momentum, clipping, a constraint,
float64, a callback that reads gradients, ``train_on_batch``)."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import layers as L
from threestep import ops
import threestep.optimizers as O
from threestep.autograd import GradientSink, Tensor, attach_sinks
from threestep.callbacks import Callback, LambdaCallback
from threestep.models import Model, Sequential
from threestep.accel import blas as _blas
from threestep.optimizers import SGD
from helpers import numpy_only, to_host

dev = ts.backend.asarray  # a NumPy array on the current backend's device

needs_blas = pytest.mark.skipif(not _blas.gemm_update_(np.zeros((1, 1), np.float32), np.ones((1, 1), np.float32),
                                                       np.ones((1, 1), np.float32), 1.0),
                                reason="NumPy's own OpenBLAS could not be identified here (e.g. MKL)")


def sgd_step(leaf, lr):
    """Plain SGD's fold: leaf.data = leaf.data - lr * grad."""
    return (leaf.data, -lr, 1.0)


def _count_gemm_updates(monkeypatch):
    calls = {"served": 0}
    real = _blas.gemm_update_

    def counting(*args):
        served = real(*args)
        calls["served"] += bool(served)
        return served
    monkeypatch.setattr(_blas, "gemm_update_", counting)
    return calls


# ---------------------------------------------------------------- the BLAS routine
@numpy_only("a NumPy OpenBLAS routine")
@needs_blas
@pytest.mark.parametrize("a_order,b_order", [("C", "C"), ("F", "C"), ("C", "F"), ("F", "F")])
@pytest.mark.parametrize("k,m,n", [(100, 784, 500), (7, 5, 3), (1, 4, 1), (0, 3, 2)])
@pytest.mark.parametrize("beta", [1.0, 0.9])
def test_gemm_update_adds_alpha_a_transpose_b(a_order, b_order, k, m, n, beta):
    rng = np.random.default_rng(0)
    a = np.asarray(rng.standard_normal((k, m)), np.float32, order=a_order)
    b = np.asarray(rng.standard_normal((k, n)), np.float32, order=b_order)
    c = rng.standard_normal((m, n)).astype(np.float32)
    want = beta * c.astype(np.float64) - 0.05 * (a.astype(np.float64).T @ b.astype(np.float64))
    assert _blas.gemm_update_(c, a, b, -0.05, beta)
    np.testing.assert_allclose(c, want, rtol=1e-5, atol=1e-5)


@numpy_only("a NumPy OpenBLAS routine")
def test_gemm_update_refuses_what_it_cannot_serve():
    a, b = np.ones((4, 3), np.float32), np.ones((4, 2), np.float32)
    c = np.zeros((3, 2), np.float32)
    frozen = c.copy()
    frozen.flags.writeable = False
    for args in [(c.astype(np.float64), a, b), (c, a.astype(np.float64), b), (np.zeros((2, 3), np.float32), a, b),
                 (c, a[:3], b), (np.asfortranarray(c), a, b), (frozen, a, b), (c, np.ones((4, 6), np.float32)[:, ::2], b)]:
        before = args[0].copy()
        assert not _blas.gemm_update_(*args, 1.0)
        np.testing.assert_array_equal(args[0], before)


# ---------------------------------------------------------------- the engine's sinks
class Collect(GradientSink):
    """Records what backward hands over, and in which form."""

    def __init__(self):
        self.got, self.forms = None, []

    def take(self, g):
        self.forms.append("array")
        self.got = to_host(g) if self.got is None else self.got + to_host(g)

    def take_matmul(self, a, b):
        self.forms.append("matmul")
        self.got = to_host(a.T @ b)

    def take_rowsum(self, g):
        self.forms.append("rowsum")
        self.got = to_host(g.sum(axis=0))


def _linear_graph(W, b, x, extra=None):
    y = ops.linear(x, W, b, relu=True)
    loss = (y * y).mean()
    return loss if extra is None else loss + extra


def _reference_grads(make_loss, *leaves):
    copies = [Tensor(leaf.data.copy(), requires_grad=True) for leaf in leaves]
    make_loss(*copies).backward()
    return [to_host(c.grad) for c in copies]


def test_a_weight_used_once_hands_its_gemm_and_bias_sum_to_its_sink():
    rng = np.random.default_rng(1)
    x = Tensor(dev(rng.standard_normal((16, 8)).astype(np.float32)))
    W = Tensor(dev(rng.standard_normal((8, 5)).astype(np.float32)), requires_grad=True)
    b = Tensor(dev(rng.standard_normal(5).astype(np.float32)), requires_grad=True)
    want_W, want_b = _reference_grads(lambda W, b: _linear_graph(W, b, x), W, b)
    with attach_sinks({W: Collect(), b: Collect()}) as sinks:
        _linear_graph(W, b, x).backward()
    assert W.grad is None and b.grad is None
    assert sinks[W].forms == ["matmul"]
    assert sinks[b].forms in (["rowsum"], ["array"])  # the Numba pass computes dL/db with the ReLU's
    np.testing.assert_allclose(sinks[W].got, want_W, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(sinks[b].got, want_b, rtol=1e-5, atol=1e-6)
    _linear_graph(W, b, x).backward()  # detached on leaving the block: .grad as usual
    np.testing.assert_allclose(to_host(W.grad), want_W, rtol=1e-5, atol=1e-6)


def test_a_weight_used_twice_gets_its_summed_gradient_once_at_the_end():
    rng = np.random.default_rng(2)
    x = Tensor(dev(rng.standard_normal((6, 4)).astype(np.float32)))
    W = Tensor(dev(rng.standard_normal((4, 3)).astype(np.float32)), requires_grad=True)
    b = Tensor(dev(np.zeros(3, np.float32)), requires_grad=True)
    penalised = lambda W, b: _linear_graph(W, b, x, extra=(W * W).sum() * 0.01)  # noqa: E731
    want = _reference_grads(penalised, W, b)
    with attach_sinks({W: Collect()}) as sinks:
        penalised(W, b).backward()
    assert sinks[W].forms == ["array"] and W.grad is None
    np.testing.assert_allclose(sinks[W].got, want[0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(to_host(b.grad), want[1], rtol=1e-5, atol=1e-6)  # no sink: .grad

    S = Tensor(dev(rng.standard_normal((4, 4)).astype(np.float32)), requires_grad=True)  # one layer applied twice
    b4 = Tensor(dev(np.zeros(4, np.float32)), requires_grad=True)
    twice = lambda S, b4: ops.linear(ops.linear(x, S, b4), S, b4).sum()  # noqa: E731
    want = _reference_grads(twice, S, b4)
    with attach_sinks({S: Collect(), b4: Collect()}) as sinks:
        twice(S, b4).backward()
    np.testing.assert_allclose(sinks[S].got, want[0], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(sinks[b4].got, want[1], rtol=1e-5, atol=1e-5)


def test_an_op_without_a_gemm_form_hands_its_gradient_as_an_array():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((6, 4)))
    V = Tensor(rng.standard_normal((4, 3)), requires_grad=True)  # float64, used once, by matmul
    with attach_sinks({V: Collect()}) as sinks:
        (x @ V).sum().backward()
    assert sinks[V].forms == ["array"]
    np.testing.assert_allclose(sinks[V].got, np.broadcast_to(x.numpy().sum(axis=0)[:, None], (4, 3)))


# ---------------------------------------------------------------- the optimizer
OPTIMIZERS = {
    "sgd": lambda: SGD(0.5),
    "momentum": lambda: SGD(0.5, momentum=0.9),
    "nesterov": lambda: SGD(0.5, momentum=0.9, nesterov=True),
    "clipnorm": lambda: SGD(0.5, clipnorm=0.1),
    "global_clipnorm": lambda: SGD(0.5, global_clipnorm=0.1),
    "schedule": lambda: SGD(0.5, decay=1.0),
    "adam": lambda: O.Adam(0.01),
    "rmsprop": lambda: O.RMSprop(0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_minimize_without_kept_gradients_steps_like_backward_then_apply_gradients(name):
    """Whatever the optimizer decides (its update as each gradient arrives, inside the GEMM for
    SGD), three steps end with the weights of loss.backward() + apply_gradients(), and a
    constrained weight stays constrained."""
    rng = np.random.default_rng(4)
    x = Tensor(dev(rng.standard_normal((16, 8)).astype(np.float32)))
    start = [rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32),
             rng.standard_normal((5, 3)).astype(np.float32)]

    def run(step):
        params = [Tensor(dev(a.copy()), requires_grad=True) for a in start]
        params[2].constraint = lambda w: w.clip(-0.3, 0.3)
        opt = OPTIMIZERS[name]()
        for _ in range(3):
            h = ops.linear(x, params[0], params[1], relu=True)
            step(opt, (ops.linear(h, params[2]) ** 2).mean(), params)
        return [to_host(p.data) for p in params]

    def plain(opt, loss, params):
        for p in params:
            p.grad = None
        loss.backward()
        opt.apply_gradients(params)

    want = run(plain)
    got = run(lambda opt, loss, params: opt.minimize(loss, params, keep_gradients=False))
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
    assert np.abs(got[2]).max() <= 0.3 + 1e-7


def test_minimize_skips_a_non_finite_loss_and_keeps_the_weights():
    W = Tensor(dev(np.ones((3, 2), np.float32)), requires_grad=True)
    x = Tensor(dev(np.full((4, 3), np.inf, np.float32)))
    opt = SGD(0.1)
    with np.errstate(invalid="ignore"):
        value = opt.minimize(ops.linear(x, W).sum(), [W], keep_gradients=False)
    assert not np.isfinite(value) and opt.iterations == 0
    np.testing.assert_array_equal(to_host(W.data), 1.0)


def test_minimize_keeps_gradients_when_asked():
    rng = np.random.default_rng(6)
    x = Tensor(dev(rng.standard_normal((6, 4)).astype(np.float32)))
    W = Tensor(dev(rng.standard_normal((4, 3)).astype(np.float32)), requires_grad=True)
    want = _reference_grads(lambda W: ops.linear(x, W).sum(), W)[0]
    SGD(0.1).minimize(ops.linear(x, W).sum(), [W])
    np.testing.assert_allclose(to_host(W.grad), want, rtol=1e-5)


# ---------------------------------------------------------------- fit
def _mlp(seed=0, **dense):
    ts.backend.set_seed(seed)
    model = Sequential([L.Dense(32, activation="relu", input_dim=20, **dense), L.Dense(16, activation="tanh"),
                        L.Dense(4, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(learning_rate=0.2), metrics=["accuracy"])
    return model


class ReadsGradients(Callback):
    needs_gradients = True

    def __init__(self):
        super().__init__()
        self.norms = []

    def on_train_batch_end(self, batch, logs=None):
        self.norms.append(float(np.linalg.norm(ts.backend.to_numpy(self.model.layers[0].kernel.grad))))


def _data(n=96):
    rng = np.random.default_rng(5)
    return rng.standard_normal((n, 20)).astype(np.float32), rng.integers(0, 4, n)


def _torch_trained(w0, x, y, lr, momentum=0.0, epochs=2, batch=16):
    """The same MLP (from ``_mlp``'s initial weights ``w0``) trained by torch.optim.SGD; its
    weights in Keras layout."""
    layers = [torch.nn.Linear(20, 32), torch.nn.Linear(32, 16), torch.nn.Linear(16, 4)]
    with torch.no_grad():
        for layer, k, b in zip(layers, w0[0::2], w0[1::2]):
            layer.weight.copy_(torch.from_numpy(k.T))
            layer.bias.copy_(torch.from_numpy(b))
    opt = torch.optim.SGD([p for layer in layers for p in layer.parameters()], lr=lr, momentum=momentum)
    for _ in range(epochs):
        for start in range(0, len(x), batch):
            xb, yb = torch.from_numpy(x[start:start + batch]), torch.from_numpy(y[start:start + batch])
            opt.zero_grad()
            out = layers[2](torch.tanh(layers[1](torch.relu(layers[0](xb)))))
            torch.nn.functional.cross_entropy(out, yb).backward()
            opt.step()
    return [t.detach().numpy() for layer in layers for t in (layer.weight.T, layer.bias)]


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_fit_folds_plain_sgd_and_trains_to_the_same_weights(monkeypatch):
    x, y = _data()
    calls = _count_gemm_updates(monkeypatch)
    folded = _mlp()
    h1 = folded.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0)
    assert calls["served"] == 3 * 6 * 3  # every kernel, every step
    assert all(w.grad is None for w in (layer.kernel for layer in folded.layers))
    watched = _mlp()
    reader = ReadsGradients()
    h2 = watched.fit(x, y, batch_size=16, epochs=3, shuffle=False, verbose=0, callbacks=[reader])
    assert calls["served"] == 3 * 6 * 3  # a callback that reads .grad turns the fold off
    assert len(reader.norms) == 18 and all(n > 0 for n in reader.norms)
    for a, b in zip(folded.get_weights(), watched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(h1.history["loss"], h2.history["loss"], rtol=1e-5)


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_folded_float32_training_matches_pytorch(monkeypatch):
    x, y = _data()
    calls = _count_gemm_updates(monkeypatch)
    model = _mlp(seed=3)
    w0 = model.get_weights()
    model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert calls["served"] == 2 * 6 * 3
    for a, b in zip(model.get_weights(), _torch_trained(w0, x, y, lr=0.2)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_momentum_folds_its_velocity_and_matches_pytorch(monkeypatch):
    """v = momentum * v - lr * g in the dW GEMM (beta = momentum), then w += v: the same
    weights as the unfolded step and as torch.optim.SGD(momentum=0.9)."""
    x, y = _data()
    calls = _count_gemm_updates(monkeypatch)

    def make(seed=0):
        model = _mlp(seed)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(learning_rate=0.05, momentum=0.9))
        return model
    folded = make()
    w0 = folded.get_weights()
    folded.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    assert calls["served"] == 2 * 6 * 3  # every kernel, every step (the velocities exist from the start)
    watched = make()
    watched.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0, callbacks=[ReadsGradients()])
    for a, b in zip(folded.get_weights(), watched.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    for a, b in zip(folded.get_weights(), _torch_trained(w0, x, y, lr=0.05, momentum=0.9)):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_what_must_not_fold_trains_like_before(monkeypatch):
    """A kernel regularizer, a shared layer, Nesterov momentum, train_on_batch: no fold, same
    result as with the fold off everywhere."""
    x, y = _data()
    calls = _count_gemm_updates(monkeypatch)

    def shared_model():
        ts.backend.set_seed(0)
        inp = L.Input(shape=(20,))
        shared = L.Dense(20, activation="tanh")
        out = L.Dense(4, activation="softmax")(shared(shared(inp)))
        model = Model(inp, out)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(learning_rate=0.2))
        return model

    def regularized():
        return _mlp(kernel_regularizer="l2")

    def nesterov():
        model = _mlp()
        model.compile(loss="sparse_categorical_crossentropy",
                      optimizer=SGD(learning_rate=0.2, momentum=0.9, nesterov=True))
        return model

    for make, folds in ((shared_model, 1), (regularized, 2), (nesterov, 0)):
        calls["served"] = 0
        model = make()
        model.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0)
        assert calls["served"] == 6 * folds  # only the kernels used once (not the shared or regularized one)
        reference = make()
        reference.fit(x, y, batch_size=16, epochs=1, shuffle=False, verbose=0, callbacks=[ReadsGradients()])
        for a, b in zip(model.get_weights(), reference.get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)

    calls["served"] = 0
    model = _mlp()
    model.train_on_batch(x[:16], y[:16])
    assert calls["served"] == 0 and model.layers[0].kernel.grad is not None  # .grad stays readable here


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_a_lambda_callback_that_reads_gradients_gets_them():
    x, y = _data()
    norms = []
    reads = LambdaCallback(on_batch_end=lambda batch, logs: norms.append(model.layers[0].kernel.grad),
                           needs_gradients=True)
    model = _mlp()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[reads])
    assert len(norms) == 6 and all(g is not None for g in norms)
    norms.clear()
    model.fit(x, y, batch_size=16, epochs=1, verbose=0,
              callbacks=[LambdaCallback(on_batch_end=lambda batch, logs: norms.append(model.layers[0].kernel.grad))])
    assert norms == [None] * 6  # not asked for: folded, as documented


def test_callbacks_that_read_gradients_say_so(tmp_path):
    from threestep.callbacks import GradientMonitor, TensorBoard

    assert GradientMonitor().needs_gradients
    assert TensorBoard(str(tmp_path), histogram_freq=1).needs_gradients  # its histograms include .grad
    assert not TensorBoard(str(tmp_path)).needs_gradients
    assert not Callback().needs_gradients
