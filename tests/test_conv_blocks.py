"""A convolution (with or without the max pooling after it) in training split into blocks of
images, one per thread, with the BLAS at one thread (``ops.conv_pool.ConvMaxPool`` and
``ops.conv.Conv`` inside ``fit``'s ``one_blas_thread(rows=k)``): the same outputs and gradients as
the whole batch at once, up to float32 rounding."""
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from threestep import backend
from threestep.accel import kernels, threads
from threestep.autograd import Tensor
from threestep.ops.conv import conv
from threestep.ops.conv_pool import conv_max_pool

# The blocks are the CPU's path: under the CuPy backend the arrays live on the device and the ops
# take their GPU route, which never splits a batch.
cpu_only = pytest.mark.skipif(backend.backend_name() != "numpy", reason="blocks of images are the NumPy backend's path")


def _step(x0, W0, b0, gy0, padding, rows, pooled=True, strides=(1, 1), x_grad=True):
    x, W = Tensor(x0.copy(), requires_grad=x_grad), Tensor(W0.copy(), requires_grad=True)
    b = None if b0 is None else Tensor(b0.copy(), requires_grad=True)
    with threads.one_blas_thread(rows=rows):
        if pooled:
            y = conv_max_pool(x, W, b, strides, padding, (1, 1), True, (2, 2), (2, 2))
        else:
            y = conv(x, W, b, strides=strides, padding=padding, relu=True)
        y.backward(gy0)
    return [y.data, W.grad] + ([x.grad] if x_grad else []) + ([] if b is None else [b.grad])


@cpu_only
@pytest.mark.skipif(not kernels.available(), reason="the pooled convolution's blocks run its Numba kernels")
@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("bias", [True, False])
def test_blocks_of_images_give_the_whole_batchs_outputs_and_gradients(padding, bias, monkeypatch):
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((70, 12, 12, 3)).astype(np.float32)
    W0 = (rng.standard_normal((3, 3, 3, 8)) * 0.3).astype(np.float32)
    b0 = (rng.standard_normal(8) * 0.1).astype(np.float32) if bias else None
    gy0 = rng.standard_normal((70, 6, 6, 8) if padding == "same" else (70, 5, 5, 8)).astype(np.float32)
    parts, run = [], threads.run
    monkeypatch.setattr(threads, "run", lambda fn, blocks: parts.append(len(blocks)) or run(fn, blocks))
    with threadpool_limits(2, user_api="blas"):
        split = _step(x0, W0, b0, gy0, padding, rows=2)
        assert parts == [2, 2]  # forward and backward each ran two blocks of images side by side
        whole = _step(x0, W0, b0, gy0, padding, rows=1)
        assert parts == [2, 2]
    for a, c in zip(split, whole):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5 * float(np.abs(c).max()))


@cpu_only
@pytest.mark.parametrize("padding, strides, x_grad", [("valid", (1, 1), True), ("same", (2, 2), True),
                                                     ("valid", (1, 1), False)])
def test_a_plain_convolution_in_blocks_of_images_gives_the_whole_batchs_results(padding, strides, x_grad, monkeypatch):
    rng = np.random.default_rng(1)
    x0 = rng.standard_normal((70, 11, 11, 3)).astype(np.float32)
    W0 = (rng.standard_normal((3, 3, 3, 8)) * 0.3).astype(np.float32)
    b0 = (rng.standard_normal(8) * 0.1).astype(np.float32)
    out = (6, 6) if strides == (2, 2) else (9, 9)
    gy0 = rng.standard_normal((70,) + out + (8,)).astype(np.float32)
    parts, run = [], threads.run
    monkeypatch.setattr(threads, "run", lambda fn, blocks: parts.append(len(blocks)) or run(fn, blocks))
    with threadpool_limits(2, user_api="blas"):
        split = _step(x0, W0, b0, gy0, padding, 2, pooled=False, strides=strides, x_grad=x_grad)
        assert parts == [2, 2]
        whole = _step(x0, W0, b0, gy0, padding, 1, pooled=False, strides=strides, x_grad=x_grad)
    for a, c in zip(split, whole):
        np.testing.assert_allclose(a, c, rtol=1e-5, atol=1e-5 * float(np.abs(c).max()))


def test_rows_k_splits_over_k_threads_and_a_block_asks_for_no_further_split():
    seen = []
    with threadpool_limits(1, user_api="blas"):
        assert len(threads.blocks(200, np)) == 1  # the BLAS's size
        with threads.one_blas_thread(rows=2):
            outer = threads.blocks(200, np)
            threads.run(lambda part: seen.append(len(threads.blocks(100, np))), outer)
        assert len(threads.blocks(200, np)) == 1  # restored on leaving
    assert len(outer) == 2 and seen == [1, 1]
