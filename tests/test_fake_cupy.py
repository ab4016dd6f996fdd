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
