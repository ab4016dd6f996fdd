"""Network structure search: evolve Sequential structures with Optuna's NSGA-II (a genetic algorithm).

The lecture asks whether a network's structure can be found automatically ("evolutionary
artificial neural networks"). :func:`search_structure` answers with a multi-objective
search: each trial builds a fully connected ``Sequential`` from a :class:`SearchSpace`
(depth, widths, activations, dropout, optimizer, learning rate), trains it for a fixed
budget, and scores it on validation accuracy (maximised) and parameters or FLOPs
(minimised). NSGA-II keeps a population, breeds new structures by crossover and mutation
and selects by Pareto rank, so the result is a front of trade-offs, not one winner.

The study lives in Optuna's storage: an SQLite file by default
(``sqlite:///threestep-search.db``), so a stopped search resumes where it stopped when run
again with the same ``study_name``. Several processes or machines can work on one study
at the same time by giving each the same database URL, e.g.
``storage="postgresql://user:password@host/db"`` or ``"mysql+pymysql://user:password@host/db"``
(any SQLAlchemy URL Optuna accepts; SQLite suits processes on one machine). Needs
``pip install "threestep[search]"`` (Optuna).

Example:
    >>> from threestep.search import search_structure
    >>> result = search_structure(x_train, y_train, n_trials=30, epochs=5,
    ...                           storage="sqlite:///digits.db", study_name="digits")
    >>> print(result.table())          # the Pareto front: accuracy vs parameters
    >>> result.plot_front("front.png")
    >>> model = result.model           # the most accurate structure, rebuilt and trained
"""
from .space import SearchSpace, build_model, model_cost
from .study import SearchResult, pareto_rows, plot_front, search_structure

__all__ = ["SearchResult", "SearchSpace", "build_model", "model_cost", "pareto_rows", "plot_front",
           "search_structure"]
