"""Numerical gradient checking: central finite differences against the backward pass."""
import numpy

from .. import backend
from ..errors import GradientError
from .config import no_grad
from .tensor import Tensor


def _as_float64_leaf(x):
    data = x.data if isinstance(x, Tensor) else backend.asarray(x)
    xp = backend.get_array_module(data)
    if data.dtype.kind == "f":
        # C order: gradcheck perturbs through a flat view, which an F-ordered copy would not give.
        data = data.astype(xp.float64, order="C")
        return Tensor(data, requires_grad=True)
    return Tensor(data)  # integer inputs (indices, labels) get no gradient


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-4, seed=0, n_directions=None):
    """Check the analytic gradient of ``f`` against central finite differences (float64).

    ``f`` maps Tensors to a Tensor. A random upstream gradient ``gy`` makes the test cover
    every output element: we compare ``d<gy, f(x)>/dx`` from backprop with
    ``(<gy, f(x+eps e)> - <gy, f(x-eps e)>) / 2eps`` for every element ``e`` of every
    float input (or, with ``n_directions``, along that many random directions — cheaper
    for large inputs).

    Returns True when all gradients agree; raises ``GradientError`` naming the input, the
    worst element, and both values otherwise (never a silent ``False``).
    """
    inputs = [_as_float64_leaf(x) for x in inputs]
    xp = backend.get_array_module(inputs[0].data)
    rng = numpy.random.default_rng(seed)
    y = f(*inputs)
    gy = xp.asarray(rng.standard_normal(y.shape))
    y.backward(gy)
    analytic = [x.grad for x in inputs]

    def objective():
        with no_grad():
            return float((f(*inputs).data * gy).sum())

    for index, (x, ga) in enumerate(zip(inputs, analytic)):
        if not x.requires_grad:
            continue
        if ga is None:
            raise GradientError(f"gradcheck: input {index} received no gradient (None) from backward.")
        flat = x.data.reshape(-1)
        if n_directions is None:
            numeric = xp.zeros_like(flat)
            for i in range(flat.size):
                old = flat[i].item()
                flat[i] = old + eps
                plus = objective()
                flat[i] = old - eps
                minus = objective()
                flat[i] = old
                numeric[i] = (plus - minus) / (2 * eps)
            numeric = numeric.reshape(x.shape)
            bad = ~(xp.abs(ga - numeric) <= atol + rtol * xp.abs(numeric))  # NaN counts as bad
            if bool(bad.any()):
                pos = tuple(int(i) for i in xp.argwhere(bad)[0])
                raise GradientError(
                    f"gradcheck: gradient of input {index} (shape {x.shape}) disagrees with finite "
                    f"differences in {int(bad.sum())} of {bad.size} elements; first at {pos}: "
                    f"backward gave {float(ga[pos]):.8g}, finite differences {float(numeric[pos]):.8g} "
                    f"(atol={atol}, rtol={rtol})."
                )
        else:
            original = flat.copy()
            for _ in range(n_directions):
                d = xp.asarray(rng.standard_normal(flat.shape))
                flat[...] = original + eps * d
                plus = objective()
                flat[...] = original - eps * d
                minus = objective()
                flat[...] = original
                numeric = (plus - minus) / (2 * eps)
                projected = float((ga.reshape(-1) * d).sum())
                if not abs(projected - numeric) <= atol + rtol * abs(numeric):  # NaN fails too
                    raise GradientError(
                        f"gradcheck: gradient of input {index} (shape {x.shape}) along a random "
                        f"direction: backward gave {projected:.8g}, finite differences {numeric:.8g}."
                    )
    return True
