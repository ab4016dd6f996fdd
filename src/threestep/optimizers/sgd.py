"""Stochastic gradient descent, with optional (Nesterov) momentum."""
from ..errors import ConfigError
from ..accel import blas, fused, kernels
from .base import Optimizer

# Below this many elements (a bias, a small kernel) one core's Numba pass is quicker than the
# BLAS call and leaves too little to matter in another core's cache.
_BLAS_MIN = 1 << 14
_FLUSH_EVERY = 8  # steps between passes that set a velocity's subnormal entries to 0 (fold_matmul)


class SGD(Optimizer):
    """``w <- w - lr * dL/dw``; with momentum, the lecture's "movement" v (Keras 2.3 formula):

    v <- momentum * v - lr * g;  w <- w + v   (Nesterov: w <- w + momentum * v - lr * g).

    Args:
        learning_rate: step size eta (Keras 2 default 0.01), a float or a schedule.
        momentum: in [0, 1]; 0 is plain gradient descent.
        nesterov: use Nesterov momentum.
        decay, clipnorm, clipvalue, global_clipnorm, lr: see ``Optimizer``.

    PyTorch: ``torch.optim.SGD(lr, momentum, nesterov)`` (dampening 0) follows the same
    trajectory while the learning rate is constant: torch keeps ``b = momentum * b + g``
    and steps ``w -= lr * b`` (Nesterov: ``w -= lr * (g + momentum * b)``), i.e. ``v = -lr * b``.
    When the rate changes (schedule, ``decay``) Keras's v carries the old rates and torch's b
    does not, so the two drift apart; plain SGD agrees under any schedule.

    Example:
        >>> opt = SGD(learning_rate=0.1, momentum=0.9)
    """

    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False, name="SGD", **kwargs):
        super().__init__(learning_rate, name=name, **kwargs)
        if not 0 <= momentum < 1 + 1e-12:
            raise ConfigError(f"SGD: momentum must be in [0, 1]. Received: momentum={momentum}.")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)
        self._slot_names = ("momentum",) if self.momentum else ()

    def fold_matmul(self, index, param, a, b, lr):
        """The step for the gradient ``a.T @ b`` inside that GEMM (float32 NumPy with OpenBLAS,
        ``accel.blas.gemm_update_``): plain SGD as ``w = w - lr * a.T @ b``; momentum as ``v =
        momentum * v - lr * a.T @ b``, then ``w += v``. Not with Nesterov (its step needs the
        gradient again) or clipping (it needs the gradient first)."""
        if self.nesterov or self.clipvalue is not None or self.clipnorm is not None:
            return False
        if not self.momentum:
            return blas.gemm_update_(param, a, b, -lr, 1.0)
        v = self.slots["momentum"][index]
        if not blas.gemm_update_(v, a, b, -lr, self.momentum):
            return False
        # v is kept free of subnormal numbers, which the next GEMM would read slowly (accel.kernels):
        # in the pass w += v, or, where that pass runs on BLAS's threads, in one of its own every
        # _FLUSH_EVERY steps (a velocity stays subnormal for ~150 steps before it underflows to 0)
        if self._threaded_blas and param.size >= _BLAS_MIN and blas.axpy_(param, v, 1.0):
            if self.iterations % _FLUSH_EVERY == 0:
                kernels.flush_(v)
        elif not kernels.add_flush_(param, v):
            self._add_(param, v, 1.0)
        return True

    def _add_(self, param, x, alpha):
        """param += alpha * x: BLAS's axpy on NumPy's own thread pool for large float32 arrays
        (accel.blas says why), else one Numba pass, else NumPy."""
        if self._threaded_blas and param.size >= _BLAS_MIN and blas.axpy_(param, x, alpha):
            return
        if not kernels.sgd_(param, x, -alpha):
            fused.add_scaled_(param, x, alpha)  # NumPy/CuPy: one fused kernel on CuPy (accel.fused)

    def update_step(self, index, param, grad, lr):
        if not self.momentum:
            self._add_(param, grad, -lr)
            return
        v = self.slots["momentum"][index]
        if kernels.sgd_(param, grad, lr, v, self.momentum, self.nesterov):
            return  # float32 on NumPy: the same update in one Numba pass (accel.kernels)
        fused.sgd_momentum_(param, grad, v, lr, self.momentum, nesterov=self.nesterov)

    def get_config(self):
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}
