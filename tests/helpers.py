"""Shared test helpers: a PyTorch oracle, a raise-twin, gradcheck and a fused-vs-simple check.

Every comparison asserts with the shapes and the first bad values (never a bare bool).
"""
import numpy as np
import pytest
import torch

from threestep import backend
from threestep.autograd import Tensor, gradcheck

# Forward and gradient tolerances per dtype (absolute, relative).
TOLERANCES = {
    np.float32: dict(atol=1e-5, rtol=1e-5, grad_atol=1e-4, grad_rtol=1e-4),
    np.float64: dict(atol=1e-10, rtol=1e-9, grad_atol=1e-9, grad_rtol=1e-8),
}


def tolerances(dtype, **overrides):
    tol = dict(TOLERANCES[np.dtype(dtype).type])
    tol.update({k: v for k, v in overrides.items() if v is not None})
    return tol


def assert_close(actual, expected, atol, rtol, what="value"):
    """Like ``np.testing.assert_allclose`` but the message lists the first bad elements.

    Either side may be a device (CuPy) array: both are compared on the host."""
    actual, expected = backend.to_numpy(actual), backend.to_numpy(expected)
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape}, expected {expected.shape}"
    bad = ~np.isclose(actual, expected, atol=atol, rtol=rtol, equal_nan=True)
    if bad.any():
        lines = [
            f"  at {tuple(int(i) for i in ix)}: got {actual[tuple(ix)].item()!r}, expected {expected[tuple(ix)].item()!r}"
            for ix in np.argwhere(bad)[:5]
        ]
        diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
        raise AssertionError(
            f"{what} (shape {actual.shape}, dtype {actual.dtype}): {int(bad.sum())} of {bad.size} "
            f"elements differ beyond atol={atol}, rtol={rtol}; max abs diff {np.nanmax(diff):.3g}; "
            "first:\n" + "\n".join(lines)
        )


def to_host(a):
    """A NumPy copy-free view of ``a`` for NumPy-side checks: device arrays and Tensors come to the host."""
    return backend.to_numpy(getattr(a, "data", a) if isinstance(a, Tensor) else a)


def numpy_only(reason):
    """Skip a test under the CuPy backend (a real GPU or the fake one) for a stated ``reason``."""
    return pytest.mark.skipif(backend.backend_name() == "cupy", reason=f"NumPy backend only: {reason}")


def _is_float(a):
    return isinstance(a, np.ndarray) and a.dtype.kind == "f"


def to_ours(a):
    """A NumPy input as a threestep Tensor (float inputs require grad); others pass through."""
    return Tensor(a.copy(), requires_grad=_is_float(a)) if isinstance(a, np.ndarray) else a


def to_torch(a):
    if not isinstance(a, np.ndarray):
        return a
    t = torch.from_numpy(a.copy())
    return t.requires_grad_() if _is_float(a) else t


def torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def check_against_torch(our_fn, torch_fn, inputs, atol=None, rtol=None, grad_atol=None, grad_rtol=None,
                        seed=0, grad=True):
    """Run ``our_fn`` on threestep Tensors and ``torch_fn`` on torch tensors made from the same
    NumPy ``inputs``; compare forward values and dtype, then backprop the same random upstream
    gradient through both and compare every float input's gradient (value, shape, dtype).

    Tolerances default by the dtype of the first float input (see ``TOLERANCES``).
    Returns (our output, torch output) for extra assertions.
    """
    floats = [a for a in inputs if _is_float(a)]
    tol = tolerances(floats[0].dtype if floats else np.float64, atol=atol, rtol=rtol,
                     grad_atol=grad_atol, grad_rtol=grad_rtol)
    ours_in = [to_ours(a) for a in inputs]
    torch_in = [to_torch(a) for a in inputs]
    out = our_fn(*ours_in)
    expected = torch_fn(*torch_in)
    assert isinstance(out, Tensor), f"our function returned {type(out).__name__}, not a Tensor"
    assert_close(out.numpy(), expected.detach().numpy(), tol["atol"], tol["rtol"], "forward")
    assert out.dtype.name == torch_dtype_name(expected), (
        f"forward dtype {out.dtype}, torch gives {expected.dtype} (inputs: "
        f"{[getattr(a, 'dtype', type(a).__name__) for a in inputs]})")
    if not grad:
        return out, expected
    gy = np.asarray(np.random.default_rng(seed).standard_normal(out.shape), dtype=out.dtype)
    out.backward(gy.copy())
    expected.backward(torch.from_numpy(gy.copy()))
    for i, (a, x, tx) in enumerate(zip(inputs, ours_in, torch_in)):
        if not _is_float(a):
            continue
        want = np.zeros_like(a) if tx.grad is None else tx.grad.numpy()
        got = np.zeros_like(a) if x.grad is None else backend.to_numpy(x.grad)
        assert got.dtype == a.dtype, f"grad of input {i}: dtype {got.dtype}, input dtype {a.dtype}"
        assert_close(got, want, tol["grad_atol"], tol["grad_rtol"], f"grad of input {i} (shape {a.shape})")
    return out, expected


def check_both_raise(our_fn, torch_fn, inputs, our_exc=Exception, torch_exc=Exception, match=None):
    """Both libraries reject the same inputs; ours with ``our_exc`` (and message ``match``)."""
    with pytest.raises(torch_exc):
        torch_fn(*[to_torch(a) for a in inputs])
    with pytest.raises(our_exc, match=match):
        our_fn(*[to_ours(a) for a in inputs])


def check_gradcheck(fn, inputs, **kwargs):
    """``threestep.autograd.gradcheck`` in float64; it raises GradientError with details on failure."""
    assert gradcheck(fn, inputs, **kwargs) is True


def check_same(fn_a, fn_b, inputs, atol=None, rtol=None, grad_atol=None, grad_rtol=None, seed=0):
    """Two threestep implementations (a fused op and its ``*_simple`` twin) agree on values and grads."""
    floats = [a for a in inputs if _is_float(a)]
    tol = tolerances(floats[0].dtype, atol=atol, rtol=rtol, grad_atol=grad_atol, grad_rtol=grad_rtol)
    a_in, b_in = [to_ours(a) for a in inputs], [to_ours(a) for a in inputs]
    ya, yb = fn_a(*a_in), fn_b(*b_in)
    assert ya.dtype == yb.dtype, f"dtypes differ: {ya.dtype} vs {yb.dtype}"
    assert_close(ya.data, yb.data, tol["atol"], tol["rtol"], "forward")
    gy = np.asarray(np.random.default_rng(seed).standard_normal(ya.shape), dtype=ya.dtype)
    ya.backward(gy.copy())
    yb.backward(gy.copy())
    for i, (a, xa, xb) in enumerate(zip(inputs, a_in, b_in)):
        if _is_float(a):
            assert xa.grad is not None and xb.grad is not None, f"input {i} got no gradient"
            assert_close(xa.grad, xb.grad, tol["grad_atol"], tol["grad_rtol"], f"grad of input {i}")


EXAMPLES = __import__("pathlib").Path(__file__).resolve().parent.parent / "examples"


def load_example(name):
    """Import ``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    import importlib.util  # noqa: PLC0415

    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
