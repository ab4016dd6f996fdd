"""The ``threestep`` command: ``main()`` and its parser; one module per command group.

- ``demo``: train the lecture's MLP on the embedded digits (``cli/demo.py``);
- ``train`` / ``show`` / ``doctor``: runs written by ``RunLogger`` (``cli/runs.py``);
- ``visualize``: what a saved network's units respond to (``cli/visualize.py``);
- ``bench``: the benchmark suite of a source checkout (``cli/bench.py``);
- ``info``: versions, BLAS kernels, threads, Numba, GPU, with hints (``cli/info.py``);
- ``experiment``: the lecture's experiments (registered by ``threestep.experiments.cli``).
"""
import argparse
import sys

from .. import __version__


def build_parser():
    from ..experiments.cli import register as add_experiment_commands  # noqa: PLC0415
    from . import bench, demo, info, runs, visualize  # noqa: PLC0415

    parser = argparse.ArgumentParser(
        prog="threestep",
        description="threestep: deep learning in three steps (define a function set, measure its "
                    "goodness, pick the best function).")
    parser.add_argument("--version", action="version", version=f"threestep {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.add_parser(sub)
    bench.add_parser(sub)
    info.add_parser(sub)
    visualize.add_visualize_parser(sub)
    runs.add_commands(sub)
    add_experiment_commands(sub)
    from ..export.cli import add_parser as add_export_command  # noqa: PLC0415

    add_export_command(sub)
    from ..search.cli import add_parser as add_search_parser  # noqa: PLC0415

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
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:  # every option after it belongs to `python -m benchmarks`
        from .bench import bench  # noqa: PLC0415

        return bench(argparse.Namespace(bench_args=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0
    if args.command in ("train", "show", "doctor"):
        from .runs import run_command  # noqa: PLC0415

        return run_command(args, argv)
    return args.func(args)
