"""Evolve a network's structure: NSGA-II (a genetic algorithm, via Optuna) searches depth,
widths, activation, dropout, optimizer and learning rate for validation accuracy vs size.

    python examples/structure_search.py [--trials 40] [--epochs 5] [--storage sqlite:///digits.db]

The study is stored in an SQLite file: stop it and run again to resume; point several
processes (or machines, with a server database URL such as postgresql://...) at the same
--storage and --study to search together. Prints the Pareto front, then the test accuracy of
the most accurate structure rebuilt and trained on all the training data.
"""
import argparse

import threestep as ts
from threestep.datasets import digits
from threestep.search import SearchSpace, search_structure


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--population", type=int, default=10)
    parser.add_argument("--storage", default="sqlite:///structure-search.db", help="'memory' keeps nothing")
    parser.add_argument("--study", default="digits")
    parser.add_argument("--plot", default=None, help="save the Pareto front to this PNG")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    (x, y), (x_test, y_test) = digits.load_data()
    x, x_test = x.reshape(len(x), 64).astype("float32") / 16, x_test.reshape(len(x_test), 64).astype("float32") / 16
    space = SearchSpace(depth=(1, 3), widths=(16, 32, 64, 128, 256))
    result = search_structure(x, y.astype("int64"), n_trials=args.trials, epochs=args.epochs, space=space,
                              population_size=args.population, seed=args.seed, study_name=args.study,
                              storage=None if args.storage == "memory" else args.storage)
    if args.plot:
        result.plot_front(args.plot)
    ts.backend.set_seed(args.seed)
    accuracy = float((result.model.predict(x_test).argmax(-1) == y_test).mean())
    print(f"best structure: {result.front[0]['structure']} ({result.front[0]['params']:,} parameters); "
          f"test accuracy {accuracy:.4f}")
    return accuracy


if __name__ == "__main__":
    main()
