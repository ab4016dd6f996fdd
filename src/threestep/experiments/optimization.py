"""Picking the best function: adaptive learning rates and momentum against plain SGD, and the
one-neuron linear RNN whose error surface has a cliff at w = 1 (where gradient clipping helps)."""
import math

import numpy

from ..callbacks import Callback
from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure


class _BatchLosses(Callback):
    """Collects the training loss of every mini-batch on its own.

    fit's batch logs carry the running mean since the start of the epoch (as Keras's do); the
    loss of batch k alone is recovered from two consecutive means and the batch sizes:
    ``(mean_k * seen_k - mean_{k-1} * seen_{k-1}) / size_k``.
    """

    reads_batch_logs = False  # the loss only: fit always passes it

    def __init__(self):
        super().__init__()
        self.losses = []

    def on_epoch_begin(self, epoch, logs=None):
        self._seen, self._total, self._size = 0, 0.0, 0

    def on_train_batch_begin(self, batch, logs=None):
        self._size = int((logs or {}).get("size", 0))

    def on_train_batch_end(self, batch, logs=None):
        mean = float((logs or {}).get("loss", math.nan))
        seen = self._seen + self._size
        total = mean * seen
        self.losses.append((total - self._total) / self._size if self._size else mean)
        self._seen, self._total = seen, total


def _optimizers():
    from ..optimizers import SGD, Adagrad, Adam, RMSprop  # noqa: PLC0415

    return {"SGD": SGD(learning_rate=0.01), "Momentum": SGD(learning_rate=0.01, momentum=0.9),
            "Adagrad": Adagrad(learning_rate=0.01), "RMSProp": RMSprop(learning_rate=0.001),
            "Adam": Adam(learning_rate=0.001)}


@experiment("optimizers", """Plain gradient descent with one fixed learning rate is slow; momentum and adaptive
learning rates (Adagrad, RMSProp, and Adam = RMSProp + Momentum) reach a low training loss much faster on the same
network.""")
def optimizers(out_dir, quick, seed):
    data = common.image_data(quick, n_train=5000, n_test=2000, seed=seed)
    epochs, width = (2, 64) if quick else (5, 128)
    dim, classes = data.x_train.shape[1], data.classes
    rows, curves = [], {}
    for name, optimizer in _optimizers().items():
        common.seed_all(seed)
        model = common.mlp(dim, [width, width], classes)
        batch_losses = _BatchLosses()
        history, test_acc = common.train_classifier(model, data, epochs, seed, optimizer=optimizer, batch_size=64,
                                                    callbacks=[batch_losses])
        curves[name] = batch_losses.losses
        rows.append({"optimizer": name, "settings": _describe(optimizer),
                     "train loss after epoch 1": history.history["loss"][0],
                     "final train loss": history.history["loss"][-1], "test accuracy": test_acc})
    final = {r["optimizer"]: r["final train loss"] for r in rows}
    better = [n for n in ("Momentum", "Adagrad", "RMSProp", "Adam") if final[n] < final["SGD"]]
    held = len(better) == 4
    return Result(
        setup=(f"The same MLP (2 x {width} ReLU, softmax) from the same initial weights, trained {epochs} epochs with "
               "batch 64 by each optimizer at its usual learning rate; the plot shows the loss of each mini-batch on its "
               "own (not the running mean of the epoch), smoothed over 1% of the run."),
        data=data.name, table=rows, held=held,
        plots=[(_plot_curves(curves, out_dir), "Training loss of each mini-batch")],
        because=("final training loss: " + ", ".join(f"{k} {v:.4f}" for k, v in final.items())
                 + f"; {len(better)} of 4 beat plain SGD"),
        numbers={"final_train_loss": final})


def _describe(optimizer):
    parts = [f"lr {optimizer.learning_rate:g}"]
    if getattr(optimizer, "momentum", 0):
        parts.append(f"momentum {optimizer.momentum:g}")
    return ", ".join(parts)


def _plot_curves(curves, out_dir):
    fig, ax = subplots(figsize=(7, 4))
    for name, losses in curves.items():
        losses = numpy.asarray(losses)
        k = max(1, len(losses) // 100)  # smooth over ~1% of the run
        ax.plot(numpy.convolve(losses, numpy.ones(k) / k, mode="valid"), label=name)
    ax.set_yscale("log")
    ax.set_xlabel("mini-batch")
    ax.set_ylabel("training loss")
    ax.legend()
    return save_figure(fig, out_dir, "optimizer_losses.png", "Training loss of each mini-batch, by optimizer")


# ---------------------------------------------------------------------------- RNN error surface
T_STEPS = 1000


def one_neuron_rnn(w, steps=T_STEPS, dtype="float64"):
    """The lecture's RNN: one linear neuron, input weight 1, recurrent weight ``w``, no bias."""
    from ..layers import SimpleRNN, initializers  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    return Sequential([SimpleRNN(1, activation="linear", use_bias=False, kernel_initializer="ones",
                                 recurrent_initializer=initializers.Constant(w), input_shape=(steps, 1),
                                 dtype=dtype)])


def impulse(steps=T_STEPS, dtype="float64"):
    """Input 1 at the first time step and 0 afterwards: ``(1, steps, 1)``."""
    x = numpy.zeros((1, steps, 1), dtype=dtype)
    x[0, 0, 0] = 1.0
    return x


def rnn_last_output(w, steps=T_STEPS):
    """y^steps of the one-neuron RNN for the impulse input: w**(steps - 1), computed by threestep's SimpleRNN."""
    return float(one_neuron_rnn(w, steps).predict(impulse(steps))[0, 0])


def _train_w(w0, target, optimizer, steps):
    """Train the recurrent weight by gradient descent on (y^1000 - target)^2; the trajectory of w and the loss."""
    model = one_neuron_rnn(w0)
    model.compile(loss="mse", optimizer=optimizer)
    x, y = impulse(), numpy.array([[target]])
    ws, losses = [w0], []
    for _ in range(steps):
        with numpy.errstate(over="ignore", invalid="ignore"):  # flying off overflows on purpose
            losses.append(float(model.train_on_batch(x, y)))
        ws.append(float(model.layers[0].get_weights()[1][0, 0]))
    return ws, losses


@experiment("rnn-error-surface", """The RNN's error surface is either very flat or very steep: for one linear
neuron fed 1 at the first step, y^1000 = w^999, so w = 1 gives 1, w = 1.01 about 20,000, w = 0.99 and w = 0.01
almost 0; a gradient step taken on the cliff around w = 1 flies off, and gradient clipping keeps training on the
surface.""")
def rnn_error_surface(out_dir, quick, seed):
    from ..optimizers import SGD  # noqa: PLC0415

    rows = []
    for w in (1.0, 1.01, 0.99, 0.01):
        y = rnn_last_output(w)
        rows.append({"w": w, "y^1000 (threestep SimpleRNN)": y, "w^999 (closed form)": w ** 999,
                     "relative difference": abs(y - w ** 999) / max(w ** 999, 1e-300)})
    lr, w0, target, steps = 0.002, 1.01, 1.0, 30 if quick else 100
    runs = {"no clipping": SGD(learning_rate=lr), "clipvalue=1": SGD(learning_rate=lr, clipvalue=1.0),
            "clipnorm=1": SGD(learning_rate=lr, clipnorm=1.0)}
    trajectories, train_rows = {}, []
    for name, opt in runs.items():
        ws, losses = _train_w(w0, target, opt, steps)
        trajectories[name] = (ws, losses)
        finite = [v for v in losses if math.isfinite(v)]
        flew = not all(math.isfinite(v) for v in ws + losses) or max(abs(v) for v in ws) > 10
        train_rows.append({"optimizer": f"SGD lr {lr}, {name}", "steps": steps, "initial loss": losses[0],
                           "final loss": losses[-1], "final w": ws[-1], "max |w|": max(abs(v) for v in ws),
                           "flew off": flew, "lowest finite loss": min(finite) if finite else math.nan})
    plots = [(_plot_surface(out_dir), "Loss (y^1000 - 1)^2 against w: flat below 1, a cliff above"),
             (_plot_training(trajectories, out_dir), "w during training, with and without clipping")]
    exact = max(r["relative difference"] for r in rows)
    flew = {r["optimizer"].split(", ")[1]: r for r in train_rows}
    clipped_ok = all(not flew[k]["flew off"] and flew[k]["final loss"] < 1e-3 * flew[k]["initial loss"]
                     for k in ("clipvalue=1", "clipnorm=1"))
    held = exact < 1e-9 and flew["no clipping"]["flew off"] and clipped_ok
    return Result(
        setup=(f"A SimpleRNN with one linear unit (input weight 1, recurrent weight w, no bias, float64) reads "
               f"1, 0, 0, ... for {T_STEPS} steps; its last output is y^1000 = w^999. Training: the loss "
               f"(y^1000 - {target})^2 from w = {w0}, plain SGD lr {lr} for {steps} steps, without clipping and with "
               "threestep's clipvalue / clipnorm."),
        data="synthetic impulse input (one sequence of 1000 steps)", table=rows,
        tables={"Training the recurrent weight": train_rows}, held=held, plots=plots, reliable_in_quick=True,
        because=(f"threestep's RNN matches w^999 to a relative {exact:.1e}; without clipping |w| reached "
                 f"{flew['no clipping']['max |w|']:.3g} (flew off: {flew['no clipping']['flew off']}); with clipvalue "
                 f"the loss went {flew['clipvalue=1']['initial loss']:.3g} -> {flew['clipvalue=1']['final loss']:.3g} "
                 f"and with clipnorm {flew['clipnorm=1']['initial loss']:.3g} -> "
                 f"{flew['clipnorm=1']['final loss']:.3g}"),
        numbers={"max_relative_difference": exact})


def _plot_surface(out_dir):
    w = numpy.linspace(0.95, 1.01, 601)
    loss = (w ** 999 - 1.0) ** 2
    fig, ax = subplots(figsize=(6, 4))
    ax.semilogy(w, loss + 1e-12)
    ax.axvline(1.0, color="gray", linestyle=":")
    ax.set_xlabel("w")
    ax.set_ylabel("loss (w^999 - 1)^2")
    return save_figure(fig, out_dir, "error_surface.png", "Error surface of the one-neuron RNN")


def _plot_training(trajectories, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    for name, (ws, _) in trajectories.items():
        ws = numpy.asarray(ws, dtype="float64")
        ax.plot(numpy.sign(ws) * numpy.log10(1 + numpy.abs(ws)), ".-", label=name)
    ax.set_xlabel("step")
    ax.set_ylabel("sign(w) log10(1 + |w|)")
    ax.legend()
    return save_figure(fig, out_dir, "training_w.png", "Training w with and without gradient clipping")
