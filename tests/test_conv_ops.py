"""Convolution ops (``threestep.ops.conv``) and the im2col helpers they share with pooling.

PyTorch is the oracle for forward values and the input, kernel and bias gradients
(``torch.nn.functional.conv1d/conv2d`` on channels_first copies, with TensorFlow's
asymmetric 'same' padding applied by hand, since torch's padding='same' refuses strides);
float64 finite differences check the backward on tiny shapes; ``conv_simple`` (pad, slice,
matmul) is the readable twin the fused op must agree with.
"""
import importlib

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against_torch, check_gradcheck, check_same
from threestep.autograd import Tensor
from threestep.errors import ConfigError, ShapeError
from threestep.ops import im2col
from threestep.ops.conv import conv, conv1d, conv2d, conv_simple

conv_module = importlib.import_module("threestep.ops.conv")  # ops.conv is also the function's name


# ---------------------------------------------------------------- the torch reference
def tup(v, n):
    return (v,) * n if isinstance(v, int) else tuple(v)


def tf_pads(sizes, kernel, strides, dilation, padding):
    """(lo, hi) per spatial axis, written out independently of threestep's geometry code."""
    pads = []
    for i, (size, k, s, d) in enumerate(zip(sizes, kernel, strides, dilation)):
        span = (k - 1) * d + 1
        if padding == "valid":
            pads.append((0, 0))
        elif padding == "same":
            total = max((-(-size // s) - 1) * s + span - size, 0)  # TF: the extra cell on the right
            pads.append((total // 2, total - total // 2))
        elif padding == "causal":
            pads.append((span - 1, 0))
        else:
            p = tup(padding, len(sizes))[i]
            pads.append((p, p) if isinstance(p, int) else tuple(p))
    return pads


def torch_pad_channels_first(xt, pads, value=0.0):
    flat = [v for lo_hi in reversed(pads) for v in lo_hi]  # F.pad lists the last axis first
    return F.pad(xt, flat, value=value) if any(flat) else xt


def torch_conv(x, W, b=None, strides=1, padding="valid", dilation=1):
    n = W.dim() - 2
    s, d = tup(strides, n), tup(dilation, n)
    pads = tf_pads(x.shape[1:-1], W.shape[:n], s, d, padding)
    xt = torch_pad_channels_first(x.movedim(-1, 1), pads)
    Wt = W.permute(n + 1, n, *range(n)).contiguous()  # (*k, C_in, C_out) -> (C_out, C_in, *k)
    y = (F.conv1d if n == 1 else F.conv2d)(xt, Wt, b, stride=s, dilation=d)
    return y.movedim(1, -1)


# ---------------------------------------------------------------- oracle cases
# (id, x shape, W shape, kwargs, bias)
CASES = [
    ("2d-valid", (2, 7, 8, 3), (3, 3, 3, 4), {}, True),
    ("2d-valid-nobias", (2, 7, 8, 3), (3, 3, 3, 4), {}, False),
    ("2d-same-odd", (2, 7, 8, 3), (3, 3, 3, 4), dict(padding="same"), True),
    ("2d-same-even-kernel", (2, 7, 8, 3), (2, 4, 3, 4), dict(padding="same"), True),
    ("2d-same-stride2-odd", (2, 7, 8, 3), (3, 3, 3, 4), dict(padding="same", strides=2), True),
    ("2d-same-stride2-even", (2, 7, 8, 3), (4, 2, 3, 4), dict(padding="same", strides=2), False),
    ("2d-valid-stride2", (2, 7, 8, 3), (3, 3, 3, 4), dict(strides=2), True),
    ("2d-stride1x2", (2, 7, 8, 3), (3, 3, 3, 4), dict(strides=(1, 2)), True),
    ("2d-stride2x1-same", (2, 7, 8, 3), (3, 3, 3, 4), dict(strides=(2, 1), padding="same"), True),
    ("2d-dilation2", (2, 9, 8, 2), (3, 3, 2, 3), dict(dilation=2), True),
    ("2d-dilation2-same", (2, 9, 8, 2), (3, 2, 2, 3), dict(dilation=2, padding="same"), True),
    ("2d-dilation2-stride2-same", (2, 9, 8, 2), (3, 3, 2, 3), dict(dilation=(2, 1), strides=2, padding="same"), True),
    ("2d-cin1", (3, 6, 6, 1), (3, 3, 1, 5), {}, True),  # C_in = 1: the kernel-major patches layout
    ("2d-cin1-nobias", (3, 6, 6, 1), (3, 3, 1, 5), {}, False),
    ("2d-cin1-same-stride2-dilation", (2, 9, 8, 1), (3, 2, 1, 4), dict(padding="same", strides=2, dilation=(2, 1)),
     True),
    ("1d-cin1-causal", (2, 10, 1), (3, 1, 3), dict(padding="causal", dilation=2), True),
    ("2d-cout1", (2, 6, 5, 4), (2, 3, 4, 1), dict(padding="same"), True),
    ("2d-kernel1x1", (2, 5, 5, 6), (1, 1, 6, 3), {}, True),
    ("2d-kernel-fills-input", (2, 4, 4, 2), (4, 4, 2, 3), {}, True),
    ("2d-explicit-int", (2, 6, 5, 2), (3, 3, 2, 3), dict(padding=1), True),
    ("2d-explicit-pairs", (2, 6, 5, 2), (3, 3, 2, 3), dict(padding=((1, 2), (0, 1)), strides=2), True),
    ("1d-valid", (2, 10, 3), (3, 3, 4), {}, True),
    ("1d-same-even", (2, 10, 3), (4, 3, 4), dict(padding="same"), True),
    ("1d-same-stride2", (2, 11, 3), (3, 3, 4), dict(padding="same", strides=2), False),
    ("1d-dilation2", (2, 12, 2), (3, 2, 5), dict(dilation=2), True),
    ("1d-causal-dilation2", (2, 10, 2), (3, 2, 3), dict(padding="causal", dilation=2), True),
]


def make_inputs(x_shape, w_shape, bias, dtype, seed=0):
    r = np.random.default_rng(seed)
    arrays = [r.standard_normal(x_shape), r.standard_normal(w_shape)]
    if bias:
        arrays.append(r.standard_normal(w_shape[-1]))
    return [a.astype(dtype) for a in arrays]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_conv_against_torch(case, dtype):
    _, x_shape, w_shape, kwargs, bias = case
    check_against_torch(lambda x, W, b=None: conv(x, W, b, **kwargs),
                        lambda x, W, b=None: torch_conv(x, W, b, **kwargs),
                        make_inputs(x_shape, w_shape, bias, dtype))


@pytest.mark.parametrize("case", CASES[::3], ids=[c[0] for c in CASES[::3]])
def test_conv_matches_its_simple_twin(case):
    _, x_shape, w_shape, kwargs, bias = case
    check_same(lambda x, W, b=None: conv(x, W, b, **kwargs), lambda x, W, b=None: conv_simple(x, W, b, **kwargs),
               make_inputs(x_shape, w_shape, bias, np.float64))


GRADCHECK = [
    ("valid", (2, 5, 5, 2), (3, 3, 2, 3), {}),
    ("same-stride2", (2, 5, 5, 2), (3, 3, 2, 3), dict(padding="same", strides=2)),
    ("same-even-dilation2", (1, 6, 5, 2), (2, 2, 2, 3), dict(padding="same", dilation=2)),
    ("1d-same-stride2", (2, 7, 2), (3, 2, 3), dict(padding="same", strides=2)),
]


@pytest.mark.parametrize("case", GRADCHECK, ids=[c[0] for c in GRADCHECK])
def test_conv_gradcheck(case):
    _, x_shape, w_shape, kwargs = case
    check_gradcheck(lambda x, W, b: conv(x, W, b, **kwargs), make_inputs(x_shape, w_shape, True, np.float64))


RELU_CASES = [c for c in CASES if c[0] in ("2d-valid", "2d-valid-nobias", "2d-same-stride2-odd", "2d-cin1",
                                           "2d-cin1-nobias", "1d-causal-dilation2", "2d-cout1")]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", RELU_CASES, ids=[c[0] for c in RELU_CASES])
def test_conv_with_relu_against_torch(case, dtype):
    """``relu=True`` (Conv2D(activation="relu")): max(conv + b, 0) in one node, as torch's relu(conv)."""
    _, x_shape, w_shape, kwargs, bias = case
    nodes = []

    def ours(x, W, b=None):
        y = conv(x, W, b, relu=True, **kwargs)
        nodes.append(type(y.creator).__name__)
        return y

    out, _ = check_against_torch(ours, lambda x, W, b=None: F.relu(torch_conv(x, W, b, **kwargs)),
                                 make_inputs(x_shape, w_shape, bias, dtype))
    assert nodes == ["Conv"]  # no separate ReLU node
    assert (out.numpy() == 0).any() and (out.numpy() > 0).any()  # the ReLU acted on both sides


@pytest.mark.parametrize("bias", [True, False])
def test_conv_with_relu_gradcheck(bias):
    x, W, *b = make_inputs((2, 5, 5, 2), (3, 3, 2, 3), bias, np.float64, seed=3)
    check_gradcheck(lambda x, W, *b: conv(x, W, *b, padding="same", relu=True), [x, W, *b])


def test_conv1d_conv2d_wrappers_and_channels_first():
    x, W, b = make_inputs((2, 3, 7, 6), (3, 3, 3, 4), True, np.float32)  # x is channels_first here
    conv_cf = lambda x, W, b: conv2d(x, W, b, padding="same", strides=2, data_format="channels_first")
    torch_cf = lambda x, W, b: torch_conv(x.movedim(1, -1), W, b, padding="same", strides=2).movedim(-1, 1)
    check_against_torch(conv_cf, torch_cf, [x, W, b])
    x1, W1 = make_inputs((2, 9, 3), (3, 3, 2), False, np.float32)
    check_against_torch(lambda x, W: conv1d(x, W, padding="same"), lambda x, W: torch_conv(x, W, padding="same"),
                        [x1, W1])
    with pytest.raises(ShapeError, match="conv2d"):
        conv2d(Tensor(x1), Tensor(W1))
    with pytest.raises(ShapeError, match="conv1d"):
        conv1d(Tensor(x), Tensor(W))


def test_first_layer_input_gets_no_gradient_and_no_col2im(monkeypatch):
    """x without requires_grad (the data): backward computes gW and gb only, never col2im."""
    x, W, b = make_inputs((2, 6, 6, 1), (3, 3, 1, 4), True, np.float32)

    def fail(*args, **kwargs):
        raise AssertionError("the input gradient (col2im) ran for an input that needs no gradient")

    monkeypatch.setattr(conv_module, "input_grad", fail)
    xt, Wt, bt = Tensor(x), Tensor(W, requires_grad=True), Tensor(b, requires_grad=True)
    conv(xt, Wt, bt, padding="same").sum().backward()
    assert xt.grad is None and Wt.grad.shape == W.shape and bt.grad.shape == b.shape
    assert Wt.grad.dtype == np.float32 and bt.grad.dtype == np.float32


def test_frozen_kernel_gets_no_gradient():
    x, W = make_inputs((2, 6, 6, 2), (3, 3, 2, 4), False, np.float32)
    xt, Wt = Tensor(x, requires_grad=True), Tensor(W)
    conv(xt, Wt, strides=2, padding="same").sum().backward()
    assert Wt.grad is None and xt.grad.shape == x.shape and xt.grad.dtype == np.float32


def test_frozen_kernel_with_a_trainable_bias():
    """The bias gradient comes from the patches GEMM's ones column, or from a sum when W is frozen."""
    for c_in in (1, 3):
        x, W, b = make_inputs((2, 6, 5, c_in), (3, 3, c_in, 4), True, np.float64)
        for w_grad in (True, False):
            xt, Wt, bt = Tensor(x), Tensor(W, requires_grad=w_grad), Tensor(b, requires_grad=True)
            conv(xt, Wt, bt, padding="same").backward(np.ones((2, 6, 5, 4)))
            assert_close(bt.grad, np.full(4, 60.0), 1e-12, 1e-12, f"bias grad (C_in={c_in}, W grad {w_grad})")
            assert (Wt.grad is not None) == w_grad


def test_lecture_shapes_stay_float32():
    x, W, b = make_inputs((4, 13, 13, 25), (3, 3, 25, 50), True, np.float32)
    xt, Wt, bt = (Tensor(a, requires_grad=True) for a in (x, W, b))
    y = conv(xt, Wt, bt)
    assert y.shape == (4, 11, 11, 50) and y.dtype == np.float32
    y.backward(np.ones(y.shape, np.float32))
    assert {xt.grad.dtype, Wt.grad.dtype, bt.grad.dtype} == {np.dtype(np.float32)}


# ---------------------------------------------------------------- im2col helpers
def test_patches_are_c_contiguous_and_col2im_is_their_adjoint():
    """<patches(x), c> == <x, col2im(c)>: col2im is exactly the transpose of im2col."""
    r = np.random.default_rng(1)
    x = r.standard_normal((2, 7, 6, 3)).astype(np.float32)
    g = im2col.geometry(x.shape, (3, 2), strides=(2, 1), dilation=(1, 2), padding="same")
    cols = im2col.patches(x, g)
    assert cols.flags.c_contiguous and cols.dtype == np.float32
    assert cols.shape == (2,) + g.out_sizes + (3, 2, 3)
    assert_close(cols, im2col.windows(x, g), 0, 0, "patches vs the strided view")
    c = r.standard_normal(cols.shape)
    back = im2col.col2im(np.moveaxis(c, (3, 4), (0, 1)), g)
    assert back.shape == x.shape
    assert_close((cols * c).sum(), (x * back).sum(), 1e-9, 1e-5, "dot-product test")


GATHER_GEOMETRIES = [  # (x shape, kernel, strides, dilation, padding)
    ((3, 7, 6, 2), (3, 3), 1, 1, "valid"),
    ((2, 9, 8, 3), (3, 2), 2, 1, "same"),
    ((2, 10, 10, 1), (3, 3), (2, 3), (2, 1), ((1, 2), (0, 3))),
    ((2, 11, 4), (4,), 3, 2, "causal"),
    ((2, 8, 8, 5), (2, 2), 2, 1, "valid"),  # tiled: every cell in exactly one window
    ((1, 5, 5, 2), (3, 3), 1, 1, "same"),
    ((2, 4, 3, 2, 2), (2, 2, 2), 1, 1, "same"),  # 3-D
]


@pytest.mark.parametrize("per_offset", [True, False], ids=["per-offset", "shared"])
@pytest.mark.parametrize("case", GATHER_GEOMETRIES, ids=lambda c: f"{c[0]}-k{c[1]}-s{c[2]}-d{c[3]}-{c[4]}")
def test_col2im_gather_sums_what_col2im_sums(case, per_offset, monkeypatch):
    """The GPU's col2im (a cached index, one gather, one sum) against the strided adds, exactly
    up to summation order; ``per_offset=False`` is average pooling's one row per window."""
    shape, kernel, strides, dilation, padding = case
    g = im2col.geometry(shape, kernel, strides, dilation, padding)
    n, c = shape[0], shape[-1]
    r = np.random.default_rng(3)
    if per_offset:
        gcols = r.standard_normal((n,) + g.out_sizes + g.kernel + (c,))
        want = im2col.col2im(np.moveaxis(gcols, tuple(range(1 + len(kernel), 1 + 2 * len(kernel))),
                                         tuple(range(len(kernel)))), g)
    else:
        gcols = r.standard_normal((n,) + g.out_sizes + (c,))
        want = im2col.col2im(np.broadcast_to(gcols, g.kernel + gcols.shape), g)
    rows = np.concatenate([gcols.reshape(-1, c), np.zeros((1, c))])
    built = []
    real = im2col.window_sources
    monkeypatch.setattr(im2col, "window_sources", lambda *a: built.append(a) or real(*a))
    im2col._SOURCES.clear()
    got = im2col.col2im_gather(rows, g, n, per_offset=per_offset)
    assert got.shape == shape
    assert_close(got, want, 1e-12, 1e-12, "col2im_gather vs col2im")
    assert_close(im2col.col2im_gather(rows, g, n, per_offset=per_offset), want, 1e-12, 1e-12, "again")
    assert len(built) == 1  # the second call reused the cached index
    index = real(g, n, per_offset, np)
    assert index.dtype == np.int32 and index.min() >= 0 and index.max() == rows.shape[0] - 1


def test_col2im_gather_keeps_a_bounded_cache_of_indexes():
    g = im2col.geometry((1, 6, 6, 1), (3, 3))
    im2col._SOURCES.clear()
    for batch in range(1, im2col._SOURCES_KEPT + 5):
        im2col.col2im_gather(np.zeros((batch * 16 * 9 + 1, 1)), g, batch)
    assert len(im2col._SOURCES) == im2col._SOURCES_KEPT
    assert next(iter(im2col._SOURCES))[1] == 5  # the least recently used went first


@pytest.mark.parametrize("padding, strides", [("valid", 1), ("same", 2)])
def test_conv_and_avg_pool_backward_on_the_device_match_numpy_in_few_launches(fake_cupy, padding, strides):
    """On CuPy the input gradient is one GEMM plus col2im_gather (4 launches whatever the kernel
    size) and average pooling's is 4 launches too; the numbers are NumPy's path's."""
    from threestep import backend
    from threestep.ops.pool import avg_pool

    r = np.random.default_rng(4)
    x = r.standard_normal((3, 9, 8, 4)).astype(np.float32)
    W = r.standard_normal((3, 3, 4, 5)).astype(np.float32)
    gy = None
    results = {}
    for name in ("numpy", "cupy"):
        backend.set_backend(name)
        try:
            for _ in range(2):  # the second round counts: the first builds and caches the gather index
                xt, Wt = Tensor(backend.on_device(x), requires_grad=True), Tensor(backend.on_device(W))
                y = conv2d(xt, Wt, strides=strides, padding=padding)
                if gy is None:
                    gy = r.standard_normal(y.shape).astype(np.float32)
                gy_d = backend.on_device(gy)
                fake_cupy._fake_reset_counts()
                y.backward(gy_d)
                launches = fake_cupy._fake_reset_counts()["kernels"]
                pt = Tensor(backend.on_device(x), requires_grad=True)
                p = avg_pool(pt, 3, strides=2, padding=padding)
                ones = backend.on_device(np.ones(p.shape, np.float32))
                fake_cupy._fake_reset_counts()
                p.backward(ones)
                pool_launches = fake_cupy._fake_reset_counts()["kernels"]
            results[name] = (backend.to_numpy(xt.grad), backend.to_numpy(pt.grad), launches, pool_launches)
        finally:
            backend.set_backend("numpy")
    (gx, gp, _, _), (gx_d, gp_d, launches, pool_launches) = results["numpy"], results["cupy"]
    assert_close(gx_d, gx, 1e-5, 1e-5, "conv input gradient on the device")
    assert_close(gp_d, gp, 1e-6, 1e-6, "avg-pool input gradient on the device")
    assert (launches, pool_launches) == (4, 4)


@pytest.mark.parametrize("relu", [False, True], ids=["linear", "relu"])
@pytest.mark.parametrize("bias", [True, False], ids=["bias", "nobias"])
def test_conv_forward_and_weight_grads_on_the_device_match_numpy_in_few_launches(fake_cupy, bias, relu):
    """On CuPy the bias is no column of the patches: forward is the patches gather, the GEMM and
    one pass adding b (and the ReLU) -- 3 launches, 2 without b and ReLU; the kernel's and
    bias's gradients are a GEMM and a column sum (plus the ReLU's mask). Numbers as on NumPy."""
    from threestep import backend

    x, W, *b = make_inputs((3, 9, 8, 4), (3, 3, 4, 5), bias, np.float32, seed=5)
    gy = np.random.default_rng(6).standard_normal((3, 7, 6, 5)).astype(np.float32)
    results = {}
    for name in ("numpy", "cupy"):
        backend.set_backend(name)
        try:
            params = [Tensor(backend.on_device(a), requires_grad=True) for a in [W, *b]]
            xt = Tensor(backend.on_device(x))
            fake_cupy._fake_reset_counts()
            y = conv2d(xt, *params, relu=relu)
            forward = fake_cupy._fake_reset_counts()["kernels"]
            y.backward(backend.on_device(gy))
            backward = fake_cupy._fake_reset_counts()["kernels"]
            results[name] = ([backend.to_numpy(y.data)] + [backend.to_numpy(p.grad) for p in params],
                             forward, backward)
        finally:
            backend.set_backend("numpy")
    (host, _, _), (device, forward, backward) = results["numpy"], results["cupy"]
    for what, a, d in zip(["y", "dW", "db"], host, device):
        assert_close(d, a, 1e-5, 1e-5, f"{what} on the device")
    assert forward == (3 if bias or relu else 2)
    assert backward == 1 + bias + relu


@pytest.mark.parametrize("size, k, s, pads", [(28, 3, 1, (1, 1)), (7, 2, 2, (0, 1)), (8, 3, 2, (0, 1)),
                                              (7, 4, 3, (1, 2)), (5, 1, 2, (0, 0)), (2, 5, 1, (2, 2))])
def test_same_padding_follows_tensorflow(size, k, s, pads):
    g = im2col.geometry((1, size, 1), (k,), strides=s, padding="same")
    assert g.pads == (pads,) and g.out_sizes == (-(-size // s),)


def test_bad_arguments_raise_clear_errors():
    x, W = Tensor(np.zeros((1, 5, 5, 3), np.float32)), Tensor(np.zeros((3, 3, 2, 4), np.float32))
    with pytest.raises(ShapeError, match="3 channels"):
        conv(x, W)
    with pytest.raises(ShapeError, match="spatial axes"):
        conv(x, Tensor(np.zeros((3, 3, 4), np.float32)))
    W3 = Tensor(np.zeros((7, 7, 3, 4), np.float32))
    with pytest.raises(ShapeError, match="does not fit"):
        conv(x, W3)
    assert conv(x, W3, padding="same").shape == (1, 5, 5, 4)
    W = Tensor(np.zeros((3, 3, 3, 4), np.float32))
    with pytest.raises(ShapeError, match=r"b must have shape \(4,\)"):
        conv(x, W, Tensor(np.zeros(3, np.float32)))
    with pytest.raises(ConfigError, match="padding='full'"):
        conv(x, W, padding="full")
    with pytest.raises(ConfigError, match="strides=0"):
        conv(x, W, strides=0)
    with pytest.raises(ConfigError, match="causal"):
        conv(x, W, padding="causal")  # 1-D only
    with pytest.raises(ConfigError, match="data_format"):
        conv(x, W, data_format="NHWC")


def test_input_gradient_in_chunks_of_samples(monkeypatch):
    """float32 dL/dx through ``accel.conv_kernels`` one sample per chunk equals torch's."""
    from threestep.accel import conv_kernels

    monkeypatch.setattr(conv_kernels, "CHUNK_BYTES", 1)
    x, W, b = make_inputs((3, 7, 8, 3), (3, 2, 3, 4), True, np.float32)
    check_against_torch(lambda x, W, b: conv(x, W, b, padding="same", strides=(1, 2)),
                        lambda x, W, b: torch_conv(x, W, b, padding="same", strides=(1, 2)), [x, W, b])
