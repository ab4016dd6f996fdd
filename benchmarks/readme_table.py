"""The README's benchmark table, generated from two suite reports (all threads, then one).

    python -m benchmarks --threads 2 --json t2.json
    python -m benchmarks --threads 1 --json t1.json
    python -m benchmarks.readme_table t2.json t1.json

prints the paragraph naming the machine and the run, the table (one row per workload:
threestep's training samples/s at the first report's thread count, then threestep / each peer
-- PyTorch, tf-keras, Keras 3 on JAX, tinygrad, those the run had -- for training, inference at
the workload's batch and inference at batch 1000, the 1-thread ratios against PyTorch, peak
memory) and the MLP's FLOP rate against NumPy's SGEMM in both runs -- what README.md's
"Benchmarks" section shows.
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


PEER_LABELS = {"pytorch": "PyTorch", "tf_keras": "tf-keras", "keras_jax": "Keras 3/JAX", "tinygrad": "tinygrad"}


def _triple(row, peer):
    """threestep / peer as 'train / infer / infer at batch 1000'."""
    keys = ("train_ratio_vs_", "infer_ratio_vs_", "infer_1000_ratio_vs_")
    return " / ".join(_ratio(row, "threestep", k + peer) for k in keys)


def table(many, one):
    """The markdown paragraph and table from the reports of a multi-thread and a 1-thread run:
    threestep's training samples/s, then threestep / each peer as train / infer / infer at
    batch 1000 (every peer the first report ran), the 1-thread ratios against PyTorch, peak RSS."""
    m, threads = many["machine"], many["machine"]["threads"]
    peers = [p for p in PEER_LABELS if p in many["frameworks"]]
    head = ["workload", f"threestep train samples/s, {threads} threads"]
    head += [f"vs {PEER_LABELS[p]}: train / infer / infer b1000" for p in peers]
    head += ["vs PyTorch, 1 thread: train / infer / infer b1000", "peak RSS MB threestep / "
             + " / ".join(PEER_LABELS[p] for p in peers)]
    load = many.get("load_average_before") or []
    lines = [
        f"Measured on {m['cores']}-core {m['cpu']} (NumPy {m['numpy']} with {m['numpy_blas']}"
        + (f" ({m['numpy_blas_core']} kernels)" if m.get("numpy_blas_core") else "")
        + "".join(f", {k}={v}" for k, v in (m.get("blas_env") or {}).items()) + ", PyTorch "
        f"{m['torch']} with {m['torch_blas']}"
        + (f", tinygrad {m['tinygrad']}" if m.get("tinygrad") and "tinygrad" in peers else "")
        + (f", tf-keras {m['tf_keras']} on TensorFlow {m.get('tensorflow')}" if m.get("tf_keras") and "tf_keras" in peers
           else "")
        + (f", Keras {m['keras']} on JAX {m.get('jax')}" if m.get("keras") and "keras_jax" in peers else "")
        + f", Python {m['python']}), {many['date']} (`python -m benchmarks --threads {threads}`, then "
        f"`--threads 1`), medians of {many['rounds']} alternating rounds; load average before the runs "
        f"{', '.join(f'{v:.2f}' for v in load)}. Ratio = threestep / peer (throughput: > 1 is faster); "
        "every framework gets the same thread count, data and batch.",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for w, row in many["summary"].items():
        ours = row.get("threestep", {})
        if "train_samples_per_s" not in ours:
            continue
        single = one.get("summary", {}).get(w, {})
        cells = [DESCRIPTIONS.get(w, w), f"{ours['train_samples_per_s']:,.0f}"]
        cells += [_triple(row, p) for p in peers]
        cells.append(_triple(single, "pytorch"))
        mem = [ours.get("peak_rss_mb")] + [row.get(p, {}).get("peak_rss_mb") for p in peers]
        cells.append(" / ".join("n/a" if v is None else f"{v:.0f}" for v in mem))
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
