"""``threestep search``: evolve network structures for a dataset and print the Pareto front.

    threestep search --data digits --trials 40 --epochs 5
    threestep search --data mnist1d --storage sqlite:///mnist1d.db --study mnist1d   # rerun: resumes
    threestep search --data my.npz --storage postgresql://user:pw@host/db --study shared   # several machines
"""
import os

import numpy

from ..errors import ConfigError, DataError

DATASETS = ("digits", "mnist1d", "fashion-mnist")


def add_parser(subparsers):
    """Add the ``search`` command to the ``threestep`` parser's subparsers."""
    parser = subparsers.add_parser(
        "search", help="search network structures with a genetic algorithm (Optuna NSGA-II); prints the Pareto front",
        description="Evolve fully connected structures (depth, widths, activation, dropout, optimizer, learning "
                    "rate) for validation accuracy vs parameters or FLOPs. The study is stored in --storage (an "
                    "SQLite file by default), so rerunning with the same --study resumes it, and processes on "
                    "several machines share one study through the same database URL.")
    parser.add_argument("--data", default="digits",
                        help=f"{', '.join(DATASETS)}, or an .npz file holding x_train, y_train (and optionally "
                             "x_test, y_test) (default: digits)")
    parser.add_argument("--trials", type=int, default=30, help="structures to train in this run (default: 30)")
    parser.add_argument("--epochs", type=int, default=5, help="training epochs per structure (default: 5)")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64)")
    parser.add_argument("--population", type=int, default=10, help="NSGA-II population size (default: 10)")
    parser.add_argument("--sampler", default="nsga2", choices=("nsga2", "random", "tpe"),
                        help="search strategy (default: nsga2, the genetic algorithm)")
    parser.add_argument("--cost", default="params", choices=("params", "flops"),
                        help="second objective, minimised (default: params)")
    parser.add_argument("--storage", default="sqlite:///threestep-search.db",
                        help="Optuna storage URL (default: sqlite:///threestep-search.db); 'memory' keeps nothing")
    parser.add_argument("--study", default=None, help="study name (default: threestep-search-DATA)")
    parser.add_argument("--max-depth", type=int, default=4, help="most hidden layers (default: 4)")
    parser.add_argument("--timeout", type=float, default=None, help="stop starting trials after this many seconds")
    parser.add_argument("--plot", default=None, help="save the Pareto-front plot to this PNG")
    parser.add_argument("--save", default=None, help="save the best structure, rebuilt and trained, to this file")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.set_defaults(func=run)
    return parser


def load_data(name, seed=0):
    """``(x, y, x_test, y_test)`` for a dataset name or an .npz path (test arrays may be None)."""
    if name == "digits":
        from ..datasets import digits  # noqa: PLC0415

        (x, y), (xt, yt) = digits.load_data()
        return (x.reshape(len(x), -1).astype("float32") / 16, y.astype("int64"),
                xt.reshape(len(xt), -1).astype("float32") / 16, yt.astype("int64"))
    if name == "mnist1d":
        from ..datasets import mnist1d  # noqa: PLC0415

        (x, y), (xt, yt) = mnist1d.load_data()
        return x.astype("float32"), y.astype("int64"), xt.astype("float32"), yt.astype("int64")
    if name == "fashion-mnist":
        from ..datasets import fashion_mnist  # noqa: PLC0415

        (x, y), (xt, yt) = fashion_mnist.load_data()
        return (x.reshape(len(x), -1).astype("float32") / 255, y.astype("int64"),
                xt.reshape(len(xt), -1).astype("float32") / 255, yt.astype("int64"))
    if name.endswith(".npz"):
        if not os.path.isfile(name):
            raise DataError(f"threestep search: no such file {name!r}.")
        with numpy.load(name) as data:
            missing = {"x_train", "y_train"} - set(data.files)
            if missing:
                raise DataError(f"threestep search: {name} lacks {sorted(missing)}; it holds {data.files}.")
            get = lambda k: data[k] if k in data.files else None  # noqa: E731
            return get("x_train").astype("float32"), get("y_train").astype("int64"), get("x_test"), get("y_test")
    raise ConfigError(f"threestep search: --data must be one of {DATASETS} or an .npz file. Received: {name!r}.")


def run(args):
    """Run the search the parsed ``args`` describe; prints the Pareto table and the test accuracy."""
    from . import SearchSpace, search_structure  # noqa: PLC0415

    if args.trials < 0 or args.epochs < 1:
        raise SystemExit(f"threestep search: --trials must be >= 0 and --epochs >= 1. Received: --trials "
                         f"{args.trials} --epochs {args.epochs}.")
    try:
        x, y, xt, yt = load_data(args.data, args.seed)
        storage = None if args.storage == "memory" else args.storage
        study = args.study or f"threestep-search-{os.path.splitext(os.path.basename(args.data))[0]}"
        result = search_structure(x, y, n_trials=args.trials, epochs=args.epochs, batch_size=args.batch_size,
                                  space=SearchSpace(depth=(1, args.max_depth)), cost=args.cost,
                                  sampler=args.sampler, population_size=args.population, storage=storage,
                                  study_name=study, seed=args.seed, timeout=args.timeout, verbose=1)
    except (ConfigError, DataError) as exc:
        raise SystemExit(f"threestep search: {exc}") from None
    if storage:
        print(f"study {study!r} in {storage} ({len(result.study.trials)} trials; rerun to add more)")
    if xt is not None and yt is not None and result.model is not None:
        accuracy = float((result.model.predict(numpy.asarray(xt, dtype="float32")).argmax(-1) == yt).mean())
        print(f"best structure retrained on train + validation data: test accuracy {accuracy:.4f}")
    if args.plot:
        result.plot_front(args.plot)
        print(f"Pareto front plot: {args.plot}")
    if args.save and result.model is not None:
        result.model.save(args.save)
        print(f"best model saved: {args.save}")
    return 0
