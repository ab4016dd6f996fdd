"""``threestep bench``: run the benchmark suite of a source checkout (``python -m benchmarks``).

The suite (``benchmarks/`` in the repository) is not part of the installed package: it
needs PyTorch (and optionally tinygrad) as peers, and it measures the checkout it sits
in. So ``threestep bench ARGS`` runs ``python -m benchmarks ARGS`` as a child process in
that checkout, with this threestep first on the child's ``PYTHONPATH``; this process's
``sys.path`` is left alone. Outside a checkout it says how to get one.
"""
import os
import subprocess
import sys
from pathlib import Path

HOW_TO = ("threestep bench runs the benchmark suite in the benchmarks/ folder of a source checkout, which an "
          "installed threestep does not include. Clone the repository, `pip install -e \".[bench]\"` in it, "
          "and run `threestep bench` (or `python -m benchmarks`) there.")


def _is_checkout(folder):
    return (Path(folder) / "benchmarks" / "suite.py").is_file()


def find_checkout():
    """The source checkout holding ``benchmarks/``: the one this threestep was imported from
    (``src/threestep/cli/bench.py``), else the current directory; None when neither is one."""
    here = Path(__file__).resolve().parents[3]
    for folder in (here, Path.cwd()):
        if _is_checkout(folder):
            return str(folder)
    return None


def bench(args):
    """Run ``python -m benchmarks`` with ``args.bench_args`` in the checkout; its exit status."""
    from ..errors import ConfigError  # noqa: PLC0415

    root = find_checkout()
    if root is None:
        raise ConfigError(HOW_TO)
    package_parent = str(Path(__file__).resolve().parents[2])  # the folder holding this threestep
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_parent, env.get("PYTHONPATH")) if p)
    command = [sys.executable, "-m", "benchmarks", *args.bench_args]
    return subprocess.call(command, cwd=root, env=env)


def add_parser(sub):
    """Register ``bench``; every option after it belongs to ``python -m benchmarks``."""
    import argparse  # noqa: PLC0415

    parser = sub.add_parser("bench", add_help=False,
                            help="benchmark threestep against PyTorch (source checkout; `threestep bench --help`)")
    parser.add_argument("bench_args", nargs=argparse.REMAINDER, help="options of `python -m benchmarks`")
    parser.set_defaults(func=bench)
