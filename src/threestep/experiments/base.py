"""The experiment registry: each of the lecture's claims as a named, rerunnable experiment.

An experiment is a function ``run(out_dir, quick, seed) -> Result`` registered with
``@experiment(name, claim)``. It trains what it needs, saves its plots into ``out_dir``
and returns the measured numbers; :func:`run_experiment` then writes ``report.md`` and
``results.json`` next to the plots (see ``threestep.experiments.report``) and prints a
short summary.

Example:
    >>> from threestep import experiments
    >>> [e.name for e in experiments.all_experiments()][:2]
    ['deep-vs-fat', 'sigmoid-depth']
    >>> result = experiments.run_experiment("dropout", "runs/dropout", quick=True)
"""
import os
import time
from dataclasses import dataclass, field

from ..errors import ConfigError, unknown_name

_REGISTRY = {}


@dataclass
class Experiment:
    """A registered experiment: its name, the lecture's claim in one sentence, and ``run``."""

    name: str
    claim: str
    run: callable
    order: int = 0

    def __repr__(self):
        return f"Experiment({self.name!r})"


@dataclass
class Result:
    """What an experiment measured.

    Args:
        setup: what was trained and how (one paragraph of markdown).
        data: the data used, by name (e.g. "Fashion-MNIST, 10,000 training images").
        table: rows of the numbers table, each a dict column -> value (same keys per row).
        held: the verdict: True when the claim held, False when it did not.
        because: the numbers that decide the verdict, in one sentence.
        plots: ``(file name, caption)`` of the PNGs written into the output directory.
        numbers: any further measured values for ``results.json``.
        tables: extra named tables ``{title: rows}`` shown after the main table.
        reliable_in_quick: the verdict does not depend on training length (an exact
            identity, a closed form), so a quick run's verdict is not only indicative.
    """

    setup: str
    data: str
    table: list
    held: bool
    because: str
    plots: list = field(default_factory=list)
    numbers: dict = field(default_factory=dict)
    tables: dict = field(default_factory=dict)
    reliable_in_quick: bool = False


def experiment(name, claim):
    """Register ``run(out_dir, quick, seed) -> Result`` as the experiment ``name``."""
    def register(run):
        if name in _REGISTRY:
            raise ConfigError(f"experiment {name!r} is registered twice; pick another name.")
        _REGISTRY[name] = Experiment(name, " ".join(claim.split()), run, order=len(_REGISTRY))
        return run
    return register


def _load_all():
    from . import catalog  # noqa: PLC0415  (importing the modules registers them)

    return catalog.ORDER


def all_experiments():
    """Every registered experiment, in the issue's order (then any others, as registered)."""
    order = _load_all()
    rank = {name: i for i, name in enumerate(order)}
    return sorted(_REGISTRY.values(), key=lambda e: (rank.get(e.name, len(order)), e.order))


def get(name):
    """The experiment called ``name``; ConfigError listing the valid names otherwise."""
    _load_all()
    if name not in _REGISTRY:
        raise unknown_name("experiment", name, _REGISTRY)
    return _REGISTRY[name]


def run_experiment(name, out_dir=None, quick=False, seed=0, verbose=True):
    """Run experiment ``name``; write ``report.md``, ``results.json`` and plots into ``out_dir``.

    Args:
        name: a name from ``threestep experiment list``.
        out_dir: output directory (created); default ``runs/<name>``.
        quick: tiny data and few epochs, for tests and a first look (seconds); the
            verdict of a quick run is indicative only unless the claim is exact.
        seed: seeds initialisation, shuffling and dropout masks.
        verbose: print a short summary.

    Returns:
        the experiment's ``Result`` (``result.numbers["seconds"]`` is the run time).
    """
    from .report import write_report  # noqa: PLC0415

    exp = get(name)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"run_experiment: seed must be an integer >= 0. Received: seed={seed!r}.")
    out_dir = os.fspath(out_dir) if out_dir is not None else os.path.join("runs", name)
    os.makedirs(out_dir, exist_ok=True)
    start = time.perf_counter()
    result = exp.run(out_dir, quick=quick, seed=seed)
    result.numbers.setdefault("seconds", round(time.perf_counter() - start, 2))
    paths = write_report(exp, result, out_dir, quick=quick, seed=seed)
    if verbose:
        print(summary_line(exp, result, quick))
        print(f"  report: {paths['report']}")
    return result


def verdict_text(result, quick):
    """'held' / 'did not hold', with the quick-run caveat where the claim is not exact."""
    word = "held" if result.held else "did not hold"
    if quick and not result.reliable_in_quick:
        word += " (quick run: verdict indicative only)"
    return word


def summary_line(exp, result, quick):
    return (f"{exp.name}: {verdict_text(result, quick)} — {result.because} "
            f"[{result.data}; {result.numbers.get('seconds', 0):.1f} s]")
