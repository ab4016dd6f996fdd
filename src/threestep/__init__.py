"""threestep: deep learning in the lecture's three steps.

1. define a set of functions (a network: ``Sequential([Dense(...), ...])``),
2. measure the goodness of a function (a loss: ``compile(loss=...)``),
3. pick the best function (gradient descent with backpropagation: ``fit``).
"""
__version__ = "0.1.0"

from . import backend, errors  # noqa: E402
from .autograd import Tensor, gradcheck, no_grad  # noqa: E402
from . import ops  # noqa: E402  (installs Tensor operators)
