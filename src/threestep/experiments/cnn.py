"""The lecture's CNN on Fashion-MNIST: baselines against the dataset paper, and what it learned."""
import numpy

from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure

#: Fashion-MNIST paper (Xiao et al. 2017, Table 3 / README benchmarks), test accuracy.
PAPER = {"logistic regression": "~0.84", "MLP(100, relu)": "0.871", "CNN": "0.876-0.916 (2 conv + pooling)"}
#: The lowest accuracy counted as "in line with the paper" for each model (its band minus 0.03).
PAPER_FLOOR = {"logistic regression": 0.81, "MLP(100, relu)": 0.84, "CNN": 0.846}


def lecture_cnn(input_shape, classes):
    """The lecture's CNN: Conv(25, 3x3) - MaxPool 2 - Conv(50, 3x3) - MaxPool 2 - Flatten - Dense(100) - Dense(10).

    For 28x28 inputs the shapes are the lecture's 25x26x26 -> 25x13x13 -> 50x11x11 -> 50x5x5;
    small inputs (the 8x8 digits) use 'same' padding so that two poolings still fit.
    """
    from ..models.builtin import build_builtin  # noqa: PLC0415

    return build_builtin("lecture-cnn", input_shape, classes)


@experiment("fashion-baselines", """The lecture's models on Fashion-MNIST land where the dataset paper's benchmark
puts them: logistic regression ~0.84, an MLP with 100 ReLU units ~0.87, and a CNN with two convolution + max pooling
layers ~0.88-0.92 — the CNN best, because its design encodes what images are like.""")
def fashion_baselines(out_dir, quick, seed):
    flat = common.image_data(quick, n_train=None, n_test=None, seed=seed)
    cnn_data = common.image_data(quick, n_train=None, n_test=None, seed=seed, images=True)
    fashion = flat.name.startswith("Fashion")
    epochs = {"logistic regression": 10, "MLP(100, relu)": 5, "CNN": 3} if quick else \
        {"logistic regression": 5, "MLP(100, relu)": 10, "CNN": 5}
    dim, classes = flat.x_train.shape[1], flat.classes
    models = {"logistic regression": (common.mlp(dim, [], classes), flat),
              "MLP(100, relu)": (common.mlp(dim, [100], classes), flat),
              "CNN": (None, cnn_data)}
    rows, acc = [], {}
    for name, (model, data) in models.items():
        common.seed_all(seed)
        if model is None:
            model = lecture_cnn(data.x_train.shape[1:], classes)
        history, acc[name] = common.train_classifier(model, data, epochs[name], seed, batch_size=64)
        rows.append({"model": name, "training images": len(data.x_train), "epochs": epochs[name],
                     "parameters": model.count_params(), "train accuracy": history.history["accuracy"][-1],
                     "test accuracy": acc[name],
                     "paper (full data)": PAPER[name] if fashion else "n/a (not Fashion-MNIST)"})
    ordered = acc["logistic regression"] < acc["MLP(100, relu)"] < acc["CNN"]
    in_band = all(acc[k] >= PAPER_FLOOR[k] for k in acc) if fashion else True
    held = ordered and in_band
    return Result(
        setup=("Logistic regression (Dense softmax), MLP(100 ReLU) and the lecture's CNN (Conv 25 3x3 - MaxPool - "
               "Conv 50 3x3 - MaxPool - Dense 100 - Dense 10, ReLU), Adam lr 0.001, batch 64, cross-entropy; the CNN "
               f"is trained on {len(cnn_data.x_train)} images. 'In line with the paper' means "
               "test accuracy at least the paper's figure minus 0.03 "
               f"({', '.join(f'{k} >= {v}' for k, v in PAPER_FLOOR.items())})."),
        data=flat.name + (f"; CNN on {cnn_data.name}" if cnn_data.name != flat.name else ""), table=rows, held=held,
        because=(", ".join(f"{k} {v:.4f}" for k, v in acc.items()) + f"; ordering logistic < MLP < CNN: {ordered}"
                 + (f"; all within the paper's bands: {in_band}" if fashion else "; not Fashion-MNIST, so only the "
                    "ordering is checked")),
        numbers={"test_accuracy": acc})


@experiment("what-cnn-learns", """What does a CNN learn? Find the input x* = argmax_x a^k that maximises a filter's
or a class's output: the images that maximise the classes look like noise to us yet the CNN assigns them to the class
with confidence; adding an L1 penalty on the input (few non-zero pixels) gives sparser, cleaner images.""")
def what_cnn_learns(out_dir, quick, seed):
    from ..inspect import activation_maximization  # noqa: PLC0415

    data = common.image_data(quick, n_train=10000, n_test=2000, seed=seed, images=True)
    common.seed_all(seed)
    model = lecture_cnn(data.x_train.shape[1:], data.classes)
    _, test_acc = common.train_classifier(model, data, 2 if quick else 3, seed, batch_size=64)
    steps = 25 if quick else 200
    l1 = 0.05 if quick else 0.02
    filters = list(range(12))
    rows, images = [], {}
    for penalty in (0.0, l1):
        cls = activation_maximization(model, None, list(range(data.classes)), steps=steps, lr=0.05, l1=penalty,
                                      seed=seed)
        flt = activation_maximization(model, model.layers[2], filters, steps=steps, lr=0.05, l1=penalty, seed=seed)
        images["classes", penalty], images["filters", penalty] = cls, flt
        probs = model.predict(cls)
        target = probs[numpy.arange(data.classes), numpy.arange(data.classes)]
        hits = int((probs.argmax(-1) == numpy.arange(data.classes)).sum())
        rows.append({"L1 weight": penalty, "classes whose image is classified as that class": f"{hits}/{data.classes}",
                     "mean softmax of the target class": float(target.mean()),
                     "mean |pixel| (class images)": float(numpy.abs(cls).mean()),
                     "pixels with |x| < 0.01": float((numpy.abs(cls) < 0.01).mean())})
    plots = [(_plot_grid(images["classes", pen], f"classes_l1_{pen:g}.png", out_dir, data),
              f"Class images, L1 weight {pen:g}") for pen in (0.0, l1)]
    plots += [(_plot_grid(images["filters", pen], f"conv2_filters_l1_{pen:g}.png", out_dir, data),
               f"Images that maximise conv2 filters 1-12, L1 weight {pen:g}") for pen in (0.0, l1)]
    hits_plain = int(rows[0]["classes whose image is classified as that class"].split("/")[0])
    sparse = [r["mean |pixel| (class images)"] for r in rows]
    held = hits_plain >= 0.9 * data.classes and sparse[1] < sparse[0]
    return Result(
        setup=(f"The lecture's CNN trained on the data below (test accuracy {test_acc:.4f}); then "
               f"threestep.inspect.activation_maximization ({steps} Adam steps on the input, lr 0.05, from small "
               f"noise) for every output class (score before the softmax) and for 12 filters of conv2, without and "
               f"with an L1 penalty of weight {l1} on the input."),
        data=data.name, table=rows, held=held, plots=plots,
        because=(f"without L1, {rows[0]['classes whose image is classified as that class']} class images are "
                 f"classified as their class (mean softmax {rows[0]['mean softmax of the target class']:.3f}); mean "
                 f"|pixel| {sparse[0]:.3f} without L1 vs {sparse[1]:.3f} with L1"),
        numbers={"test_accuracy": test_acc})


def _plot_grid(images, filename, out_dir, data):
    n = len(images)
    cols = min(n, 6)
    rows = (n + cols - 1) // cols
    fig, axes = subplots(rows, cols, figsize=(1.6 * cols, 1.7 * rows), squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i][..., 0], cmap="gray")
            ax.set_title(str(i), fontsize=8)
    return save_figure(fig, out_dir, filename)
