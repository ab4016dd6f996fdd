"""``OpTestCase``: a declarative test of one op, in the spirit of Chainer's ``FunctionTestCase``.

A test class states what the op is; the harness derives the tests:

    class TestExp(OpTestCase):
        shapes = [(3, 4)]
        op = staticmethod(lambda x: ops.exp(x))           # threestep, on Tensors
        expected = staticmethod(np.exp)                     # plain NumPy, on arrays
        torch_op = staticmethod(torch.exp)                  # optional second oracle

Derived tests, for each dtype in ``dtypes``:

- ``test_forward``: the op's value, shape and dtype against ``expected`` (NumPy);
- ``test_backward``: float64 backward against central finite differences along random
  directions, with a random upstream gradient (Chainer's ``check_backward``);
- ``test_against_torch`` (when ``torch_op`` is given): value and every input's gradient
  against PyTorch for the same upstream gradient.

Inputs come from ``generate_inputs(rng, dtype)`` (default: standard normal of ``shapes``,
made positive with ``positive = True``). Points where the op has a kink are dodged by
resampling: ``kinks`` lists the input values to keep at least ``kink_margin`` away from
(for example 0 for relu and abs).
"""
import numpy as np
import torch

from threestep import backend
from threestep.autograd import Tensor, no_grad

TOL = {np.float32: dict(atol=1e-5, rtol=1e-5), np.float64: dict(atol=1e-12, rtol=1e-10)}


class OpTestCase:
    shapes = [(3, 4)]
    dtypes = (np.float32, np.float64)
    positive = False
    kinks = ()
    kink_margin = 1e-3
    op = None
    expected = None
    torch_op = None
    forward_tol = None  # overrides TOL[dtype] for the forward comparison
    grad_tol = dict(atol=1e-7, rtol=1e-5)
    n_directions = 3

    def generate_inputs(self, rng, dtype):
        arrays = []
        for shape in self.shapes:
            a = rng.standard_normal(shape)
            arrays.append((np.abs(a) + 0.5 if self.positive else a).astype(dtype))
        return arrays

    def _inputs(self, dtype, seed=0):
        rng = np.random.default_rng(seed)
        for _ in range(100):
            arrays = self.generate_inputs(rng, dtype)
            if not any(np.any(np.abs(a - k) < self.kink_margin) for a in arrays for k in self.kinks):
                return arrays
        raise AssertionError(f"{type(self).__name__}: no inputs away from the kinks {self.kinks} in 100 draws")

    def _run(self, arrays, requires_grad):
        xs = [Tensor(backend.asarray(a.copy()), requires_grad=requires_grad) for a in arrays]
        return xs, type(self).op(*xs)

    # ------------------------------------------------------------------ derived tests
    def test_forward(self):
        for dtype in self.dtypes:
            arrays = self._inputs(dtype)
            with no_grad():
                _, y = self._run(arrays, requires_grad=False)
            want = np.asarray(type(self).expected(*[a.copy() for a in arrays]))
            got = backend.to_numpy(y.data)
            assert got.shape == want.shape, f"{type(self).__name__} ({np.dtype(dtype).name}): shape {got.shape}, " \
                                            f"NumPy gives {want.shape}"
            assert got.dtype == want.astype(dtype).dtype, \
                f"{type(self).__name__}: computed {got.dtype} from {np.dtype(dtype).name} inputs"
            tol = self.forward_tol or TOL[np.dtype(dtype).type]
            np.testing.assert_allclose(got, want, err_msg=f"{type(self).__name__} forward ({np.dtype(dtype).name})",
                                       **tol)

    def test_backward(self):
        arrays = self._inputs(np.float64, seed=1)
        rng = np.random.default_rng(2)
        xs, y = self._run(arrays, requires_grad=True)
        gy = rng.standard_normal(y.shape)
        y.backward(backend.asarray(gy))

        def objective(values):
            with no_grad():
                _, out = self._run(values, requires_grad=False)
            return float((backend.to_numpy(out.data) * gy).sum())

        for i, x in enumerate(xs):
            assert x.grad is not None, f"{type(self).__name__}: no gradient for input {i}"
            analytic = backend.to_numpy(x.grad)
            assert analytic.shape == arrays[i].shape, \
                f"{type(self).__name__}: gradient of input {i} has shape {analytic.shape}, input {arrays[i].shape}"
            for _ in range(self.n_directions):
                d = rng.standard_normal(arrays[i].shape)
                eps = 1e-6
                plus = [a if j != i else a + eps * d for j, a in enumerate(arrays)]
                minus = [a if j != i else a - eps * d for j, a in enumerate(arrays)]
                numeric = (objective(plus) - objective(minus)) / (2 * eps)
                projected = float((analytic * d).sum())
                tol = self.grad_tol
                assert abs(projected - numeric) <= tol["atol"] + tol["rtol"] * abs(numeric), (
                    f"{type(self).__name__}: gradient of input {i} along a random direction: backward gives "
                    f"{projected:.10g}, finite differences {numeric:.10g}")

    def test_against_torch(self):
        if type(self).torch_op is None:
            return
        arrays = self._inputs(np.float64, seed=3)
        xs, y = self._run(arrays, requires_grad=True)
        ts = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
        ty = type(self).torch_op(*ts)
        np.testing.assert_allclose(backend.to_numpy(y.data), ty.detach().numpy(), atol=1e-12, rtol=1e-10,
                                   err_msg=f"{type(self).__name__}: forward against PyTorch")
        gy = np.random.default_rng(4).standard_normal(y.shape)
        y.backward(backend.asarray(gy))
        ty.backward(torch.from_numpy(gy))
        for i, (x, t) in enumerate(zip(xs, ts)):
            np.testing.assert_allclose(backend.to_numpy(x.grad), t.grad.numpy(), atol=1e-12, rtol=1e-10,
                                       err_msg=f"{type(self).__name__}: gradient of input {i} against PyTorch")
