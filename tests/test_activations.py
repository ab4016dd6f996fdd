"""The ReLU family and friends: ops (gradcheck + PyTorch oracle), activation names, layers.

Ops are listed once in ``CASES``; gradcheck (float64) and the torch oracle (float32 and
float64, values and input gradients) are derived from it. ``*-at-kinks`` cases use exact
values at the kinks to pin our subgradient convention to torch's.
"""
import inspect

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from helpers import assert_close, check_against_torch, check_gradcheck, to_host
from threestep.autograd import Tensor
from threestep.errors import ConfigError, ShapeError
from threestep.layers import activations
from threestep.layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from threestep.ops import activations as A


class Case:
    def __init__(self, id, ours, theirs, make, gradcheck=True, **tol):
        self.id, self.ours, self.theirs, self.make, self.gradcheck, self.tol = id, ours, theirs, make, gradcheck, tol


def away_from(*kinks, shape=(3, 5), scale=3.0):
    """Normal values at least 0.05 from every kink, so finite differences never straddle one."""
    def make(r):
        x = scale * r.standard_normal(shape)
        for k in kinks:
            x[np.abs(x - k) < 0.05] += 0.1  # kinks are > 0.2 apart, so this lands clear of all
        return [x]
    return make


def vals(*values):
    return lambda r: [np.array(values, dtype=np.float64)]


def torch_relu_general(negative_slope, max_value, threshold):
    """The Keras ReLU written with torch autograd (an independent reference)."""
    def f(x):
        above = torch.clamp(x, max=max_value) if max_value is not None else x
        return torch.where(x > threshold, above, negative_slope * (x - threshold))
    return f


def numpy_hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


CASES = [
    Case("leaky_relu", A.leaky_relu, lambda x: F.leaky_relu(x, 0.2), away_from(0)),
    Case("leaky_relu-alpha0.3", lambda x: A.leaky_relu(x, 0.3), lambda x: F.leaky_relu(x, 0.3), away_from(0)),
    Case("leaky_relu-at-kinks", lambda x: A.leaky_relu(x, 0.1), lambda x: F.leaky_relu(x, 0.1),
         vals(-1.0, 0.0, -0.0, 2.0), gradcheck=False),
    Case("elu", A.elu, F.elu, away_from(0)),
    Case("elu-alpha0.5", lambda x: A.elu(x, 0.5), lambda x: F.elu(x, 0.5), away_from(0)),
    Case("elu-at-kinks", A.elu, F.elu, vals(-1.0, 0.0, 1.0), gradcheck=False),
    Case("selu", A.selu, F.selu, away_from(0)),
    Case("selu-at-kinks", A.selu, F.selu, vals(-1.0, 0.0, 1.0), gradcheck=False),
    # torch's threshold=20 returns x above 20; log1p(e^-x) < 2.1e-9 there, within float64 tolerance.
    Case("softplus", A.softplus, F.softplus, lambda r: [4 * r.standard_normal((3, 5))]),
    Case("softplus-large", A.softplus, F.softplus, vals(-50.0, -20.0, 19.0, 21.0, 25.0, 40.0), gradcheck=False,
         atol=1e-8, grad_atol=1e-8),
    Case("softsign", A.softsign, F.softsign, away_from(0)),
    Case("swish", A.swish, F.silu, lambda r: [3 * r.standard_normal((3, 5))]),
    Case("mish", activations.mish, F.mish, lambda r: [3 * r.standard_normal((3, 5))]),
    Case("mish-large", activations.mish, F.mish, vals(-60.0, -20.0, 0.0, 19.0, 25.0, 60.0), gradcheck=False,
         atol=1e-8, grad_atol=1e-8),
    Case("relu6", A.relu6, F.relu6, away_from(0, 6, scale=5.0)),
    Case("relu6-at-kinks", A.relu6, F.relu6, vals(-1.0, 0.0, 3.0, 6.0, 7.0), gradcheck=False),
    # torch's hardsigmoid backward multiplies by 1/6 rounded to float32 (relative error 3e-8).
    Case("hard_sigmoid-torch-slope", lambda x: A.hard_sigmoid(x, 1 / 6, 0.5), F.hardsigmoid, away_from(-3, 3),
         grad_rtol=1e-7),
    Case("hard_sigmoid-torch-slope-at-kinks", lambda x: A.hard_sigmoid(x, 1 / 6, 0.5), F.hardsigmoid,
         vals(-4.0, -3.0, 0.0, 3.0, 4.0), gradcheck=False, grad_rtol=1e-7),
    Case("generalized_relu-slope-threshold", lambda x: A.generalized_relu(x, 0.1, None, 0.5),
         torch_relu_general(0.1, None, 0.5), away_from(0.5)),
    Case("generalized_relu-all", lambda x: A.generalized_relu(x, 0.2, 2.0, 0.5),
         torch_relu_general(0.2, 2.0, 0.5), away_from(0.5, 2.0)),
    Case("generalized_relu-max", lambda x: A.generalized_relu(x, 0.0, 1.5, 0.0), lambda x: torch.clamp(x, 0, 1.5),
         away_from(0, 1.5)),
    Case("prelu-per-unit", A.prelu, lambda x, a: torch.where(x > 0, x, a * x),
         lambda r: [away_from(0, shape=(4, 3))(r)[0], r.uniform(-0.5, 0.5, (3,))]),
    Case("prelu-shared-scalar", A.prelu, F.prelu,
         lambda r: [away_from(0, shape=(4, 3, 2))(r)[0], r.uniform(-0.5, 0.5, (1,))]),
    Case("prelu-at-kinks", A.prelu, lambda x, a: torch.where(x > 0, x, a * x),
         lambda r: [np.array([[-1.0, 0.0, 2.0]]), np.array([0.25, 0.5, 0.75])], gradcheck=False),
]
IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS)

# The op functions these tests cover (for tests/test_ops.py's every-exported-op check).
COVERED_OPS = {"leaky_relu", "elu", "selu", "softplus", "softsign", "swish", "silu", "relu6", "hard_sigmoid",
               "generalized_relu", "prelu"}


def test_covered_ops_exist():
    assert all(callable(getattr(A, name)) for name in COVERED_OPS)
    assert A.silu is A.swish


@pytest.mark.parametrize("case", [c for c in CASES if c.gradcheck], ids=lambda c: c.id)
def test_gradcheck(case, rng):
    check_gradcheck(case.ours, case.make(rng))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_against_torch(case, dtype, rng):
    xs = [a.astype(dtype) for a in case.make(rng)]
    check_against_torch(case.ours, case.theirs, xs, **case.tol)


def test_prelu_alpha_gradient_against_torch(rng):
    x = away_from(0, shape=(6, 4))(rng)[0]
    alpha = rng.uniform(-0.3, 0.3, 4)
    xt, at = Tensor(x, requires_grad=True), Tensor(alpha, requires_grad=True)
    y = A.prelu(xt, at)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)
    tx, ta = torch.tensor(x, requires_grad=True), torch.tensor(alpha, requires_grad=True)
    torch.nn.functional.prelu(tx, ta).backward(torch.tensor(gy))
    assert_close(at.grad, ta.grad.numpy(), 1e-12, 1e-10, "alpha grad")
    assert_close(xt.grad, tx.grad.numpy(), 1e-12, 1e-10, "x grad")


def test_hard_sigmoid_matches_keras_formula(rng):
    """Keras 2.3: clip(0.2 x + 0.5, 0, 1); slope 0.2 strictly inside (-2.5, 2.5), else 0."""
    x = np.concatenate([away_from(-2.5, 2.5, shape=(40,), scale=3.0)(rng)[0], [-2.5, 2.5, -10.0, 10.0]])
    xt = Tensor(x, requires_grad=True)
    y = A.hard_sigmoid(xt)
    assert_close(y.data, numpy_hard_sigmoid(x), 1e-15, 0, "hard_sigmoid")
    y.backward(np.ones_like(x))
    assert_close(xt.grad, np.where(np.abs(x) < 2.5, 0.2, 0.0), 1e-15, 0, "hard_sigmoid grad")
    check_gradcheck(A.hard_sigmoid, [x[:40]])


@pytest.mark.parametrize("fn", [A.elu, A.selu, A.softplus, A.softsign, A.swish, A.leaky_relu, A.hard_sigmoid])
def test_extreme_inputs_stay_finite_and_keep_float32(fn):
    x = np.array([-1e4, -100.0, -30.0, 0.0, 30.0, 100.0, 1e4], np.float32)
    with np.errstate(over="raise", invalid="raise"):
        xt = Tensor(x, requires_grad=True)
        y = fn(xt)
        y.backward(np.ones_like(x))
    assert y.dtype == np.float32 and xt.grad.dtype == np.float32
    assert np.isfinite(y.data).all() and np.isfinite(xt.grad).all()


# ---------------------------------------------------------------- activation names
NAMED = {
    "leaky_relu": lambda x: np.where(x > 0, x, 0.2 * x),
    "relu6": lambda x: np.clip(x, 0, 6),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)),
    "selu": lambda x: A.SELU_SCALE * np.where(x > 0, x, A.SELU_ALPHA * np.expm1(x)),
    "softplus": lambda x: np.log1p(np.exp(x)),
    "softsign": lambda x: x / (1 + np.abs(x)),
    "hard_sigmoid": numpy_hard_sigmoid,
    "swish": lambda x: x / (1 + np.exp(-x)),
    "silu": lambda x: x / (1 + np.exp(-x)),
    "relu": lambda x: np.maximum(x, 0),
}


@pytest.mark.parametrize("name", sorted(NAMED))
def test_activation_by_name(name, rng):
    x = 4 * rng.standard_normal((3, 7))
    fn = activations.get(name)
    assert_close(fn(Tensor(x)).data, NAMED[name](x), 1e-12, 1e-12, name)
    assert activations.name_of(fn) in (name, "swish")  # silu is an alias of swish


def test_keras_relu_options(rng):
    x = away_from(0.5, 2.0, shape=(50,))(rng)[0]
    got = activations.relu(Tensor(x), alpha=0.1, max_value=2.0, threshold=0.5).data
    want = np.where(x > 0.5, np.minimum(x, 2.0), 0.1 * (x - 0.5))
    assert_close(got, want, 1e-15, 0, "relu(alpha, max_value, threshold)")


def test_unknown_activation_lists_valid_names():
    with pytest.raises(ConfigError, match="leaky_relu.*selu|selu.*leaky_relu"):
        activations.get("leaky")


# ---------------------------------------------------------------- layers
def _run(layer, x):
    xt = Tensor(x, requires_grad=True)
    y = layer(xt)
    return xt, y


@pytest.mark.parametrize("shared_axes, torch_layout", [
    (None, "flat"),        # one slope per unit: alpha (h, w, c) = PReLU(h*w*c) on the flattened sample
    ([1, 2], "channels"),  # one slope per channel: torch.nn.PReLU(c) on NCHW
    ([1, 2, 3], "one"),    # one slope in all
])
def test_prelu_layer_against_torch(shared_axes, torch_layout, rng):
    b, h, w, c = 4, 3, 5, 2
    x = away_from(0, shape=(b, h, w, c))(rng)[0]
    layer = PReLU(shared_axes=shared_axes, dtype="float64")
    layer.build_for((None, h, w, c))
    alpha_shape = {"flat": (h, w, c), "channels": (1, 1, c), "one": (1, 1, 1)}[torch_layout]
    assert layer.alpha.shape == alpha_shape
    alpha = rng.uniform(-0.4, 0.4, alpha_shape)
    layer.set_weights([alpha])
    xt, y = _run(layer, x)
    gy = rng.standard_normal(y.shape)
    y.backward(gy)

    tx = torch.tensor(x, requires_grad=True)
    n = {"flat": h * w * c, "channels": c, "one": 1}[torch_layout]
    tlayer = torch.nn.PReLU(num_parameters=n).double()
    with torch.no_grad():
        tlayer.weight.copy_(torch.tensor(alpha.reshape(-1) if torch_layout != "channels" else alpha[0, 0]))
    if torch_layout == "channels":
        ty = tlayer(tx.permute(0, 3, 1, 2)).permute(0, 2, 3, 1)
    else:
        ty = tlayer(tx.reshape(b, -1)).reshape(b, h, w, c)
    ty.backward(torch.tensor(gy))
    assert_close(y.data, ty.detach().numpy(), 1e-12, 1e-12, "forward")
    assert_close(xt.grad, tx.grad.numpy(), 1e-12, 1e-12, "x grad")
    assert_close(layer.alpha.grad, tlayer.weight.grad.numpy().reshape(alpha_shape), 1e-12, 1e-10, "alpha grad")


def test_prelu_starts_as_relu_and_accepts_an_int_axis(rng):
    x = rng.standard_normal((3, 4, 2)).astype(np.float32)
    layer = PReLU(shared_axes=1)
    y = layer(Tensor(x))
    assert layer.alpha.shape == (1, 2) and layer.shared_axes == [1]
    assert_close(y.data, np.maximum(x, 0), 0, 0, "PReLU with zero slopes")


def test_prelu_bad_arguments():
    with pytest.raises(ConfigError, match=r"Received: shared_axes=0"):
        PReLU(shared_axes=0)
    with pytest.raises(ConfigError, match="initializer"):
        PReLU(alpha_initializer="nope")
    with pytest.raises(ShapeError, match="shared axis 3"):
        PReLU(shared_axes=[3]).build_for((None, 4, 2))
    with pytest.raises(ShapeError, match="non-shared"):
        PReLU().build_for((None, None, 2))


@pytest.mark.parametrize("layer, reference", [
    (LeakyReLU(), lambda x: np.where(x > 0, x, 0.3 * x)),
    (LeakyReLU(alpha=0.05), lambda x: np.where(x > 0, x, 0.05 * x)),
    (ELU(), lambda x: np.where(x > 0, x, np.expm1(x))),
    (ELU(alpha=0.5), lambda x: np.where(x > 0, x, 0.5 * np.expm1(x))),
    (ThresholdedReLU(), lambda x: np.where(x > 1.0, x, 0.0)),
    (Softmax(), lambda x: np.exp(x) / np.exp(x).sum(-1, keepdims=True)),
    (Softmax(axis=1), lambda x: np.exp(x) / np.exp(x).sum(1, keepdims=True)),
    (ReLU(), lambda x: np.maximum(x, 0)),
    (ReLU(max_value=6.0), lambda x: np.clip(x, 0, 6)),
    (ReLU(negative_slope=0.1), lambda x: np.where(x > 0, x, 0.1 * x)),
    (ReLU(max_value=2.0, negative_slope=0.1, threshold=0.5),
     lambda x: np.where(x > 0.5, np.minimum(x, 2), 0.1 * (x - 0.5))),
], ids=["LeakyReLU", "LeakyReLU-0.05", "ELU", "ELU-0.5", "ThresholdedReLU", "Softmax", "Softmax-axis1", "ReLU",
        "ReLU-max6", "ReLU-slope", "ReLU-all"])
def test_activation_layers_forward(layer, reference, rng):
    x = (4 * rng.standard_normal((2, 3, 4))).astype(np.float32)
    y = layer(Tensor(x))
    assert y.dtype == np.float32
    assert_close(y.data, reference(x.astype(np.float64)).astype(np.float32), 1e-6, 1e-5, type(layer).__name__)


ALL_LAYERS = [
    LeakyReLU(alpha=0.1, name="lr"), ELU(alpha=0.7), ThresholdedReLU(theta=0.5), Softmax(axis=1),
    ReLU(max_value=6.0, negative_slope=0.1, threshold=0.2),
    PReLU(alpha_initializer="ones", alpha_regularizer="l2", shared_axes=[1], input_shape=(3, 4)),
]


@pytest.mark.parametrize("layer", ALL_LAYERS, ids=lambda v: type(v).__name__)
def test_get_config_round_trip(layer):
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config
    base = {"name", "trainable", "dtype", "batch_input_shape"}
    init_args = set(inspect.signature(type(layer).__init__).parameters) - {"self", "kwargs"}
    assert set(config) - base == init_args, f"config keys {sorted(config)} vs __init__ args {sorted(init_args)}"


@pytest.mark.parametrize("make, match", [
    (lambda: LeakyReLU(alpha=-1), r"Received: alpha=-1"),
    (lambda: LeakyReLU(alpha="big"), r"Received: alpha='big'"),
    (lambda: ELU(alpha=float("nan")), r"Received: alpha=nan"),
    (lambda: ReLU(max_value=-1.0), r"Received: max_value=-1.0"),
    (lambda: ReLU(negative_slope=-0.1), r"Received: negative_slope=-0.1"),
    (lambda: ReLU(threshold=None), r"Received: threshold=None"),
    (lambda: ThresholdedReLU(theta=-1), r"Received: theta=-1"),
    (lambda: Softmax(axis=1.5), r"Received: axis=1.5"),
])
def test_bad_arguments_name_the_argument(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_softmax_layer_as_output_trains_with_fused_cross_entropy(rng):
    from threestep.layers.core import Dense
    from threestep.models import Sequential
    from threestep.optimizers import SGD

    x = rng.standard_normal((32, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 32)]
    model = Sequential([Dense(3, input_dim=4), Softmax()])
    model.compile(loss="categorical_crossentropy", optimizer=SGD(0.1))
    before = model.evaluate(x, y, verbose=0)
    model.fit(x, y, epochs=5, batch_size=32, verbose=0)
    p = model.predict(x)
    assert_close(p.sum(-1), np.ones(32), 1e-5, 0, "softmax rows")
    assert model.evaluate(x, y, verbose=0) < before


def test_tf_keras_names_gelu_mish_silu_and_their_values():
    """tf.keras 2.13+ code uses ``activation="gelu"`` / ``"mish"`` and ``keras.activations.gelu(x, approximate=...)``."""
    from keras_oracle import import_tf_keras  # noqa: PLC0415
    from threestep.keras import activations as ka  # noqa: PLC0415

    tfk = import_tf_keras()
    x = np.linspace(-6, 6, 25, dtype=np.float32).reshape(5, 5)
    for ours, theirs in ((ka.gelu, tfk.activations.gelu), (ka.mish, tfk.activations.mish),
                         (lambda t: ka.gelu(t, approximate=True), lambda t: tfk.activations.gelu(t, approximate=True)),
                         (ka.silu, tfk.activations.swish)):
        np.testing.assert_allclose(to_host(ours(Tensor(x)).data), np.asarray(theirs(x)), rtol=1e-5, atol=1e-6)
    assert ka.get("mish") is ka.mish and ka.serialize(ka.mish) == "mish"
