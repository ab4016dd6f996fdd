"""The learning-rate range test: how large a learning rate can this model take?

Train for a few hundred mini-batches while the learning rate grows exponentially from
``start_lr`` to ``end_lr`` (one step each), record the loss at each, and stop once the
loss explodes. The loss-vs-LR curve is flat where the LR is too small, falls where it is
useful, and shoots up where it is too large (the lecture's "learning rate too large: the
loss goes up"). The model's weights, optimizer state and random generators are restored
afterwards, so the test leaves no trace.
"""
import math
from typing import NamedTuple

from .. import backend
from ..errors import ConfigError, warn
from . import _ascent


class LRRangeResult(NamedTuple):
    """``lrs`` and ``losses`` per step (lists) and the ``suggested_lr``."""

    lrs: list
    losses: list
    suggested_lr: float


def smooth(losses, beta=0.98):
    """Exponential moving average with bias correction (as the fast.ai LR finder)."""
    out, avg = [], 0.0
    for i, loss in enumerate(losses):
        avg = beta * avg + (1 - beta) * loss
        out.append(avg / (1 - beta ** (i + 1)))
    return out


def suggest_lr(lrs, losses, beta=0.98, method="steepest"):
    """The LR where the smoothed loss falls fastest (per unit of log LR) before its minimum
    (``method='steepest'``), or a tenth of the LR at the minimum (``method='min/10'``).

    The first tenth of the curve is skipped for 'steepest': there the loss is flat and
    its noise alone would make the steepest slope (as fast.ai's finder skips its start).
    """
    import numpy  # noqa: PLC0415  (a host-side curve of a few hundred points)

    if method not in ("steepest", "min/10"):
        raise ConfigError(f"find_lr: method must be 'steepest' or 'min/10'. Received: method={method!r}.")
    s = numpy.asarray(smooth(losses, beta))
    best = int(numpy.argmin(s))
    skip = max(1, len(s) // 10)
    if best <= skip + 1:
        # The loss never fell: the model is already trained (or cannot learn at these rates).
        # A tenth of the first rate would lie outside the range that was tried.
        warn(f"find_lr: the loss did not fall over the range (its minimum is at the start, lr={float(lrs[best]):.3g}), "
             "so there is no slope to read. The model may already be trained: run find_lr on a freshly built "
             "model, or lower start_lr. The suggestion is the first rate tried.")
        return float(lrs[0])
    if method == "min/10":
        return max(float(lrs[best]) / 10, float(lrs[0]))
    slopes = numpy.gradient(s, numpy.log(numpy.asarray(lrs, dtype=float)))
    return float(lrs[skip + int(numpy.argmin(slopes[skip:best]))])


def find_lr(model, x, y, start_lr=1e-7, end_lr=10.0, steps=100, batch_size=32, *, diverge=4.0, beta=0.98,
            method="steepest", path=None, seed=None):
    """Run the LR range test on a compiled model and return (lrs, losses, suggested_lr).

    Args:
        model: a compiled model; its weights and optimizer state are restored afterwards.
        x, y: training data (batches are drawn in a shuffled order, cycling if needed).
        start_lr, end_lr: the learning rates of the first and the last step.
        steps: number of steps (LR multiplied by (end/start)^(1/(steps-1)) each step).
        batch_size: samples per step.
        diverge: stop when the smoothed loss exceeds ``diverge`` x its minimum so far
            (or is not finite).
        beta: smoothing of the loss curve. method: how to suggest ('steepest' or 'min/10').
        path: if given, write the loss-vs-LR plot (log x axis) there.
        seed: seed of the batch order.

    Returns:
        ``LRRangeResult(lrs, losses, suggested_lr)`` (a named tuple).

    Example:
        >>> lrs, losses, lr = find_lr(model, x_train, y_train, path="lr.png")
        >>> model.optimizer.learning_rate = lr
    """
    caller = "find_lr"
    model._require_compiled(caller)
    steps = _ascent.check_positive(caller, "steps", steps, integer=True)
    batch_size = _ascent.check_positive(caller, "batch_size", batch_size, integer=True)
    start_lr = _ascent.check_positive(caller, "start_lr", start_lr)
    end_lr = _ascent.check_positive(caller, "end_lr", end_lr)
    if end_lr <= start_lr:
        raise ConfigError(f"{caller}: end_lr must be larger than start_lr. Received: start_lr={start_lr}, "
                          f"end_lr={end_lr}.")
    if steps < 2:
        raise ConfigError(f"{caller}: steps must be at least 2 to draw a curve. Received: steps={steps}.")
    import numpy  # noqa: PLC0415  (host-side batch order, as fit's shuffling)

    from ..models import checks  # noqa: PLC0415
    from ..models.data import n_samples, take  # noqa: PLC0415

    x = checks.prepare_inputs(x, caller)
    n = n_samples(x)
    y = checks.prepare_targets(y, n, caller)
    if not model.built:
        model._ensure_built(take(x, slice(0, 1)))
    opt = model.optimizer
    saved = (model.get_weights(), opt.get_state(), opt.learning_rate, opt.decay, backend.get_rng_state())
    order = numpy.random.default_rng(seed).permutation(n)
    factor = (end_lr / start_lr) ** (1.0 / (steps - 1))
    lrs, losses = [], []
    best = math.inf
    try:
        opt.decay = 0.0
        for step in range(steps):
            lr = start_lr * factor ** step
            opt.learning_rate = lr
            start = (step * batch_size) % n
            idx = order[start:start + batch_size]
            if len(idx) < batch_size and n >= batch_size:
                idx = numpy.concatenate([idx, order[:batch_size - len(idx)]])
            out = model.train_on_batch(take(x, idx), y[idx])
            loss = float(out[0] if isinstance(out, list) else out)
            lrs.append(lr)
            losses.append(loss)
            if not math.isfinite(loss):
                break
            current = smooth(losses, beta)[-1]
            best = min(best, current)
            if step > 0 and current > diverge * best:
                break
    finally:
        weights, state, learning_rate, decay, rng_state = saved
        model.set_weights(weights)
        opt.learning_rate, opt.decay = learning_rate, decay
        opt.set_state(state)
        backend.set_rng_state(rng_state)
    finite = [(lr, loss) for lr, loss in zip(lrs, losses) if math.isfinite(loss)]
    if not finite:
        raise ConfigError(f"{caller}: the loss was not finite even at start_lr={start_lr}; lower start_lr or "
                          "check the data for NaN.")
    f_lrs, f_losses = [p[0] for p in finite], [p[1] for p in finite]
    suggestion = suggest_lr(f_lrs, f_losses, beta, method)
    if path is not None:
        from .plots import plot_lr_range  # noqa: PLC0415

        plot_lr_range(f_lrs, f_losses, path, suggestion, smooth(f_losses, beta))
    return LRRangeResult(lrs, losses, suggestion)
