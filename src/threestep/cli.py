"""The ``threestep`` command."""
import argparse
import sys
import time

from . import __version__


def _demo(args):
    """Train the lecture's fully connected network (ReLU + cross-entropy) on the digits."""
    from . import backend
    from .datasets import digits
    from .layers import Dense
    from .models import Sequential
    from .optimizers import SGD
    from .utils import to_categorical

    backend.set_seed(args.seed)
    (x_train, y_train), (x_test, y_test) = digits.load_data()
    # 8x8 images with values 0..16 -> 64 features in [0, 1]; labels -> one-hot vectors
    x_train = x_train.reshape(len(x_train), 64).astype("float32") / 16
    x_test = x_test.reshape(len(x_test), 64).astype("float32") / 16
    y_train, y_test = to_categorical(y_train, 10), to_categorical(y_test, 10)
    print(f"threestep {__version__} demo: handwritten digits (8x8), {len(x_train)} training and "
          f"{len(x_test)} test images, embedded with scikit-learn (no download)")

    # Step 1: define a set of functions.
    model = Sequential()
    model.add(Dense(500, activation="relu", input_dim=64))
    model.add(Dense(500, activation="relu"))
    model.add(Dense(10, activation="softmax"))
    model.summary()
    # Step 2: goodness of function.   Step 3: pick the best function.
    model.compile(loss="categorical_crossentropy", optimizer=SGD(learning_rate=0.05, momentum=0.9),
                  metrics=["accuracy"])
    start = time.perf_counter()
    model.fit(x_train, y_train, batch_size=32, epochs=args.epochs, verbose=args.verbose)
    seconds = time.perf_counter() - start
    loss, accuracy = model.evaluate(x_test, y_test, verbose=0)
    print(f"Training took {seconds:.1f} s.")
    print(f"Test loss: {loss:.4f}")
    print(f"Test accuracy: {accuracy:.4f}")
    return 0 if accuracy >= 0.95 else 1


def _find_benchmarks():
    """The source checkout's ``benchmarks`` folder, or None (it is not part of the installed package)."""
    import importlib.util
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]  # src/threestep/cli.py -> the checkout
    if (root / "benchmarks" / "suite.py").is_file():
        return str(root / "benchmarks")
    spec = importlib.util.find_spec("benchmarks")  # e.g. the current directory is a checkout
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    return next((f for f in folders if (Path(f) / "suite.py").is_file()), None)


def _bench(args):
    """Run the benchmark suite (``python -m benchmarks``) from a source checkout."""
    import os

    folder = _find_benchmarks()
    if folder is None:
        from .errors import ConfigError

        raise ConfigError(
            "threestep bench runs the benchmark suite in the benchmarks/ folder of a source checkout, "
            "which an installed threestep does not include. Clone the repository, `pip install -e "
            "\".[bench]\"` in it, and run `threestep bench` (or `python -m benchmarks`) there.")
    root = os.path.dirname(os.path.abspath(folder))
    if root not in sys.path:
        sys.path.insert(0, root)
    from benchmarks.__main__ import main as bench_main  # noqa: PLC0415  (source checkout only)

    return bench_main(args.bench_args)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="threestep",
        description="threestep: deep learning in three steps (define a function set, measure its "
                    "goodness, pick the best function).")
    parser.add_argument("--version", action="version", version=f"threestep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="train an MLP on the embedded handwritten digits and print its test accuracy")
    demo.add_argument("--epochs", type=int, default=20, help="training epochs (default: 20)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    demo.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                      help="0 silent, 1 progress bar, 2 one line per epoch (default: 1)")
    demo.set_defaults(func=_demo)
    bench = sub.add_parser("bench", add_help=False,
                           help="benchmark threestep against PyTorch (source checkout; `threestep bench --help`)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER, help="options of `python -m benchmarks`")
    bench.set_defaults(func=_bench)
    from .cli_inspect import add_visualize_parser  # noqa: PLC0415

    add_visualize_parser(sub)
    from .cli_runs import add_commands as add_run_commands  # noqa: PLC0415

    add_run_commands(sub)
    from .experiments.cli import register as add_experiment_commands  # noqa: PLC0415

    add_experiment_commands(sub)
    from .search.cli import add_parser as add_search_parser  # noqa: PLC0415

    add_search_parser(sub)
    return parser


def main(argv=None):
    """The ``threestep`` entry point; output piped into ``head`` and closed early ends quietly."""
    try:
        return _main(argv)
    except BrokenPipeError:
        import os  # noqa: PLC0415

        # Python flushes stdout at exit; point it at /dev/null so that flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def _main(argv=None):
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # every option after it belongs to `python -m benchmarks`
        return _bench(argparse.Namespace(bench_args=argv[1:]))
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if args.command in ("train", "show", "doctor"):
        from .cli_runs import run_command  # noqa: PLC0415

        return run_command(args, argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
