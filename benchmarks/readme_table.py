"""The README's benchmark table, generated from two suite reports (all threads, then one).

    python -m benchmarks --threads 2 --json t2.json
    python -m benchmarks --threads 1 --json t1.json
    python -m benchmarks.readme_table t2.json t1.json

prints the paragraph naming the machine and the run, the table (one row per workload:
training samples/s of threestep and PyTorch at the first report's thread count and their
ratio, the other ratios, tinygrad's, peak memory) and the MLP's FLOP rate against NumPy's
SGEMM in both runs -- what README.md's "Benchmarks" section shows.
"""
import argparse
import json

from .workloads import DESCRIPTIONS


def _ratio(row, framework, key):
    value = row.get(framework, {}).get(key)
    return "n/a" if value is None else f"{value:.2f}x"


def _flops(report):
    s = report.get("sgemm")
    if not s:
        return None
    return (f"{s['mlp_gflops']:.1f} vs {s['sgemm_mlp_shapes_gflops']:.1f} GFLOP/s at {report['machine']['threads']} "
            f"thread{'s' if report['machine']['threads'] > 1 else ''} ({s['ratio']:.0%})")


def table(many, one):
    """The markdown paragraph and table from the reports of a multi-thread and a 1-thread run."""
    m, threads = many["machine"], many["machine"]["threads"]
    tiny = "tinygrad" in many["frameworks"]
    head = ["workload", f"train, {threads} threads (samples/s threestep / PyTorch)", "ratio", "infer ratio",
            "train ratio, 1 thread", "infer ratio, 1 thread"]
    if tiny:
        head.append(f"tinygrad train ratio, {threads} / 1 threads")
    head.append("peak RSS MB threestep / PyTorch")
    lines = [
        f"Measured on {m['cores']}-core {m['cpu']} (NumPy {m['numpy']} with {m['numpy_blas']}, PyTorch "
        f"{m['torch']} with {m['torch_blas']}" + (f", tinygrad {m['tinygrad']}" if m.get("tinygrad") else "")
        + f", Python {m['python']}), {many['date']} (`python -m benchmarks --threads {threads}`, then "
        f"`--threads 1`), medians of {many['rounds']} alternating rounds; load average before the runs "
        f"{', '.join(f'{v:.2f}' for v in many['load_average_before'])}. Ratio = threestep / PyTorch "
        "(throughput: > 1 is faster; memory: < 1 is less); every framework gets the same thread count.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for w, row in many["summary"].items():
        ours, torch = row.get("threestep", {}), row.get("pytorch", {})
        if "train_samples_per_s" not in ours or "train_samples_per_s" not in torch:
            continue
        single = one.get("summary", {}).get(w, {})
        cells = [DESCRIPTIONS.get(w, w), f"{ours['train_samples_per_s']:,.0f} / {torch['train_samples_per_s']:,.0f}",
                 f"**{_ratio(row, 'threestep', 'train_ratio_vs_pytorch')}**",
                 _ratio(row, "threestep", "infer_ratio_vs_pytorch"),
                 _ratio(single, "threestep", "train_ratio_vs_pytorch"),
                 _ratio(single, "threestep", "infer_ratio_vs_pytorch")]
        if tiny:
            cells.append(f"{_ratio(row, 'tinygrad', 'train_ratio_vs_pytorch')} / "
                         f"{_ratio(single, 'tinygrad', 'train_ratio_vs_pytorch')}")
        cells.append(f"{ours['peak_rss_mb']:.0f} / {torch['peak_rss_mb']:.0f}")
        lines.append("| " + " | ".join(cells) + " |")
    flops = [f for f in (_flops(many), _flops(one)) if f]
    if flops:
        lines += ["", "MLP training against NumPy's SGEMM on the same GEMM shapes, each measured in the threestep "
                  "MLP worker right after training (median of per-round ratios): " + "; ".join(flops) + "."]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("many", help="the suite's JSON report with all threads (--threads N --json)")
    parser.add_argument("one", help="the suite's JSON report with --threads 1")
    args = parser.parse_args(argv)
    with open(args.many) as fh:
        many = json.load(fh)
    with open(args.one) as fh:
        one = json.load(fh)
    print(table(many, one))


if __name__ == "__main__":
    main()
