"""The backend switch and device moves, on a machine without a GPU.

Real CuPy is not needed: the strict CuPy stand-in of the tests (tests/fakecupy, conftest's
``fake_cupy``) lets the very code paths that run under CuPy run here: backend selection,
host -> device moves at ``Tensor`` / ``Function`` / ``backward``, ``model.to``, ``fit`` on
NumPy data, and ``predict`` handing back NumPy. It does not check that CuPy kernels compute
correctly (a GPU run of the whole suite with ``THREESTEP_BACKEND=cupy`` does that).
"""
import sys

import numpy as np
import pytest

from threestep import backend
from threestep.autograd import Function, Tensor
from threestep.errors import BackendError, ConfigError


@pytest.fixture
def fake_gpu(fake_cupy):
    """The 'cupy' backend on the stand-in module; back to NumPy afterwards."""
    backend.set_backend("cupy")
    yield fake_cupy
    backend.set_backend("numpy")


@pytest.fixture
def from_cpu():
    """Start on NumPy even in a CuPy run of the suite (conftest puts the session's backend back)."""
    backend.set_backend("numpy")


def _on_gpu(a):
    return type(a).__module__.startswith("cupy")


def test_cupy_missing_gives_install_hint(monkeypatch, from_cpu):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy -> ImportError
    with pytest.raises(BackendError, match=r"pip install cupy-cuda12x"):
        backend.set_backend("cupy")
    assert backend.backend_name() == "numpy"  # a failed switch leaves the backend alone


def test_cupy_without_gpu_says_so(monkeypatch, fake_cupy):
    def no_device():
        raise RuntimeError("cudaErrorNoDevice: no CUDA-capable device is detected")

    monkeypatch.setattr(fake_cupy.cuda.runtime, "getDeviceCount", no_device)
    with pytest.raises(BackendError, match="no usable CUDA GPU"):
        backend.set_backend("cupy")


def test_env_variable_selects_backend_at_import(monkeypatch):
    import subprocess

    done = subprocess.run([sys.executable, "-c", "import threestep"], capture_output=True, text=True,
                          env={**__import__("os").environ, "THREESTEP_BACKEND": "tpu"})
    assert done.returncode != 0 and "Unknown backend 'tpu'" in done.stderr


def test_device_names():
    assert backend.device_backend("cpu") == "numpy" and backend.device_backend("GPU") == "cupy"
    assert backend.device_backend("cuda") == "cupy"
    with pytest.raises(ConfigError, match="Valid devices: 'cpu'"):
        backend.device_backend("tpu")


def test_host_arrays_move_to_the_device(fake_gpu):
    t = Tensor(np.ones((2, 3), np.float32))
    assert _on_gpu(t.data)
    assert type(t.numpy()) is np.ndarray and type(backend.to_numpy(t.data)) is np.ndarray

    class Double(Function):
        def forward(self, x):
            return x * 2

        def backward(self, gy):
            return gy * 2

    x = Tensor(np.arange(3.0), requires_grad=True)
    y = Double()(np.ones(3))  # a NumPy input straight into a Function
    assert _on_gpu(y.data)
    y = Double()(x)
    y.backward(np.ones(3))  # a NumPy upstream gradient
    assert _on_gpu(x.grad)
    np.testing.assert_array_equal(backend.to_numpy(x.grad), [2.0, 2.0, 2.0])


def _model():
    from threestep.layers import Dense
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    backend.set_seed(0)
    model = Sequential([Dense(8, activation="relu", input_dim=4), Dense(3, activation="softmax")])
    model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(0.1, momentum=0.9))
    return model


def test_model_to_gpu_and_back_moves_weights_and_optimizer_state(fake_cupy, from_cpu):
    rng = np.random.default_rng(0)
    x, y = rng.random((32, 4), dtype=np.float32), rng.integers(0, 3, 32)
    model = _model()
    model.fit(x, y, batch_size=8, epochs=1, verbose=0)
    before = [w.copy() for w in model.get_weights()]
    momenta = [a.copy() for a in model.optimizer.slots["momentum"]]
    assert model.device == "cpu"
    try:
        assert model.to("gpu") is model and backend.backend_name() == "cupy" and model.device == "gpu"
        assert all(_on_gpu(w.data) for w in model.weights)
        assert all(_on_gpu(a) for a in model.optimizer.slots["momentum"])
        for a, b in zip(model.get_weights(), before):  # same values, now on the device
            np.testing.assert_array_equal(a, b)
        model.fit(x, y, batch_size=8, epochs=1, verbose=0, shuffle=False)  # NumPy data, moved per batch
        assert all(_on_gpu(w.data) for w in model.weights)
        probs = model.predict(x, batch_size=8)
        assert type(probs) is np.ndarray and probs.shape == (32, 3)
        on_device = model.predict(x, batch_size=8, return_device_array=True)
        assert _on_gpu(on_device)
        np.testing.assert_allclose(backend.to_numpy(on_device), probs)
        model.evaluate(x, y, verbose=0)
    finally:
        model.to("cpu")
    assert backend.backend_name() == "numpy" and model.device == "cpu"
    assert all(type(w.data) is np.ndarray for w in model.weights)
    assert all(type(a) is np.ndarray for a in model.optimizer.slots["momentum"])
    assert any(not np.array_equal(a, b) for a, b in zip(model.optimizer.slots["momentum"], momenta))


def test_model_to_gpu_without_cupy_raises_install_hint(monkeypatch, from_cpu):
    model = _model()
    model.build((None, 4))
    monkeypatch.setitem(sys.modules, "cupy", None)
    with pytest.raises(BackendError, match="cupy-cuda12x"):
        model.to("gpu")
    assert model.device == "cpu"
    with pytest.raises(ConfigError, match="Unknown device"):
        model.to("tpu")


def test_benchmark_gpu_runners_use_the_device_path(fake_gpu):
    """The suite's ``--device gpu`` threestep runner: model on the device, NumPy in and out."""
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from benchmarks.workloads import make_data, threestep_runners

    x, y = make_data("simple_rnn", 16)
    train, infer = threestep_runners("simple_rnn", x, y, 8, device="gpu")
    train()
    probs = infer()
    assert type(probs) is np.ndarray and probs.shape == (16, 10)
    np.testing.assert_allclose(probs.sum(axis=1), 1, rtol=1e-5)
