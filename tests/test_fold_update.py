"""Plain SGD's step folded into the backward pass (``Tensor.backward(update=...)``): a Dense
kernel used once is updated inside its dW GEMM (``accel.blas.gemm_update_``, beta = 1) instead
of getting ``.grad``. Checked against the unfolded step, against PyTorch, and for every case
that must not fold (a weight used twice, a regularizer, momentum, clipping, a constraint,
float64, a callback that reads gradients, ``train_on_batch``)."""
import numpy as np
import pytest
import torch

import threestep as ts
from threestep import layers as L
from threestep import ops
from threestep.autograd import Tensor
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


# ---------------------------------------------------------------- the engine
def _linear_graph(W, b, x, extra=None):
    y = ops.linear(x, W, b, relu=True)
    loss = (y * y).mean()
    return loss if extra is None else loss + extra


@numpy_only("the fold is NumPy's BLAS")
@needs_blas
def test_a_weight_used_once_is_updated_in_backward_and_gets_no_grad():
    rng = np.random.default_rng(1)
    x = Tensor(rng.standard_normal((16, 8)).astype(np.float32))
    w0, b0 = rng.standard_normal((8, 5)).astype(np.float32), rng.standard_normal(5).astype(np.float32)
    ref_W, ref_b = Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    _linear_graph(ref_W, ref_b, x).backward()
    W, b = Tensor(w0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)
    folded = _linear_graph(W, b, x).backward(update={W: sgd_step(W, 0.1), b: sgd_step(b, 0.1)})
    assert len(folded) == 1 and folded[0] is W  # the bias's gradient is not a GEMM: it keeps .grad
    assert W.grad is None
    np.testing.assert_allclose(W.data, w0 - 0.1 * ref_W.grad, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(b.grad, ref_b.grad, rtol=1e-6)
    np.testing.assert_array_equal(b.data, b0)  # the caller's optimizer updates what was not folded


def test_a_weight_used_twice_or_by_an_op_that_cannot_fold_keeps_its_grad():
    rng = np.random.default_rng(2)
    x = Tensor(dev(rng.standard_normal((6, 4)).astype(np.float32)))
    w0 = rng.standard_normal((4, 3)).astype(np.float32)
    b = Tensor(dev(np.zeros(3, np.float32)), requires_grad=True)

    W = Tensor(dev(w0.copy()), requires_grad=True)  # the L2 penalty reads W too: folding would change its gradient
    loss = _linear_graph(W, b, x, extra=(W * W).sum() * 0.01)
    assert loss.backward(update={W: sgd_step(W, 0.1)}) == []
    assert W.grad is not None
    np.testing.assert_array_equal(to_host(W.data), w0)

    S = Tensor(dev(rng.standard_normal((4, 4)).astype(np.float32)), requires_grad=True)  # one layer applied twice
    b4 = Tensor(dev(np.zeros(4, np.float32)), requires_grad=True)
    assert ops.linear(ops.linear(x, S, b4), S, b4).sum().backward(update={S: sgd_step(S, 0.1)}) == []
    assert S.grad is not None

    V = Tensor(dev(w0.copy()), requires_grad=True)  # used once, by an op without a fold (matmul)
    assert (x @ V).sum().backward(update={V: sgd_step(V, 0.1)}) == []
    np.testing.assert_allclose(to_host(V.grad), np.broadcast_to(to_host(x.data).sum(axis=0)[:, None], w0.shape), rtol=1e-5)


def test_float64_and_leaves_not_asked_for_keep_their_grad():
    rng = np.random.default_rng(3)
    x = Tensor(rng.standard_normal((6, 4)))
    W = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = Tensor(np.zeros(3), requires_grad=True)
    assert _linear_graph(W, b, x).backward(update={W: sgd_step(W, 0.1)}) == []  # sgemm is float32 only
    assert W.grad is not None
    x32 = Tensor(x.data.astype(np.float32))
    W32 = Tensor(W.data.astype(np.float32), requires_grad=True)
    b32 = Tensor(np.zeros(3, np.float32), requires_grad=True)
    assert _linear_graph(W32, b32, x32).backward(update={b32: sgd_step(b32, 0.1)}) == []
    assert W32.grad is not None and b32.grad is not None


# ---------------------------------------------------------------- the optimizer
def test_only_sgd_without_nesterov_or_clipping_offers_backward_updates():
    import threestep.optimizers as O

    params = [Tensor(dev(np.ones(3, np.float32)), requires_grad=True),
              Tensor(dev(np.ones(2, np.float32)), requires_grad=True)]
    params[1].constraint = lambda w: w
    sgd = SGD(learning_rate=0.5)
    updates = sgd.backward_updates(params)
    assert list(updates) == [params[0]]  # a constrained weight is left to apply_gradients
    target, alpha, beta = updates[params[0]]
    assert target is params[0].data and alpha == -0.5 and beta == 1.0
    for opt in (SGD(0.5, momentum=0.9, nesterov=True), SGD(0.5, clipnorm=1.0), SGD(0.5, clipvalue=1.0),
                SGD(0.5, global_clipnorm=1.0), O.Adam(), O.RMSprop(), O.Adagrad()):
        assert opt.backward_updates(params) is None
    scheduled = SGD(learning_rate=0.5, decay=1.0)
    scheduled.iterations = 1
    assert scheduled.backward_updates(params[:1])[params[0]][1] == -0.25  # the step's own rate

    momentum = SGD(learning_rate=0.5, momentum=0.9)
    assert momentum.backward_updates(params[:1]) is None  # no velocity before the first step
    params[0].grad = dev(np.ones(3, np.float32))
    momentum.apply_gradients(params[:1])
    target, alpha, beta = momentum.backward_updates(params[:1])[params[0]]
    assert target is momentum.slots["momentum"][0] and alpha == -0.5 and beta == 0.9


def test_apply_gradients_counts_folded_parameters_as_updated():
    params = [Tensor(dev(np.ones(3, np.float32)), requires_grad=True) for _ in range(3)]
    opt = SGD(learning_rate=0.5)
    params[0].grad = dev(np.ones(3, np.float32))
    params[2].grad = dev(np.ones(3, np.float32))
    opt.apply_gradients(params, folded=[params[1]])
    assert opt.iterations == 1 and opt._built_for == 3
    np.testing.assert_array_equal(to_host(params[0].data), 0.5)
    np.testing.assert_array_equal(to_host(params[1].data), 1.0)  # already updated by the backward pass: untouched
    params[1].grad = dev(np.ones(3, np.float32))  # the next step without a fold: the same 3 parameters
    opt.apply_gradients(params)
    np.testing.assert_array_equal(to_host(params[1].data), 0.5)


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
def test_momentum_folds_its_velocity_from_the_second_step_and_matches_pytorch(monkeypatch):
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
    assert calls["served"] == (2 * 6 - 1) * 3  # every kernel, every step after the first
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
