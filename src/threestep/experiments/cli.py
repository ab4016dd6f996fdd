"""``threestep experiment list`` and ``threestep experiment run NAME [--quick] [--out DIR] [--seed N]``."""
import textwrap

from ..errors import ConfigError


def register(subparsers):
    """Add the ``experiment`` command to the ``threestep`` parser's subparsers."""
    parser = subparsers.add_parser("experiment", help="rerun the lecture's experiments (list, run NAME)")
    commands = parser.add_subparsers(dest="experiment_command", metavar="{list,run}")
    listing = commands.add_parser("list", help="name every experiment and the claim it checks")
    listing.set_defaults(func=_list)
    run = commands.add_parser("run", help="run one experiment (or 'all') and write its report")
    run.add_argument("name", help="an experiment name from `threestep experiment list`, or 'all'")
    run.add_argument("--quick", action="store_true", help="tiny data and few epochs (seconds; verdict indicative)")
    run.add_argument("--out", default=None, help="output directory (default: runs/NAME)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    run.set_defaults(func=_run)
    parser.set_defaults(func=lambda args: _help(parser))


def _help(parser):
    parser.print_help()
    return 0


def _list(args):
    from .base import all_experiments  # noqa: PLC0415

    for exp in all_experiments():
        print(exp.name)
        print(textwrap.fill(exp.claim, width=100, initial_indent="    ", subsequent_indent="    "))
    return 0


def _run(args):
    import os  # noqa: PLC0415

    from .base import all_experiments, get, run_experiment  # noqa: PLC0415

    if args.seed < 0:
        raise SystemExit(f"threestep experiment run: --seed must be >= 0. Received: --seed {args.seed}.")
    names = [e.name for e in all_experiments()] if args.name == "all" else [args.name]
    try:
        for name in names:
            get(name)
    except ConfigError as exc:
        raise SystemExit(f"threestep experiment run: {exc}") from None
    for name in names:
        out = args.out if args.out is not None else os.path.join("runs", name)
        if args.name == "all" and args.out is not None:
            out = os.path.join(args.out, name)
        run_experiment(name, out, quick=args.quick, seed=args.seed)
    return 0
