import numpy as np
import pytest

import threestep  # noqa: F401  (installs Tensor operators)


@pytest.fixture
def rng():
    """A freshly seeded NumPy generator per test: inputs are reproducible and order-independent."""
    return np.random.default_rng(0)
