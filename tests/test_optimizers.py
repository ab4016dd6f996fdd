"""Optimizers and schedules: 20 steps from the same float64 weights and gradients give the
trajectory of ``torch.optim`` (rtol 1e-6) and of a written-out NumPy reference of the
Keras 2.3 formula; Keras 2.3 defaults; legacy ``lr=`` / ``decay=``; clipping against
``torch.nn.utils``; schedules against hand-computed values and ``torch.optim.lr_scheduler``;
state save/restore; serialization; errors."""
import json
import math

import numpy as np
import pytest
import torch

from helpers import assert_close, to_host
from threestep import backend, optimizers
from threestep.autograd import Tensor
from threestep.errors import ConfigError
from threestep.optimizers import SGD, Adadelta, Adagrad, Adam, Adamax, AdamW, Nadam, RMSprop, schedules

SHAPES = [(3, 4), (4,)]
STEPS = 20
RTOL, ATOL = 1e-6, 1e-12


@pytest.fixture(autouse=True)
def torch_float64():
    # torch keeps scalar state (step counts, NAdam's mu product) in the default dtype.
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield
    torch.set_default_dtype(old)


# ----------------------------------------------------------------- the harness
def initial_weights(dtype=np.float64):
    rng = np.random.default_rng(0)
    return [rng.standard_normal(s).astype(dtype) for s in SHAPES]


def gradient(w, index, t, scale=1.0):
    """A quadratic bowl plus a push that changes with the step: the gradient depends on the
    current weights, so any difference between two implementations compounds."""
    phase = np.arange(w.size, dtype=np.float64).reshape(w.shape) + 0.7 * index + t
    return (scale * (0.5 * (w - 0.3) + 0.2 * np.cos(phase))).astype(w.dtype)


def run_ours(opt, steps=STEPS, weights=None, scale=1.0, params=None, start=0):
    """Trajectory (list over steps of the weight list) of our optimizer."""
    if params is None:
        params = [Tensor(w.copy(), requires_grad=True) for w in (weights or initial_weights())]
    trajectory = []
    for t in range(start, start + steps):
        for i, p in enumerate(params):
            p.grad = backend.on_device(gradient(to_host(p.data), i, t, scale))  # on the GPU under CuPy
        opt.apply_gradients(params)
        trajectory.append([to_host(p.data).copy() for p in params])
    return trajectory


def run_torch(make, steps=STEPS, scale=1.0, before_step=None, scheduler=None):
    params = [torch.tensor(w, requires_grad=True) for w in initial_weights()]
    opt = make(params)
    sched = scheduler(opt) if scheduler else None
    trajectory = []
    for t in range(steps):
        for i, p in enumerate(params):
            p.grad = torch.from_numpy(gradient(p.detach().numpy(), i, t, scale))
        if before_step:
            before_step(opt, t + 1, params)
        opt.step()
        if sched:
            sched.step()
        trajectory.append([p.detach().numpy().copy() for p in params])
    return trajectory


def run_reference(step_fn, config, steps=STEPS):
    """The Keras formula written out functionally (``new_p = f(p, g, state)``) in NumPy."""
    weights = initial_weights()
    states = [{} for _ in weights]
    trajectory = []
    for t in range(1, steps + 1):
        lr = config["learning_rate"] / (1.0 + config.get("decay", 0.0) * (t - 1))
        grads = [gradient(w, i, t - 1) for i, w in enumerate(weights)]
        weights = [step_fn(w, g, s, t, lr, config) for w, g, s in zip(weights, grads, states)]
        trajectory.append(weights)
    return trajectory


def assert_same_trajectory(ours, expected, what, rtol=RTOL, atol=ATOL):
    assert len(ours) == len(expected)
    for t, (a, b) in enumerate(zip(ours, expected), start=1):
        for i, (x, y) in enumerate(zip(a, b)):
            assert_close(x, y, atol=atol, rtol=rtol, what=f"{what}: parameter {i} after step {t}")


# ----------------------------------------------------------------- Keras 2.3 formulas, written out
def _zeros(s, p, *names, value=0.0):
    for n in names:
        s.setdefault(n, np.full_like(p, value))


def ref_sgd(p, g, s, t, lr, c):
    if not c["momentum"]:
        return p - lr * g
    _zeros(s, p, "v")
    s["v"] = c["momentum"] * s["v"] - lr * g
    return p + c["momentum"] * s["v"] - lr * g if c["nesterov"] else p + s["v"]


def ref_rmsprop(p, g, s, t, lr, c):
    _zeros(s, p, "a", "m", "mg")
    s["a"] = c["rho"] * s["a"] + (1 - c["rho"]) * g ** 2
    if c["centered"]:
        s["mg"] = c["rho"] * s["mg"] + (1 - c["rho"]) * g
        denom = np.sqrt(s["a"] - s["mg"] ** 2) + c["epsilon"]
    else:
        denom = np.sqrt(s["a"]) + c["epsilon"]
    if not c["momentum"]:  # Keras 2.3 RMSprop
        return p - lr * g / denom
    s["m"] = c["momentum"] * s["m"] + lr * g / denom
    return p - s["m"]


def ref_adagrad(p, g, s, t, lr, c):
    _zeros(s, p, "a", value=c["initial_accumulator_value"])
    s["a"] = s["a"] + g ** 2
    return p - lr * g / (np.sqrt(s["a"]) + c["epsilon"])


def ref_adadelta(p, g, s, t, lr, c):
    _zeros(s, p, "a", "d")
    s["a"] = c["rho"] * s["a"] + (1 - c["rho"]) * g ** 2
    update = g * np.sqrt(s["d"] + c["epsilon"]) / np.sqrt(s["a"] + c["epsilon"])
    s["d"] = c["rho"] * s["d"] + (1 - c["rho"]) * update ** 2
    return p - lr * update


def ref_adam(p, g, s, t, lr, c):
    _zeros(s, p, "m", "v", "vhat")
    if c.get("weight_decay"):  # AdamW (Keras 3): decoupled decay first
        p = p - p * c["weight_decay"] * lr
    lr_t = lr * np.sqrt(1 - c["beta_2"] ** t) / (1 - c["beta_1"] ** t)
    s["m"] = c["beta_1"] * s["m"] + (1 - c["beta_1"]) * g
    s["v"] = c["beta_2"] * s["v"] + (1 - c["beta_2"]) * g ** 2
    v = s["v"]
    if c["amsgrad"]:
        v = s["vhat"] = np.maximum(s["vhat"], s["v"])
    return p - lr_t * s["m"] / (np.sqrt(v) + c["epsilon"])


def ref_adamax(p, g, s, t, lr, c):
    _zeros(s, p, "m", "u")
    s["m"] = c["beta_1"] * s["m"] + (1 - c["beta_1"]) * g
    s["u"] = np.maximum(c["beta_2"] * s["u"], np.abs(g))
    return p - lr / (1 - c["beta_1"] ** t) * s["m"] / (s["u"] + c["epsilon"])


def ref_nadam(p, g, s, t, lr, c):
    _zeros(s, p, "m", "v")
    mu = [c["beta_1"] * (1 - 0.5 * 0.96 ** (k * c["schedule_decay"])) for k in range(1, t + 2)]
    m_schedule_new, m_schedule_next = np.prod(mu[:t]), np.prod(mu[:t + 1])
    g_prime = g / (1 - m_schedule_new)
    s["m"] = c["beta_1"] * s["m"] + (1 - c["beta_1"]) * g
    s["v"] = c["beta_2"] * s["v"] + (1 - c["beta_2"]) * g ** 2
    m_bar = (1 - mu[t - 1]) * g_prime + mu[t] * s["m"] / (1 - m_schedule_next)
    return p - lr * m_bar / (np.sqrt(s["v"] / (1 - c["beta_2"] ** t)) + c["epsilon"])


def keras_adam_eps(epsilon, beta_2):
    """Keras adds epsilon to the uncorrected sqrt(v); torch to sqrt(v)/sqrt(1-b2^t)."""
    def hook(opt, t, params):
        opt.param_groups[0]["eps"] = epsilon / math.sqrt(1 - beta_2 ** t)
    return hook


# id: (our optimizer, torch optimizer factory or None, torch hook, Keras reference)
CASES = {
    "sgd": (lambda: SGD(0.1), lambda p: torch.optim.SGD(p, lr=0.1), None, ref_sgd),
    "sgd_momentum": (lambda: SGD(0.05, momentum=0.9),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), None, ref_sgd),
    "sgd_nesterov": (lambda: SGD(0.05, momentum=0.9, nesterov=True),
                     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True), None, ref_sgd),
    "rmsprop": (lambda: RMSprop(0.01), lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-7),
                None, ref_rmsprop),
    "rmsprop_momentum_centered": (
        lambda: RMSprop(0.01, rho=0.8, momentum=0.5, centered=True),
        lambda p: torch.optim.RMSprop(p, lr=0.01, alpha=0.8, eps=1e-7, momentum=0.5, centered=True),
        None, ref_rmsprop),
    "adagrad": (lambda: Adagrad(0.1), lambda p: torch.optim.Adagrad(p, lr=0.1, eps=1e-7), None, ref_adagrad),
    "adagrad_init_decay": (
        lambda: Adagrad(0.1, initial_accumulator_value=0.1, decay=0.05),
        lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.05, initial_accumulator_value=0.1, eps=1e-7),
        None, ref_adagrad),
    "adadelta": (lambda: Adadelta(), lambda p: torch.optim.Adadelta(p, lr=1.0, rho=0.95, eps=1e-7),
                 None, ref_adadelta),
    "adam": (lambda: Adam(0.01), lambda p: torch.optim.Adam(p, lr=0.01), keras_adam_eps(1e-7, 0.999), ref_adam),
    "adam_amsgrad": (lambda: Adam(0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3, amsgrad=True),
                     lambda p: torch.optim.Adam(p, lr=0.01, betas=(0.8, 0.99), amsgrad=True),
                     keras_adam_eps(1e-3, 0.99), ref_adam),
    "adamw": (lambda: AdamW(0.01, weight_decay=0.1),
              lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1), keras_adam_eps(1e-7, 0.999), ref_adam),
    # torch puts Adamax's eps inside the max: the formulas agree exactly at epsilon=0 ...
    "adamax": (lambda: Adamax(0.01, epsilon=0.0), lambda p: torch.optim.Adamax(p, lr=0.01, eps=0.0), None,
               ref_adamax),
    # ... and with Keras's epsilon only the Keras reference applies.
    "adamax_epsilon": (lambda: Adamax(0.01, epsilon=1e-2), None, None, ref_adamax),
    "nadam": (lambda: Nadam(0.01), lambda p: torch.optim.NAdam(p, lr=0.01, eps=1e-7, momentum_decay=0.004),
              None, ref_nadam),
}
TORCH_CASES = [k for k, v in CASES.items() if v[1] is not None]


@pytest.mark.parametrize("case", TORCH_CASES)
def test_trajectory_matches_torch(case):
    make, make_torch, hook, _ = CASES[case]
    ours = run_ours(make())
    expected = run_torch(make_torch, before_step=hook)
    assert_same_trajectory(ours, expected, f"{case} vs torch")


@pytest.mark.parametrize("case", list(CASES))
def test_trajectory_matches_keras_formula(case):
    make, _, _, reference = CASES[case]
    opt = make()
    ours = run_ours(opt)
    assert_same_trajectory(ours, run_reference(reference, opt.get_config()), f"{case} vs Keras formula",
                           rtol=1e-10)


def test_adam_epsilon_placement_differs_from_torch_without_mapping():
    """The mapping above is needed: with equal eps values and gradients of the order of eps,
    Keras's Adam and torch's Adam take different steps."""
    ours = run_ours(Adam(0.01, epsilon=1e-3), steps=3, scale=1e-3)
    theirs = run_torch(lambda p: torch.optim.Adam(p, lr=0.01, eps=1e-3), steps=3, scale=1e-3)
    assert not np.allclose(ours[-1][0], theirs[-1][0], rtol=1e-3)


@pytest.mark.parametrize("case", list(CASES))
def test_float32_stays_float32(case):
    opt = CASES[case][0]()
    params = [Tensor(w, requires_grad=True) for w in initial_weights(np.float32)]
    run_ours(opt, steps=3, params=params)
    expected = run_ours(CASES[case][0](), steps=3)[-1]
    for i, p in enumerate(params):
        assert p.data.dtype == np.float32, f"{case}: parameter {i} became {p.data.dtype}"
        assert_close(p.data, expected[i], atol=1e-5, rtol=1e-4, what=f"{case} float32 vs float64")
    for name, arrays in opt.slots.items():
        assert all(a.dtype == np.float32 for a in arrays), f"{case}: slot {name!r} is not float32"


@pytest.mark.parametrize("case", list(CASES))
def test_state_restore_continues_bit_identically(case):
    make = CASES[case][0]
    straight = run_ours(make())
    first = make()
    params = [Tensor(w.copy(), requires_grad=True) for w in initial_weights()]
    run_ours(first, steps=10, params=params)
    state = first.get_state()
    assert state["iterations"] == 10
    assert all(isinstance(a, np.ndarray) for arrays in state["slots"].values() for a in arrays)
    state = json.loads(json.dumps({"iterations": state["iterations"]})) | {"slots": state["slots"]}
    resumed = type(first).from_config(first.get_config())
    resumed.set_state(state)
    for arrays in state["slots"].values():  # the restored slots are copies
        for a in arrays:
            a += 1.0
    rest = run_ours(resumed, steps=10, params=params, start=10)
    for i, (a, b) in enumerate(zip(rest[-1], straight[-1])):
        assert np.array_equal(a, b), f"{case}: parameter {i} differs after resuming, max diff {np.abs(a - b).max()}"


@pytest.mark.gpu
@pytest.mark.parametrize("case", list(CASES))
def test_cupy_matches_numpy(case, gpu_cupy):
    """The same update_step code on GPU arrays (marked gpu: run with `pytest -m gpu` on a GPU machine)."""
    cp = gpu_cupy
    make = CASES[case][0]
    expected = run_ours(make())
    opt = make()
    params = [Tensor(cp.asarray(w), requires_grad=True) for w in initial_weights()]
    for t in range(STEPS):
        if t == 10:  # resume through get_state / set_state halfway
            state, opt = opt.get_state(), make()
            opt.set_state(state)
        for i, p in enumerate(params):
            p.grad = cp.asarray(gradient(cp.asnumpy(p.data), i, t))
        opt.apply_gradients(params)
    assert all(isinstance(a, cp.ndarray) for arrays in opt.slots.values() for a in arrays)
    for i, (p, want) in enumerate(zip(params, expected[-1])):
        assert_close(cp.asnumpy(p.data), want, atol=1e-12, rtol=1e-10, what=f"{case} on CuPy, parameter {i}")


def test_set_state_errors_name_the_problem():
    adam = Adam()
    run_ours(adam, steps=2)
    with pytest.raises(ConfigError, match="slots"):
        Adam(amsgrad=True).set_state(adam.get_state())
    wrong = {"iterations": 2, "slots": {k: [np.zeros((2, 2)), np.zeros(4)] for k in ("m", "v")}}
    restored = Adam()
    restored.set_state(wrong)
    with pytest.raises(ConfigError, match=r"slot 'm' 0 has shape \(2, 2\)"):
        run_ours(restored, steps=1)
    fresh = Adam()
    fresh.set_state(Adam().get_state())  # an unbuilt state restores to an unbuilt optimizer
    run_ours(fresh, steps=1)


# ----------------------------------------------------------------- defaults and legacy arguments
KERAS_23_DEFAULTS = {
    "sgd": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
    "rmsprop": dict(learning_rate=0.001, rho=0.9, epsilon=1e-7),
    "adagrad": dict(learning_rate=0.01, epsilon=1e-7, initial_accumulator_value=0.0),
    "adadelta": dict(learning_rate=1.0, rho=0.95, epsilon=1e-7),
    "adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
    "adamax": dict(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    "nadam": dict(learning_rate=0.002, beta_1=0.9, beta_2=0.999, epsilon=1e-7, schedule_decay=0.004),
    "adamw": dict(learning_rate=0.001, weight_decay=0.004, beta_1=0.9, beta_2=0.999, epsilon=1e-7),  # Keras 3
}


@pytest.mark.parametrize("name", list(KERAS_23_DEFAULTS))
def test_defaults_are_keras_2_3(name):
    config = optimizers.get(name).get_config()
    for key, value in KERAS_23_DEFAULTS[name].items():
        assert config[key] == value, f"{name}: default {key}={config[key]!r}, Keras 2.3 has {value!r}"
    assert "decay" not in config and "clipnorm" not in config


def test_lr_alias_warns_and_works():
    with pytest.warns(DeprecationWarning, match="'lr' is deprecated"):
        opt = Adam(lr=0.5)
    assert opt.learning_rate == 0.5 and opt.lr == 0.5
    opt.lr = 0.25
    assert opt.learning_rate == 0.25


def test_decay_is_inverse_time_in_iterations():
    opt = SGD(0.1, decay=0.5)
    params = [Tensor(np.ones(3), requires_grad=True)]
    for t in range(5):
        assert opt.current_lr() == pytest.approx(0.1 / (1 + 0.5 * t), rel=1e-15)
        before = to_host(params[0].data).copy()
        params[0].grad = backend.on_device(np.full(3, 2.0))
        opt.apply_gradients(params)
        assert_close(before - to_host(params[0].data), np.full(3, 2.0 * 0.1 / (1 + 0.5 * t)), 1e-15, 1e-12,
                     "decayed step")


# ----------------------------------------------------------------- clipping vs torch.nn.utils
def _torch_clip_norm(params, max_norm):
    """``clip_grad_norm_`` scales by max_norm / (norm + 1e-6); passing
    max_norm * (norm + 1e-6) / norm makes that exactly max_norm / norm, Keras's factor."""
    norm = float(torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(p.grad) for p in params])))
    torch.nn.utils.clip_grad_norm_(params, max_norm * (norm + 1e-6) / norm)


def _clip_hook(value=None, norm=None, global_norm=None):
    def hook(opt, t, params):
        if value is not None:
            torch.nn.utils.clip_grad_value_(params, value)
        if norm is not None:
            for p in params:
                _torch_clip_norm([p], norm)
        if global_norm is not None:
            _torch_clip_norm(params, global_norm)
    return hook


@pytest.mark.parametrize("clip", [dict(clipvalue=0.3), dict(clipnorm=2.0), dict(global_clipnorm=3.0),
                                  dict(clipvalue=1.5, clipnorm=2.0)])
def test_clipping_matches_torch_utils(clip):
    ours = run_ours(SGD(0.05, momentum=0.9, **clip), scale=8.0)
    hook = _clip_hook(clip.get("clipvalue"), clip.get("clipnorm"), clip.get("global_clipnorm"))
    theirs = run_torch(lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9), scale=8.0, before_step=hook)
    assert_same_trajectory(ours, theirs, f"SGD with {clip}")
    unclipped = run_ours(SGD(0.05, momentum=0.9), scale=8.0)
    assert not np.allclose(ours[0][0], unclipped[0][0]), "the test gradients were never clipped"


def test_clip_arguments_validated():
    with pytest.raises(ConfigError, match="not both"):
        Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ConfigError, match="clipvalue=-1"):
        SGD(clipvalue=-1)
    assert SGD(clipnorm=0).clipnorm is None  # Keras 2.3: 0 switches clipping off


# ----------------------------------------------------------------- schedules
def test_schedules_hand_computed():
    S = schedules
    exp = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert [exp(s) for s in (0, 10, 20)] == pytest.approx([0.1, 0.05, 0.025])
    assert exp(15) == pytest.approx(0.1 * 0.5 ** 1.5)
    assert S.ExponentialDecay(0.1, 10, 0.5, staircase=True)(19) == pytest.approx(0.05)
    pw = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    assert [pw(s) for s in (0, 10, 11, 20, 21, 1000)] == [1.0, 1.0, 0.5, 0.5, 0.1, 0.1]
    inv = S.InverseTimeDecay(0.1, decay_steps=2, decay_rate=0.5)
    assert [inv(s) for s in (0, 2, 3)] == pytest.approx([0.1, 0.1 / 1.5, 0.1 / 1.75])
    assert S.InverseTimeDecay(0.1, 2, 0.5, staircase=True)(3) == pytest.approx(0.1 / 1.5)
    poly = S.PolynomialDecay(0.1, decay_steps=10, end_learning_rate=0.01, power=2.0)
    assert [poly(s) for s in (0, 5, 10, 50)] == pytest.approx([0.1, 0.09 * 0.25 + 0.01, 0.01, 0.01])
    cyc = S.PolynomialDecay(0.1, 10, 0.01, power=2.0, cycle=True)
    assert [cyc(s) for s in (0, 10, 15)] == pytest.approx([0.1, 0.01, 0.09 * 0.25 ** 2 + 0.01])
    cos = S.CosineDecay(0.1, decay_steps=10, alpha=0.1)
    assert [cos(s) for s in (0, 5, 10, 20)] == pytest.approx([0.1, 0.1 * (0.9 * 0.5 + 0.1), 0.01, 0.01])
    warm = S.CosineDecay(0.0, decay_steps=10, warmup_target=0.1, warmup_steps=5)
    assert [warm(s) for s in (0, 2, 5, 10, 15, 30)] == pytest.approx([0.0, 0.04, 0.1, 0.05, 0.0, 0.0], abs=1e-15)


def _torch_rates(make_scheduler, lr, steps=STEPS):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)
    scheduler = make_scheduler(opt)
    rates = [opt.param_groups[0]["lr"]]
    for _ in range(steps):
        opt.step()
        scheduler.step()
        rates.append(opt.param_groups[0]["lr"])
    return rates


TS = torch.optim.lr_scheduler
SCHEDULES_VS_TORCH = {
    "exponential": (schedules.ExponentialDecay(0.1, 1, 0.9), 0.1, lambda o: TS.ExponentialLR(o, gamma=0.9)),
    "cosine": (schedules.CosineDecay(0.1, 20, alpha=0.01), 0.1, lambda o: TS.CosineAnnealingLR(o, 20, eta_min=0.001)),
    "polynomial": (schedules.PolynomialDecay(0.1, 10, 0.0, power=2.0), 0.1,
                   lambda o: TS.PolynomialLR(o, total_iters=10, power=2.0)),
    "cosine_warmup": (schedules.CosineDecay(0.02, 15, alpha=0.1, warmup_target=0.1, warmup_steps=5), 0.1,
                      lambda o: TS.SequentialLR(o, [TS.LinearLR(o, start_factor=0.2, total_iters=5),
                                                    TS.CosineAnnealingLR(o, 15, eta_min=0.01)], milestones=[5])),
}


@pytest.mark.filterwarnings("ignore::UserWarning")  # SequentialLR's internal step(epoch) notice
@pytest.mark.parametrize("case", list(SCHEDULES_VS_TORCH))
def test_schedules_match_torch_lr_scheduler(case):
    schedule, lr, make_scheduler = SCHEDULES_VS_TORCH[case]
    ours = [schedule(s) for s in range(STEPS + 1)]
    assert_close(ours, _torch_rates(make_scheduler, lr), atol=1e-12, rtol=1e-9, what=f"{case} rates by step")


@pytest.mark.parametrize("make, make_torch, hook", [
    (SGD, lambda p: torch.optim.SGD(p, lr=0.1), None),
    (Adam, lambda p: torch.optim.Adam(p, lr=0.1), keras_adam_eps(1e-7, 0.999)),
], ids=["sgd", "adam"])
def test_schedule_as_learning_rate_is_followed(make, make_torch, hook):
    schedule = schedules.ExponentialDecay(0.1, decay_steps=1, decay_rate=0.8)
    opt = make(learning_rate=schedule)
    rates = []
    params = [Tensor(w.copy(), requires_grad=True) for w in initial_weights()]
    trajectory = []
    for t in range(STEPS):
        rates.append(opt.current_lr())
        trajectory += run_ours(opt, steps=1, params=params, start=t)
    assert rates == [schedule(t) for t in range(STEPS)]
    theirs = run_torch(make_torch, before_step=hook, scheduler=lambda o: TS.ExponentialLR(o, gamma=0.8))
    assert_same_trajectory(trajectory, theirs, f"{make.__name__} with ExponentialDecay vs torch ExponentialLR")


def test_schedule_serialization_round_trip():
    for schedule in (schedules.ExponentialDecay(0.1, 7, 0.5, staircase=True),
                     schedules.PiecewiseConstantDecay([3, 9], [0.1, 0.05, 0.01]),
                     schedules.InverseTimeDecay(0.1, 2, 0.3), schedules.PolynomialDecay(0.1, 9, cycle=True),
                     schedules.CosineDecay(0.0, 12, alpha=0.1, warmup_target=0.2, warmup_steps=4)):
        data = json.loads(json.dumps(schedules.serialize(schedule)))
        back = schedules.deserialize(data)
        assert type(back) is type(schedule) and back.get_config() == schedule.get_config()
        assert [back(s) for s in range(25)] == [schedule(s) for s in range(25)]
    with pytest.raises(ConfigError, match="Valid learning-rate schedule names"):
        schedules.deserialize({"class_name": "Nope", "config": {}})
    with pytest.raises(ConfigError, match="only the built-in"):
        schedules.serialize(lambda step: 0.1)


def test_schedule_arguments_validated():
    with pytest.raises(ConfigError, match="decay_steps=0"):
        schedules.ExponentialDecay(0.1, 0, 0.5)
    with pytest.raises(ConfigError, match="1 less than"):
        schedules.PiecewiseConstantDecay([1, 2], [0.1, 0.2])
    with pytest.raises(ConfigError, match="strictly increasing"):
        schedules.PiecewiseConstantDecay([2, 1], [0.1, 0.2, 0.3])


# ----------------------------------------------------------------- registry and serialization
SERIALIZE_CASES = [
    SGD(0.2, momentum=0.5, nesterov=True, clipnorm=1.0), RMSprop(0.01, rho=0.8, momentum=0.1, centered=True),
    Adagrad(0.02, initial_accumulator_value=0.1, decay=0.01), Adadelta(0.5, rho=0.9, clipvalue=0.5),
    Adam(0.003, amsgrad=True, global_clipnorm=2.0), AdamW(0.002, weight_decay=0.1), Adamax(0.004),
    Nadam(0.001, schedule_decay=0.005),
    Adam(learning_rate=schedules.PiecewiseConstantDecay([100], [1e-3, 1e-4])),
]


@pytest.mark.parametrize("opt", SERIALIZE_CASES, ids=lambda o: type(o).__name__)
def test_serialization_round_trip(opt):
    data = json.loads(json.dumps(optimizers.serialize(opt)))
    assert data["class_name"] == type(opt).__name__
    for back in (optimizers.get(data), type(opt).from_config(opt.get_config()), optimizers.deserialize(data)):
        assert type(back) is type(opt)
        assert json.dumps(back.get_config(), sort_keys=True) == json.dumps(opt.get_config(), sort_keys=True)
        assert back.current_lr() == opt.current_lr()


def test_get_by_name_any_case_and_instances():
    for name in ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax", "nadam"):
        assert type(optimizers.get(name)).__name__.lower() == name
    assert isinstance(optimizers.get("Adam"), Adam) and isinstance(optimizers.get("RMSProp"), RMSprop)
    opt = Nadam()
    assert optimizers.get(opt) is opt


def test_unknown_name_lists_valid_names():
    with pytest.raises(ConfigError) as info:
        optimizers.get("adamm")
    message = str(info.value)
    assert "'adamm'" in message
    for name in ("sgd", "rmsprop", "adagrad", "adadelta", "adam", "adamw", "adamax", "nadam"):
        assert repr(name) in message
    with pytest.raises(ConfigError, match="Could not interpret optimizer"):
        optimizers.get(42)


@pytest.mark.parametrize("cls", [SGD, RMSprop, Adagrad, Adadelta, Adam, AdamW, Adamax, Nadam])
def test_unknown_kwarg_is_type_error(cls):
    with pytest.raises(TypeError) as info:
        cls(momentun=0.9)
    assert str(info.value) == "Unexpected keyword argument passed to optimizer: momentun"


@pytest.mark.parametrize("make, match", [
    (lambda: Adam(beta_1=1.0), "beta_1=1.0"), (lambda: RMSprop(rho=2), "rho=2.0"),
    (lambda: Adam(learning_rate=-1), "learning_rate=-1.0"), (lambda: Nadam(epsilon=-1e-7), "epsilon=-1e-07"),
    (lambda: SGD(momentum=-0.1), "momentum=-0.1"), (lambda: AdamW(weight_decay=-1), "weight_decay=-1.0"),
    (lambda: Adagrad(decay=-0.1), "decay=-0.1"),
])
def test_bad_values_raise_config_error(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_one_optimizer_one_parameter_list():
    opt = Adam()
    run_ours(opt, steps=1)
    with pytest.raises(ConfigError, match="built for 2 parameters but asked to update 1"):
        p = Tensor(np.zeros(3), requires_grad=True)
        p.grad = np.ones(3)
        opt.apply_gradients([p])
