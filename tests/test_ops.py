"""Every op in ``threestep.ops``: float64 finite differences and PyTorch as an oracle.

One declarative table (``CASES``) lists each op with a generator of NumPy inputs; three
parametrized tests derive from it: gradcheck (float64), and the torch oracle in float32 and
float64 (values, dtypes, gradients for a random upstream gradient). Cases at kinks (relu and
abs at 0, clip at its bounds, max with ties) pin our subgradient to torch's and skip gradcheck.
"""
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import threestep.ops as ops
from threestep.autograd import Tensor
from helpers import assert_close, check_against_torch, check_both_raise, check_gradcheck, check_same, to_host


class Case:
    """``make(rng)`` -> list of NumPy inputs (float64; ints stay ints)."""

    def __init__(self, id, ours, theirs, make, gradcheck=True, **tol):
        self.id, self.ours, self.theirs, self.make, self.gradcheck, self.tol = id, ours, theirs, make, gradcheck, tol


def randn(*shape):
    return lambda r: r.standard_normal(shape)


def positive(*shape):
    return lambda r: r.uniform(0.5, 2.0, shape)


def away_from_zero(*shape):
    """Values with |x| >= 0.2, so finite differences never straddle a kink at 0."""
    return lambda r: r.choice([-1.0, 1.0], shape) * r.uniform(0.2, 2.0, shape)


def inputs(*makers):
    return lambda r: [m(r) for m in makers]


def vals(*arrays):
    return lambda r: [np.array(a, dtype=np.float64) if np.asarray(a).dtype.kind == "f" else np.array(a) for a in arrays]


def shape_id(*shapes):
    return "x".join(str(s).replace(" ", "") for s in shapes)


CASES = []

# ---------------------------------------------------------------- binary, with broadcasting
BINARY_SHAPES = [((3, 4), (3, 4)), ((3, 1, 4), (5, 4)), ((), (3, 4)), ((3, 4), ()), ((2, 3, 1), (1, 3, 4)),
                 ((4,), (3, 4))]
for a, b in BINARY_SHAPES:
    sid = shape_id(a, b)
    CASES += [
        Case(f"add-{sid}", ops.add, torch.add, inputs(randn(*a), randn(*b))),
        Case(f"sub-{sid}", ops.sub, torch.sub, inputs(randn(*a), randn(*b))),
        Case(f"mul-{sid}", ops.mul, torch.mul, inputs(randn(*a), randn(*b))),
        Case(f"div-{sid}", ops.div, torch.div, inputs(randn(*a), away_from_zero(*b))),
        Case(f"pow-tensor-{sid}", ops.pow, torch.pow, inputs(positive(*a), randn(*b))),
        Case(f"squared_error-{sid}", ops.squared_error, lambda p, t: (p - t) ** 2, inputs(randn(*a), randn(*b))),
    ]
for p in [2, 3, 0.5, -1.5, 0, 1]:
    base = randn(3, 4) if float(p).is_integer() else positive(3, 4)
    CASES.append(Case(f"pow-scalar{p}", lambda x, p=p: ops.pow(x, p), lambda x, p=p: torch.pow(x, p), inputs(base)))

# ---------------------------------------------------------------- matmul and linear
MATMUL_SHAPES = [((3, 4), (4, 5)), ((2, 3, 4), (2, 4, 5)), ((2, 3, 4), (4, 5)), ((3, 4), (2, 4, 5)),
                 ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 5)), ((3, 4), (4,)), ((4,), (4,)), ((4,), (2, 4, 3)),
                 ((2, 3, 4), (4,))]
CASES += [Case(f"matmul-{shape_id(a, b)}", ops.matmul, torch.matmul, inputs(randn(*a), randn(*b)))
          for a, b in MATMUL_SHAPES]
CASES += [
    Case("linear-bias-2d", ops.linear, lambda x, W, b: F.linear(x, W.t(), b), inputs(randn(4, 3), randn(3, 5), randn(5))),
    Case("linear-nobias-2d", ops.linear, lambda x, W: F.linear(x, W.t()), inputs(randn(4, 3), randn(3, 5))),
    Case("linear-bias-3d", ops.linear, lambda x, W, b: F.linear(x, W.t(), b), inputs(randn(2, 3, 4), randn(4, 5), randn(5))),
    Case("linear-nobias-3d", ops.linear, lambda x, W: F.linear(x, W.t()), inputs(randn(2, 3, 4), randn(4, 2))),
    Case("linear-bias-1d", ops.linear, lambda x, W, b: F.linear(x, W.t(), b), inputs(randn(3), randn(3, 2), randn(2))),
    # Dense(activation="relu")'s fused op: bias and ReLU in one pass (a Numba kernel in float32).
    Case("linear-relu-bias-2d", lambda x, W, b: ops.linear(x, W, b, relu=True),
         lambda x, W, b: F.relu(F.linear(x, W.t(), b)), inputs(randn(6, 3), randn(3, 5), randn(5))),
    Case("linear-relu-nobias-3d", lambda x, W: ops.linear(x, W, relu=True),
         lambda x, W: F.relu(F.linear(x, W.t())), inputs(randn(2, 3, 4), randn(4, 5))),
]

# ---------------------------------------------------------------- elementwise
ZEROS = [[-2.0, -0.5, 0.0, 0.0, 0.5, 3.0], [0.0, 1.0, -1.0, 0.0, -0.0, 2.0]]
CASES += [
    Case("neg", ops.neg, torch.neg, inputs(randn(3, 4))),
    Case("exp", ops.exp, torch.exp, inputs(randn(3, 4))),
    Case("log", ops.log, torch.log, inputs(positive(3, 4))),
    Case("sqrt", ops.sqrt, torch.sqrt, inputs(positive(3, 4))),
    Case("abs", ops.abs, torch.abs, inputs(away_from_zero(3, 4))),
    Case("abs-at-zero", ops.abs, torch.abs, vals(ZEROS), gradcheck=False),
    Case("tanh", ops.tanh, torch.tanh, inputs(lambda r: 2 * r.standard_normal((3, 4)))),
    Case("sigmoid", ops.sigmoid, torch.sigmoid, inputs(lambda r: 3 * r.standard_normal((3, 4)))),
    Case("relu", ops.relu, torch.relu, inputs(away_from_zero(3, 4))),
    Case("relu-at-zero", ops.relu, torch.relu, vals(ZEROS), gradcheck=False),
    Case("clip", lambda x: ops.clip(x, -0.5, 0.7), lambda x: torch.clamp(x, -0.5, 0.7),
         vals([[-1.3, -0.2, 0.1, 0.4, 0.9, 1.6], [-0.8, 0.3, 1.1, -0.1, 0.2, -2.0]])),
    Case("clip-at-bounds", lambda x: ops.clip(x, -0.5, 0.5), lambda x: torch.clamp(x, -0.5, 0.5),
         vals([-1.0, -0.5, 0.0, 0.5, 1.0]), gradcheck=False),
]

# ---------------------------------------------------------------- choice, products, repetition (ops.select)
_COND = np.array([[True, False, True, False], [False, False, True, True], [True, True, False, False]])
CASES += [
    Case("maximum", ops.maximum, torch.maximum, inputs(randn(3, 4), randn(3, 4))),
    Case("maximum-broadcast", ops.maximum, torch.maximum, inputs(randn(3, 4), randn(4))),
    Case("minimum", ops.minimum, torch.minimum, inputs(randn(3, 4), randn(3, 1))),
    Case("where", lambda a, b: ops.where(_COND, a, b), lambda a, b: torch.where(torch.from_numpy(_COND), a, b),
         inputs(randn(3, 4), randn(3, 4))),
    Case("prod-axis1", lambda x: ops.prod(x, 1), lambda x: torch.prod(x, 1), inputs(away_from_zero(3, 4))),
    Case("prod-all", ops.prod, torch.prod, inputs(away_from_zero(2, 3))),
    Case("prod-with-zero", lambda x: ops.prod(x, 0), lambda x: torch.prod(x, 0),
         vals([[0.0, 2.0, -1.5], [3.0, 0.0, 0.5], [1.5, 4.0, 2.0]]), gradcheck=False),
    Case("tile", lambda x: ops.tile(x, (2, 3)), lambda x: x.repeat(2, 3), inputs(randn(3, 4))),
    Case("cumsum", lambda x: ops.cumsum(x, 1), lambda x: torch.cumsum(x, 1), inputs(randn(3, 4))),
    Case("cast", lambda x: ops.cast(ops.cast(x, "float64") * 2, x.dtype.name), lambda x: (x.double() * 2).to(x.dtype),
         inputs(randn(3, 4))),
]

# ---------------------------------------------------------------- softmax family
for axis in [-1, 0, 1]:
    CASES += [
        Case(f"softmax-axis{axis}", lambda x, a=axis: ops.softmax(x, a), lambda x, a=axis: torch.softmax(x, a),
             inputs(randn(2, 3, 4))),
        Case(f"log_softmax-axis{axis}", lambda x, a=axis: ops.log_softmax(x, a),
             lambda x, a=axis: torch.log_softmax(x, a), inputs(randn(2, 3, 4))),
    ]


def _torch_ce(z, t):
    """torch wants classes on axis 1; ours are on the last axis."""
    if z.ndim > 2:
        z = z.movedim(-1, 1)
        t = t.movedim(-1, 1) if t.is_floating_point() else t
    return F.cross_entropy(z, t, reduction="none")


def _onehot(n, k):
    return lambda r: np.eye(k)[r.integers(0, k, n)]


CASES += [
    Case("softmax_cross_entropy-sparse-2d", ops.softmax_cross_entropy, _torch_ce,
         inputs(randn(4, 5), lambda r: r.integers(0, 5, 4))),
    Case("softmax_cross_entropy-sparse-3d", ops.softmax_cross_entropy, _torch_ce,
         inputs(randn(2, 3, 5), lambda r: r.integers(0, 5, (2, 3)))),
    Case("softmax_cross_entropy-onehot-2d", ops.softmax_cross_entropy, _torch_ce, inputs(randn(4, 5), _onehot(4, 5))),
    Case("softmax_cross_entropy-soft-2d", ops.softmax_cross_entropy, _torch_ce,
         inputs(randn(4, 5), lambda r: r.dirichlet(np.ones(5), 4))),
    # Unnormalised soft targets: dL/dz = p * sum(t) - t.
    Case("softmax_cross_entropy-soft-3d", ops.softmax_cross_entropy, _torch_ce,
         inputs(randn(2, 3, 5), lambda r: r.uniform(0, 1, (2, 3, 5)))),
    # reduction="mean": the batch mean in the same node (fit's plain loss)
    Case("softmax_cross_entropy-mean-sparse-3d", lambda z, t: ops.softmax_cross_entropy(z, t, reduction="mean"),
         lambda z, t: _torch_ce(z, t).mean(), inputs(randn(2, 3, 5), lambda r: r.integers(0, 5, (2, 3)))),
    Case("softmax_cross_entropy-mean-soft-2d", lambda z, t: ops.softmax_cross_entropy(z, t, reduction="mean"),
         lambda z, t: _torch_ce(z, t).mean(), inputs(randn(4, 5), lambda r: r.dirichlet(np.ones(5), 4))),
    Case("sigmoid_cross_entropy", ops.sigmoid_cross_entropy,
         lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"),
         inputs(lambda r: 2 * r.standard_normal((3, 4)), lambda r: r.uniform(0, 1, (3, 4)))),
    Case("sigmoid_cross_entropy-3d", ops.sigmoid_cross_entropy,
         lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"),
         inputs(randn(2, 2, 3), lambda r: r.integers(0, 2, (2, 2, 3)).astype(np.float64))),
    Case("mean_squared_error", ops.mean_squared_error, F.mse_loss, inputs(randn(3, 4), randn(3, 4))),
    Case("mean_squared_error-3d", ops.mean_squared_error, F.mse_loss, inputs(randn(2, 3, 2), randn(2, 3, 2))),
]

# ---------------------------------------------------------------- reductions
REDUCE_AXES = [None, 0, 1, -1, (0, 2), (-1, 0)]


def _torch_reduce(name, axis, keepdims):
    def f(x):
        dim = tuple(range(x.ndim)) if axis is None else axis
        return {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[name](x, dim=dim, keepdim=keepdims)
    return f


for name in ["sum", "mean", "max"]:
    for axis in REDUCE_AXES:
        for keepdims in [False, True]:
            CASES.append(Case(
                f"{name}-axis{axis}-keep{keepdims}".replace(" ", ""),
                lambda x, n=name, a=axis, k=keepdims: getattr(ops, n)(x, a, k),
                _torch_reduce(name, axis, keepdims), inputs(randn(2, 3, 4))))
    CASES.append(Case(f"{name}-0d", getattr(ops, name), _torch_reduce(name, None, False), inputs(randn())))
TIES = [[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, -1.0], [5.0, 4.0, 3.0, 5.0]]
CASES += [
    Case(f"max-ties-axis{axis}", lambda x, a=axis: ops.max(x, a), _torch_reduce("max", axis, False), vals(TIES),
         gradcheck=False)
    for axis in [None, 0, -1]
]

# ---------------------------------------------------------------- shape ops
for shape in [(6, 4), (-1,), (4, -1, 3), (2, 3, 4), (24, 1)]:
    CASES.append(Case(f"reshape-{shape_id(shape)}", lambda x, s=shape: ops.reshape(x, s),
                      lambda x, s=shape: x.reshape(s), inputs(randn(2, 3, 4))))
for axes in [None, (1, 0, 2), (2, 0, 1), (-1, 0, 1)]:
    CASES.append(Case(f"transpose-{axes}".replace(" ", ""), lambda x, a=axes: ops.transpose(x, a),
                      lambda x, a=axes: x.permute(*(a if a is not None else reversed(range(x.ndim)))),
                      inputs(randn(2, 3, 4))))
CASES += [
    Case("transpose-2d", ops.transpose, lambda x: x.t(), inputs(randn(3, 4))),
    Case("flatten", ops.flatten, lambda x: torch.flatten(x, 1), inputs(randn(2, 3, 4))),
]
for shapes, axis in [([(2, 3), (4, 3), (1, 3)], 0), ([(2, 1, 4), (2, 3, 4)], 1), ([(2, 3, 1), (2, 3, 2)], -1),
                     ([(2, 3)], 0)]:
    CASES.append(Case(f"concatenate-{shape_id(*shapes)}-axis{axis}", lambda *xs, a=axis: ops.concatenate(xs, a),
                      lambda *xs, a=axis: torch.cat(xs, a), inputs(*[randn(*s) for s in shapes])))
for axis in [0, 1, -1]:
    CASES.append(Case(f"stack-axis{axis}", lambda *xs, a=axis: ops.stack(xs, a), lambda *xs, a=axis: torch.stack(xs, a),
                      inputs(randn(2, 3), randn(2, 3), randn(2, 3))))


def _torch_key(key):
    convert = lambda k: torch.from_numpy(k) if isinstance(k, np.ndarray) else k  # noqa: E731
    return tuple(convert(k) for k in key) if isinstance(key, tuple) else convert(key)


ROW_MASK = np.array([True, False, True, True])
FULL_MASK = np.random.default_rng(1).random((4, 5)) > 0.5
GETITEM_KEYS = [
    ("slice", (4, 5), np.s_[1:3]),
    ("step", (4, 5), np.s_[:, ::2]),
    ("int", (4, 5), 1),
    ("negint-slice-none", (4, 5), np.s_[-1, 1:, None]),
    ("ellipsis", (3, 4, 2), np.s_[..., 0]),
    ("none-ellipsis", (3, 4, 2), np.s_[None, ..., 1:3]),
    ("intarray-repeated", (4, 5), np.array([0, 2, 2, 0, 2])),
    ("intarray-axis1", (4, 5), np.s_[:, np.array([1, 1, 3])]),
    ("intarray-pair", (4, 5), (np.array([0, 1, 1, 1]), np.array([2, 2, 2, 4]))),
    ("intarray-2d", (4, 5), np.array([[0, 3], [3, 3]])),
    ("list-repeated", (4, 5), [2, 0, 2]),
    ("slice-intarray", (3, 4, 2), np.s_[1:, np.array([0, 0, 3]), :]),
    ("boolmask-full", (4, 5), FULL_MASK),
    ("boolmask-rows", (4, 5), ROW_MASK),
    ("boolmask-cols", (5, 4), np.s_[:, ROW_MASK]),
]
for name, shape, key in GETITEM_KEYS:
    CASES.append(Case(f"getitem-{name}", lambda x, k=key: ops.getitem(x, k), lambda x, k=key: x[_torch_key(k)],
                      inputs(randn(*shape))))
CASES.append(Case("getitem-negative-step", lambda x: ops.getitem(x, np.s_[::-1, 1]), lambda x: torch.flip(x, (0,))[:, 1],
                  inputs(randn(4, 5))))

from test_conv_ops import torch_conv  # noqa: E402
from test_pool_ops import torch_avg_pool, torch_max_pool  # noqa: E402

CASES += [
    Case("conv-2d-same-stride2", lambda x, W, b: ops.conv(x, W, b, strides=2, padding="same"),
         lambda x, W, b: torch_conv(x, W, b, strides=2, padding="same"), inputs(randn(2, 5, 5, 2), randn(3, 3, 2, 3), randn(3))),
    Case("conv1d-valid", lambda x, W: ops.conv1d(x, W), lambda x, W: torch_conv(x, W), inputs(randn(2, 7, 2), randn(3, 2, 3))),
    Case("conv2d-dilation2", lambda x, W: ops.conv2d(x, W, dilation=2), lambda x, W: torch_conv(x, W, dilation=2),
         inputs(randn(1, 6, 6, 2), randn(2, 2, 2, 3))),
    Case("max_pool-2d-same", lambda x: ops.max_pool(x, 2, padding="same"), lambda x: torch_max_pool(x, 2, padding="same"),
         inputs(randn(2, 5, 5, 2))),
    Case("avg_pool-2d-same", lambda x: ops.avg_pool(x, 3, 2, "same"), lambda x: torch_avg_pool(x, 3, 2, "same"),
         inputs(randn(2, 5, 5, 2))),
    Case("global_max_pool-2d", ops.global_max_pool, lambda x: x.reshape(x.shape[0], -1, x.shape[-1]).max(dim=1).values,
         inputs(randn(2, 3, 4, 2))),
    Case("global_avg_pool-2d", ops.global_avg_pool, lambda x: x.mean(dim=(1, 2)), inputs(randn(2, 3, 4, 2))),
    Case("pad-2d", lambda x: ops.pad(x, [0, (1, 2), (2, 0), 0]), lambda x: F.pad(x, (0, 0, 2, 0, 1, 2)),
         inputs(randn(2, 3, 4, 2))),
    Case("crop-2d", lambda x: ops.crop(x, [0, (1, 0), (0, 2), 0]), lambda x: x[:, 1:, :2], inputs(randn(2, 3, 4, 2))),
    Case("upsample_nearest-2d", lambda x: ops.upsample_nearest(x, (2, 3)),
         lambda x: x.repeat_interleave(2, 1).repeat_interleave(3, 2), inputs(randn(2, 3, 4, 2))),
    *[Case(f"resize_bilinear-{shape_id(size)}", lambda x, size=size: ops.resize_bilinear(x, size),
           lambda x, size=size: F.interpolate(x.permute(0, 3, 1, 2), size=size, mode="bilinear",
                                              align_corners=False).permute(0, 2, 3, 1),
           inputs(randn(2, 3, 4, 2))) for size in ((6, 8), (7, 5), (2, 3))],
]
IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "duplicate case ids"


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=lambda c: c.id)
def test_gradcheck(case, rng):
    check_gradcheck(case.ours, case.make(rng))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_against_torch(case, dtype, rng):
    xs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in case.make(rng)]
    check_against_torch(case.ours, case.theirs, xs, **case.tol)


def test_every_exported_op_has_a_case():
    """A new op in threestep.ops must come with a row in CASES."""
    functions = {n for n in ops.__all__ if inspect.isfunction(getattr(ops, n)) and not n.endswith("_simple")}
    covered = {c.id.split("-")[0] for c in CASES}
    # ops with their own test files (each keeps a COVERED_OPS set next to its tests)
    import test_activations
    import test_batchnorm
    import test_conv_pool_fusion
    import test_ctc
    import test_dropout_maxout
    import test_ops_keras_additions
    import test_recurrent_ops

    covered |= (test_activations.COVERED_OPS | test_dropout_maxout.COVERED_OPS | test_batchnorm.COVERED_OPS
                | test_ctc.COVERED_OPS | test_recurrent_ops.COVERED_OPS | test_ops_keras_additions.COVERED_OPS
                | test_conv_pool_fusion.COVERED_OPS)
    assert functions - covered == set(), f"ops without a test case: {sorted(functions - covered)}"


# ---------------------------------------------------------------- extreme values
HUGE = [-1000.0, -100.0, -88.0, -30.0, -20.0, -1e-3, 0.0, 1e-3, 20.0, 30.0, 100.0, 1000.0]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_huge_inputs_keep_relative_precision(dtype):
    tiny = np.finfo(dtype).tiny  # below the normal range only relative accuracy is lost
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = check_against_torch(ops.sigmoid, torch.sigmoid, [np.array(HUGE, dtype)], atol=tiny, rtol=1e-6,
                                     grad_atol=tiny)
    assert np.isfinite(out.data).all()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, ours, theirs, make", [
    ("softmax", ops.softmax, lambda x: torch.softmax(x, -1), lambda d: [np.array([HUGE[:6], HUGE[6:]], d)]),
    ("log_softmax", ops.log_softmax, lambda x: torch.log_softmax(x, -1), lambda d: [np.array([HUGE[:6], HUGE[6:]], d)]),
    ("softmax_cross_entropy", ops.softmax_cross_entropy, _torch_ce,
     lambda d: [np.array([HUGE[:6], HUGE[6:]], d), np.array([0, 5])]),
    ("sigmoid_cross_entropy", ops.sigmoid_cross_entropy,
     lambda z, t: F.binary_cross_entropy_with_logits(z, t, reduction="none"),
     lambda d: [np.array(HUGE, d), np.array([0, 1] * 6, d)]),
], ids=["softmax", "log_softmax", "softmax_cross_entropy", "sigmoid_cross_entropy"])
def test_huge_logits_stay_finite(name, ours, theirs, make, dtype):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out, _ = check_against_torch(ours, theirs, make(dtype))
    assert np.isfinite(out.data).all(), f"{name}: {out.data}"


# ---------------------------------------------------------------- fused op == *_simple twin
def _sparse_to_onehot(fn):
    return lambda z, labels: fn(z, np.eye(z.shape[-1], dtype=z.dtype)[to_host(labels)])


TWINS = [
    ("linear-bias", ops.linear, ops.linear_simple, inputs(randn(4, 3), randn(3, 5), randn(5))),
    ("linear-nobias-3d", ops.linear, ops.linear_simple, inputs(randn(2, 3, 4), randn(4, 5))),
    ("linear-relu", lambda x, W, b: ops.linear(x, W, b, relu=True),
     lambda x, W, b: ops.relu(ops.linear_simple(x, W, b)), inputs(randn(4, 3), randn(3, 5), randn(5))),
    ("softmax", ops.softmax, ops.softmax_simple, inputs(randn(3, 5))),
    ("softmax-axis0", lambda x: ops.softmax(x, 0), lambda x: ops.softmax_simple(x, 0), inputs(randn(3, 5))),
    ("log_softmax", ops.log_softmax, ops.log_softmax_simple, inputs(randn(3, 5))),
    ("log_softmax-axis1", lambda x: ops.log_softmax(x, 1), lambda x: ops.log_softmax_simple(x, 1),
     inputs(randn(2, 3, 4))),
    ("softmax_cross_entropy-onehot", ops.softmax_cross_entropy, ops.softmax_cross_entropy_simple,
     inputs(randn(4, 5), _onehot(4, 5))),
    ("softmax_cross_entropy-soft-3d", ops.softmax_cross_entropy, ops.softmax_cross_entropy_simple,
     inputs(randn(2, 3, 5), lambda r: r.uniform(0, 1, (2, 3, 5)))),
    ("softmax_cross_entropy-sparse", lambda z, t: ops.softmax_cross_entropy(z, t),
     _sparse_to_onehot(ops.softmax_cross_entropy_simple), inputs(randn(4, 5), lambda r: r.integers(0, 5, 4))),
    ("sigmoid_cross_entropy", ops.sigmoid_cross_entropy, ops.sigmoid_cross_entropy_simple,
     inputs(lambda r: 3 * r.standard_normal((3, 4)), lambda r: r.uniform(0, 1, (3, 4)))),
    ("mean_squared_error", ops.mean_squared_error, ops.mean_squared_error_simple, inputs(randn(3, 4), randn(3, 4))),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, fused, simple, make", TWINS, ids=[t[0] for t in TWINS])
def test_fused_matches_simple(name, fused, simple, make, dtype, rng):
    xs = [a.astype(dtype) if a.dtype.kind == "f" else a for a in make(rng)]
    check_same(fused, simple, xs)


@pytest.mark.parametrize("name, simple, make", [(t[0], t[2], t[3]) for t in TWINS], ids=[t[0] for t in TWINS])
def test_simple_twin_gradcheck(name, simple, make, rng):
    check_gradcheck(simple, make(rng))


# ---------------------------------------------------------------- Tensor operators
def _arr(x, value):
    """A constant shaped and typed like x: a NumPy array on our side, a torch tensor on torch's."""
    if isinstance(x, Tensor):
        return np.full(x.shape, value, dtype=x.dtype)
    return torch.full(x.shape, value, dtype=x.dtype)


def _key_for(x, key):
    return key if isinstance(x, Tensor) else _torch_key(key)


OPERATORS = [
    ("a+b", lambda a, b: a + b, (3, 4), (4,)),
    ("a-b", lambda a, b: a - b, (3, 1), (3, 4)),
    ("a*b", lambda a, b: a * b, (2, 3, 4), (3, 4)),
    ("a/b", lambda a, b: a / (b * b + 1), (3, 4), (3, 4)),
    ("a**b", lambda a, b: (a * a + 1) ** b, (3, 4), (3, 4)),
    ("a@b", lambda a, b: a @ b, (2, 3, 4), (4, 2)),
    ("x+s", lambda x: x + 2.5, (3, 4)),
    ("s+x", lambda x: 2.5 + x, (3, 4)),
    ("x-s", lambda x: x - 2.5, (3, 4)),
    ("s-x", lambda x: 2.5 - x, (3, 4)),
    ("x*s", lambda x: x * 2.5, (3, 4)),
    ("s*x", lambda x: 2.5 * x, (3, 4)),
    ("x/s", lambda x: x / 2.5, (3, 4)),
    ("s/x", lambda x: 2.5 / (x * x + 1), (3, 4)),
    ("x**2", lambda x: x ** 2, (3, 4)),
    ("x**0.5", lambda x: (x * x + 1) ** 0.5, (3, 4)),
    ("x**-1", lambda x: (x * x + 1) ** -1, (3, 4)),
    ("2**x", lambda x: 2 ** x, (3, 4)),
    ("int*x", lambda x: 3 * x - 1, (3, 4)),
    ("-x", lambda x: -x, (3, 4)),
    ("arr+x", lambda x: _arr(x, 1.5) + x, (3, 4)),
    ("arr-x", lambda x: _arr(x, 1.5) - x, (3, 4)),
    ("arr*x", lambda x: _arr(x, 1.5) * x, (3, 4)),
    ("arr/x", lambda x: _arr(x, 1.5) / (x * x + 1), (3, 4)),
    ("arr**x", lambda x: _arr(x, 1.5) ** x, (3, 4)),
    ("arr@x", lambda x: _arr(x.T, 0.5) @ x, (3, 4)),
    ("x[key]", lambda x: x[1:, _key_for(x, np.array([0, 0, 2]))], (3, 4)),
    ("x[i]", lambda x: x[-1], (3, 4)),
    (".sum()", lambda x: x.sum(), (3, 4)),
    (".sum(axis,keepdims)", lambda x: x.sum(0, keepdims=True) if isinstance(x, Tensor) else x.sum(0, keepdim=True), (3, 4)),
    (".mean()", lambda x: x.mean(), (3, 4)),
    (".mean(axis)", lambda x: x.mean(axis=1) if isinstance(x, Tensor) else x.mean(dim=1), (3, 4)),
    (".max()", lambda x: x.max(), (3, 4)),
    (".max(axis)", lambda x: x.max(axis=-1) if isinstance(x, Tensor) else x.amax(dim=-1), (3, 4)),
    (".reshape(*shape)", lambda x: x.reshape(6, 2), (3, 4)),
    (".reshape(tuple)", lambda x: x.reshape((2, -1)), (3, 4)),
    (".transpose()", lambda x: x.transpose() if isinstance(x, Tensor) else x.permute(2, 1, 0), (2, 3, 4)),
    (".transpose(*axes)", lambda x: x.transpose(1, 0, 2) if isinstance(x, Tensor) else x.permute(1, 0, 2), (2, 3, 4)),
    (".transpose(tuple)", lambda x: x.transpose((2, 0, 1)) if isinstance(x, Tensor) else x.permute(2, 0, 1), (2, 3, 4)),
    (".T", lambda x: x.T, (3, 4)),
    ("chain", lambda x: ((x * 2 - 1) ** 2 / 3).exp().log().sum(), (3, 4)),
]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, fn, shapes", [(o[0], o[1], o[2:]) for o in OPERATORS], ids=[o[0] for o in OPERATORS])
def test_operators(name, fn, shapes, dtype, rng):
    """Values and gradients match torch, and float32 stays float32 (no float64 leak from scalars)."""
    xs = [rng.standard_normal(s).astype(dtype) for s in shapes]
    out, _ = check_against_torch(fn, fn, xs)
    assert out.dtype == dtype


@pytest.mark.parametrize("scalar", [2.5, 2, np.float64(2.5), np.float32(2.5), True])
def test_python_and_numpy_scalars_keep_float32(scalar):
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    results = [x + scalar, scalar + x, x - scalar, scalar - x, x * scalar, scalar * x, x / scalar,
               scalar / x, x ** scalar, scalar ** x]
    for r in results:
        assert isinstance(r, Tensor) and r.dtype == np.float32, f"{scalar!r} gave {type(r).__name__} {r.dtype}"
    sum(r.sum() for r in results).backward()
    assert x.grad.dtype == np.float32


def test_integer_tensor_with_float_scalar_does_not_truncate():
    i = Tensor(np.array([1, 2, 3]))
    assert_close((i * 0.5).data, [0.5, 1.0, 1.5], 0, 0, "int * 0.5")
    assert (i + 1).dtype.kind == "i"


@pytest.mark.parametrize("name, op, make_targets", [
    ("sigmoid_cross_entropy", ops.sigmoid_cross_entropy, lambda r: r.integers(0, 2, (4, 3))),
    ("squared_error", ops.squared_error, lambda r: r.integers(-2, 3, (4, 3))),
    ("softmax_cross_entropy-onehot", ops.softmax_cross_entropy, lambda r: np.eye(3, dtype=np.int64)[r.integers(0, 3, 4)]),
    ("softmax_cross_entropy-sparse", ops.softmax_cross_entropy, lambda r: r.integers(0, 3, 4)),
    ("softmax_cross_entropy-bool", ops.softmax_cross_entropy, lambda r: np.eye(3, dtype=bool)[r.integers(0, 3, 4)]),
], ids=["sigmoid_cross_entropy", "squared_error", "softmax_cross_entropy-onehot", "softmax_cross_entropy-sparse",
        "softmax_cross_entropy-bool"])
def test_losses_with_integer_targets_keep_float32(name, op, make_targets, rng):
    """Keras-style int labels must not promote float32 predictions (and their gradients) to float64."""
    t = make_targets(rng)
    z = rng.standard_normal((4, 3)).astype(np.float32)
    x = Tensor(z, requires_grad=True)
    y = op(x, t)
    assert y.dtype == np.float32, f"{name}: loss {y.dtype}"
    y.sum().backward()
    assert x.grad.dtype == np.float32
    expected = op(Tensor(z.astype(np.float64)), t.astype(np.float64) if t.ndim == 2 else t)
    assert_close(y.data, expected.data, 1e-5, 1e-5, name)


def test_numpy_array_on_the_left_gives_a_tensor():
    x = Tensor(np.ones((2, 2), np.float32), requires_grad=True)
    a = np.full((2, 2), 3.0, np.float32)
    for r in [a + x, a - x, a * x, a / x, a @ x, a ** x]:
        assert isinstance(r, Tensor), type(r)


def test_float32_in_float32_out_for_every_case(rng):
    """Every op in the table keeps float32 (values and gradients) when all its inputs are float32."""
    for case in CASES:
        xs = [a.astype(np.float32) if a.dtype.kind == "f" else a for a in case.make(rng)]
        ts = [Tensor(a, requires_grad=a.dtype.kind == "f") for a in xs]
        y = case.ours(*ts)
        assert y.dtype == np.float32, f"{case.id}: output {y.dtype}"
        y.backward(np.ones(y.shape, np.float32))
        for a, t in zip(xs, ts):
            if a.dtype.kind == "f" and t.grad is not None:
                assert t.grad.dtype == np.float32, f"{case.id}: grad {t.grad.dtype}"


# ---------------------------------------------------------------- ops reject what torch rejects
@pytest.mark.parametrize("name, ours, theirs, make", [
    ("add-shapes", ops.add, torch.add, lambda: [np.ones((2, 3)), np.ones((3, 2))]),
    ("matmul-inner", ops.matmul, torch.matmul, lambda: [np.ones((2, 3)), np.ones((4, 2))]),
    ("reshape-size", lambda x: ops.reshape(x, (4, 2)), lambda x: x.reshape(4, 2), lambda: [np.ones((2, 3))]),
    ("concatenate-shapes", lambda a, b: ops.concatenate([a, b], 0), lambda a, b: torch.cat([a, b], 0),
     lambda: [np.ones((2, 3)), np.ones((2, 4))]),
    ("getitem-out-of-range", lambda x: x[5], lambda x: x[5], lambda: [np.ones((2, 3))]),
], ids=["add-shapes", "matmul-inner", "reshape-size", "concatenate-shapes", "getitem-out-of-range"])
def test_both_raise(name, ours, theirs, make):
    check_both_raise(ours, theirs, make())
