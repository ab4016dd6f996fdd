"""The ops behind the Keras 2 layers added for issue 19: float64 finite differences and PyTorch.

conv_transpose, depthwise_conv, local_conv, layer_norm and gelu are each checked for
their gradients (central differences in float64, ``gradcheck``) and, where PyTorch has
the op, for values and gradients against it.
"""
import numpy as np
import pytest
import torch

from threestep import ops
from threestep.backend import to_numpy
from threestep.autograd import Tensor
from threestep.autograd.gradcheck import gradcheck
from threestep.ops.conv_depthwise import depthwise_conv
from threestep.ops.conv_transpose import conv_transpose
from threestep.ops.local import local_conv

COVERED_OPS = {"gelu", "layer_norm"}  # the exported ones (tests/test_ops.py checks every export has tests)


@pytest.mark.parametrize("strides,padding,output_padding,dilation", [
    ((1, 1), "valid", None, 1), ((2, 2), "valid", None, 1), ((2, 3), "same", None, 1), ((2, 2), "same", 1, 1),
    ((3, 2), "valid", (1, 0), 1), ((1, 1), "same", None, 2), ((3, 3), "valid", None, 1),
])
def test_conv_transpose_gradcheck(rng, strides, padding, output_padding, dilation):
    x, W, b = rng.normal(size=(2, 4, 3, 3)), rng.normal(size=(3, 2, 5, 3)), rng.normal(size=5)
    gradcheck(lambda a, w, bb: conv_transpose(a, w, bb, strides, padding, output_padding, dilation), [x, W, b])


@pytest.mark.parametrize("stride,output_padding", [(1, 0), (2, 0), (2, 1), (3, 2)])
def test_conv_transpose_matches_torch(rng, stride, output_padding):
    x = rng.normal(size=(2, 5, 4, 3)).astype(np.float32)
    W = rng.normal(size=(3, 3, 6, 3)).astype(np.float32)  # (kh, kw, out, in)
    xt = Tensor(x, requires_grad=True)
    Wt = Tensor(W, requires_grad=True)
    y = conv_transpose(xt, Wt, None, stride, "valid", output_padding)
    tx = torch.tensor(x.transpose(0, 3, 1, 2), requires_grad=True)
    tW = torch.tensor(W.transpose(3, 2, 0, 1), requires_grad=True)  # torch: (in, out, kh, kw)
    ty = torch.nn.functional.conv_transpose2d(tx, tW, stride=stride, output_padding=output_padding)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    r = rng.normal(size=y.shape).astype(np.float32)
    (y * r).sum().backward()
    (ty * torch.tensor(r.transpose(0, 3, 1, 2))).sum().backward()
    np.testing.assert_allclose(to_numpy(xt.grad), tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(Wt.grad), tW.grad.numpy().transpose(2, 3, 1, 0), rtol=1e-4, atol=1e-4)


def test_depthwise_conv_gradcheck_and_torch(rng):
    x, W, b = rng.normal(size=(2, 5, 6, 3)), rng.normal(size=(3, 2, 3, 2)), rng.normal(size=6)
    gradcheck(lambda a, w, bb: depthwise_conv(a, w, bb, (2, 1), "same"), [x, W, b])
    gradcheck(lambda a, w: depthwise_conv(a, w, None, 1, "valid", (2, 1)), [x, W])
    x32, W32 = x.astype(np.float32), W.astype(np.float32)
    xt, Wt = Tensor(x32, requires_grad=True), Tensor(W32, requires_grad=True)
    y = depthwise_conv(xt, Wt, None, 2, "valid")
    tx = torch.tensor(x32.transpose(0, 3, 1, 2), requires_grad=True)
    # torch groups=C: weight (C*M, 1, kh, kw), output channel c*M + m as TensorFlow's
    tW = torch.tensor(W32.transpose(2, 3, 0, 1).reshape(6, 1, 3, 2), requires_grad=True)
    ty = torch.nn.functional.conv2d(tx, tW, stride=2, groups=3)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy().transpose(0, 2, 3, 1), rtol=1e-5, atol=1e-5)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_numpy(xt.grad), tx.grad.numpy().transpose(0, 2, 3, 1), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(to_numpy(Wt.grad), tW.grad.numpy().reshape(3, 2, 3, 2).transpose(2, 3, 0, 1), rtol=1e-4,
                               atol=1e-4)


def test_local_conv_gradcheck_and_its_unshared_definition(rng):
    x = rng.normal(size=(2, 5, 6, 3))
    W, b = rng.normal(size=(15, 18, 4)), rng.normal(size=(3, 5, 4))
    gradcheck(lambda a, w, bb: local_conv(a, w, bb, (3, 2), 1), [x, W, b])
    y = local_conv(Tensor(x), Tensor(W), Tensor(b), (3, 2), 1).numpy()
    # position (i, j) sees x[:, i:i+3, j:j+2, :] flattened (rows, cols, channels) through its own W
    for i, j in [(0, 0), (2, 4), (1, 3)]:
        expected = x[:, i:i + 3, j:j + 2, :].reshape(2, -1) @ W[i * 5 + j] + b[i, j]
        np.testing.assert_allclose(y[:, i, j], expected, rtol=1e-10)
    x1, W1, b1 = rng.normal(size=(2, 7, 3)), rng.normal(size=(3, 9, 4)), rng.normal(size=(3, 4))
    gradcheck(lambda a, w, bb: local_conv(a, w, bb, (3,), 2), [x1, W1, b1])


def test_layer_norm_gradcheck_twin_and_torch(rng):
    x = rng.normal(size=(3, 4, 5))
    for axes in [(-1,), (1, 2), (1,)]:
        gradcheck(lambda a: ops.layer_norm(a, axes, 1e-3), [x])
        fused, simple = ops.layer_norm(Tensor(x), axes), ops.layer_norm_simple(Tensor(x), axes)
        np.testing.assert_allclose(fused.numpy(), simple.numpy(), rtol=1e-10, atol=1e-12)
    x32 = x.astype(np.float32)
    xt = Tensor(x32, requires_grad=True)
    y = ops.layer_norm(xt, (1, 2), 1e-5)
    tx = torch.tensor(x32, requires_grad=True)
    ty = torch.nn.functional.layer_norm(tx, (4, 5), eps=1e-5)
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-5)
    r = rng.normal(size=x.shape).astype(np.float32)
    (y * r).sum().backward()
    (ty * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(to_numpy(xt.grad), tx.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("approximate", [False, True])
def test_gelu_gradcheck_and_torch(rng, approximate):
    x = rng.normal(scale=2, size=(4, 6))
    gradcheck(lambda a: ops.gelu(a, approximate), [x])
    x32 = x.astype(np.float32)
    xt = Tensor(x32, requires_grad=True)
    y = ops.gelu(xt, approximate)
    tx = torch.tensor(x32, requires_grad=True)
    ty = torch.nn.functional.gelu(tx, approximate="tanh" if approximate else "none")
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-5, atol=1e-6)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(to_numpy(xt.grad), tx.grad.numpy(), rtol=1e-5, atol=1e-6)


def test_three_d_pooling_gradcheck(rng):
    x = rng.normal(size=(2, 5, 6, 7, 3))
    gradcheck(lambda a: ops.max_pool(a, (2, 2, 2)), [x])
    gradcheck(lambda a: ops.avg_pool(a, (2, 3, 2), (1, 2, 2), "same"), [x])
