"""Why deep: modularisation needs less data (the "carpet" function) and fewer units (parity)."""
import itertools

import numpy

from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure


# ---------------------------------------------------------------------------- the carpet
def carpet(points, frequency=1.0):
    """The lecture's 2-D "carpet" target: a checkerboard of diamonds, 1 on one colour, 0 on the other.

    ``points`` (n, 2); the label is (floor(f (x + y)) + floor(f (x - y))) mod 2, i.e. a
    checkerboard in coordinates rotated by 45 degrees.
    """
    points = numpy.asarray(points, dtype="float64")
    s, d = points[:, 0] + points[:, 1], points[:, 0] - points[:, 1]
    return ((numpy.floor(frequency * s) + numpy.floor(frequency * d)) % 2).astype("int64")


def carpet_samples(n, seed, frequency=1.0):
    x = numpy.random.default_rng(seed).uniform(-1, 1, (n, 2))
    return x.astype("float32"), carpet(x, frequency)


@experiment("data-efficiency", """Deep networks use data more efficiently: on the 2-D "carpet" function, one fat
hidden layer and three thin hidden layers with the same number of parameters both learn it from 100k samples, but
from 20k samples the one-layer network breaks down while the three-layer network only degrades in an orderly way.""")
def data_efficiency(out_dir, quick, seed):
    freq, width = (1.0, 16) if quick else (1.5, 32)
    sizes = (10000, 2000) if quick else (100000, 20000)
    updates = 800 if quick else 6000
    deep = [width] * 3
    params = common.mlp_params(2, deep, 2)
    fat = [common.fat_width(2, 2, params)]
    g = numpy.linspace(-1, 1, 121)
    grid = numpy.stack(numpy.meshgrid(g, g), -1).reshape(-1, 2).astype("float32")
    truth = carpet(grid, freq)
    rows, maps = [], {}
    for n in sizes:
        x, y = carpet_samples(n, seed, freq)
        for name, hidden in (("1 hidden layer", fat), ("3 hidden layers", deep)):
            common.seed_all(seed)
            model = common.mlp(2, hidden, 2)
            batch = 100
            epochs = max(1, round(updates * batch / n))  # the same number of updates for every data size
            model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
            model.fit(x, y, batch_size=batch, epochs=epochs, verbose=0, seed=seed)
            pred = model.predict(grid).argmax(-1)
            maps[name, n] = pred.reshape(len(g), len(g))
            rows.append({"network": name, "hidden units": " x ".join(map(str, hidden)),
                         "params": common.mlp_params(2, hidden, 2), "training samples": n, "epochs": epochs,
                         "train accuracy": common.accuracy(model, x, y),
                         "grid accuracy (whole square)": float((pred == truth).mean())})
    acc = {(r["network"], r["training samples"]): r["grid accuracy (whole square)"] for r in rows}
    big, small = sizes
    drop_fat = acc["1 hidden layer", big] - acc["1 hidden layer", small]
    drop_deep = acc["3 hidden layers", big] - acc["3 hidden layers", small]
    held = acc["3 hidden layers", small] > acc["1 hidden layer", small] and drop_deep < drop_fat
    return Result(
        setup=(f"Target: the carpet (diamond checkerboard, frequency {freq}) on [-1, 1]^2. Networks of equal size: "
               f"1 hidden layer of {fat[0]} ReLU units vs 3 hidden layers of {width} ({params} parameters), softmax "
               f"output, Adam, batch 100, about {updates} updates for every data size. Accuracy is measured on a "
               "121 x 121 grid over the whole square (the learned decision regions in the plot)."),
        data=f"{big} and {small} uniform random samples of the carpet function", table=rows, held=held,
        plots=[(_plot_maps(truth.reshape(len(g), len(g)), maps, sizes, out_dir),
                "Target and the decision regions learned from each number of samples")],
        because=(f"from {big} to {small} samples the grid accuracy fell by {drop_fat:.3f} with one hidden layer and "
                 f"by {drop_deep:.3f} with three; with {small} samples: 1 layer {acc['1 hidden layer', small]:.3f}, "
                 f"3 layers {acc['3 hidden layers', small]:.3f}"),
        numbers={"drop_one_layer": drop_fat, "drop_three_layers": drop_deep})


def _plot_maps(truth, maps, sizes, out_dir):
    fig, axes = subplots(2, 3, figsize=(9, 6))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].imshow(truth, origin="lower", cmap="coolwarm")
    axes[0][0].set_title("target")
    axes[1][0].axis("off")
    for i, name in enumerate(("1 hidden layer", "3 hidden layers")):
        for j, n in enumerate(sizes):
            axes[j][i + 1].imshow(maps[name, n], origin="lower", cmap="coolwarm")
            axes[j][i + 1].set_title(f"{name}, {n} samples", fontsize=9)
    return save_figure(fig, out_dir, "carpet_regions.png", "The carpet function learned from more or fewer samples")


# ---------------------------------------------------------------------------- parity
def parity_table(d):
    """All 2**d bit strings and their parity label as the lecture defines it: 1 when the number of 1s is even."""
    x = numpy.array(list(itertools.product((0.0, 1.0), repeat=d)), dtype="float32")
    return x, (x.sum(axis=1) % 2 == 0).astype("float32")


def fits_parity(d, depth, width, steps, seed, restarts):
    """Whether a tanh MLP with ``depth`` hidden layers of ``width`` classifies all 2**d strings correctly."""
    from ..optimizers import Adam  # noqa: PLC0415

    x, y = parity_table(d)
    xs = 2 * x - 1  # +-1 inputs
    for r in range(restarts):
        common.seed_all(seed + 7919 * r)
        model = common.mlp(d, [width] * depth, 1, activation="tanh", output="sigmoid")
        model.compile(loss="binary_crossentropy", optimizer=Adam(learning_rate=0.05))
        model.fit(xs, y[:, None], batch_size=len(xs), epochs=steps, verbose=0, shuffle=False)
        if ((model.predict(xs)[:, 0] > 0.5) == (y > 0.5)).all():
            return True
    return False


def units_needed(d, depth, steps, seed, restarts, max_width):
    """The smallest total number of hidden units (depth x width) that fit d-bit parity, or None."""
    for width in range(1, max_width + 1):
        if fits_parity(d, depth, width, steps, seed, restarts):
            return depth * width
    return None


@experiment("parity", """Parity of d bits needs O(2^d) gates with two layers of logic gates but only O(d) when
XNOR gates are chained in many layers; likewise a neural network with several hidden layers needs fewer neurons
than one with a single hidden layer.""")
def parity(out_dir, quick, seed):
    ds = (2, 3, 4) if quick else (2, 3, 4, 5, 6)
    depths = (1, 2, 3)
    steps, restarts = (150, 2) if quick else (400, 2)

    def max_width(d):
        return d + 2 if quick else 2 * d + 2
    rows = []
    for d in ds:
        row = {"d bits": d, "2-level logic gates (2^(d-1) ANDs + 1 OR)": 2 ** (d - 1) + 1,
               "XNOR chain gates (d - 1)": d - 1}
        for depth in depths:
            row[f"units needed, {depth} hidden layer{'s' if depth > 1 else ''}"] = units_needed(
                d, depth, steps, seed, restarts, max_width=max_width(d))
        rows.append(row)
    last = rows[-1]
    shallow = last["units needed, 1 hidden layer"]
    deep = [v for k, v in last.items() if k.startswith("units needed,") and "layers" in k and v is not None]
    best_deep = min(deep) if deep else None
    # "None" only says more than max_width units: a lower bound, which decides only if the deep net is below it
    shallow_bound = shallow if shallow is not None else max_width(last["d bits"]) + 1
    held = best_deep is not None and best_deep < shallow_bound
    return Result(
        setup=(f"All 2^d bit strings (as +-1 inputs) labelled 1 when the number of 1s is even. For each d and depth "
               f"(1, 2, 3 hidden layers of equal width, tanh, sigmoid output, Adam lr 0.05, full batch, {steps} "
               f"steps, {restarts} restarts), the width is increased from 1 until the network classifies every "
               f"string correctly (up to {'d + 2' if quick else '2d + 2'} per layer; 'None' = not found). "
               "'units needed' = depth x width."),
        data="the full parity truth table of d bits", table=rows, held=held,
        plots=[(_plot_parity(rows, depths, out_dir), "Hidden units needed against the number of bits")],
        because=(f"at d = {last['d bits']} one hidden layer needed "
                 f"{shallow if shallow is not None else f'more than {shallow_bound - 1}'} units, several layers at "
                 f"best {best_deep if best_deep is not None else 'more than the search allowed'}"),
        numbers={"rows": rows})


def _plot_parity(rows, depths, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    ds = [r["d bits"] for r in rows]
    for depth in depths:
        key = f"units needed, {depth} hidden layer{'s' if depth > 1 else ''}"
        ax.plot(ds, [numpy.nan if r[key] is None else r[key] for r in rows], "o-", label=key[14:])
    ax.plot(ds, [r["2-level logic gates (2^(d-1) ANDs + 1 OR)"] for r in rows], "k:", label="2-level logic gates")
    ax.plot(ds, [r["XNOR chain gates (d - 1)"] for r in rows], "k--", label="XNOR chain gates")
    ax.set_xticks(ds)  # whole numbers of bits only
    ax.set_xlabel("d (bits)")
    ax.set_ylabel("units / gates")
    ax.legend(fontsize=8)
    return save_figure(fig, out_dir, "parity_units.png", "Parity: units needed against the number of bits")
