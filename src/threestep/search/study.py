"""Running a structure search as an Optuna study, and reading its Pareto front."""
from dataclasses import dataclass

import numpy

from ..errors import ConfigError, DataError
from .space import SearchSpace, build_model, make_optimizer, model_cost

DEFAULT_STORAGE = "sqlite:///threestep-search.db"
SAMPLERS = ("nsga2", "random", "tpe")


def _optuna():
    try:
        import optuna  # noqa: PLC0415
    except ImportError:
        raise ConfigError("threestep.search needs Optuna: pip install \"threestep[search]\" (or pip install "
                          "optuna).") from None
    return optuna


def _sampler(optuna, name, population_size, seed):
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(population_size=population_size, seed=seed)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    raise ConfigError(f"search_structure: sampler must be one of {SAMPLERS}. Received: sampler={name!r}.")


@dataclass
class SearchResult:
    """A finished (or resumed) search.

    Attributes:
        study: the Optuna study (all trials, in its storage).
        front: the Pareto-optimal structures as table rows, most accurate first.
        best_params: the structure chosen from the front (the most accurate).
        model: that structure rebuilt and trained on all the data given (None if ``retrain=False``).
        cost: ``"params"`` or ``"flops"``.
    """

    study: object
    front: list
    best_params: dict
    model: object = None
    cost: str = "params"

    def table(self):
        """The Pareto front as a text table."""
        return format_table(self.front)

    def plot_front(self, path):
        """Save the accuracy-vs-cost scatter with the Pareto front to ``path`` (PNG)."""
        return plot_front(self.study, path, cost=self.cost)


def _split(x, y, validation_data, validation_split, seed):
    x, y = numpy.asarray(x), numpy.asarray(y)
    if len(x) != len(y) or len(x) < 2:
        raise DataError(f"search_structure: x and y must have the same number (>= 2) of samples. Received: "
                        f"{len(x)} and {len(y)}.")
    if validation_data is not None:
        return x, y, numpy.asarray(validation_data[0]), numpy.asarray(validation_data[1])
    if not 0 < validation_split < 1:
        raise ConfigError(f"search_structure: validation_split must be in (0, 1). Received: {validation_split!r}.")
    order = numpy.random.default_rng(seed).permutation(len(x))
    n_val = max(1, int(round(validation_split * len(x))))
    val, train = order[:n_val], order[n_val:]
    return x[train], y[train], x[val], y[val]


def params_of(trial):
    """The structure a finished trial trained (stored as its user attribute)."""
    return dict(trial.user_attrs["structure"])


def search_structure(x, y, validation_data=None, validation_split=0.2, n_trials=20, epochs=5, batch_size=64,
                     space=None, cost="params", sampler="nsga2", population_size=10, storage=DEFAULT_STORAGE,
                     study_name="threestep-search", seed=0, timeout=None, retrain=True, retrain_epochs=None,
                     verbose=1):
    """Search fully connected structures for a classifier; returns a :class:`SearchResult`.

    Args:
        x, y: training data; ``y`` integer class labels.
        validation_data: ``(x_val, y_val)``; otherwise ``validation_split`` of ``x`` is held out.
        n_trials: structures to train in this call (a resumed study adds them to those it has).
        epochs, batch_size: the training budget of every trial.
        space: a :class:`SearchSpace` (default: its defaults).
        cost: the second objective, ``"params"`` or ``"flops"`` (minimised).
        sampler: ``"nsga2"`` (genetic, multi-objective; the default), ``"random"``, or ``"tpe"``.
        population_size: NSGA-II's population (a generation's number of structures).
        storage: an Optuna storage URL; default an SQLite file in the working directory, so
            rerunning resumes. ``None`` keeps the study in memory. Share one study between
            processes or machines by giving them the same database URL.
        study_name: the study's name in the storage.
        seed: seeds the sampler, initialisation and shuffling.
        timeout: stop starting trials after this many seconds.
        retrain, retrain_epochs: rebuild the most accurate Pareto structure and train it on
            train + validation data (default ``epochs``).
        verbose: 1 prints each trial and the Pareto table; 0 is silent.
    """
    optuna = _optuna()
    space = space if space is not None else SearchSpace()
    if cost not in ("params", "flops"):
        raise ConfigError(f"search_structure: cost must be 'params' or 'flops'. Received: cost={cost!r}.")
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 0:
        raise ConfigError(f"search_structure: n_trials must be an integer >= 0. Received: n_trials={n_trials!r}.")
    x_tr, y_tr, x_val, y_val = _split(x, y, validation_data, validation_split, seed)
    if y_tr.ndim != 1 or y_tr.dtype.kind not in "iu":
        raise DataError(f"search_structure: y must be integer class labels (n,). Received: dtype {y_tr.dtype}, "
                        f"shape {y_tr.shape}.")
    classes = int(max(y_tr.max(), y_val.max())) + 1
    input_shape = x_tr.shape[1:]
    input_dim = int(numpy.prod(input_shape))
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(study_name=study_name, storage=storage, load_if_exists=True,
                                directions=["maximize", "minimize"],
                                sampler=_sampler(optuna, sampler, population_size, seed))
    study.set_user_attr("cost", cost)

    def objective(trial):
        from .. import backend  # noqa: PLC0415

        params = space.suggest(trial)
        trial.set_user_attr("structure", params)
        backend.set_seed(seed + trial.number)
        model = build_model(params, input_shape, classes)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer(params), metrics=["accuracy"])
        model.fit(x_tr, y_tr, batch_size=batch_size, epochs=epochs, verbose=0, seed=seed + trial.number)
        accuracy = float((model.predict(x_val).argmax(axis=-1) == y_val).mean())
        size = model_cost(params, input_dim, classes, cost)
        if verbose:
            print(f"trial {trial.number:3d}: val accuracy {accuracy:.4f}, {cost} {size:,} — {describe(params)}")
        return accuracy if numpy.isfinite(accuracy) else 0.0, size

    study.optimize(objective, n_trials=n_trials, timeout=timeout)
    front = pareto_rows(study)
    if not front:
        raise DataError(f"search_structure: the study {study_name!r} has no finished trials; ask for n_trials > 0.")
    best = params_of(max(study.best_trials, key=lambda t: (t.values[0], -t.values[1])))
    if verbose:
        print(f"Pareto front of {len(study.trials)} trials (validation accuracy vs {cost}):")
        print(format_table(front))
    model = None
    if retrain:
        from .. import backend  # noqa: PLC0415

        backend.set_seed(seed)
        model = build_model(best, input_shape, classes)
        model.compile(loss="sparse_categorical_crossentropy", optimizer=make_optimizer(best), metrics=["accuracy"])
        model.fit(numpy.concatenate([x_tr, x_val]), numpy.concatenate([y_tr, y_val]), batch_size=batch_size,
                  epochs=retrain_epochs or epochs, verbose=0, seed=seed)
    return SearchResult(study, front, best, model, cost)


def describe(params):
    """A structure in one line: ``3 x [128, 64, 32] relu, dropout 0.10, adam lr 1.2e-03``."""
    return (f"{params['depth']} x {list(params['widths'])} {params['activation']}, dropout "
            f"{params.get('dropout', 0.0):.2f}, {params['optimizer']} lr {params['learning_rate']:.1e}")


def pareto_rows(study):
    """The Pareto-optimal trials as rows, most accurate first."""
    cost = study.user_attrs.get("cost", "params")
    rows = []
    for t in sorted(study.best_trials, key=lambda t: (-t.values[0], t.values[1])):
        rows.append({"trial": t.number, "val accuracy": round(float(t.values[0]), 4), cost: int(t.values[1]),
                     "structure": describe(params_of(t))})
    return rows


def format_table(rows):
    """Rows as a fixed-width text table."""
    if not rows:
        return "(no finished trials)"
    columns = list(rows[0])
    cells = [[str(r[c]) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)) for row in cells]
    return "\n".join(lines)


def plot_front(study, path, cost=None, ax=None, label=None):
    """Scatter every finished trial (cost on a log axis, validation accuracy) and draw the
    Pareto front as a step line; saves to ``path`` unless an ``ax`` is given."""
    cost = cost or study.user_attrs.get("cost", "params")
    done = [t for t in study.trials if t.values is not None]
    front = sorted(study.best_trials, key=lambda t: t.values[1])
    own = ax is None
    if own:
        from ..utils.plotting import subplots  # noqa: PLC0415

        fig, ax = subplots(1, 1, figsize=(6, 4))
    line = ax.plot([t.values[1] for t in front], [t.values[0] for t in front], drawstyle="steps-post",
                   label=f"{label or 'Pareto front'}")[0]
    ax.scatter([t.values[1] for t in done], [t.values[0] for t in done], s=12, alpha=0.5, color=line.get_color())
    ax.set_xscale("log")
    ax.set_xlabel(cost)
    ax.set_ylabel("validation accuracy")
    if own:
        ax.legend(fontsize=7)
        fig.tight_layout()
        fig.savefig(path, dpi=90)
    return path
