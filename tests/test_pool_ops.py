"""Pooling and spatial resampling ops (``threestep.ops.pool``).

PyTorch is the oracle: ``max_pool1d/2d`` (on a copy padded with -inf by TensorFlow's 'same'
rule), average pooling as window sums over window counts of the zero-padded input (Keras/TF
leave padded cells out of the count, torch's count_include_pad=False cannot pad
asymmetrically), ``F.pad``, slicing and ``repeat_interleave``. Ties in max pooling send the
whole gradient to the first maximum of the window: pinned against torch and by hand.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against_torch, check_gradcheck, check_same, to_host
from test_conv_ops import tf_pads, torch_pad_channels_first, tup
from threestep.autograd import Tensor
from threestep.errors import ConfigError, ShapeError
from threestep.ops.pool import (
    avg_pool, avg_pool_simple, crop, global_avg_pool, global_max_pool, max_pool, max_pool_simple, pad,
    upsample_nearest,
)


def torch_max_pool(x, pool_size, strides=None, padding="valid"):
    n = x.dim() - 2
    k = tup(pool_size, n)
    s = k if strides is None else tup(strides, n)
    xt = torch_pad_channels_first(x.movedim(-1, 1), tf_pads(x.shape[1:-1], k, s, (1,) * n, padding), float("-inf"))
    return (F.max_pool1d if n == 1 else F.max_pool2d)(xt, k, s).movedim(1, -1)


def torch_avg_pool(x, pool_size, strides=None, padding="valid"):
    n = x.dim() - 2
    k = tup(pool_size, n)
    s = k if strides is None else tup(strides, n)
    pads = tf_pads(x.shape[1:-1], k, s, (1,) * n, padding)
    pool = F.avg_pool1d if n == 1 else F.avg_pool2d
    sums = pool(torch_pad_channels_first(x.movedim(-1, 1), pads), k, s)
    counts = pool(torch_pad_channels_first(torch.ones_like(x[:1, ..., :1]).movedim(-1, 1), pads), k, s)
    return (sums / counts).movedim(1, -1)  # both averages over the full window: their ratio is sum / real cells


# (id, x shape, pool_size, strides, padding)
CASES = [
    ("2d-2-valid", (2, 8, 6, 3), 2, None, "valid"),
    ("2d-2-valid-odd-size", (2, 7, 5, 3), 2, None, "valid"),
    ("2d-2-same-odd-size", (2, 7, 5, 3), 2, None, "same"),
    ("2d-3-stride2-valid-overlap", (2, 7, 8, 2), 3, 2, "valid"),
    ("2d-3-stride1-same-overlap", (2, 6, 5, 2), 3, 1, "same"),
    ("2d-3-stride2-same-overlap", (2, 7, 8, 2), 3, 2, "same"),
    ("2d-2-stride3-skips", (2, 8, 7, 2), 2, 3, "valid"),
    ("2d-2-stride3-same-skips", (2, 8, 7, 2), 2, 3, "same"),
    ("2d-2x3-stride1x2", (2, 6, 7, 3), (2, 3), (1, 2), "same"),
    ("1d-2-valid", (2, 9, 3), 2, None, "valid"),
    ("1d-3-stride1-same", (2, 9, 3), 3, 1, "same"),
    ("1d-2-same-odd", (2, 9, 3), 2, None, "same"),
    ("1d-2-stride3", (2, 9, 3), 2, 3, "valid"),
]
IDS = [c[0] for c in CASES]
POOLS = {"max": (max_pool, torch_max_pool, max_pool_simple), "avg": (avg_pool, torch_avg_pool, avg_pool_simple)}


def randn(shape, dtype=np.float64, seed=0):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_pool_against_torch(case, kind, dtype):
    _, shape, pool_size, strides, padding = case
    ours, theirs, _ = POOLS[kind]
    check_against_torch(lambda x: ours(x, pool_size, strides, padding),
                        lambda x: theirs(x, pool_size, strides, padding), [randn(shape, dtype)])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", CASES[::2], ids=IDS[::2])
def test_pool_matches_its_simple_twin(case, kind):
    _, shape, pool_size, strides, padding = case
    ours, _, simple = POOLS[kind]
    check_same(lambda x: ours(x, pool_size, strides, padding), lambda x: simple(x, pool_size, strides, padding),
               [randn(shape)])


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("case", [CASES[2], CASES[5], CASES[11]], ids=[IDS[2], IDS[5], IDS[11]])
def test_pool_gradcheck(case, kind):
    _, shape, pool_size, strides, padding = case
    check_gradcheck(lambda x: POOLS[kind][0](x, pool_size, strides, padding), [randn((1,) + shape[1:])])


def test_max_pool_same_never_selects_padding():
    """All inputs negative: a zero pad would win, a -inf pad never does."""
    x = -np.abs(randn((1, 5, 5, 2), np.float32)) - 1
    out, _ = check_against_torch(lambda x: max_pool(x, 2, padding="same"),
                                 lambda x: torch_max_pool(x, 2, padding="same"), [x])
    assert out.shape == (1, 3, 3, 2) and (out.data < -1).all()


def test_max_pool_ties_send_the_gradient_to_the_first_maximum_only():
    x = np.ones((1, 4, 4, 1), np.float32)
    xt = Tensor(x, requires_grad=True)
    max_pool(xt, 2).backward(np.ones((1, 2, 2, 1), np.float32))
    expected = np.zeros((4, 4), np.float32)
    expected[::2, ::2] = 1  # the top-left cell of every window
    assert_close(xt.grad[0, ..., 0], expected, 0, 0, "grad with ties")
    # Overlapping windows (stride 1): every window picks its own top-left cell; those add up.
    xt = Tensor(x, requires_grad=True)
    max_pool(xt, 2, strides=1).backward(np.ones((1, 3, 3, 1), np.float32))
    expected = np.zeros((4, 4), np.float32)
    expected[:3, :3] = 1
    assert_close(xt.grad[0, ..., 0], expected, 0, 0, "grad with ties, overlapping windows")
    # Same convention as torch, including partial ties.
    ties = np.array([[3, 3, 1, 2], [1, 3, 2, 2], [0, 0, 5, 4], [0, 0, 5, 5]], np.float32).reshape(1, 4, 4, 1)
    for strides in (None, 1):
        check_against_torch(lambda x: max_pool(x, 2, strides), lambda x: torch_max_pool(x, 2, strides), [ties])


def test_tiled_max_pool_remainder_and_ties_against_torch():
    """strides == pool_size: the window cells are strided views of x (no gather). A remainder
    row/column ('valid' drops it) must get exactly zero gradient; ties go to the first cell."""
    r = np.random.default_rng(3)
    x = r.integers(0, 3, (2, 7, 9, 4)).astype(np.float32)  # small integers: many ties in every window
    for pool_size in (2, 3, (2, 3)):
        out, _ = check_against_torch(lambda x: max_pool(x, pool_size), lambda x: torch_max_pool(x, pool_size), [x])
    xt = Tensor(r.standard_normal((2, 7, 9, 4)).astype(np.float32), requires_grad=True)
    y = max_pool(xt, 2)
    y.backward(np.ones(y.shape, np.float32))
    assert (xt.grad[:, 6] == 0).all() and (xt.grad[:, :, 8] == 0).all(), "the dropped row/column got a gradient"
    assert xt.grad.sum() == y.size and set(np.unique(to_host(xt.grad))) == {0.0, 1.0}


def test_tiled_max_pool_channels_first_with_remainder():
    x = np.random.default_rng(4).integers(0, 4, (2, 3, 7, 6)).astype(np.float32)  # channels_first, ties
    check_against_torch(lambda x: max_pool(x, 2, data_format="channels_first"),
                        lambda x: F.max_pool2d(x, 2), [x])
    check_against_torch(lambda x: max_pool(x, 3, data_format="channels_first"),
                        lambda x: F.max_pool2d(x, 3), [x])


def test_max_pool_nan_wins_its_window_and_takes_the_gradient():
    x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    x[0, 1, 0, 0] = x[0, 3, 3, 0] = np.nan
    for strides in (None, 1):
        out, _ = check_against_torch(lambda x: max_pool(x, 2, strides), lambda x: torch_max_pool(x, 2, strides), [x])
        assert np.isnan(out.data).sum() == (2 if strides is None else 3)


def test_max_pool_keeps_no_index_without_gradients():
    from threestep.autograd import no_grad
    from threestep.ops.pool import MaxPool

    x = randn((2, 6, 6, 3), np.float32)
    op = MaxPool(2)
    with no_grad():
        y = op(Tensor(x, requires_grad=True))
    assert op.idx is None and y.shape == (2, 3, 3, 3)
    assert_close(y.data, max_pool_simple(Tensor(x), 2).data, 0, 0, "forward without the index")


@pytest.mark.parametrize("pieces", [1, 2, 4, 9])
def test_max_of_pieces_is_argmax_over_a_stacked_axis(pieces):
    """The pieces loop (pooling) and the stacked-axis arg-max agree, ties to the first piece."""
    from threestep.ops.maxout import argmax_scatter, argmax_select, max_of_pieces, scatter_to_pieces

    x = np.random.default_rng(pieces).integers(0, 3, (pieces, 5, 7)).astype(np.float32)
    y, idx = max_of_pieces(list(x))
    assert idx.dtype == np.uint8 and y.shape == idx.shape == (5, 7)
    assert (idx == x.argmax(axis=0)).all() and (y == x.max(axis=0)).all()
    y_axis, idx_axis = argmax_select(np.moveaxis(x, 0, 1), 1)  # the same through the axis API
    assert (y_axis[:, 0] == y).all() and (idx_axis[:, 0] == idx).all()
    gy = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    outs = np.full(x.shape, 7.0, np.float32)
    scatter_to_pieces(gy, idx, list(outs))
    expected = (np.arange(pieces)[:, None, None] == idx) * gy
    assert (outs == expected).all()
    scatter_to_pieces(gy, idx, list(outs), accumulate=True)
    assert (outs == 2 * expected).all()
    assert (np.moveaxis(argmax_scatter(gy[:, None], idx_axis, pieces, 1), 1, 0) == expected).all()


# ---------------------------------------------------------------- global pooling
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape", [(3, 5, 4, 2), (3, 7, 2)])
def test_global_pools_against_torch(shape, dtype):
    x = randn(shape, dtype)
    check_against_torch(global_max_pool, lambda t: t.reshape(t.shape[0], -1, t.shape[-1]).max(dim=1).values, [x])
    check_against_torch(global_avg_pool, lambda t: t.mean(dim=tuple(range(1, t.dim() - 1))), [x])
    check_against_torch(lambda t: global_max_pool(t, keepdims=True), lambda t: t.amax(dim=(1, 2), keepdim=True)
                        if t.dim() == 4 else t.amax(dim=1, keepdim=True), [x])
    check_gradcheck(global_max_pool, [randn(shape)])


def test_global_max_pool_ties_go_to_the_first_position():
    xt = Tensor(np.ones((2, 3, 3, 2), np.float32), requires_grad=True)
    y = global_max_pool(xt)
    assert y.shape == (2, 2)
    y.backward(np.ones((2, 2), np.float32))
    expected = np.zeros((2, 3, 3, 2), np.float32)
    expected[:, 0, 0, :] = 1
    assert_close(xt.grad, expected, 0, 0, "global max pool grad with ties")


def test_channels_first_pools():
    x = randn((2, 3, 7, 6), np.float32)  # channels_first
    check_against_torch(lambda x: max_pool(x, 2, padding="same", data_format="channels_first"),
                        lambda x: torch_max_pool(x.movedim(1, -1), 2, padding="same").movedim(-1, 1), [x])
    check_against_torch(lambda x: avg_pool(x, 3, 2, data_format="channels_first"),
                        lambda x: F.avg_pool2d(x, 3, 2), [x])
    check_against_torch(lambda x: global_avg_pool(x, data_format="channels_first"), lambda x: x.mean(dim=(2, 3)), [x])
    check_against_torch(lambda x: global_max_pool(x, keepdims=True, data_format="channels_first"),
                        lambda x: x.amax(dim=(2, 3), keepdim=True), [x])


# ---------------------------------------------------------------- pad, crop, upsample
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pad_and_crop_against_torch(dtype):
    x = randn((2, 4, 5, 3), dtype)
    widths = [(0, 0), (1, 2), (3, 0), (0, 0)]
    check_against_torch(lambda x: pad(x, widths), lambda x: F.pad(x, (0, 0, 3, 0, 1, 2)), [x])
    check_against_torch(lambda x: pad(x, [0, 1, (2, 0), 0], value=-1.5),
                        lambda x: F.pad(x, (0, 0, 2, 0, 1, 1), value=-1.5), [x])
    check_against_torch(lambda x: crop(x, [(0, 0), (1, 2), (0, 3), 0]), lambda x: x[:, 1:2, 0:2, :], [x])
    check_gradcheck(lambda x: pad(x, widths), [randn((1, 2, 3, 1))])
    check_gradcheck(lambda x: crop(x, [0, (1, 0), 1, 0]), [randn((1, 3, 4, 1))])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape, size", [((2, 3, 4, 2), 2), ((2, 3, 4, 2), (2, 3)), ((2, 5, 3), 3)])
def test_upsample_nearest_against_torch(shape, size, dtype):
    def theirs(t):
        for axis, f in enumerate(tup(size, t.dim() - 2), start=1):
            t = t.repeat_interleave(f, dim=axis)
        return t

    check_against_torch(lambda x: upsample_nearest(x, size), theirs, [randn(shape, dtype)])


def test_upsample_channels_first_matches_torch_interpolate():
    x = randn((2, 3, 4, 5), np.float32)
    check_against_torch(lambda x: upsample_nearest(x, 2, data_format="channels_first"),
                        lambda x: F.interpolate(x, scale_factor=2, mode="nearest"), [x])


def test_bad_arguments_raise_clear_errors():
    x = Tensor(np.zeros((1, 3, 3, 2), np.float32))
    with pytest.raises(ShapeError, match="does not fit"):
        max_pool(x, 4)
    assert max_pool(x, 4, padding="same").shape == (1, 1, 1, 2)
    with pytest.raises(ConfigError, match="pool_size"):
        avg_pool(x, 0)
    with pytest.raises(ConfigError, match="pool_size"):
        avg_pool(x, (2, 2, 2))
    with pytest.raises(ShapeError, match="batch"):
        max_pool(Tensor(np.zeros((3, 2), np.float32)), 2)
    with pytest.raises(ShapeError, match="pad"):
        pad(x, [(1, 1)])
    with pytest.raises(ShapeError, match="crop"):
        crop(x, [0, (2, 1), 0, 0])
    with pytest.raises(ConfigError, match="size"):
        upsample_nearest(x, 0)
