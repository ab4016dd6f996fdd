"""Why deep: thin-and-tall against fat-and-short at equal parameter count (Seide et al. 2011),
and why deep *sigmoid* networks fail on their own training data (vanishing gradients)."""
import numpy

from . import common
from .. import backend
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure


@experiment("deep-vs-fat", """With the same number of parameters, a thin and tall network (L x N) beats a fat and
short one (1 x N'): the lecture's Seide et al. 2011 table, where 5 x 2k reaches 17.2% word error against 22.5% for
1 x 3772.""")
def deep_vs_fat(out_dir, quick, seed):
    width = 32 if quick else 128
    depths = (1, 2, 3) if quick else (1, 2, 3, 4, 5)
    epochs = {"images": 4 if quick else 8, "mnist1d": 15 if quick else 40}
    datasets = [("images", common.image_data(quick, n_train=6000, n_test=5000, seed=seed)),
                ("mnist1d", common.mnist1d(quick))]
    rows, wins, comparisons = [], 0, 0
    for key, data in datasets:
        dim, classes = data.x_train.shape[1], data.classes
        for depth in depths:
            hidden = [width] * depth
            params = common.mlp_params(dim, hidden, classes)
            common.seed_all(seed)
            _, deep_acc = common.train_classifier(common.mlp(dim, hidden, classes), data, epochs[key], seed)
            row = {"data": data.name.split(" (")[0], "deep": f"{depth} x {width}", "params": params,
                   "deep test error %": 100 * (1 - deep_acc), "fat": "", "fat params": "", "fat test error %": ""}
            if depth > 1:
                fat = common.fat_width(dim, classes, params)
                common.seed_all(seed)
                _, fat_acc = common.train_classifier(common.mlp(dim, [fat], classes), data, epochs[key], seed)
                row.update({"fat": f"1 x {fat}", "fat params": common.mlp_params(dim, [fat], classes),
                            "fat test error %": 100 * (1 - fat_acc)})
                comparisons += 1
                wins += deep_acc > fat_acc
            rows.append(row)
    plots = [(_plot(rows, out_dir), "Test error of L x N (deep) and 1 x N' (fat) networks of equal parameter count")]
    held = wins > comparisons / 2
    return Result(
        setup=(f"MLPs with ReLU, Adam (lr 0.001), batch 64, cross-entropy. Deep: L hidden layers of {width} units "
               f"(L in {list(depths)}); fat: one hidden layer whose width gives the same parameter count. "
               f"Epochs: {epochs['images']} on the images, {epochs['mnist1d']} on MNIST-1D."),
        data=" and ".join(d.name for _, d in datasets), table=rows, held=held, plots=plots,
        because=f"the deep network had the lower test error in {wins} of {comparisons} equal-size comparisons",
        numbers={"deep_wins": wins, "comparisons": comparisons})


def _plot(rows, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    for name in dict.fromkeys(r["data"] for r in rows):
        mine = [r for r in rows if r["data"] == name]
        ax.plot([r["params"] for r in mine], [r["deep test error %"] for r in mine], "o-", label=f"{name}: deep")
        fat = [r for r in mine if r["fat"]]
        ax.plot([r["fat params"] for r in fat], [r["fat test error %"] for r in fat], "s--", label=f"{name}: fat")
    ax.set_xlabel("parameters")
    ax.set_ylabel("test error (%)")
    ax.legend()
    return save_figure(fig, out_dir, "deep_vs_fat.png", "Deep and thin against shallow and fat: test accuracy")


@experiment("sigmoid-depth", """Deeper is not always better: with sigmoid activations, a network with many
hidden layers does badly on its *training* data, because the gradient vanishes on its way back to the first layers
(they learn slowly while the last ones have already converged); ReLU does not have this problem.""")
def sigmoid_depth(out_dir, quick, seed):
    data = common.image_data(quick, n_train=10000, n_test=2000, seed=seed)
    depths = (1, 3, 6) if quick else tuple(range(1, 11))
    width, epochs = (32, 4) if quick else (64, 5)
    dim, classes = data.x_train.shape[1], data.classes
    from ..optimizers import SGD  # noqa: PLC0415

    rows, grad_norms = [], {}
    for activation in ("sigmoid", "relu"):
        for depth in depths:
            common.seed_all(seed)
            model = common.mlp(dim, [width] * depth, classes, activation=activation)
            model.compile(loss="sparse_categorical_crossentropy", optimizer=SGD(learning_rate=0.1),
                          metrics=["accuracy"])
            norms = layer_gradient_norms(model, data.x_train[:256], data.y_train[:256])
            if depth == depths[-1]:
                grad_norms[activation] = norms
            model.fit(data.x_train, data.y_train, batch_size=32, epochs=epochs, verbose=0, seed=seed)
            rows.append({"activation": activation, "hidden layers": depth,
                         "train accuracy": common.accuracy(model, data.x_train, data.y_train),
                         "first / last layer grad norm": norms[0] / norms[-2]})
    plots = [(_plot_depth(rows, out_dir), "Training accuracy against depth"),
             (_plot_norms(grad_norms, out_dir),
              f"Gradient norm per layer at initialisation ({depths[-1]} hidden layers)")]
    acc = {(r["activation"], r["hidden layers"]): r["train accuracy"] for r in rows}
    deep, shallow = depths[-1], depths[0]
    sig_drop = acc["sigmoid", shallow] - acc["sigmoid", deep]
    relu_drop = acc["relu", shallow] - acc["relu", deep]
    ratio = grad_norms["sigmoid"][0] / grad_norms["sigmoid"][-2]
    held = sig_drop > 0.1 and sig_drop > relu_drop + 0.05 and ratio < 0.1
    grad_rows = [{"layer": i + 1, "sigmoid grad norm": s, "relu grad norm": r}
                 for i, (s, r) in enumerate(zip(grad_norms["sigmoid"], grad_norms["relu"]))]
    return Result(
        setup=(f"MLPs of {width} units per hidden layer, {list(depths)} hidden layers, sigmoid or ReLU, plain SGD "
               f"(lr 0.1, batch 32, {epochs} epochs). Training accuracy is measured on the training data itself. "
               "Gradient norms: ||dL/dW|| of each Dense kernel after one train_on_batch (256 samples) at "
               "initialisation (the last row is the output layer)."),
        data=data.name, table=rows, tables={"Per-layer gradient norms at initialisation": grad_rows},
        held=held, plots=plots,
        because=(f"training accuracy from {shallow} to {deep} hidden layers fell by {sig_drop:.3f} with sigmoid and by "
                 f"{relu_drop:.3f} with ReLU; in the {deep}-layer sigmoid net the first layer's gradient is "
                 f"{ratio:.2g} times the last hidden layer's"),
        numbers={"sigmoid_drop": sig_drop, "relu_drop": relu_drop, "sigmoid_first_over_last": ratio})


def layer_gradient_norms(model, x, y):
    """||dL/dW|| for each Dense kernel after one ``train_on_batch`` (the step also updates the weights)."""
    model.train_on_batch(x, y)
    return [float(numpy.sqrt((backend.to_numpy(layer.kernel.grad).astype("float64") ** 2).sum()))
            for layer in model.layers if getattr(layer, "kernel", None) is not None]


def _plot_depth(rows, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    for activation in ("sigmoid", "relu"):
        mine = [r for r in rows if r["activation"] == activation]
        ax.plot([r["hidden layers"] for r in mine], [r["train accuracy"] for r in mine], "o-", label=activation)
    ax.set_xlabel("hidden layers")
    ax.set_ylabel("training accuracy")
    ax.legend()
    return save_figure(fig, out_dir, "train_accuracy_vs_depth.png", "Training accuracy against depth")


def _plot_norms(norms, out_dir):
    fig, ax = subplots(figsize=(6, 4))
    for activation, values in norms.items():
        ax.semilogy(range(1, len(values) + 1), values, "o-", label=activation)
    ax.set_xlabel("layer (1 = next to the input)")
    ax.set_ylabel("gradient norm")
    ax.legend()
    return save_figure(fig, out_dir, "gradient_norms.png", "Gradient norm per layer")
