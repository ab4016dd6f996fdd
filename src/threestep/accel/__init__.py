"""The performance machinery behind one door: Numba kernels, BLAS calls, thread splitting and
CuPy fused chains.

``ops`` and ``optimizers`` keep their readable reference math and call in here for speed;
this room imports nothing of threestep but ``backend``. Every function either serves a
call (and says so) or declines, and the caller's reference code runs.

* ``kernels`` -- float32 NumPy kernels compiled with Numba (imported on first use).
* ``blas`` -- NumPy's own OpenBLAS called directly: axpy, and the dW GEMM with an
  optimizer's update folded in (``gemm_update_``).
* ``threads`` -- row-parallel time loops for the recurrent ops, the BLAS thread pool, and the
  governor that ``fit`` and ``predict`` use to pick its size step by step (``Governor``).
* ``fused`` -- elementwise chains written once: one kernel on CuPy, NumPy expressions elsewhere.
* ``switches`` -- the ``THREESTEP_*`` environment switches, read once.
* ``dispatch`` -- the fast routes of the layer-sized ops, one function each (Linear's bias and
  ReLU, the softmax cross-entropy), choosing Numba, CuPy or NumPy.
"""
