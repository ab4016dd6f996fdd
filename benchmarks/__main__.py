"""``python -m benchmarks``: the whole suite, threestep against PyTorch, tf-keras and Keras 3 on
JAX (where installed: the bench extra) and tinygrad (where it runs), one table.

    python -m benchmarks                      # all workloads, 3 rounds (~10 min on 2 cores)
    python -m benchmarks --quick              # tiny sizes: a smoke run in seconds
    python -m benchmarks --workloads lstm,gru --rounds 5 --json results.json
    python -m benchmarks --baseline HEAD      # the working tree against the last commit
    python -m benchmarks --workloads mlp,mlp_lecture --optimizer adam   # both spellings, Adam
    python -m benchmarks --workloads mlp --neighbours 0,1,2   # quiet, next to one and two busy processes

Prints each worker's figures as it goes, then the machine, a markdown table of medians
with threestep/PyTorch ratios (throughput: > 1 is faster; memory: < 1 is less) and, with
``--json``, writes the full report (every run, the summary, the machine).
"""
import argparse
import json
import sys

from .suite import available_frameworks, machine_line, missing_frameworks, run_suite
from .workloads import WORKLOADS


def build_parser():
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sample counts: a smoke run, not a measurement")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help="comma-separated subset of " + ", ".join(WORKLOADS))
    parser.add_argument("--frameworks", default=None,
                        help="comma-separated; default threestep,pytorch (+ tinygrad where it imports)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of alternating workers (default 3)")
    parser.add_argument("--repeats", type=int, default=2, help="timed epochs per worker after a warm-up (default 2)")
    parser.add_argument("--batch", type=int, default=0,
                        help="batch size for every workload (default: each workload's own: 100 MLP/CNN, 128 RNNs)")
    parser.add_argument("--threads", type=int, default=1,
                        help="threads per framework (default 1: on a shared machine a multi-threaded BLAS "
                             "spins against other processes and its figures swing 5x; on a quiet machine "
                             "pass the core count)")
    parser.add_argument("--baseline", metavar="REV",
                        help="also run threestep as committed at git revision REV (e.g. HEAD): before/after "
                             "figures measured in the same run")
    parser.add_argument("--optimizer", default="sgd", choices=("sgd", "momentum", "adam", "rmsprop", "adagrad"),
                        help="the optimizer every framework trains with (default sgd, lr 0.01; the others "
                             "with each library's defaults)")
    parser.add_argument("--device", choices=("cpu", "gpu"), default="cpu",
                        help="gpu: threestep on CuPy against PyTorch CUDA (needs both; one GPU)")
    parser.add_argument("--neighbours", default="0", metavar="COUNTS",
                        help="contention: run every worker next to this many CPU-bound neighbour processes "
                             "(Python busy loops, killed when the worker ends), once per comma-separated count; "
                             "e.g. 0,1,2 (default 0: no neighbours)")
    parser.add_argument("--json", metavar="PATH", help="write the full report as JSON to PATH")
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = sorted(set(workloads) - set(WORKLOADS))
    if unknown:
        parser.error(f"unknown workload(s) {unknown}; choose from {', '.join(WORKLOADS)}")
    frameworks = (available_frameworks() if args.frameworks is None
                  else [f.strip() for f in args.frameworks.split(",") if f.strip()])
    if args.baseline:
        frameworks.insert(frameworks.index("threestep") + 1 if "threestep" in frameworks else 0,
                          f"threestep@{args.baseline}")
    if "pytorch" not in frameworks:
        parser.error("the suite compares against PyTorch: --frameworks must include pytorch")
    missing = missing_frameworks(frameworks)
    if missing:  # said once, before any worker starts, instead of a failed worker every round
        parser.error(f"{', '.join(missing)} not installed. The benchmark peers come with the bench extra: "
                     "pip install -e \".[bench]\" in a checkout of threestep.")
    if args.rounds < 1 or args.repeats < 1 or args.threads < 1 or args.batch < 0:
        parser.error("--rounds, --repeats and --threads must be at least 1, --batch at least 0")
    try:
        neighbours = [int(k) for k in args.neighbours.split(",") if k.strip()]
    except ValueError:
        neighbours = []
    if not neighbours or min(neighbours) < 0:
        parser.error(f"--neighbours takes comma-separated counts >= 0, like 0,1,2; got {args.neighbours!r}")
    log = lambda msg: print(msg, file=sys.stderr, flush=True)  # noqa: E731  progress on stderr
    report = run_suite(workloads, frameworks, args.rounds, args.threads, args.repeats, quick=args.quick, log=log,
                       device=args.device, batch=args.batch, optimizer=args.optimizer,
                       neighbours=neighbours)
    print(f"threestep benchmark suite, {report['date']}{' (quick smoke run)' if args.quick else ''}")
    print(f"Machine: {machine_line(report['machine'])}; load average {report['load_average_before']}")
    if args.device == "gpu":
        print(f"Device: {report['machine'].get('gpu')} (CuPy {report['machine'].get('cupy')})")
    print(f"Optimizer: {args.optimizer}. Medians over {args.rounds} rounds; ratios are medians of per-round ratios.\n")
    if "contention" in report:
        for k, part in report["contention"].items():
            print(f"\nNext to {k} CPU-bound neighbour process{'es' if k != '1' else ''}:\n")
            print(part["table"])
    else:
        print(report["table"])
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2)
        print(f"\nJSON report written to {args.json}")
    failed = [r for r in report["runs"] if "error" in r and r["framework"] != "tinygrad"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
