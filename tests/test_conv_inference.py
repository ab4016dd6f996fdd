"""Conv's inference path (no_grad on the CPU): the patches of a few samples at a time, the same
outputs as the recorded forward (which keeps the whole batch's patches for backward)."""
import importlib

import numpy as np
import pytest

from threestep.autograd import Tensor, no_grad

conv_module = importlib.import_module("threestep.ops.conv")  # the module (threestep.ops.conv is also a function)
conv = conv_module.conv


@pytest.mark.parametrize("c_in, strides, padding, relu, bias", [
    (1, 1, "valid", True, True), (3, 2, "same", False, True), (4, 1, "same", True, False), (2, 1, (1, 2), False, False),
])
def test_chunked_inference_equals_the_recorded_forward(monkeypatch, c_in, strides, padding, relu, bias):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((13, 9, 8, c_in)).astype(np.float32)
    W = rng.standard_normal((3, 3, c_in, 5)).astype(np.float32)
    b = rng.standard_normal(5).astype(np.float32) if bias else None
    args = [Tensor(W, requires_grad=True)] + ([Tensor(b, requires_grad=True)] if bias else [])
    recorded = conv(Tensor(x), *args, strides=strides, padding=padding, relu=relu)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 1)  # one sample per chunk: every chunk boundary
    with no_grad():
        inferred = conv(Tensor(x), *[Tensor(a.data) for a in args], strides=strides, padding=padding, relu=relu)
    monkeypatch.setattr(conv_module, "CHUNK_BYTES", 5 * 4 * 9 * c_in * 30)  # a few samples, a short last chunk
    with no_grad():
        few = conv(Tensor(x), *[Tensor(a.data) for a in args], strides=strides, padding=padding, relu=relu)
    assert inferred.shape == recorded.shape == few.shape
    np.testing.assert_allclose(inferred.numpy(), recorded.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(few.numpy(), recorded.numpy(), rtol=1e-5, atol=1e-5)
