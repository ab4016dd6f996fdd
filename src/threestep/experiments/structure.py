"""Can the structure be found automatically? A genetic search (NSGA-II) vs hand-picked nets and random search."""
import math
import os

import numpy

from . import common
from .base import Result, experiment
from .report import save_figure
from ..utils.plotting import subplots


def hypervolume(points, max_cost):
    """Area dominated by ``(cost, accuracy)`` points in (log10 cost, accuracy) up to ``max_cost``:
    the integral over log-cost of the best accuracy reachable at or below that cost."""
    pts = sorted((math.log10(max(c, 1)), a) for c, a in points if c <= max_cost)
    edge, best, area = None, 0.0, 0.0
    for c, a in pts:
        if edge is not None:
            area += (c - edge) * best
        edge, best = c, max(best, a)
    return area + ((math.log10(max_cost) - edge) * best if edge is not None else 0.0)


@experiment("structure-search", """The structure of a network can be found automatically: a genetic algorithm
(evolutionary search, here NSGA-II trading validation accuracy against size) finds structures as good as the
hand-picked ones at equal training budget, and better trade-offs than random search.""")
def structure_search(out_dir, quick, seed):
    from ..search import SearchSpace, model_cost, search_structure  # noqa: PLC0415
    from ..search.space import build_model, make_optimizer  # noqa: PLC0415

    if quick:
        data = common.digits(n_train=500, n_test=300, seed=seed)
        trials, population, epochs = 6, 3, 2
        space = SearchSpace(depth=(1, 2), widths=(16, 32, 64), activations=("relu", "tanh"), dropout=(0.0, 0.0),
                            optimizers=("adam",), learning_rate=(1e-3, 3e-2))
        hand = {"2x64 ReLU": [64, 64], "3x32 ReLU": [32, 32, 32]}  # the lecture's shapes, scaled down
    else:
        data = common.mnist1d(quick=False, seed=42)
        trials, population, epochs = 16, 8, 15
        space = SearchSpace(depth=(1, 3), widths=(32, 64, 128, 256), dropout=(0.0, 0.3))
        hand = {"lecture MLP 2x500 ReLU": [500, 500], "deep 3x128 ReLU": [128, 128, 128],
                "fat 1x1024 ReLU": [1024]}
    x, y, x_test, y_test = data.x_train, data.y_train, data.x_test, data.y_test
    order = numpy.random.default_rng(seed).permutation(len(x))
    n_val = len(x) // 5
    x_tr, y_tr, x_val, y_val = x[order[n_val:]], y[order[n_val:]], x[order[:n_val]], y[order[:n_val]]
    classes, input_dim = data.classes, int(numpy.prod(x.shape[1:]))
    db = os.path.join(out_dir, "search.db")
    if os.path.exists(db):
        os.remove(db)  # a fresh study each run; `threestep search` is the command that resumes
    storage = None if quick else "sqlite:///" + os.path.abspath(db)  # quick: in memory (no SQLAlchemy start-up)
    results = {}
    for label, sampler in (("NSGA-II (genetic)", "nsga2"), ("random search", "random")):
        results[label] = search_structure(x_tr, y_tr, validation_data=(x_val, y_val), n_trials=trials,
                                          epochs=epochs, batch_size=64, space=space, sampler=sampler,
                                          population_size=population, storage=storage, study_name=sampler,
                                          seed=seed, retrain=False, verbose=0)
    rows = []

    def test_accuracy(params):
        common.seed_all(seed)
        model = build_model(params, x.shape[1:], classes)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer(params), metrics=["accuracy"])
        model.fit(x, y, batch_size=64, epochs=epochs, verbose=0, seed=seed)  # train + validation, same budget
        return float((model.predict(x_test).argmax(-1) == y_test).mean())

    def val_accuracy(params):
        common.seed_all(seed)
        model = build_model(params, x.shape[1:], classes)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer(params), metrics=["accuracy"])
        model.fit(x_tr, y_tr, batch_size=64, epochs=epochs, verbose=0, seed=seed)
        return float((model.predict(x_val).argmax(-1) == y_val).mean())

    hand_scores = {}
    for name, widths in hand.items():
        params = {"depth": len(widths), "widths": widths, "activation": "relu", "dropout": 0.0,
                  "optimizer": "adam", "learning_rate": 1e-3}
        acc, size = val_accuracy(params), model_cost(params, input_dim, classes)
        hand_scores[name] = (acc, size)
        rows.append({"structure": name, "found by": "hand", "val accuracy": acc, "params": size,
                     "test accuracy": test_accuracy(params), "trials": 1})
    max_cost = max(model_cost({"widths": [max(space.widths)] * space.depth[1]}, input_dim, classes),
                   *(s for _, s in hand_scores.values()))
    volumes = {}
    for label, res in results.items():
        trials_done = [t for t in res.study.trials if t.values is not None]
        best = max(trials_done, key=lambda t: (t.values[0], -t.values[1]))
        params = dict(best.user_attrs["structure"])
        volumes[label] = hypervolume([(t.values[1], t.values[0]) for t in trials_done], max_cost)
        rows.append({"structure": _short(params), "found by": label, "val accuracy": float(best.values[0]),
                     "params": int(best.values[1]), "test accuracy": test_accuracy(params),
                     "trials": len(trials_done)})
    ga = results["NSGA-II (genetic)"]
    ga_points = [(t.values[0], t.values[1]) for t in ga.study.trials if t.values is not None]
    best_hand = max(hand_scores.values())
    matched = [p for p in ga_points if p[0] >= best_hand[0] - 0.005 and p[1] <= best_hand[1]]
    held = bool(matched)
    front_rows = [{k: v for k, v in r.items()} for r in ga.front]
    return Result(
        setup=(f"Fully connected classifiers; every structure trained {epochs} epochs (batch 64) and scored on a "
               f"held-out 20 % validation split. Search space: depth {space.depth}, widths {list(space.widths)}, "
               f"activation {list(space.activations)}, dropout {space.dropout}, optimizer {list(space.optimizers)}, "
               f"learning rate {space.learning_rate} (log scale). NSGA-II (Optuna, population {population}) and "
               f"random search each train {trials} structures, minimising parameters while maximising validation "
               f"accuracy; the study is kept {'in memory' if quick else 'in SQLite (' + os.path.basename(db) + ')'}. "
               f"Hand-picked: "
               f"{', '.join(hand)} (ReLU, Adam lr 1e-3, no dropout). Test accuracy: the structure retrained on "
               f"train + validation with the same budget. Hypervolume: area under the best-accuracy-vs-log10(params) "
               f"staircase up to {max_cost:,} parameters."),
        data=data.name, table=rows, held=held,
        because=(f"best hand-picked: validation accuracy {best_hand[0]:.3f} with {best_hand[1]:,} parameters; "
                 + (f"NSGA-II found {len(matched)} structure(s) at least as accurate (within 0.005) and no larger, "
                    f"the smallest with {int(min(p[1] for p in matched)):,} parameters" if matched else
                    f"NSGA-II's best: {max(p[0] for p in ga_points):.3f}")
                 + f"; hypervolume NSGA-II {volumes['NSGA-II (genetic)']:.3f} vs random "
                   f"{volumes['random search']:.3f}"),
        plots=[(_plot(results, hand_scores, out_dir), "Validation accuracy vs parameters: every trial, the Pareto "
                                                      "fronts, and the hand-picked structures")],
        tables={"NSGA-II Pareto front": front_rows},
        numbers={"hypervolume": volumes})


def _short(params):
    return f"{params['depth']}x{list(params['widths'])} {params['activation']}, {params['optimizer']}"


def _plot(results, hand, out_dir):
    from ..search import plot_front  # noqa: PLC0415

    fig, ax = subplots(1, 1, figsize=(6.5, 4.2))
    for label, res in results.items():
        plot_front(res.study, None, ax=ax, label=label)
    for name, (acc, size) in hand.items():
        ax.scatter([size], [acc], marker="*", s=120, color="black")
        ax.annotate(name, (size, acc), fontsize=7, xytext=(4, -10), textcoords="offset points")
    ax.legend(fontsize=7)
    return save_figure(fig, out_dir, "pareto_front.png")
