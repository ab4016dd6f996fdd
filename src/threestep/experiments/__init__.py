"""The lecture's experiments: each claim rerunnable with one command.

``threestep experiment list`` names them; ``threestep experiment run NAME [--quick]
[--out DIR] [--seed N]`` trains, measures, plots, and writes ``report.md`` (claim, setup,
numbers, plots, verdict) and ``results.json``. From Python::

    from threestep import experiments
    experiments.run_experiment("dropout", "runs/dropout", quick=True)
"""
from .base import Experiment, Result, all_experiments, experiment, get, run_experiment

__all__ = ["Experiment", "Result", "all_experiments", "experiment", "get", "run_experiment"]
