"""The benchmark suite (benchmarks/): scheduling, summary arithmetic, table/JSON structure, and
one quick end-to-end run with real worker processes (tiny sizes; speed is never asserted)."""
import json
import os
import statistics
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from benchmarks import suite  # noqa: E402
from benchmarks.workloads import WORKLOADS, mlp_flops_per_sample  # noqa: E402
from threestep import cli  # noqa: E402
from threestep.errors import ConfigError  # noqa: E402


def test_schedule_alternates_frameworks_and_flips_each_round():
    order = suite.schedule(["mlp", "lstm"], ["threestep", "pytorch"], 3)
    assert len(order) == 3 * 2 * 2
    firsts = [f for r, w, f in order if w == "mlp"][::2]
    assert firsts == ["threestep", "pytorch", "threestep"]  # who goes first flips every round
    for r in range(3):
        for w in ("mlp", "lstm"):
            assert sorted(f for rr, ww, f in order if (rr, ww) == (r, w)) == ["pytorch", "threestep"]


def _run(fw, w, r, train, infer, peak, work):
    return {"framework": fw, "workload": w, "round": r, "train_samples_per_s": train,
            "infer_samples_per_s": infer, "peak_rss_mb": peak, "workload_mb": work}


def test_summary_takes_medians_and_per_round_ratios():
    ours = [(100, 50, 60, 10), (300, 70, 62, 12), (200, 10, 61, 11)]
    theirs = [(100, 100, 300, 40), (100, 50, 310, 50), (400, 20, 305, 45)]
    runs = [_run("threestep", "mlp", r, *v) for r, v in enumerate(ours)]
    runs += [_run("pytorch", "mlp", r, *v) for r, v in enumerate(theirs)]
    runs.append({"framework": "tinygrad", "workload": "mlp", "round": 0, "error": "no usable devices"})
    s = suite.summarize(runs, ["mlp"], ["threestep", "pytorch", "tinygrad"])["mlp"]
    assert s["threestep"]["train_samples_per_s"] == statistics.median([100, 300, 200])
    assert s["pytorch"]["workload_mb"] == statistics.median([40, 50, 45])
    # the ratio is the median of per-round ratios, not the ratio of medians
    assert s["threestep"]["train_ratio_vs_pytorch"] == round(statistics.median([1.0, 3.0, 0.5]), 3)
    assert s["threestep"]["workload_mem_ratio_vs_pytorch"] == round(statistics.median([10 / 40, 12 / 50, 11 / 45]), 3)
    assert s["tinygrad"] == {"error": "no usable devices"}
    table = suite.markdown({"mlp": s}, ["threestep", "pytorch", "tinygrad"])
    header = table.splitlines()[0]
    assert header.startswith("| workload | metric | pytorch | threestep | tinygrad | threestep/pytorch")
    train_row = next(line for line in table.splitlines() if "train samples/s" in line)
    assert "| 200 |" in train_row and "1.00x" in train_row and "n/a" in train_row


def test_frameworks_without_a_workload_show_na_and_start_no_worker(monkeypatch):
    from benchmarks.workloads import supports

    assert supports("tinygrad", "mlp") and supports("tinygrad", "cnn") and not supports("tinygrad", "lstm")
    assert all(supports(f, w) for f in ("threestep", "pytorch", "threestep@HEAD") for w in WORKLOADS)
    started = []

    def fake_worker(framework, workload, *args, **kwargs):
        started.append((framework, workload))
        return {"train_samples_per_s": 10.0, "infer_samples_per_s": 20.0, "peak_rss_mb": 100.0, "workload_mb": 5.0}

    monkeypatch.setattr(suite, "run_worker", fake_worker)
    monkeypatch.setattr(suite, "machine", lambda threads, device="cpu": {})
    report = suite.run_suite(["mlp", "lstm"], ["threestep", "pytorch", "tinygrad"], 2, 1, 1, quick=True,
                             log=lambda msg: None)
    assert ("tinygrad", "lstm") not in started and started.count(("tinygrad", "mlp")) == 2
    assert not any("error" in r for r in report["runs"])
    lstm = report["summary"]["lstm"]
    assert lstm["tinygrad"] == {"not_applicable": "tinygrad has no version of the lstm workload"}
    assert lstm["threestep"]["train_ratio_vs_pytorch"] == 1.0
    assert report["summary"]["mlp"]["tinygrad"]["train_ratio_vs_pytorch"] == 1.0
    row = next(line for line in report["table"].splitlines() if line.startswith("| LSTM") and "train" in line)
    assert row.endswith("| n/a | 1.00x | n/a | n/a |")  # tinygrad/pytorch, threestep/tinygrad: n/a


def test_optional_peers_are_default_frameworks_only_where_they_import(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    for absent, expected in (({"tinygrad", "jax", "tf_keras"}, ["threestep", "pytorch"]),
                             ({"tinygrad"}, ["threestep", "pytorch", "tf_keras", "keras_jax"]),
                             ({"keras"}, ["threestep", "pytorch", "tf_keras", "tinygrad"]),
                             (set(), ["threestep", "pytorch", "tf_keras", "keras_jax", "tinygrad"])):
        monkeypatch.setattr(importlib.util, "find_spec",
                            lambda name, *a: None if name in absent else (object() if name == "tinygrad"
                                                                          else real(name, *a)))
        assert suite.available_frameworks() == expected


@pytest.mark.parametrize("absent, named", [("jax", "Keras 3/JAX"), ("keras", "Keras 3/JAX"),
                                           ("tf_keras", "tf-keras"), ("tensorflow", "tf-keras")])
def test_bench_names_a_missing_keras_peer_once(monkeypatch, capsys, absent, named):
    import importlib.util

    from benchmarks.__main__ import main as bench_main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == absent else real(name, *a))
    assert suite.missing_frameworks(["threestep", "pytorch", "tf_keras", "keras_jax"]) == [named]
    monkeypatch.setattr(suite, "run_suite", lambda *a, **k: pytest.fail("no worker may start"))
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick", "--frameworks", "threestep,pytorch,tf_keras,keras_jax"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count(f"{named} not installed") == 1 and ".[bench]" in err


def test_threestep_is_compared_with_every_peer_in_the_table():
    runs = []
    for r, (ours, torch_, tfk, jax_) in enumerate([(100, 50, 40, 200), (120, 60, 60, 100), (90, 45, 30, 90)]):
        for fw, v in (("threestep", ours), ("pytorch", torch_), ("tf_keras", tfk), ("keras_jax", jax_)):
            run = _run(fw, "cnn", r, v, 2 * v, 500, 50)
            run["infer_1000_samples_per_s"] = 3 * v
            runs.append(run)
    fws = ["threestep", "pytorch", "tf_keras", "keras_jax"]
    row = suite.summarize(runs, ["cnn"], fws)["cnn"]
    assert row["threestep"]["train_ratio_vs_tf_keras"] == round(statistics.median([100 / 40, 2.0, 3.0]), 3)
    assert row["threestep"]["infer_1000_ratio_vs_keras_jax"] == round(statistics.median([0.5, 1.2, 1.0]), 3)
    assert row["threestep"]["infer_1000_samples_per_s_range"] == [270, 360]  # the spread over rounds
    assert "train_ratio_vs_keras_jax" not in row["tf_keras"]  # peers are compared with PyTorch only
    table = suite.markdown({"cnn": row}, fws)
    header = table.splitlines()[0]
    assert header.endswith("| threestep/tf_keras | threestep/keras_jax |")
    big = next(line for line in table.splitlines() if "infer samples/s, batch 1000" in line)
    assert big.startswith("| lecture CNN | infer samples/s, batch 1000 | 150 | 300 | 120 | 300 |")
    assert big.endswith("| 2.00x | 2.50x | 1.00x |")  # threestep vs PyTorch, tf-keras, Keras 3/JAX


def _tinygrad_cpu_skip_reason():
    import importlib.util
    import subprocess

    if importlib.util.find_spec("tinygrad") is None:
        return "tinygrad is not installed (optional: pip install tinygrad)"
    probe = subprocess.run([sys.executable, "-c", "from tinygrad import Tensor; "
                            "assert (Tensor([1.0], device='CPU') + 1).numpy()[0] == 2"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no output"])[-1]
        return f"tinygrad imports but its CPU device does not run (it needs clang: apt-get install clang): {last}"
    return None


def test_tinygrad_worker_trains_and_infers_on_cpu():
    reason = _tinygrad_cpu_skip_reason()
    if reason:
        pytest.skip(reason)
    res = suite.run_worker("tinygrad", "mlp", WORKLOADS["mlp"][3], 1, 1)
    assert "error" not in res, res
    assert res["framework"] == "tinygrad" and res["tinygrad_device"].startswith("CPU")
    assert res["samples"] == WORKLOADS["mlp"][3] and res["threads"] == 1 and res["batch"] == 100
    assert res["train_samples_per_s"] > 0 and res["infer_samples_per_s"] > 0
    assert res["peak_rss_mb"] >= res["workload_mb"] >= 0


def test_threestep_gpu_worker_runs_through_the_cupy_path_on_the_fake_device(monkeypatch):
    """``--device gpu`` (model.to("gpu"), NumPy batches moved by fit, predict back to NumPy, the
    device sync and memory readings) on the strict CuPy stand-in: the GPU benchmark's own code
    path, checked on a CPU. Without a cupy module the same worker fails, so passing means the
    stand-in served it."""
    fake = os.path.join(ROOT, "tests", "fakecupy")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [fake, os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv("THREESTEP_FAKE_CUPY", "1")
    for workload in ("mlp", "lstm"):
        res = suite.run_worker("threestep", workload, WORKLOADS[workload][3], 1, 1, device="gpu")
        assert "error" not in res, res
        assert res["device"] == "gpu" and "device_peak_mb" in res
        assert res["train_samples_per_s"] > 0 and res["infer_samples_per_s"] > 0


def test_mlp_flops_count_forward_and_backward_gemms():
    forward = 2 * (784 * 500 + 500 * 500 + 500 * 10)
    assert mlp_flops_per_sample() == 2 * forward + 2 * (500 * 500 + 500 * 10)


def test_failed_worker_is_reported_not_raised():
    res = suite.run_worker("threestep", "no_such_workload", 10, 1, 1)
    assert "error" in res and "exit" in res["error"]


def test_quick_suite_end_to_end(tmp_path, capsys):
    from benchmarks.__main__ import main

    path = tmp_path / "bench.json"
    rc = main(["--quick", "--workloads", "mlp", "--rounds", "1", "--repeats", "1",
               "--frameworks", "threestep,pytorch", "--baseline", "HEAD", "--json", str(path)])
    assert rc == 0
    out = capsys.readouterr().out
    assert "Machine:" in out and "| MLP 784-500-500-10 | train samples/s |" in out and "GFLOP/s" in out
    report = json.loads(path.read_text())
    assert set(report["machine"]) >= {"cpu", "cores", "threads", "numpy", "numpy_blas", "numpy_blas_core", "blas_env",
                                      "torch", "torch_blas"}
    runs = {r["framework"]: r for r in report["runs"]}
    assert set(runs) == {"threestep", "threestep@HEAD", "pytorch"}
    # the baseline is the committed threestep, exported outside the checkout
    assert runs["threestep"]["threestep_path"] == os.path.join(ROOT, "src", "threestep")
    assert not runs["threestep@HEAD"]["threestep_path"].startswith(ROOT)
    assert "threestep@HEAD/pytorch" in out
    for r in runs.values():
        assert r["samples"] == WORKLOADS["mlp"][3] and r["threads"] == 1
        assert r["train_samples_per_s"] > 0 and r["infer_samples_per_s"] > 0
        assert r["peak_rss_mb"] >= r["workload_mb"] >= 0
    row = report["summary"]["mlp"]["threestep"]
    expected = runs["threestep"]["train_samples_per_s"] / runs["pytorch"]["train_samples_per_s"]
    assert row["train_ratio_vs_pytorch"] == pytest.approx(expected, abs=5e-4)  # the summary keeps 3 decimals
    ceiling = report["sgemm"]
    assert ceiling["sgemm_1024_gflops"] > 0 and ceiling["sgemm_mlp_shapes_gflops"] > 0
    achieved = runs["threestep"]["train_samples_per_s"] * mlp_flops_per_sample() / 1e9
    assert ceiling["mlp_gflops"] == pytest.approx(achieved, rel=1e-2)


def test_cli_bench_runs_the_checkouts_suite_in_a_child_process(capfd):
    """``threestep bench ARGS`` is ``python -m benchmarks ARGS`` run in the checkout; its exit status is ours,
    and this process's import path is left as it was."""
    path_before = list(sys.path)
    assert cli.main(["bench", "--help"]) == 0
    assert "python -m benchmarks" in capfd.readouterr().out
    assert cli.main(["bench", "--workloads", "nope"]) == 2
    assert "unknown workload" in capfd.readouterr().err
    assert sys.path == path_before


def test_cli_bench_without_checkout_says_what_to_do(monkeypatch):
    from threestep.cli import bench

    monkeypatch.setattr(bench, "find_checkout", lambda: None)
    with pytest.raises(ConfigError, match="source checkout"):
        cli.main(["bench", "--quick"])


def test_flop_probe_alternates_training_and_gemms():
    from benchmarks.flop_probe import probe

    res = probe(threads=1, pairs=2, samples=200)
    assert res["threads"] == 1 and len(res["ratios"]) == 2
    assert 0 < res["ratio"] <= 1.5  # training does the GEMMs and more; a little slack for timer noise


def test_readme_table_combines_the_two_thread_counts():
    from benchmarks.readme_table import table

    def report(threads, train_ratio, sgemm_ratio):
        row = {"threestep": {"train_samples_per_s": 35135.4, "infer_samples_per_s": 9.0, "peak_rss_mb": 189.4,
                             "train_ratio_vs_pytorch": train_ratio, "infer_ratio_vs_pytorch": 1.016,
                             "infer_1000_ratio_vs_pytorch": 1.2, "train_ratio_vs_tf_keras": 1.9,
                             "infer_ratio_vs_tf_keras": 2.0, "infer_1000_ratio_vs_tf_keras": 2.2,
                             "train_ratio_vs_keras_jax": 1.18, "infer_ratio_vs_keras_jax": 0.9,
                             "infer_1000_ratio_vs_keras_jax": 0.63},
               "pytorch": {"train_samples_per_s": 23587.3, "infer_samples_per_s": 9.0, "peak_rss_mb": 331.0},
               "tf_keras": {"train_samples_per_s": 18000.0, "peak_rss_mb": 1145.2},
               "keras_jax": {"train_samples_per_s": 30000.0, "peak_rss_mb": 655.0}}
        lstm = {"threestep": {k: v for k, v in row["threestep"].items() if "keras_jax" not in k},
                "pytorch": row["pytorch"], "tf_keras": row["tf_keras"], "keras_jax": {"error": "exit 1"}}
        return {"date": "2026-11-30 09:15 UTC", "rounds": 3, "load_average_before": [1.1, 0.96, 0.82],
                "frameworks": ["threestep", "pytorch", "tf_keras", "keras_jax"],
                "machine": {"cpu": "AMD EPYC", "cores": 2, "threads": threads, "python": "3.11.7", "numpy": "2.4.6",
                            "numpy_blas": "scipy-openblas 0.3.31", "torch": "2.13.0+cpu", "torch_blas": "mkl"},
                "summary": {"mlp": row, "lstm": lstm},
                "sgemm": {"mlp_gflops": 108.85, "sgemm_mlp_shapes_gflops": 133.3, "sgemm_1024_gflops": 181.9,
                          "ratio": sgemm_ratio}}

    text = table(report(2, 1.5, 0.834), report(1, 1.43, 0.8))
    assert "2-core AMD EPYC" in text and "2026-11-30 09:15 UTC" in text and "medians of 3 alternating rounds" in text
    header = text.splitlines()[2]
    assert header.startswith("| workload | threestep train samples/s, 2 threads | vs PyTorch: train / infer / infer "
                             "b1000 | vs tf-keras: train / infer / infer b1000 | vs Keras 3/JAX:")
    assert ("| MLP 784-500-500-10 | 35,135 | 1.50x / 1.02x / 1.20x | 1.90x / 2.00x / 2.20x | 1.18x / 0.90x / 0.63x "
            "| 1.43x / 1.02x / 1.20x | 189 / 331 / 1145 / 655 |") in text
    assert "| LSTM(128), 28x28 | 35,135 | 1.50x / 1.02x / 1.20x | 1.90x / 2.00x / 2.20x | n/a / n/a / n/a |" in text
    assert "108.8 vs 133.3 GFLOP/s at 2 threads (83%); 108.8 vs 133.3 GFLOP/s at 1 thread (80%)" in text


def test_optimizer_benchmark_compares_each_optimizer_with_pytorch():
    from benchmarks.optimizers import run

    report = run(threads=1, rounds=1, samples=200, repeats=1, optimizers=("sgd", "adam"))
    assert set(report["optimizers"]) == {"sgd", "adam"} and report["threads"] == 1
    for row in report["optimizers"].values():
        assert row["threestep_samples_per_s"] > 0 and row["pytorch_samples_per_s"] > 0
        assert row["ratio"] == pytest.approx(row["threestep_samples_per_s"] / row["pytorch_samples_per_s"], rel=0.01)
        assert len(row["runs"]["threestep"]) == len(row["runs"]["pytorch"]) == 1


def test_launch_count_runs_the_cupy_path_on_the_fake_device(capsys):
    """``benchmarks.launches``: kernels per training step on the CuPy path, counted by the fake
    CuPy in subprocesses, with the chains of accel.fused fused (one launch each) and op by op, and the
    host<->device copies of a step."""
    from benchmarks import launches

    launches.main(["--workloads", "mlp,lstm", "--optimizers", "adam"])
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["launches_per_training_step"]
    assert [(r["workload"], r["optimizer"]) for r in rows] == [("mlp", "adam"), ("lstm", "adam")]
    for r in rows:
        assert 0 < r["fused"]["kernels"] < r["op_by_op"]["kernels"]
        for mode in ("fused", "op_by_op"):  # a step copies nothing in and reads only its loss
            assert (r[mode]["h2d"], r[mode]["d2h"]) == (0, 1), r


def test_trace_chains_passes_every_fused_case_to_cupy_fuse(fake_cupy):
    """``benchmarks.trace_chains`` asks the real CuPy's tracer about every chain of accel.fused on a
    machine without a GPU (its result is in benchmarks/RESULTS.md). Here, on the fake CuPy, each
    case's fused kernel runs, and the script itself refuses the fake."""
    import test_fused
    from benchmarks import trace_chains

    import numpy as np

    with np.errstate(all="ignore"):  # the arrays are uninitialised: only the tracing matters
        rows = [trace_chains.trace_case(fake_cupy, test_fused.CASES, test_fused._call, name)
                for name in sorted(test_fused.CASES)]
    assert len(rows) == len(test_fused.CASES) >= 30
    assert all(r["ok"] and r["path"] == "ran" for r in rows), [r for r in rows if not r["ok"]]
    with pytest.raises(SystemExit, match="fake CuPy"):
        trace_chains.main([])
    names = trace_chains.used_xp_names()
    assert {"zeros", "fuse", "lib.stride_tricks"} <= set(names) and len(names) >= 50
    assert trace_chains.missing_names(np, ["zeros", "lib.stride_tricks", "no_such_function"]) == ["no_such_function"]


def test_bench_without_pytorch_says_once_to_install_the_bench_extra(monkeypatch, capsys):
    import importlib.util

    from benchmarks.__main__ import main as bench_main

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a))
    launched = []
    monkeypatch.setattr(suite, "run_suite", lambda *a, **k: launched.append(a))
    with pytest.raises(SystemExit) as exc:
        bench_main(["--quick", "--frameworks", "threestep,pytorch"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and not launched
    assert err.count("PyTorch not installed") == 1 and ".[bench]" in err


def test_contention_runs_each_worker_next_to_busy_neighbours_and_stops_them(monkeypatch):
    seen = []

    def fake_worker(framework, workload, *args, **kwargs):
        busy = [p for p in started if p.poll() is None]
        seen.append((framework, len(busy)))
        return {"train_samples_per_s": 10.0 + len(busy), "infer_samples_per_s": 20.0, "peak_rss_mb": 100.0,
                "workload_mb": 5.0}

    started = []
    real_start = suite.start_neighbours

    def start(count, seconds):
        procs = real_start(count, seconds)
        started.extend(procs)
        return procs

    monkeypatch.setattr(suite, "run_worker", fake_worker)
    monkeypatch.setattr(suite, "start_neighbours", start)
    monkeypatch.setattr(suite, "machine", lambda threads, device="cpu": {})
    report = suite.run_suite(["mlp"], ["threestep", "pytorch"], 1, 1, 1, quick=True, log=lambda msg: None,
                             neighbours=(0, 1, 2))
    assert sorted(seen) == sorted([(f, k) for f in ("threestep", "pytorch") for k in (0, 1, 2)])
    assert all(p.poll() is not None for p in started) and len(started) == 2 * (1 + 2)  # all stopped
    assert set(report["contention"]) == {"0", "1", "2"}
    assert report["contention"]["2"]["summary"]["mlp"]["threestep"]["train_samples_per_s"] == 12.0
    assert report["summary"] == report["contention"]["0"]["summary"]


def test_a_neighbour_is_a_bounded_busy_loop():
    import time

    start = time.monotonic()
    (proc,) = suite.start_neighbours(1, 0.5)
    assert proc.wait(timeout=60) == 0 and time.monotonic() - start >= 0.5


@pytest.mark.slow
@pytest.mark.parametrize("peer", ["tf_keras", "keras_jax"])
def test_keras_peer_worker_trains_and_infers(peer):
    """The same Keras model code on tf-keras and on Keras 3/JAX: one tiny worker run each, in its
    own process, with the thread limits the suite sets (speed is not asserted)."""
    res = suite.run_worker(peer, "mlp_lecture", WORKLOADS["mlp_lecture"][3], 1, 1, timeout=600)
    assert "error" not in res, res
    assert res["framework"] == peer and res["samples"] == WORKLOADS["mlp_lecture"][3] and res["batch"] == 100
    assert res["train_samples_per_s"] > 0 and res["infer_samples_per_s"] > 0 and res["infer_1000_samples_per_s"] > 0
    assert res["peak_rss_mb"] >= res["workload_mb"] >= 0


@pytest.mark.slow
def test_keras_peers_build_the_workload_networks():
    """The Keras model code the peers share builds each workload's network (parameter counts of
    the lecture's networks; GRU in the reset-after form threestep and PyTorch use)."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras

    from benchmarks.workloads import keras_model, make_data

    counts = {"mlp": 784 * 500 + 500 + 500 * 500 + 500 + 500 * 10 + 10,
              "cnn_lecture": (9 * 25 + 25) + (9 * 25 * 50 + 50) + (1250 * 100 + 100) + (100 * 10 + 10),
              "gru": 3 * (28 * 128 + 128 * 128 + 2 * 128) + 128 * 10 + 10}
    for name, count in counts.items():
        x, _ = make_data(name, 8)
        model = keras_model(tf_keras, name, x.shape[1:])
        assert model.count_params() == count
        assert model.predict(x, verbose=0).shape == (8, 10)


def test_a_neighbour_ends_when_the_suite_is_gone():
    import subprocess
    import time

    code = ("import sys; sys.path.insert(0, %r); from benchmarks import suite; "
            "print(suite.start_neighbours(1, 600)[0].pid, flush=True); import time; time.sleep(600)" % ROOT)
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    pid = int(parent.stdout.readline())
    parent.kill()
    parent.wait()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
        with open(f"/proc/{pid}/stat") as fh:
            if fh.read().split()[2] == "Z":  # exited, waiting for its reaper
                break
        time.sleep(0.1)
    else:
        assert not os.path.exists(f"/proc/{pid}"), "the busy loop outlived the suite"



def test_a_worker_with_fewer_threads_than_cpus_is_pinned_to_that_many():
    """"1 thread" means one core for every framework: threads a framework starts after its import
    inherit the pinned mask (Keras 3's XLA used the second core when only told to use one).
    Where the OS has no affinity call, nothing is pinned and pin_cpus says so."""
    import subprocess

    code = ("import json, os, sys, threading; sys.path.insert(0, %r); from benchmarks.worker import pin_cpus; "
            "mask = (lambda: sorted(os.sched_getaffinity(0))) if hasattr(os, 'sched_getaffinity') else (lambda: None); "
            "before = mask(); pinned = pin_cpus(1); seen = []; "
            "t = threading.Thread(target=lambda: seen.append(mask())); t.start(); t.join(); "
            "print(json.dumps([before, pinned, seen[0], pin_cpus(len(before or [0]))]))" % ROOT)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    before, pinned, in_thread, again = json.loads(out)
    if before is None:  # no affinity on this OS: nothing to narrow
        assert pinned is None and in_thread is None
    elif len(before) > 1:
        assert pinned == before[:1] and in_thread == before[:1]
    else:  # one CPU already: nothing to narrow
        assert pinned is None and in_thread == before
    assert again is None  # as many threads as CPUs: left alone


@pytest.mark.slow
def test_the_suite_fills_the_numba_cache_before_its_workers(tmp_path, monkeypatch):
    """Compiled once before the first worker, so that no worker's peak memory holds the compiler's."""
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert suite.warm_numba_cache(1)
    assert any(p.suffix in (".nbi", ".nbc") for p in tmp_path.rglob("*"))


def test_the_machine_line_names_openblas_kernels_and_a_forced_core_type():
    from benchmarks.suite import machine_line

    info = {"cpu": "AMD EPYC", "cores": 2, "threads": 2, "python": "3.11.7", "numpy": "2.4.6",
            "numpy_blas": "scipy-openblas 0.3.31", "numpy_blas_core": "Haswell",
            "blas_env": {"OPENBLAS_CORETYPE": "Haswell"}, "torch": "2.13.0+cpu", "torch_blas": "mkl"}
    assert "NumPy 2.4.6 (scipy-openblas 0.3.31, Haswell kernels, OPENBLAS_CORETYPE=Haswell)" in machine_line(info)
    info.update(numpy_blas_core=None, blas_env={})
    assert "NumPy 2.4.6 (scipy-openblas 0.3.31), PyTorch" in machine_line(info)
