"""The strict CuPy stand-in (tests/fakecupy/cupy) and the CuPy code path it lets a CPU run.

``THREESTEP_FAKE_CUPY=1 THREESTEP_BACKEND=cupy pytest`` runs the whole suite through it; this
file checks, in the normal suite, that the stand-in is as strict as CuPy (host arrays and
implicit conversions are refused), that a model trains through ``set_backend("cupy")`` to the
same weights as on NumPy, and runs a subset of the suite on the fake device in a subprocess,
so every CI run exercises the CuPy path.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from threestep import backend

TESTS = Path(__file__).resolve().parent
IMPLICIT = "Implicit conversion to a NumPy array is not allowed"


@pytest.fixture
def cp(fake_cupy):
    """The fake ``cupy`` module (conftest's ``fake_cupy``)."""
    return fake_cupy


def test_device_arrays_refuse_implicit_host_conversion(cp):
    x = cp.asarray(np.arange(6, dtype=np.float32).reshape(2, 3))
    assert type(x) is cp.ndarray and type(x).__module__ == "cupy" and not isinstance(x, np.ndarray)
    for convert in (np.asarray, np.array, np.asanyarray, lambda a: np.testing.assert_allclose(a, 0),
                    lambda a: np.asarray([a, a]), np.float32):
        with pytest.raises(TypeError, match=IMPLICIT):
            convert(x)
    with pytest.raises(TypeError):
        float(x)  # not a scalar
    assert float(x.sum()) == 15.0 and x[1, 2].item() == 5.0  # size-1 arrays do convert
    host = x.get()
    assert type(host) is np.ndarray and type(cp.asnumpy(x)) is np.ndarray
    np.testing.assert_array_equal(backend.to_numpy(x), host)


def test_mixing_device_and_host_arrays_raises(cp):
    x, host = cp.ones((2, 3), dtype=np.float32), np.ones((2, 3), np.float32)
    for mix in (lambda: x + host, lambda: host * x, lambda: cp.exp(host), lambda: np.maximum(x, host),
                lambda: cp.concatenate([x, host]), lambda: np.concatenate([x, host]), lambda: x @ host.T,
                lambda: cp.matmul(x, host.T), lambda: x.dot(host.T)):
        with pytest.raises(TypeError, match="Unsupported type"):
            mix()
    out = cp.empty((2, 3), dtype=np.float32)
    with pytest.raises(TypeError):
        np.add(host, host, out=out)  # a host computation cannot write into device memory
    # scalars, NumPy scalars and 0-d arrays are fine, as on CuPy; so is indexing with host integers
    assert type(x * 2.0 + np.float32(1) - np.array(0.5)) is cp.ndarray
    assert x[np.array([1, 0])].shape == (2, 3)


def test_numpy_functions_dispatch_to_the_device(cp):
    x = cp.asarray(np.arange(6.0).reshape(2, 3))
    for result in (np.concatenate([x, x]), np.exp(x), np.where(x > 2, x, 0), np.linalg.norm(x), x.sum(),
                   np.mean(x), x[0, 1], x.T @ x, x.max(axis=0), cp.zeros_like(x)):
        assert type(result) is cp.ndarray, type(result)  # reductions and scalars stay on the device
    y = x.copy()
    y += 1
    np.add.at(y, np.array([0, 0]), 1.0)
    np.testing.assert_array_equal(y.get(), [[3, 4, 5], [4, 5, 6]])
    assert cp.get_array_module(x) is cp and cp.get_array_module(np.ones(2)) is np
    host = np.ones(3)
    d = cp.asarray(host)
    host[0] = 7
    assert d[0].item() == 1  # a host -> device move copies


def test_generator_has_cupys_methods_only(cp):
    g = cp.random.default_rng(0)
    assert type(g.standard_normal((2, 2), dtype=np.float32)) is cp.ndarray and type(g.integers(5)) is cp.ndarray
    for missing in ("normal", "permutation", "shuffle", "choice"):
        assert not hasattr(g, missing), missing  # CuPy's Generator lacks them
    with pytest.raises(AttributeError):
        g.bit_generator.state = np.random.default_rng(0).bit_generator.state
    with pytest.raises(AttributeError):
        cp.errstate  # noqa: B018  (NumPy only)


def _train(seed=0):
    from threestep.layers import Dense, Dropout
    from threestep.models import Sequential
    from threestep.optimizers import Adam

    rng = np.random.default_rng(1)
    x, y = rng.standard_normal((48, 5)).astype(np.float32), rng.integers(0, 3, 48)
    backend.set_seed(seed)
    model = Sequential([Dense(16, activation="tanh", input_dim=5), Dropout(0.2), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(0.01), metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, validation_split=0.25)
    return model, history, model.predict(x), x, y


def test_model_trains_on_the_fake_device_like_on_numpy(cp):
    previous = backend.backend_name()
    try:
        backend.set_backend("numpy")
        _, want_history, want_probs, _, _ = _train()
        want = _train()[0].get_weights()
        backend.set_backend("cupy")
        assert backend.get_xp() is cp
        model, history, probs, x, y = _train()
        assert all(type(w.data) is cp.ndarray for w in model.weights)
        got = model.get_weights()
        assert all(type(w) is np.ndarray for w in got) and type(probs) is np.ndarray
        for g, w in zip(got, want):  # the fake draws NumPy's numbers: the same run, weight for weight
            np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(probs, want_probs, rtol=1e-5, atol=1e-6)
        assert history.history.keys() == want_history.history.keys()
        np.testing.assert_allclose(history.history["loss"], want_history.history["loss"], rtol=1e-5)
        loss, acc = model.evaluate(x, y, verbose=0)
        assert isinstance(loss, float) and isinstance(acc, float)
    finally:
        backend.set_backend(previous)


# Ops with their gradients, conv / pooling, recurrent ops and layers, optimizers, fit, save /
# load, callbacks and the device moves: about 30 s on two cores (the full suite: ~2-3 min).
SUBSET = ["test_ops.py", "test_recurrent_ops.py", "test_conv_ops.py", "test_pool_ops.py", "test_recurrent_layers.py",
          "test_optimizers.py", "test_fit_options.py", "test_saving.py", "test_checkpoint.py", "test_callbacks.py",
          "test_backend_device.py"]


@pytest.mark.skipif(backend.backend_name() == "cupy", reason="the whole suite already runs on the CuPy backend")
def test_suite_subset_passes_on_the_fake_device():
    """CI exercises the CuPy code path on every run: these test files, on the fake device."""
    env = dict(os.environ, THREESTEP_FAKE_CUPY="1", THREESTEP_BACKEND="cupy", OPENBLAS_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-o", "addopts=", "-m", "not gpu", "-x", "-p", "no:cacheprovider",
                           *[str(TESTS / f) for f in SUBSET]], cwd=TESTS.parent, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "threestep backend: cupy (fake CuPy" in done.stdout and " passed" in done.stdout
    assert " failed" not in done.stdout and " skipped" not in done.stdout  # all of the subset runs on the device


def test_a_leaf_gradient_from_a_broadcast_owns_its_memory_on_the_device(cp):
    """``x.sum()``'s backward broadcasts one value; CuPy arrays have no ``writeable`` flag, so a
    leaf's grad must be copied by its 0 strides, or an in-place change would write through the view."""
    from threestep.autograd import Tensor

    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        x = Tensor(np.ones((3, 4), np.float32), requires_grad=True)
        x.sum().backward()
        assert type(x.grad) is cp.ndarray and 0 not in x.grad.strides
        x.grad *= 2.0  # the fake's broadcast views are read-only: a view here would raise
        np.testing.assert_array_equal(x.grad.get(), np.full((3, 4), 2.0, np.float32))
    finally:
        backend.set_backend(previous)


def test_the_fake_counts_kernel_launches_and_transfers(cp):
    """``cupy._fake_counts`` estimates a GPU's launches (~5-10 us each) and copies: one kernel per
    computation, none for views and metadata, one transfer per host<->device move."""
    host = np.arange(12, dtype=np.float32).reshape(3, 4)

    def counts(step):
        cp._fake_reset_counts()
        step()
        return cp._fake_reset_counts()

    x = cp.asarray(host)
    idx = cp.asarray(np.array([2, 0]))
    assert counts(lambda: cp.asarray(host)) == {"kernels": 0, "h2d": 1, "d2h": 0}
    assert counts(lambda: x.get()) == {"kernels": 0, "h2d": 0, "d2h": 1}
    steps = [(lambda: x + x, 1), (lambda: np.exp(x), 1), (lambda: -x, 1), (lambda: x.sum(), 1),
             (lambda: x @ x.T, 1), (lambda: x.reshape(4, 3), 0), (lambda: x[1:], 0), (lambda: x[1, 2], 0),
             (lambda: x[idx], 1), (lambda: x.T, 0), (lambda: x.ravel(), 0), (lambda: x.T.reshape(-1), 1),
             (lambda: x.flatten(), 1), (lambda: cp.split(x, 2, axis=1), 0),
             (lambda: cp.broadcast_to(x, (2, 3, 4)), 0), (lambda: cp.asarray(x), 0), (lambda: cp.array(x), 1),
             (lambda: cp.empty((2, 3)), 0), (lambda: cp.zeros((2, 3)), 1), (lambda: cp.arange(5), 1),
             (lambda: x.astype(np.float32, copy=False), 0), (lambda: x.astype(np.float64), 1)]
    for i, (step, kernels) in enumerate(steps):
        assert counts(step) == {"kernels": kernels, "h2d": 0, "d2h": 0}, i

    def inplace():
        y = x.copy()  # 1
        y += 1  # 1
        y[0] = 0  # 1
        return float(y.sum())  # 1 kernel, 1 d2h

    assert counts(inplace) == {"kernels": 4, "h2d": 0, "d2h": 1}
    assert cp._fake_reset_counts() == {"kernels": 0, "h2d": 0, "d2h": 0}


def test_fuse_runs_the_function_once_per_call_as_one_kernel(cp):
    """``cupy.fuse``: every decorator form works, a call counts one launch, and the numbers and
    dtypes are NumPy's for the same code."""
    def step(p, g, lr):
        update = lr * cp.tanh(g) + cp.maximum(p, 0) * 0.5
        return p - update, (update * update).sum(axis=0)

    rng = np.random.default_rng(0)
    p_host, g_host = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    want = (p_host - (0.1 * np.tanh(g_host) + np.maximum(p_host, 0) * 0.5),
            ((0.1 * np.tanh(g_host) + np.maximum(p_host, 0) * 0.5) ** 2).sum(axis=0))
    p, g = cp.asarray(p_host), cp.asarray(g_host)
    for fused in (cp.fuse(step), cp.fuse()(step), cp.fuse(kernel_name="sgd")(step)):
        assert fused.__name__ == "step"
        cp._fake_reset_counts()
        new_p, norms = fused(p, g, 0.1)
        assert cp._fake_reset_counts()["kernels"] == 1
        assert type(new_p) is cp.ndarray and new_p.dtype == np.float32 and norms.dtype == np.float32
        np.testing.assert_array_equal(new_p.get(), want[0])
        np.testing.assert_allclose(norms.get(), want[1], rtol=1e-6)
    assert cp.fuse(lambda a: a * 2)(np.ones(2)).tolist() == [2.0, 2.0]  # host arguments only: plain NumPy
    assert cp.fuse(lambda a, b: None)(p, 1) is None


def test_fuse_in_place_operators_write_into_the_callers_array(cp):
    """In-place operators and ``[...] =`` on an array argument write back, as a fused kernel does;
    a function that raises leaves the arguments as they were (the kernel never ran)."""
    @cp.fuse
    def adam_like(param, m, grad, lr):
        m *= 0.9
        m += 0.1 * grad
        param -= lr * m
        m[...] = cp.where(m > 1, 1.0, m)

    param, m, grad = cp.ones((2, 3)), cp.zeros((2, 3)), cp.full((2, 3), 20.0)
    cp._fake_reset_counts()
    assert adam_like(param, m, grad, 0.5) is None
    assert cp._fake_reset_counts()["kernels"] == 1
    np.testing.assert_array_equal(m.get(), np.ones((2, 3)))
    np.testing.assert_array_equal(param.get(), np.full((2, 3), 0.0))

    @cp.fuse
    def fails_late(x):
        x += 1
        return x.shape

    x = cp.zeros(3)
    with pytest.raises(NotImplementedError, match="`shape` is not supported"):
        fails_late(x)
    assert x.get().tolist() == [0.0, 0.0, 0.0]


def test_fuse_refuses_what_cupy_fusion_refuses(cp):
    """The proxies allow only what CuPy's ``_ArrayProxy``/``_ScalarProxy`` allow, so code that runs
    here runs under a real ``cupy.fuse``."""
    x, closure, host = cp.ones((2, 3)), cp.ones((2, 3)), np.ones((2, 3))

    def refuses(body, error, match=None, *args):
        with pytest.raises(error, match=match):
            cp.fuse(body)(x, 2.0, *args)

    refuses(lambda a, s: a + host, TypeError)  # no host arrays inside either
    with pytest.raises(TypeError, match="Unsupported input type"):
        cp.fuse(lambda a, b: a + b)(x, host)
    refuses(lambda a, s: a + closure, TypeError, "Concrete ndarray is not supported in fusion")
    refuses(lambda a, s: cp.exp(closure), TypeError, "Concrete ndarray")
    refuses(lambda a, s: np.tanh(a), TypeError)
    refuses(lambda a, s: np.where(a > 0, a, 0), TypeError)
    for fn in (lambda a, s: cp.matmul(a, a), lambda a, s: cp.concatenate([a, a]), lambda a, s: cp.zeros_like(a),
               lambda a, s: cp.asarray(a), lambda a, s: cp.add.reduce(a)):
        refuses(fn, TypeError, "not supported in cupy.fuse")
    for fn in (lambda a, s: a @ a, lambda a, s: abs(a), lambda a, s: 2 ** a, lambda a, s: len(a)):
        refuses(fn, TypeError)  # CuPy's proxies lack these operators
    refuses(lambda a, s: a.reshape(6), AttributeError)
    for fn in (lambda a, s: bool(a > 0), lambda a, s: float(a.sum()), lambda a, s: int(s)):
        refuses(fn, TypeError, "Cannot convert to Python scalar in cupy.fuse")
    refuses(lambda a, s: a.shape, NotImplementedError, "`shape` is not supported, currently.")
    refuses(lambda a, s: a.sum(axis=0, keepdims=True), NotImplementedError, "keepdims is not supported.")
    refuses(lambda a, s: s.sum(), NotImplementedError, "Reduction for scalar arguments")
    refuses(lambda a, s: a[0:1], NotImplementedError, "full range")
    refuses(lambda a, s: a[[0]], IndexError)
    refuses(lambda a, s: a.__setitem__(0, s), ValueError, "The fusion supports `\\[...\\]` or `\\[:\\]`.")
    refuses(lambda a, s: s, ValueError, "return value")  # an argument scalar is not an array result
    refuses(lambda a, s: (a, 1.0), ValueError, "return value")


def test_fuse_allows_what_cupy_fusion_allows(cp):
    """Operators (reflected too), ``cupy`` ufuncs with ``out``, the fusable functions, reductions,
    ``astype``/``copy`` and basic indexing all work on the proxies."""
    host = np.arange(6, dtype=np.float32).reshape(2, 3)

    def body(a, s):
        return _fusable_body(cp, a, s)

    got = cp.fuse(body)(cp.asarray(host), np.float32(2))
    want = _fusable_body(np, host, np.float32(2))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert type(g) is cp.ndarray and g.dtype == np.asarray(w).dtype
        np.testing.assert_array_equal(g.get(), w)
    assert cp.get_array_module(*got) is cp


def _fusable_body(xp, a, s):
    """``test_fuse_allows_what_cupy_fusion_allows``'s body, for ``xp`` = the fake CuPy (traced on
    its proxies) or NumPy (the expected values)."""
    b = (2 - a) / s + 1 % (a + 1) - (-a) * a ** 2 + (a > 1) + (~(a < 3))
    xp.multiply(b, 0.5, b)
    xp.add(b, 1, out=b)
    c = xp.clip(b, -10, 10).astype(np.float64) + a.copy()[::-1][None, 0, ...]
    d = xp.where(a >= 1, xp.sqrt(a), 0) + xp.sum(a, axis=1)[:, None] + xp.amax(a) + a.min() + a.prod()
    return c, d, (a > 0).all(axis=0), xp.any(a > 4), a.sum(dtype=np.float64)


def test_on_the_device_the_loss_is_read_after_backward_is_queued(cp, monkeypatch):
    """Reading the loss makes a GPU finish the forward pass; on the device fit reads it after
    queueing backward (nothing is folded there, so backward leaves the weights alone), and a
    non-finite loss still skips the update, keeping the last finite weights."""
    from threestep import layers as L
    from threestep.autograd import Tensor
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        model = Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(1)])
        model.compile(loss="mse", optimizer=SGD(0.1))
        x, y = np.ones((8, 3), np.float32), np.ones(8, np.float32)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        order = []
        real_backward, real_float = Tensor.backward, cp.ndarray.__float__
        monkeypatch.setattr(Tensor, "backward", lambda self, *a, **k: order.append("backward") or real_backward(self, *a, **k))
        monkeypatch.setattr(cp.ndarray, "__float__", lambda self: order.append("read") or real_float(self))
        model.fit(x, y, batch_size=8, epochs=1, verbose=0)
        assert order[:2] == ["backward", "read"], order
        model.compile(loss="mse", optimizer=SGD(1e8))  # diverges: the loss overflows within a few steps
        with np.errstate(all="ignore"), pytest.warns(RuntimeWarning, match=r"the loss is (nan|inf)"):
            model.fit(x, np.full(8, 1e3, np.float32), batch_size=2, epochs=5, verbose=0)
        assert all(np.isfinite(w).all() for w in model.get_weights())  # the last finite weights kept
        assert all(w.grad is None for w in model.trainable_weights)
    finally:
        backend.set_backend(previous)


@pytest.mark.parametrize("layer", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_a_recurrent_training_step_moves_nothing_but_the_loss_between_host_and_device(cp, layer, return_sequences):
    """A copy from host memory waits for the device on CUDA (a pageable source) and so does a read:
    one training step of data already on the device reads the loss and nothing else. The gate
    blocks are reordered by stacking views (a list index would be a host->device copy), and
    backward learns from the engine (``zero_grads``) which step outputs no one used instead of
    reading them; a used sequence output counts as live at every step on the device."""
    from threestep import layers as L
    from threestep.models import Sequential

    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        backend.set_seed(0)
        stack = [getattr(L, layer)(6, input_shape=(5, 3), return_sequences=return_sequences)]
        if return_sequences:
            stack.append(L.Flatten())
        model = Sequential(stack + [L.Dense(2, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
        r = np.random.default_rng(0)
        x = backend.on_device(r.standard_normal((12, 5, 3)).astype(np.float32))
        y = backend.on_device(r.integers(0, 2, 12))
        model.fit(x, y, batch_size=4, epochs=1, verbose=0)  # warm-up
        counts = []
        for n in (4, 12):  # one step, then three: the difference is two steps without fit's input checks
            cp._fake_reset_counts()
            model.fit(x[:n], y[:n], batch_size=4, epochs=1, verbose=0, shuffle=False)
            counts.append(cp._fake_reset_counts())
        assert (counts[1]["h2d"] - counts[0]["h2d"], counts[1]["d2h"] - counts[0]["d2h"]) == (0, 2), counts
    finally:
        backend.set_backend(previous)


def test_the_engine_tells_backward_which_outputs_no_one_used():
    from threestep.autograd import Function, Tensor

    seen = []

    class Two(Function):
        def forward(self, x):
            return x * 2, x * 3

        def backward(self, g2, g3):
            seen.append(self.zero_grads)
            return g2 * 2 + g3 * 3

    x = Tensor(backend.on_device(np.ones(3)), requires_grad=True)
    a, _ = Two()(x)
    a.sum().backward()
    assert seen == [frozenset({1})] and np.array_equal(backend.to_numpy(x.grad), np.full(3, 2.0))
    a, b = Two()(Tensor(backend.on_device(np.ones(3)), requires_grad=True))
    (a + b).sum().backward()
    assert seen[1] == frozenset()


def _per_step_transfers(cp, make_model, x, y):
    """Host<->device copies of two training steps on the device (data already there): fit over three
    batches minus fit over one, so fit's once-per-call input checks cancel out; plus the weights
    (on the NumPy backend: the same fits, no copies, the reference weights)."""
    backend.set_seed(0)
    model = make_model()
    xd, yd = backend.on_device(x), backend.on_device(y)
    model.fit(xd, yd, batch_size=4, epochs=1, verbose=0, shuffle=False)  # warm-up: slots, caches
    counts = []
    for n in (4, 12):
        cp._fake_reset_counts()
        model.fit(xd[:n], yd[:n], batch_size=4, epochs=1, verbose=0, shuffle=False)
        counts.append(cp._fake_reset_counts())
    return {k: counts[1][k] - counts[0][k] for k in ("h2d", "d2h")}, model.get_weights()


@pytest.mark.parametrize("recipe", ["clipnorm", "global_clipnorm", "l2", "embedding-bidirectional"])
def test_a_training_step_reads_only_what_it_must_from_the_device(cp, recipe):
    """Gradient clipping keeps its scale min(1, limit / norm) on the device, a regularizer's Python
    scalar becomes a fill instead of a host->device copy, a concatenation's backward splits at host
    ints, and Embedding checks its ids in one read: per step the loss is read (and Embedding's
    check), nothing is copied in, and the weights are NumPy's."""
    from threestep import layers as L
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    r = np.random.default_rng(0)
    y = r.integers(0, 3, 12)
    if recipe == "embedding-bidirectional":
        x = r.integers(1, 30, (12, 5))

        def make_model():
            model = Sequential([L.Embedding(30, 4, input_length=5), L.Bidirectional(L.LSTM(3)),
                                L.Dense(3, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd")
            return model
        reads = 2
    else:
        x = r.standard_normal((12, 6)).astype(np.float32) * 5
        clip = {"clipnorm": {"clipnorm": 0.05}, "global_clipnorm": {"global_clipnorm": 0.05}}.get(recipe, {})
        reg = "l2" if recipe == "l2" else None

        def make_model(clip=clip):
            model = Sequential([L.Dense(5, activation="tanh", input_dim=6, kernel_regularizer=reg),
                                L.Dense(3, activation="softmax")])
            model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.05, **clip))
            return model
        reads = 1
    previous = backend.backend_name()
    try:
        backend.set_backend("numpy")  # the same steps on NumPy, for the weights
        want = _per_step_transfers(cp, make_model, x, y)[1]
        unclipped = _per_step_transfers(cp, lambda: make_model({}), x, y)[1] if "clip" in recipe else want
        backend.set_backend("cupy")
        moved, got = _per_step_transfers(cp, make_model, x, y)
    finally:
        backend.set_backend(previous)
    assert moved == {"h2d": 0, "d2h": 2 * reads}, moved
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-5)
    if "clip" in recipe:  # the clipping acted
        assert max(np.abs(w - u).max() for w, u in zip(want, unclipped)) > 1e-2


def _fit_transfers(cp, x, y, epochs, **fit_kwargs):
    from threestep import layers as L
    from threestep.models import Sequential

    backend.set_seed(0)
    model = Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(2, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    cp._fake_reset_counts()
    model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, **fit_kwargs)
    return cp._fake_reset_counts()["h2d"], model.get_weights()


def test_fit_moves_in_memory_training_data_to_the_device_once(cp, monkeypatch):
    """On the GPU a host-to-device copy from ordinary (pageable) memory waits for the device, so
    fit copies x, y and the sample weights once, then the validation data while the budget
    (1 GiB and a quarter of the free device memory, or THREESTEP_DEVICE_DATA_MB) lasts, and each
    epoch's shuffled order once; the batches are gathers on the device. The run is NumPy's,
    batch for batch. Over the budget every batch is copied as before."""
    from threestep.errors import ConfigError

    r = np.random.default_rng(0)
    x, y = r.standard_normal((20, 3)).astype(np.float32), np.arange(20) % 2  # balanced: no label-shift hint
    w = r.random(20).astype(np.float32)
    fit = {"sample_weight": w, "validation_split": 0.2}

    def per_epoch():  # copies of an epoch: fit for 3 epochs minus fit for 1, over 2
        counts = [_fit_transfers(cp, x, y, epochs, **fit)[0] for epochs in (1, 3)]
        return (counts[1] - counts[0]) / 2
    previous = backend.backend_name()
    try:
        backend.set_backend("numpy")
        _, want = _fit_transfers(cp, x, y, 3, **fit)
        backend.set_backend("cupy")
        everything = per_epoch()
        _, got = _fit_transfers(cp, x, y, 3, **fit)
        train_bytes = 16 * (3 * 4 + 8 + 4)  # x float32, y int64, w float32: 16 training samples
        monkeypatch.setenv("THREESTEP_DEVICE_DATA_MB", str((train_bytes + 10) / 2**20))
        training_only = per_epoch()
        monkeypatch.setenv("THREESTEP_DEVICE_DATA_MB", "0")
        per_batch = per_epoch()
        monkeypatch.delenv("THREESTEP_DEVICE_DATA_MB")
        monkeypatch.setattr(cp.cuda.runtime, "memGetInfo", lambda: (4 * train_bytes, 80 << 30))
        nearly_full = per_epoch()  # a quarter of the free memory holds only the training data
        monkeypatch.setenv("THREESTEP_DEVICE_DATA_MB", "lots")
        with pytest.raises(ConfigError, match="THREESTEP_DEVICE_DATA_MB must be a number of megabytes"):
            _fit_transfers(cp, x, y, 1)
    finally:
        backend.set_backend(previous)
    assert everything == 1  # the epoch's order
    assert training_only == nearly_full == 1 + 3  # and the validation batch's x, y and w
    assert per_batch == 3 * 4 + 3  # x, y and w of each of 4 training batches and of the validation batch
    for g, v in zip(got, want):
        np.testing.assert_allclose(g, v, rtol=1e-5, atol=1e-6)


def test_metrics_and_validation_loss_are_summed_on_the_device_and_read_once(cp):
    """With metrics and validation, a training step still reads only its loss: the metric sums and
    the validation loss stay on the device until the epoch's logs read them. History matches NumPy's."""
    from threestep import layers as L
    from threestep.models import Sequential

    r = np.random.default_rng(1)
    x, y = r.standard_normal((40, 3)).astype(np.float32), np.arange(40) % 2

    def run(epochs):
        backend.set_seed(0)
        model = Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(2, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        cp._fake_reset_counts()
        history = model.fit(x, y, batch_size=4, epochs=epochs, verbose=0, validation_split=0.2, seed=0).history
        return cp._fake_reset_counts()["d2h"], history, model.evaluate(x, y, batch_size=4, verbose=0)
    previous = backend.backend_name()
    try:
        backend.set_backend("numpy")
        _, want, want_eval = run(3)
        backend.set_backend("cupy")
        (one, _, _), (three, got, got_eval) = run(1), run(3)
    finally:
        backend.set_backend(previous)
    # per epoch: 8 loss reads, then the epoch's logs: accuracy, val loss, val accuracy
    assert (three - one) / 2 == 8 + 3
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-5, err_msg=key)
    np.testing.assert_allclose(got_eval, want_eval, rtol=1e-5)


def test_evaluate_and_predict_copy_in_once_and_read_once(cp):
    """evaluate and predict copy their inputs to the device once (under the same budget as fit);
    evaluate reads its loss and metrics at the end unless a callback shows them after every batch;
    predict concatenates the outputs on the device and copies the result to the host once."""
    from threestep import layers as L
    from threestep.callbacks.base import Callback
    from threestep.models import Sequential

    class TestBatches(Callback):
        def __init__(self):
            super().__init__()
            self.logs = []

        def on_test_batch_end(self, batch, logs=None):
            self.logs.append(dict(logs))

    r = np.random.default_rng(2)
    x, y = r.standard_normal((40, 3)).astype(np.float32), np.arange(40) % 2

    def run():
        backend.set_seed(0)
        model = Sequential([L.Dense(4, activation="relu", input_dim=3), L.Dense(2, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, seed=0)
        results = {}
        for name, call in (("evaluate", lambda: model.evaluate(x, y, batch_size=4, verbose=0)),
                           ("predict", lambda: model.predict(x, batch_size=4))):
            cp._fake_reset_counts()
            results[name] = call(), cp._fake_reset_counts()
        spy = TestBatches()
        cp._fake_reset_counts()
        results["watched"] = model.evaluate(x, y, batch_size=4, verbose=0, callbacks=[spy]), cp._fake_reset_counts()
        return results, spy.logs
    previous = backend.backend_name()
    try:
        backend.set_backend("numpy")
        want, want_logs = run()
        backend.set_backend("cupy")
        got, got_logs = run()
    finally:
        backend.set_backend(previous)
    for name in want:
        np.testing.assert_allclose(got[name][0], want[name][0], rtol=1e-5, atol=1e-7, err_msg=name)
    assert type(got["predict"][0]) is np.ndarray
    assert got["predict"][1]["h2d"] == 1 and got["predict"][1]["d2h"] == 1  # x in, the predictions out
    evaluate = got["evaluate"][1]
    assert (evaluate["h2d"], evaluate["d2h"]) == (2, 2)  # x and y in; the loss and the accuracy out
    assert got["watched"][1]["d2h"] >= 2 * 10  # loss and accuracy after each of the 10 batches
    assert len(got_logs) == 10 and got_logs[-1].keys() == {"loss", "accuracy"}
    np.testing.assert_allclose([d["loss"] for d in got_logs], [d["loss"] for d in want_logs], rtol=1e-5)


def test_fit_with_inputs_already_on_the_device_copies_the_host_labels_once(cp):
    """x moved by the user (``backend.on_device`` / ``cupy.asarray``) with labels still on the
    host: fit copies the labels once, so the batches are device gathers and a step copies nothing."""
    r = np.random.default_rng(3)
    x, y = r.standard_normal((20, 3)).astype(np.float32), np.arange(20) % 2
    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
        xd = backend.on_device(x)
        counts = [_fit_transfers(cp, xd, y, epochs)[0] for epochs in (1, 3)]
    finally:
        backend.set_backend(previous)
    assert (counts[1] - counts[0]) / 2 == 1, counts  # per epoch: its shuffled order only


@pytest.mark.parametrize("label_dtype, classes", [(np.int64, 10), (np.int32, 10), (np.uint8, 300)])
def test_the_mean_cross_entropy_on_the_device_in_four_launches_with_any_integer_labels(cp, label_dtype, classes):
    """The plain loss (softmax + sparse CE + batch mean, one node) on CuPy: the row maxima and two
    fused reductions forward (``fused.exp_sum``, ``fused.ce_mean``: no gather, no per-sample
    losses); one chain backward against cached class indices. Integer labels are used as they
    come (uint8 labels with 300 classes still give the right one-hot); the numbers are NumPy's."""
    from threestep import ops
    from threestep.autograd import Tensor

    r = np.random.default_rng(7)
    logits = r.standard_normal((12, classes)).astype(np.float32)
    labels = r.integers(0, min(classes, 256), 12).astype(label_dtype)
    labels[0] = min(classes, 256) - 1  # a label above 255 - 44 would wrap if uint8 classes were compared
    previous = backend.backend_name()
    results = {}
    try:
        for name in ("numpy", "cupy"):
            backend.set_backend(name)
            for _ in range(2):  # the second round counts: the first makes the class indices
                z = Tensor(backend.on_device(logits), requires_grad=True)
                y = backend.on_device(labels)
                cp._fake_reset_counts()
                loss = ops.softmax_cross_entropy(z, y, reduction="mean")
                forward = cp._fake_reset_counts()
                loss.backward()
                backward = cp._fake_reset_counts()
            results[name] = (float(backend.to_numpy(loss.data)), backend.to_numpy(z.grad), forward, backward)
    finally:
        backend.set_backend(previous)
    z64 = logits.astype(np.float64)
    p = np.exp(z64 - z64.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    rows = np.arange(12)
    want_loss = -np.log(p[rows, labels.astype(np.int64)]).mean()
    want_grad = p.copy()
    want_grad[rows, labels.astype(np.int64)] -= 1
    want_grad /= 12
    for name in ("numpy", "cupy"):
        got_loss, got_grad = results[name][:2]
        np.testing.assert_allclose(got_loss, want_loss, rtol=1e-5, err_msg=name)
        np.testing.assert_allclose(got_grad, want_grad, rtol=1e-4, atol=1e-6, err_msg=name)
    forward, backward = results["cupy"][2:]
    assert (forward["kernels"], forward["h2d"], forward["d2h"]) == (3, 0, 0)
    assert (backward["kernels"], backward["h2d"], backward["d2h"]) == (2, 0, 0)  # the seed's fill and ce_grad
