import numpy as np
import pytest

import threestep  # noqa: F401  (installs Tensor operators)


@pytest.fixture
def rng():
    """A freshly seeded NumPy generator per test: inputs are reproducible and order-independent."""
    return np.random.default_rng(0)


def pytest_report_header(config):
    """Name the array backend, so a `THREESTEP_BACKEND=cupy pytest` run says that it ran on the GPU."""
    from threestep import backend

    return f"threestep backend: {backend.backend_name()} (set THREESTEP_BACKEND=cupy to run the suite on a GPU)"
