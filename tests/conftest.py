import importlib
import os
import sys
from pathlib import Path

import numpy as np
import pytest

FAKE_CUPY_DIR = Path(__file__).resolve().parent / "fakecupy"
if os.environ.get("THREESTEP_FAKE_CUPY") == "1":
    # A strict CuPy stand-in (tests/fakecupy/cupy) runs the CuPy code path on a CPU:
    # `THREESTEP_FAKE_CUPY=1 THREESTEP_BACKEND=cupy pytest`. Subprocesses inherit it via PYTHONPATH.
    sys.path.insert(0, str(FAKE_CUPY_DIR))
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(FAKE_CUPY_DIR), os.environ.get("PYTHONPATH")]))

import threestep  # noqa: E402,F401  (installs Tensor operators)
from threestep import backend as _backend  # noqa: E402


@pytest.fixture(autouse=True)
def _keep_session_backend():
    """A test that switches the backend (a fake GPU, ``model.to``) must not leave later tests on it."""
    state = dict(_backend._state)
    yield
    if _backend._state["xp"] is not state["xp"]:
        _backend._state.update(name=state["name"], xp=state["xp"], rng=state["rng"])


@pytest.fixture
def rng():
    """A freshly seeded NumPy generator per test: inputs are reproducible and order-independent."""
    return np.random.default_rng(0)


def pytest_report_header(config):
    """Name the array backend, so a `THREESTEP_BACKEND=cupy pytest` run says that it ran on the GPU."""
    from threestep import backend

    is_fake = getattr(sys.modules.get("cupy"), "_FAKE", False)
    fake = " (fake CuPy: NumPy behind a strict device-array type)" if is_fake else ""
    return (f"threestep backend: {backend.backend_name()}{fake} (set THREESTEP_BACKEND=cupy to run the suite on a GPU; "
            "THREESTEP_FAKE_CUPY=1 to run the CuPy code path on a CPU)")


def _cupy_modules():
    return [n for n in sys.modules if n == "cupy" or n.startswith("cupy.")]


@pytest.fixture
def fake_cupy(monkeypatch):
    """The strict CuPy stand-in module (tests/fakecupy/cupy), as ``cupy``: the session's own when
    the suite already runs on it; otherwise imported for this test and removed afterwards (a real
    CuPy on a GPU machine comes back)."""
    existing = sys.modules.get("cupy")
    if getattr(existing, "_FAKE", False):
        yield existing
        return
    for name in _cupy_modules():
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.syspath_prepend(str(FAKE_CUPY_DIR))
    module = importlib.import_module("cupy")
    assert module._FAKE
    yield module
    for name in _cupy_modules():
        del sys.modules[name]


@pytest.fixture
def gpu_cupy():
    """The real CuPy on a GPU, as the backend for the test (the previous backend comes back);
    skipped where CuPy is missing, where it is the fake (tests/fakecupy: no CUDA kernels), or
    where it finds no usable GPU. For ``gpu``-marked tests, which CI deselects."""
    from threestep import backend
    from threestep.errors import BackendError

    cupy = pytest.importorskip("cupy")
    if getattr(cupy, "_FAKE", False):
        pytest.skip("the fake CuPy: these tests need a GPU")
    previous = backend.backend_name()
    try:
        backend.set_backend("cupy")
    except BackendError as exc:
        pytest.skip(str(exc))
    yield cupy
    backend.set_backend(previous)
