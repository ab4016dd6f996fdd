"""Long-range memory: the adding problem for a tanh RNN, an IRNN, an LSTM and a GRU."""
import numpy

from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure

#: A model "solves" the adding problem when its test MSE is below this (the always-1 baseline is 1/6 ~ 0.167).
SOLVED_MSE = 0.05


def adding_model(kind, T, units):
    """A recurrent layer of ``kind`` ('tanh RNN', 'IRNN', 'LSTM', 'GRU') reading (T, 2), then Dense(1)."""
    from ..layers import GRU, LSTM, Dense, SimpleRNN, initializers  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    shape = {"input_shape": (T, 2)}
    if kind == "tanh RNN":
        layer = SimpleRNN(units, activation="tanh", **shape)
    elif kind == "IRNN":  # Le, Jaitly & Hinton 2015: ReLU with the identity as the recurrent matrix
        layer = SimpleRNN(units, activation="relu", recurrent_initializer="identity",
                          kernel_initializer=initializers.RandomNormal(stddev=0.001), **shape)
    elif kind == "LSTM":
        layer = LSTM(units, **shape)
    else:
        layer = GRU(units, **shape)
    return Sequential([layer, Dense(1)])


@experiment("lstm-vs-rnn", """A plain RNN cannot learn long-range dependencies because its gradient vanishes
(or explodes) through time; LSTM (and GRU) remove the flat parts of the error surface and can; a simple RNN with
ReLU initialised with the identity matrix (IRNN) is the lecture's cited alternative.""")
def lstm_vs_rnn(out_dir, quick, seed):
    from ..datasets.sequences import ADDING_BASELINE_MSE, adding_problem  # noqa: PLC0415
    from ..optimizers import Adam  # noqa: PLC0415

    lengths = (10, 30) if quick else (50, 100, 200)
    n_train, n_test, epochs, units = (500, 200, 4, 16) if quick else (4000, 500, 15, 32)
    kinds = ("tanh RNN", "IRNN", "LSTM", "GRU")
    rows, curves = [], {}
    for T in lengths:
        x, y = adding_problem(n_train, T, seed=seed)
        xt, yt = adding_problem(n_test, T, seed=seed + 1000)
        for kind in kinds:
            common.seed_all(seed)
            model = adding_model(kind, T, units)
            model.compile(loss="mse", optimizer=Adam(learning_rate=0.01, clipnorm=1.0))
            history = model.fit(x, y[:, None], batch_size=50, epochs=epochs, verbose=0, seed=seed)
            mse = float(model.evaluate(xt, yt[:, None], verbose=0))
            curves[kind, T] = history.history["loss"]
            rows.append({"T": T, "model": kind, "test MSE": mse, "MSE / baseline": mse / ADDING_BASELINE_MSE,
                         "solved (MSE < 0.05)": mse < SOLVED_MSE})
    solved = {(r["model"], r["T"]): r["solved (MSE < 0.05)"] for r in rows}
    longest = lengths[-1]
    gated = solved["LSTM", longest] or solved["GRU", longest]
    held = gated and not solved["tanh RNN", longest]
    summary = ", ".join(f"{k} {'solved' if solved[k, longest] else 'not solved'}" for k in kinds)
    return Result(
        setup=(f"Adding problem (Le et al. 2015 form; target = sum of the two marked values), T in {list(lengths)}, "
               f"{n_train} training and {n_test} test sequences. Each model: one recurrent layer of {units} units "
               f"then Dense(1); MSE loss, Adam lr 0.01 with clipnorm 1, batch 50, {epochs} epochs. IRNN: SimpleRNN "
               "with ReLU, identity recurrent matrix, N(0, 0.001) input weights. Always answering 1 scores "
               f"MSE {ADDING_BASELINE_MSE:.3f}; 'solved' means test MSE < {SOLVED_MSE}."),
        data="adding problem (threestep.datasets.sequences.adding_problem)", table=rows, held=held,
        plots=[(_plot(curves, lengths, kinds, out_dir), "Training MSE per epoch for each T")],
        because=f"at T = {longest}: {summary}",
        numbers={"solved": {f"{k}@{t}": v for (k, t), v in solved.items()}})


def _plot(curves, lengths, kinds, out_dir):
    fig, axes = subplots(1, len(lengths), figsize=(4 * len(lengths), 3.2), squeeze=False)
    for ax, T in zip(axes[0], lengths):
        for kind in kinds:
            ax.plot(numpy.arange(1, len(curves[kind, T]) + 1), curves[kind, T], label=kind)
        ax.axhline(1 / 6, color="gray", linestyle=":", label="baseline 1/6")
        ax.set_yscale("log")
        ax.set_title(f"T = {T}")
        ax.set_xlabel("epoch")
    axes[0][0].set_ylabel("training MSE")
    axes[0][0].legend(fontsize=7)
    return save_figure(fig, out_dir, "adding_problem.png", "Adding problem: training MSE per epoch")
