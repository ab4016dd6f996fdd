"""Maxout: a learnable activation function, with ReLU as the special case of one zero piece."""
import numpy

from . import common
from .base import Result, experiment
from ..utils.plotting import subplots
from .report import save_figure


def relu_net(input_dim, hidden, classes):
    """A ReLU MLP (the network Maxout reproduces)."""
    return common.mlp(input_dim, hidden, classes, activation="relu")


def maxout_copy(relu_model):
    """A Maxout network computing exactly what ``relu_model`` computes.

    Each hidden ReLU Dense becomes ``Maxout(units, pieces=2)`` with one piece holding the
    Dense's weights and the other all zeros (the lecture's construction: max(z, 0) = relu(z));
    the output layer is copied as it is.
    """
    from ..layers import Dense, Maxout  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    layers = []
    for layer in relu_model.layers[:-1]:
        layers.append(Maxout.from_relu_dense(layer))
    out = relu_model.layers[-1]
    copy = Dense(out.units, activation="softmax")
    layers.append(copy)
    model = Sequential(layers)
    model.build((None, relu_model.layers[0].kernel.shape[0]))
    copy.set_weights(out.get_weights())
    return model


def unit_activations(layer, x):
    """Each unit's output of a built Maxout layer with one input feature, for inputs ``x`` (n,)."""
    kernel, bias = (numpy.asarray(w, dtype="float64") for w in layer.get_weights())
    units, pieces = layer.units, layer.pieces
    z = x[:, None] * kernel[0][None, :] + bias[None, :]          # (n, pieces * units), piece-major
    z = z.reshape(len(x), pieces, units)
    return z.max(axis=1), z.argmax(axis=1)


@experiment("maxout", """ReLU is a special case of Maxout: setting one piece of each group to w, b and the
other to zero reproduces a ReLU network exactly; otherwise Maxout learns its own activation function, which can be
any piecewise-linear convex function with as many pieces as the group has elements.""")
def maxout(out_dir, quick, seed):
    from ..layers import Dense, Maxout  # noqa: PLC0415
    from ..models import Sequential  # noqa: PLC0415

    # Part 1: a trained ReLU network and its Maxout copy give identical outputs.
    data = common.image_data(quick, n_train=5000, n_test=2000, seed=seed)
    dim, classes = data.x_train.shape[1], data.classes
    common.seed_all(seed)
    relu = relu_net(dim, [64, 64], classes)
    _, relu_acc = common.train_classifier(relu, data, 2 if quick else 5, seed)
    copy = maxout_copy(relu)
    diff = float(numpy.abs(copy.predict(data.x_test) - relu.predict(data.x_test)).max())
    copy.compile(loss="sparse_categorical_crossentropy", optimizer="sgd", metrics=["accuracy"])
    _, copy_acc = copy.evaluate(data.x_test, data.y_test, verbose=0)
    rows = [{"network": "ReLU MLP 2 x 64 (trained)", "test accuracy": relu_acc, "max |output difference|": 0.0},
            {"network": "Maxout copy (pieces=2, one zero piece)", "test accuracy": float(copy_acc),
             "max |output difference|": diff}]

    # Part 2: what a Maxout network learns on a 1-D regression task (each unit's activation is a 1-D function).
    pieces, units = 4, 6
    rng = numpy.random.default_rng(seed)
    x = rng.uniform(-2, 2, (512, 1)).astype("float32")
    y = (numpy.abs(x) + 0.5 * numpy.sin(3 * x)).astype("float32")
    common.seed_all(seed)
    net = Sequential([Maxout(units, pieces=pieces, input_dim=1), Dense(1)])
    net.compile(loss="mse", optimizer="adam")
    net.fit(x, y, batch_size=64, epochs=60 if quick else 300, verbose=0, seed=seed)
    grid = numpy.linspace(-2, 2, 401)
    acts, winners = unit_activations(net.layers[0], grid)
    used = [len(numpy.unique(winners[:, j])) for j in range(units)]
    second_diff = numpy.diff(acts, n=2, axis=0).min()
    learned = [{"unit": j + 1, "pieces used on [-2, 2]": used[j],
                "shape": "ReLU-like (2 pieces)" if used[j] == 2 else ("linear" if used[j] == 1 else "more than ReLU")}
               for j in range(units)]
    mse = float(net.evaluate(x, y, verbose=0))
    held = diff == 0.0 and max(used) > 2 and second_diff > -1e-9
    return Result(
        setup=("Part 1: a ReLU MLP (2 x 64, softmax) is trained, then each hidden Dense is replaced by "
               "Maxout(64, pieces=2) whose first piece is all zeros and whose second piece holds the Dense's weights "
               "(Maxout.from_relu_dense); the outputs on the test set are compared. Part 2: Maxout(6, pieces=4) -> "
               "Dense(1) is fit to y = |x| + 0.5 sin(3x) on [-2, 2] (MSE, Adam); each unit's learned activation is "
               "plotted as a function of the input."),
        data=data.name + "; a synthetic 1-D regression task", table=rows,
        tables={"Activation functions learned by Maxout(6, pieces=4)": learned}, held=held,
        plots=[(_plot(grid, acts, out_dir), "The activation functions the Maxout units learned")],
        because=(f"the Maxout copy's outputs differ from the ReLU network's by {diff:.1e} (exactly zero is the claim); "
                 f"the trained Maxout units use {used} linear pieces on [-2, 2] (convex: smallest second difference "
                 f"{second_diff:.1e}); regression MSE {mse:.4f}"),
        numbers={"max_output_difference": diff, "pieces_used": used, "regression_mse": mse})


def _plot(grid, acts, out_dir):
    fig, axes = subplots(1, acts.shape[1], figsize=(2.2 * acts.shape[1], 2.4))
    for j, ax in enumerate(axes):
        ax.plot(grid, acts[:, j])
        ax.set_title(f"unit {j + 1}", fontsize=9)
        ax.set_xlabel("input x")
    return save_figure(fig, out_dir, "maxout_activations.png", "Activation functions learned by Maxout units")
