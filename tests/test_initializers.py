"""Initializers: Keras 2 names and objects, fans and statistics, seeds, orthogonal and identity."""
import math

import numpy as np
import pytest

from threestep import backend
from threestep.errors import ConfigError
from threestep.layers import initializers as init
from threestep.layers.core import Dense
from helpers import to_host

SHAPE = (400, 600)  # 240,000 draws: fan_in 400, fan_out 600
FAN_IN, FAN_OUT = SHAPE
AVG = (FAN_IN + FAN_OUT) / 2


def uniform(limit):
    return {"limit": limit, "std": limit / math.sqrt(3)}


def truncated(std):
    """Keras's 'normal' variance scaling: truncated at 2 sd of the underlying normal, whose sd is
    std / 0.8796 so that the truncated draws have standard deviation ``std``."""
    return {"limit": 2 * std / 0.87962566103423978, "std": std}


STATS = {
    "glorot_uniform": (init.GlorotUniform, uniform(math.sqrt(6 / (FAN_IN + FAN_OUT)))),
    "glorot_normal": (init.GlorotNormal, truncated(math.sqrt(1 / AVG))),
    "he_normal": (init.HeNormal, truncated(math.sqrt(2 / FAN_IN))),
    "he_uniform": (init.HeUniform, uniform(math.sqrt(6 / FAN_IN))),
    "lecun_normal": (init.LecunNormal, truncated(math.sqrt(1 / FAN_IN))),
    "lecun_uniform": (init.LecunUniform, uniform(math.sqrt(3 / FAN_IN))),
    "random_uniform": (init.RandomUniform, uniform(0.05)),
    "random_normal": (init.RandomNormal, {"limit": None, "std": 0.05}),
    "truncated_normal": (init.TruncatedNormal, {"limit": 0.1, "std": 0.05 * 0.87962566103423978}),
}


@pytest.mark.parametrize("how", ["name", "object"])
@pytest.mark.parametrize("name", sorted(STATS))
def test_statistics(name, how):
    cls, stats = STATS[name]
    initializer = init.get(name) if how == "name" else cls()
    assert type(initializer) is cls
    w = to_host(initializer(SHAPE))
    assert w.shape == SHAPE and w.dtype == np.float32
    w = w.astype(np.float64)
    assert abs(w.mean()) < 4 * stats["std"] / math.sqrt(w.size), f"mean {w.mean():.3g}"
    assert w.std() == pytest.approx(stats["std"], rel=0.01)
    if stats["limit"] is not None:
        assert np.abs(w).max() <= stats["limit"] * (1 + 1e-6)
        assert np.abs(w).max() >= 0.98 * stats["limit"], "draws should reach near the limit"


def test_conv_kernel_fans():
    """(kh, kw, in, out): fans multiply by the receptive field, as Keras."""
    assert init.compute_fans((3, 3, 16, 32)) == (144, 288)
    w = to_host(init.get("he_normal")((3, 3, 16, 32))).astype(np.float64)
    assert w.std() == pytest.approx(math.sqrt(2 / 144), rel=0.03)
    w = to_host(init.get("glorot_uniform")((5, 16, 8)))
    assert np.abs(w).max() <= math.sqrt(6 / (5 * 16 + 5 * 8)) * (1 + 1e-6)


def test_random_normal_arguments():
    w = to_host(init.RandomNormal(mean=1.0, stddev=2.0)((300, 300))).astype(np.float64)
    assert w.mean() == pytest.approx(1.0, abs=0.03) and w.std() == pytest.approx(2.0, rel=0.01)
    w = to_host(init.RandomUniform(minval=2.0, maxval=3.0)((100, 100)))
    assert w.min() >= 2.0 and w.max() <= 3.0


@pytest.mark.parametrize("name, value", [("zeros", 0.0), ("ones", 1.0), ("zero", 0.0), ("one", 1.0)])
def test_constants_by_name(name, value):
    w = to_host(init.get(name)((3, 4)))
    assert w.dtype == np.float32 and np.array_equal(w, np.full((3, 4), value, np.float32))


def test_constant_identity_dtype():
    assert np.array_equal(to_host(init.Constant(3.5)((2, 3))), np.full((2, 3), 3.5, np.float32))
    assert np.array_equal(to_host(init.get("constant")((2,))), np.zeros(2))
    assert init.get("glorot_uniform")((3, 4), dtype="float64").dtype == np.float64
    assert np.array_equal(to_host(init.get("identity")((4, 4))), np.eye(4, dtype=np.float32))
    assert np.array_equal(to_host(init.Identity(gain=2.5)((3, 5))), 2.5 * np.eye(3, 5, dtype=np.float32))
    with pytest.raises(ConfigError, match=r"Received: shape=\(2, 3, 4\)"):
        init.Identity()((2, 3, 4))


@pytest.mark.parametrize("shape", [(50, 50), (80, 30), (30, 80), (3, 3, 4, 8)])
def test_orthogonal(shape):
    gain = 1.7
    q = to_host(init.Orthogonal(gain=gain)(shape)).astype(np.float64).reshape(-1, shape[-1])
    rows, cols = q.shape
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(min(rows, cols)), atol=1e-5)
    q = to_host(init.get("orthogonal")(shape)).reshape(-1, shape[-1]).astype(np.float64)
    gram = q.T @ q if rows >= cols else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-5)


@pytest.mark.parametrize("name", ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal",
                                  "random_normal", "random_uniform", "truncated_normal", "orthogonal"])
def test_seeded_reproducibility(name):
    backend.set_seed(123)
    a = init.get(name)((20, 30))
    backend.set_seed(123)
    b = init.get(name)((20, 30))
    assert np.array_equal(a, b)
    backend.set_seed(124)
    assert not np.array_equal(a, init.get(name)((20, 30)))
    cls = type(init.get(name))
    c, d = cls(seed=5)((20, 30)), cls(seed=5)((20, 30))
    assert np.array_equal(c, d), "seed= gives the same values"
    assert not np.array_equal(c, cls(seed=6)((20, 30)))


def test_set_seed_reproduces_a_layer():
    weights = []
    for _ in range(2):
        backend.set_seed(7)
        layer = Dense(5, input_dim=3, bias_initializer="random_normal")
        layer.build_for((None, 3))
        weights.append(layer.get_weights())
    for a, b in zip(*weights):
        assert np.array_equal(a, b)


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        init.get("glorot")
    message = str(info.value)
    assert "'glorot'" in message
    for valid in ["glorot_uniform", "glorot_normal", "he_normal", "he_uniform", "lecun_normal", "orthogonal",
                  "identity", "zeros", "ones", "constant", "random_normal", "random_uniform"]:
        assert repr(valid) in message


@pytest.mark.parametrize("name", ["zeros", "ones", "constant", "random_normal", "random_uniform", "truncated_normal",
                                  "variance_scaling", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
                                  "lecun_normal", "lecun_uniform", "identity", "orthogonal"])
def test_serialize_round_trip_and_class_names(name):
    original = init.get(name)
    spec = init.serialize(original)
    clone = init.get(spec)
    assert type(clone) is type(original) and clone.get_config() == original.get_config()
    assert type(init.get(spec["class_name"])) is type(original), "CamelCase names work too"
    assert type(init.get(type(original))) is type(original), "so does the class itself"


def test_object_arguments_survive_a_round_trip():
    original = init.VarianceScaling(scale=2.0, mode="fan_out", distribution="uniform", seed=3)
    clone = init.get(init.serialize(original))
    assert np.array_equal(clone((10, 10)), original((10, 10)))
    w = original((200, 300)).astype(np.float64)
    assert np.abs(w).max() <= math.sqrt(3 * 2.0 / 300) * (1 + 1e-6)


@pytest.mark.parametrize("kwargs, match", [
    ({"scale": 0}, r"Received: scale=0"),
    ({"mode": "fan_sideways"}, r"Received: mode='fan_sideways'"),
    ({"distribution": "cauchy"}, r"Received: distribution='cauchy'"),
])
def test_variance_scaling_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        init.VarianceScaling(**kwargs)


def test_callables_pass_through_and_bad_types_fail():
    fn = lambda shape, dtype=None: np.full(shape, 2.0, dtype or "float32")  # noqa: E731
    assert init.get(fn) is fn
    assert init.get(None) is None
    with pytest.raises(ConfigError, match="Could not interpret initializer"):
        init.get(3)


def test_weights_are_made_in_c_order_whatever_the_initializer_returns():
    """Orthogonal's Q^T comes in Fortran order; weights are stored in C order, so the fast
    optimizer kernels (C-contiguous arrays only) serve the recurrent kernels too."""
    from threestep import layers as L

    for layer in (L.LSTM(6), L.GRU(6), L.SimpleRNN(6)):
        layer.build((None, 4, 3))
        assert all(w.data.flags.c_contiguous for w in layer.weights), layer
    layer = L.Dense(2)
    layer.build((None, 3))
    scalar = layer.add_weight("scale", (), initializer="ones")
    assert scalar.data.shape == ()
