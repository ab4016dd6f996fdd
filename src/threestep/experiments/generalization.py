"""Good on training data, bad on testing data: the lecture's three remedies — dropout (and
its ensemble argument, checked exhaustively), L1 vs L2 regularization, early stopping."""
import itertools

import numpy

from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure


# ---------------------------------------------------------------------------- dropout
def all_masks(m):
    """Every keep/drop mask of ``m`` units: a (2**m, m) float64 array of 0/1."""
    return numpy.array(list(itertools.product((0.0, 1.0), repeat=m)))


def subnetwork_average(x, w1, b1, w2, b2, rate, activation=None):
    """The exact ensemble of all 2**M dropped sub-networks of ``x -> act(x w1 + b1) w2 + b2``.

    Dropout acts on the M input units. Sub-network ``mask`` keeps the inputs where
    ``mask == 1`` and uses the trained weights unchanged; it is weighted by its probability
    (1 - rate)**kept * rate**dropped (for rate 0.5 a plain average over the 2**M networks).
    """
    masks = all_masks(w1.shape[0])
    kept = masks.sum(axis=1)
    prob = (1 - rate) ** kept * rate ** (masks.shape[1] - kept)
    h = numpy.einsum("ni,ki,ij->knj", x, masks, w1) + b1  # (2**M, n, hidden)
    if activation == "relu":
        h = numpy.maximum(h, 0.0)
    return numpy.tensordot(prob, h @ w2 + b2, axes=1)


def weight_scaled(x, w1, b1, w2, b2, rate, activation=None):
    """The lecture's test-time network: no dropout, the dropped units' weights times (1 - rate)."""
    h = x @ (w1 * (1 - rate)) + b1
    if activation == "relu":
        h = numpy.maximum(h, 0.0)
    return h @ w2 + b2


@experiment("dropout", """Dropout makes the result on training data worse but on testing data better; and
dropout is an ensemble: multiplying the weights by (1 - p%) at test time gives exactly the average of all 2^M
dropped sub-networks when the network is linear (and approximately otherwise).""")
def dropout(out_dir, quick, seed):
    data = common.image_data(quick, n_train=3000, n_test=5000, seed=seed)
    (width, epochs), rate = ((128, 10) if quick else (256, 30)), 0.5
    dim, classes = data.x_train.shape[1], data.classes
    rows, curves = [], {}
    for p in (0.0, rate):
        common.seed_all(seed)
        model = common.mlp(dim, [width, width], classes, dropout=p)
        history, test_acc = common.train_classifier(model, data, epochs, seed, batch_size=100)
        curves[p] = history.history
        rows.append({"dropout rate": p, "train accuracy (during training)": history.history["accuracy"][-1],
                     "train accuracy (test mode)": common.accuracy(model, data.x_train, data.y_train),
                     "test accuracy": test_acc})
    ensemble_rows = _ensemble_check(seed, m=6 if quick else 12)
    linear_gap = ensemble_rows[0]["max |ensemble - scaled|"]
    train_drop = rows[0]["train accuracy (during training)"] - rows[1]["train accuracy (during training)"]
    test_gain = rows[1]["test accuracy"] - rows[0]["test accuracy"]
    held = train_drop > 0 and test_gain > 0 and linear_gap < 1e-12
    return Result(
        setup=(f"MLP 2 x {width} ReLU, with and without Dropout({rate}) after each hidden layer, Adam, batch 100, "
               f"{epochs} epochs on a small training set (to make overfitting visible). Ensemble check: a "
               "network with M inputs, 8 hidden units (linear or ReLU) and 3 outputs and random float64 weights; "
               "every one of the 2^M sub-networks "
               "(input units dropped with probability p, weights unchanged) is evaluated and averaged with its "
               "probability, and compared with one network whose outgoing weights are multiplied by (1 - p)."),
        data=data.name + "; ensemble check on random Gaussian inputs", table=rows,
        tables={"Exhaustive 2^M sub-network average vs weight scaling": ensemble_rows},
        held=held, plots=[(_plot_dropout(curves, out_dir), "Training and test accuracy with and without dropout")],
        because=(f"dropout changed training accuracy by {-train_drop:+.4f} and test accuracy by {test_gain:+.4f}; "
                 f"for the linear network the 2^M average and weight scaling differ by at most {linear_gap:.1e} "
                 f"(ReLU network: {ensemble_rows[1]['max |ensemble - scaled|']:.3g})"),
        numbers={"train_drop": train_drop, "test_gain": test_gain, "linear_max_gap": linear_gap})


def _ensemble_check(seed, m):
    rng = numpy.random.default_rng(seed)
    x, w1, b1 = rng.normal(size=(64, m)), rng.normal(size=(m, 8)), rng.normal(size=8)
    w2, b2 = rng.normal(size=(8, 3)), rng.normal(size=3)
    rows = []
    for activation in (None, "relu"):
        for p in (0.5,):
            ens = subnetwork_average(x, w1, b1, w2, b2, p, activation)
            scaled = weight_scaled(x, w1, b1, w2, b2, p, activation)
            rows.append({"network": activation or "linear", "M": m, "sub-networks": 2 ** m, "p": p,
                         "max |ensemble - scaled|": float(numpy.abs(ens - scaled).max()),
                         "max |output|": float(numpy.abs(scaled).max())})
    return rows


def _plot_dropout(curves, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    for p, h in curves.items():
        ax.plot(h["accuracy"], label=f"train, dropout {p}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("training accuracy (during training)")
    ax.legend()
    return save_figure(fig, out_dir, "dropout_training_accuracy.png", "Dropout: training and test accuracy")


# ---------------------------------------------------------------------------- L1 vs L2
@experiment("regularization", """L1 and L2 regularization both keep weights close to zero, but differently: L1
subtracts a constant eta*lambda*sgn(w) every update and so drives many weights to (almost) exactly zero — a
sparse result — while L2 shrinks each weight in proportion to its size, leaving many small but non-zero weights.""")
def regularization(out_dir, quick, seed):
    from ..layers import regularizers  # noqa: PLC0415
    from ..optimizers import SGD  # noqa: PLC0415

    data = common.image_data(quick, n_train=10000, n_test=5000, seed=seed)
    epochs, lam = (10, 1e-3) if quick else (10, 1e-3)
    dim, classes = data.x_train.shape[1], data.classes
    rows, kernels = [], {}
    for name, reg in (("none", None), ("L1", regularizers.l1(lam)), ("L2", regularizers.l2(lam))):
        common.seed_all(seed)
        model = common.mlp(dim, [64], classes, regularizer=reg)
        _, test_acc = common.train_classifier(model, data, epochs, seed, optimizer=SGD(learning_rate=0.1),
                                              batch_size=32)
        w = numpy.asarray(model.layers[0].get_weights()[0], dtype="float64").ravel()
        kernels[name] = w
        rows.append({"penalty": name, "lambda": lam if reg else 0.0, "test accuracy": test_acc,
                     "|w| < 1e-3": float((numpy.abs(w) < 1e-3).mean()),
                     "|w| < 1e-2": float((numpy.abs(w) < 1e-2).mean()),
                     "mean |w|": float(numpy.abs(w).mean()), "max |w|": float(numpy.abs(w).max())})
    frac = {r["penalty"]: r["|w| < 1e-3"] for r in rows}
    held = frac["L1"] > 0.1 and frac["L1"] > 3 * frac["L2"]
    return Result(
        setup=(f"MLP with one hidden layer of 64 ReLU units; the hidden layer's kernel is penalised with "
               f"lambda*sum|w| (L1) or lambda*sum w^2 (L2), lambda = {lam}; plain SGD lr 0.1, batch 32, {epochs} "
               "epochs. The table counts the first layer's weights that end (almost) exactly at zero."),
        data=data.name, table=rows, held=held,
        plots=[(_plot_histograms(kernels, out_dir), "Histograms of the first layer's weights")],
        because=(f"{100 * frac['L1']:.1f}% of the L1-penalised weights ended with |w| < 1e-3, against "
                 f"{100 * frac['L2']:.1f}% with L2 and {100 * frac['none']:.1f}% without a penalty"),
        numbers={"near_zero_fraction": frac})


def _plot_histograms(kernels, out_dir):
    fig, axes = subplots(1, len(kernels), figsize=(4 * len(kernels), 3.2), sharex=True)
    limit = max(numpy.abs(w).max() for w in kernels.values())
    for ax, (name, w) in zip(axes, kernels.items()):
        ax.hist(w, bins=81, range=(-limit, limit))
        ax.set_yscale("log")
        ax.set_title(f"penalty: {name}")
        ax.set_xlabel("weight")
    return save_figure(fig, out_dir, "weight_histograms.png", "First-layer weights with and without regularisation")


# ---------------------------------------------------------------------------- early stopping
@experiment("early-stopping", """Training loss keeps going down while the loss on a validation set starts to
rise; early stopping stops training where the validation loss is lowest and keeps those weights, rather than the
weights that are best on the training data.""")
def early_stopping(out_dir, quick, seed):
    from ..callbacks import EarlyStopping  # noqa: PLC0415
    from ..optimizers import Adam  # noqa: PLC0415

    data = common.image_data(quick, n_train=4000, n_test=2000, seed=seed)
    n_val = len(data.x_train) // 4
    x_val, y_val = data.x_train[:n_val], data.y_train[:n_val]
    x_tr, y_tr = data.x_train[n_val:], data.y_train[n_val:]
    max_epochs, patience = (80, 5) if quick else (200, 10)
    common.seed_all(seed)
    model = common.mlp(x_tr.shape[1], [256, 256], data.classes)
    model.compile(loss="sparse_categorical_crossentropy", optimizer=Adam(learning_rate=0.003), metrics=["accuracy"])
    stopper = EarlyStopping(monitor="val_loss", patience=patience, restore_best_weights=True)
    history = model.fit(x_tr, y_tr, batch_size=64, epochs=max_epochs, verbose=0, seed=seed,
                        validation_data=(x_val, y_val), callbacks=[stopper]).history
    epochs_run = len(history["loss"])
    best = int(numpy.argmin(history["val_loss"]))
    restored_val, _ = model.evaluate(x_val, y_val, verbose=0)
    _, test_acc = model.evaluate(data.x_test, data.y_test, verbose=0)
    row = {"epochs run": epochs_run, "best epoch": best + 1, "stopped early": epochs_run < max_epochs,
           "train loss at best": history["loss"][best], "train loss at end": history["loss"][-1],
           "val loss at best": history["val_loss"][best], "val loss at end": history["val_loss"][-1],
           "val loss after restore": float(restored_val), "test accuracy (restored)": test_acc}
    best_val = row["val loss at best"]
    restored_ok = abs(row["val loss after restore"] - best_val) <= 1e-4 * max(1.0, best_val)
    held = (row["stopped early"] and row["train loss at end"] < row["train loss at best"]
            and row["val loss at end"] > row["val loss at best"] and restored_ok)
    return Result(
        setup=(f"MLP 2 x 256 ReLU, Adam lr 0.003, batch 64, up to {max_epochs} epochs; {n_val} of the training "
               f"samples are held out as the validation set; EarlyStopping(monitor='val_loss', patience={patience}, "
               "restore_best_weights=True)."),
        data=data.name, table=[row], held=held,
        plots=[(_plot_losses(history, best, out_dir), "Training and validation loss; where training stopped and "
                "the restored best epoch")],
        because=(f"training stopped after {epochs_run} of {max_epochs} epochs; from the best epoch {best + 1} to the "
                 f"end the training loss went {row['train loss at best']:.4f} -> {row['train loss at end']:.4f} "
                 f"while the validation loss went {row['val loss at best']:.4f} -> {row['val loss at end']:.4f}; the "
                 f"restored model's validation loss is {row['val loss after restore']:.4f}"),
        numbers={"history": history, "best_epoch": best + 1})


def _plot_losses(history, best, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    epochs = numpy.arange(1, len(history["loss"]) + 1)
    ax.plot(epochs, history["loss"], label="training loss")
    ax.plot(epochs, history["val_loss"], label="validation loss")
    ax.axvline(best + 1, color="green", linestyle="--", label=f"best (restored) epoch {best + 1}")
    ax.axvline(len(epochs), color="red", linestyle=":", label=f"stopped after epoch {len(epochs)}")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return save_figure(fig, out_dir, "early_stopping.png", "Early stopping: training and validation loss")
