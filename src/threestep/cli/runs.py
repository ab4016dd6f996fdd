"""The run commands of ``threestep``: ``train``, ``show`` and ``doctor``.

``threestep train`` builds a model (a built-in one or a user's ``build_model()``), trains it
on a built-in dataset (or the user's ``load_data()``) with the Keras progress bar, and with
``--out DIR`` writes a run directory (``RunLogger``). ``threestep show DIR`` redraws its
plots; ``threestep doctor DIR`` reads it the way the lecture's recipe does.
"""
import importlib.util
import os
import shlex
import sys

from ..models.builtin import MODELS, build_builtin

DATASETS = ("digits", "fashion_mnist", "mnist", "mnist1d")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "adadelta", "adamax", "nadam")


# ---------------------------------------------------------------------- data and models
def load_dataset(name):
    """``(x_train, y_train), (x_test, y_test)``: float32 inputs in [0, 1] (images (n, h, w),
    MNIST-1D signals (n, 40)) and one-hot labels."""
    from .. import datasets
    from ..errors import unknown_name
    from ..utils import to_categorical

    if name not in DATASETS:
        raise unknown_name("dataset", name, DATASETS)
    (x, y), (xt, yt) = getattr(datasets, name).load_data()
    scale = {"digits": 16.0, "mnist1d": 1.0}.get(name, 255.0)
    classes = int(max(y.max(), yt.max())) + 1
    return ((x.astype("float32") / scale, to_categorical(y, classes)),
            (xt.astype("float32") / scale, to_categorical(yt, classes)))


def loss_for_labels(y, output_units):
    """The loss a Keras user would pick for these labels, for a model compiled by the CLI.

    Integer class labels (shape ``(n,)`` or ``(n, 1)``) take ``sparse_categorical_crossentropy``
    when the model has several output units and ``binary_crossentropy`` when it has one;
    one-hot or probability rows take ``categorical_crossentropy``; anything else (real-valued
    targets) takes ``mse``.
    """
    import numpy  # noqa: PLC0415  (host-side look at the labels)

    y = numpy.asarray(y)
    integral = y.dtype.kind in "iub" or (y.dtype.kind == "f" and y.size and bool(numpy.all(y == numpy.round(y))))
    if y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
        if integral:
            return "binary_crossentropy" if output_units == 1 else "sparse_categorical_crossentropy"
        return "mse"
    if y.ndim == 2 and y.dtype.kind == "f" and y.size and bool(numpy.all(y >= 0)) \
            and numpy.allclose(y.sum(axis=1), 1.0, atol=1e-3):
        return "categorical_crossentropy"
    return "mse"


def shape_for(kind, x):
    """Reshape inputs for a model kind: flat vectors (mlp), channels-last images (cnn),
    sequences of rows or of samples (lstm)."""
    n = len(x)
    if kind == "mlp":
        return x.reshape(n, -1)
    if kind == "lecture-cnn":
        return x.reshape(x.shape + (1,))
    if kind == "lstm":
        return x if x.ndim == 3 else x.reshape(n, -1, 1)
    from ..errors import unknown_name

    raise unknown_name("model", kind, MODELS)


def load_user_file(path):
    """Import a user's Python file; it must define ``build_model()`` (``load_data()`` optional)."""
    from ..errors import ConfigError

    if not os.path.isfile(path):
        raise ConfigError(f"threestep train: no such file: {path!r}. Pass a Python file that defines build_model().")
    spec = importlib.util.spec_from_file_location("threestep_user_model", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ModuleNotFoundError as exc:
        folder = os.path.dirname(os.path.abspath(path))
        if exc.name and (os.path.isfile(os.path.join(folder, exc.name.partition(".")[0] + ".py"))
                         or os.path.isdir(os.path.join(folder, exc.name.partition(".")[0]))):
            raise ConfigError(f"{path} imports {exc.name!r}, which sits beside it in {folder}; threestep train "
                              "loads the one file you name and leaves the import path alone. Run it as "
                              f"`PYTHONPATH={folder} threestep train {path}` (or install your helpers).") from exc
        raise
    if not callable(getattr(module, "build_model", None)):
        raise ConfigError(f"{path} does not define build_model(). Add a function `def build_model(): ...` that "
                          "returns a (compiled or uncompiled) threestep model.")
    return module


def make_optimizer(name, lr):
    from .. import optimizers

    return optimizers.get({"class_name": name, "config": {} if lr is None else {"learning_rate": lr}})


def prepare(spec):
    """(model, (x, y), (x_test, y_test)) from a run spec: the ``train`` options as a dict."""
    from .. import backend

    backend.set_seed(spec.get("seed", 0))
    user = load_user_file(spec["file"]) if spec.get("file") else None
    if user is not None and callable(getattr(user, "load_data", None)):
        (x, y), (xt, yt) = user.load_data()
    else:
        (x, y), (xt, yt) = load_dataset(spec["data"])
    if user is not None:
        model = user.build_model()
        if model.built and model.input_shape is not None:
            shape = tuple(model.input_shape[1:])
            x, xt = x.reshape((len(x),) + shape), xt.reshape((len(xt),) + shape)
    else:
        x, xt = shape_for(spec["model"], x), shape_for(spec["model"], xt)
        model = build_builtin(spec["model"], x.shape[1:], y.shape[-1], spec.get("activation", "relu"),
                              spec.get("hidden_layers", 2), spec.get("units", 500))
    if not model.compiled:
        units = model.output_shape[-1] if model.built and model.output_shape is not None else y.shape[-1]
        model.compile(loss=loss_for_labels(y, units), optimizer=make_optimizer(spec["optimizer"], spec.get("lr")),
                      metrics=["accuracy"])
    elif spec.get("optimizer_given"):  # the user's loss and metrics, the command line's optimizer
        model.compile(loss=model.loss, optimizer=make_optimizer(spec["optimizer"], spec.get("lr")),
                      metrics=model._metric_specs)
    return model, (x, y), (xt, yt)


# ---------------------------------------------------------------------- commands
def _train(args):
    from ..callbacks import RunLogger

    path = args.file or args.path
    spec = {"data": args.data, "model": args.model, "file": os.path.abspath(path) if path else None,
            "epochs": args.epochs, "batch_size": args.batch_size, "optimizer": args.optimizer, "lr": args.lr,
            "seed": args.seed, "validation_split": args.validation_split, "activation": args.activation,
            "hidden_layers": args.hidden_layers, "units": args.units,
            "optimizer_given": args.optimizer_given or args.lr is not None,
            "command": "threestep " + " ".join(shlex.quote(a) for a in args.argv)}
    model, (x, y), (xt, yt) = prepare(spec)
    source = os.path.basename(path) if path else spec["model"]
    print(f"threestep train: {source}, {len(x)} training and {len(xt)} test samples")
    if args.verbose:
        model.summary()
    callbacks = [RunLogger(args.out, run_info=spec, gradient_every=args.gradient_every)] if args.out else []
    model.fit(x, y, batch_size=args.batch_size, epochs=args.epochs, verbose=args.verbose, callbacks=callbacks,
              validation_split=args.validation_split, baseline=True, seed=args.seed)
    for name, value in model.evaluate(xt, yt, verbose=0, return_dict=True).items():
        print(f"Test {name}: {value:.4f}")
    if args.out:
        print(f"Run written to {args.out} (threestep show {args.out}; threestep doctor {args.out})")
    return 0


def _show(args):
    from ..callbacks.run_logger import plot_run

    for path in plot_run(args.run):
        print(path)
    return 0


def _doctor(args):
    from ..callbacks.run_logger import RUN, load_run, read_json
    from ..errors import ConfigError
    from ..models.diagnosis import diagnose, overfit_one_batch

    run = load_run(args.run)
    spec = read_json(os.path.join(args.run, RUN), {})
    print(diagnose(run, optimizer=spec.get("optimizer")).report())
    if not args.overfit_one_batch:
        return 0
    if not spec.get("data") and not spec.get("file"):
        raise ConfigError(f"--overfit-one-batch needs to rebuild the model and data, but {args.run}/run.json does "
                          "not say how (runs written by `threestep train --out` do). Call "
                          "threestep.models.diagnosis.overfit_one_batch(model, x, y) from Python instead.")
    model, (x, y), _ = prepare(spec)
    n = spec.get("batch_size") or 32
    result = overfit_one_batch(model, x[:n], y[:n], max_steps=args.steps)
    print()
    print(result.report())
    return 0 if result.ok else 1


def add_commands(sub):
    """Register ``train``, ``show`` and ``doctor`` on the ``threestep`` subparsers."""
    train = sub.add_parser("train", help="train a built-in model or your build_model() and optionally write a run")
    train.add_argument("path", nargs="?", help="a Python file defining build_model() (and optionally load_data())")
    train.add_argument("--file", help="same as the positional path")
    train.add_argument("--data", default="digits", choices=DATASETS, help="built-in dataset (default: digits)")
    train.add_argument("--model", default="mlp", choices=MODELS, help="built-in model (default: mlp)")
    train.add_argument("--activation", default="relu", help="hidden activation of mlp/lecture-cnn (default: relu)")
    train.add_argument("--hidden-layers", type=int, default=2, help="hidden layers of mlp (default: 2)")
    train.add_argument("--units", type=int, default=500, help="units per hidden layer of mlp (default: 500)")
    train.add_argument("--epochs", type=int, default=10, help="training epochs (default: 10)")
    train.add_argument("--batch-size", type=int, default=32, help="mini-batch size (default: 32)")
    train.add_argument("--optimizer", default=None, choices=OPTIMIZERS, help="optimizer (default: adam)")
    train.add_argument("--lr", type=float, default=None, help="learning rate (default: the optimizer's)")
    train.add_argument("--validation-split", type=float, default=0.1, help="held-out fraction (default: 0.1)")
    train.add_argument("--out", help="write a run directory here (history, models, gradient stats, plots)")
    train.add_argument("--gradient-every", type=int, default=10, help="gradient statistics every N batches")
    train.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    train.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2), help="0 silent, 1 bar, 2 line/epoch")
    train.set_defaults(func=_train)
    show = sub.add_parser("show", help="regenerate the plots of a run directory")
    show.add_argument("run", help="run directory written by `threestep train --out` or RunLogger")
    show.set_defaults(func=_show)
    doctor = sub.add_parser("doctor", help="diagnose a run the way the lecture's recipe does")
    doctor.add_argument("run", help="run directory")
    doctor.add_argument("--overfit-one-batch", action="store_true",
                        help="also check that the model can fit one batch (failing: a bug or a model too weak)")
    doctor.add_argument("--steps", type=int, default=300, help="steps for --overfit-one-batch (default: 300)")
    doctor.set_defaults(func=_doctor)


def run_command(args, argv):
    """Run a parsed run command; threestep errors become one line on stderr and exit code 2."""
    from ..errors import ThreestepError

    if args.func is _train:
        args.argv = list(argv if argv is not None else sys.argv[1:])
        args.optimizer_given = args.optimizer is not None
        args.optimizer = args.optimizer or "adam"
    try:
        return args.func(args)
    except (ThreestepError, FileNotFoundError) as exc:
        print(f"threestep {args.command}: error: {exc}", file=sys.stderr)
        return 2


COMMANDS = ("train", "show", "doctor")
