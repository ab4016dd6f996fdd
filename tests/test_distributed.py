"""Data-parallel training over MPI: ``mpirun -n 2`` must equal one process with the same global batch.

The MPI tests start real jobs (``mpirun -n 2 python script.py``) with a timeout. They need
Open MPI and mpi4py, which ``.ci/run`` installs; without them they fail with the install
command rather than skip.
"""
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from threestep.distributed import epoch_batches, eval_batches, shard
from threestep.distributed.sharding import epoch_order

INSTALL = ("Install Open MPI and mpi4py: `apt-get install -y openmpi-bin libopenmpi-dev` and "
           "`pip install -e '.[mpi]'` (.ci/run does both).")


def mpirun(tmp_path, script, *args, n=2, timeout=120):
    """Run ``script`` (source text) under ``mpirun -n n``; returns (CompletedProcess, seconds)."""
    exe = shutil.which("mpirun")
    if exe is None:
        pytest.fail(f"mpirun not found on PATH. {INSTALL}")
    try:
        import mpi4py  # noqa: F401, PLC0415
    except ImportError:
        pytest.fail(f"mpi4py is not installed. {INSTALL}")
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    cmd = [exe, "-n", str(n), "--oversubscribe"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-run-as-root")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", OMPI_MCA_btl="self,vader,tcp")
    start = time.monotonic()
    proc = subprocess.run(cmd + [sys.executable, str(path), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=timeout, env=env)
    return proc, time.monotonic() - start


def run_single(tmp_path, script, *args):
    path = tmp_path / "script.py"
    path.write_text(textwrap.dedent(script))
    return subprocess.run([sys.executable, str(path), *args], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))


# ---------------------------------------------------------------------- sharding (no MPI needed)
@pytest.mark.parametrize("n,b,world", [(103, 8, 2), (10, 4, 3), (5, 4, 4), (64, 16, 2)])
def test_shards_are_disjoint_and_form_the_single_process_global_batch(n, b, world):
    for epoch in range(2):
        order = epoch_order(n, True, 11, epoch)
        per_rank = [epoch_batches(n, b, True, 11, epoch, r, world) for r in range(world)]
        assert len({len(batches) for batches in per_rank}) == 1  # every rank takes the same number of steps
        steps = len(per_rank[0])
        assert steps == -(-n // (b * world))
        seen = []
        for s in range(steps):
            step_union = np.concatenate([per_rank[r][s] for r in range(world)])
            assert sorted(step_union) == sorted(order[s * b * world:(s + 1) * b * world])
            seen.extend(step_union)
        assert sorted(seen) == list(range(n))  # each sample exactly once per epoch
    assert not np.array_equal(epoch_order(n, True, 11, 0), epoch_order(n, True, 11, 1))  # reshuffled per epoch
    assert np.array_equal(epoch_order(n, True, 11, 1), epoch_order(n, True, 11, 1))  # same on every rank


def test_eval_shards_cover_every_sample_once():
    parts = [np.concatenate(eval_batches(10, 3, r, 4)) for r in range(4)]
    assert sorted(np.concatenate(parts).tolist()) == list(range(10))
    assert list(shard(np.arange(7), 1, 3)) == [1, 4]
    assert eval_batches(1, 3, 2, 4)[0].size == 0  # a rank with no samples evaluates nothing


def test_bad_distributed_argument():
    from threestep.errors import ConfigError  # noqa: PLC0415
    from threestep.layers import Dense  # noqa: PLC0415
    from threestep.models import Sequential  # noqa: PLC0415

    model = Sequential([Dense(2, input_shape=(3,))])
    model.compile(loss="mse", optimizer="sgd")
    with pytest.raises(ConfigError, match="distributed must be 'mpi'"):
        model.fit(np.zeros((4, 3)), np.zeros((4, 2)), distributed="horovod", verbose=0)


# ---------------------------------------------------------------------- real MPI jobs
TRAIN = """
    import json, sys
    import numpy as np
    from threestep import backend, optimizers
    from threestep.layers import BatchNormalization, Dense
    from threestep.models import Sequential

    mode = sys.argv[1]
    rng = np.random.default_rng(0)
    x = rng.normal(size=(103, 6)).astype("float32")   # 103: the last global batch is short
    y = rng.integers(0, 3, 103)

    def model(bn=False):
        backend.set_seed(1)
        layers = [Dense(16, activation="tanh", input_shape=(6,))]
        layers += [BatchNormalization()] if bn else []
        m = Sequential(layers + [Dense(3, activation="softmax")])
        # global_clipnorm: clipping must see the averaged gradient, not each rank's own
        m.compile(loss="sparse_categorical_crossentropy", optimizer=optimizers.Adam(0.01, global_clipnorm=0.5),
                  metrics=["accuracy"])
        return m

    out = {}
    if mode == "mpi":
        from threestep.distributed import MPIStrategy
        strategy = MPIStrategy()
        rank = strategy.rank
        dist, batch = strategy, 8          # 8 per rank x 2 ranks = global batch 16
    else:
        from threestep.distributed import MPIStrategy
        rank, dist, batch = 0, MPIStrategy(), 16   # one MPI process (no mpirun) with the global batch
    a = model()
    ha = a.fit(x, y, batch_size=batch, epochs=3, seed=5, shuffle=True, verbose=0, distributed=dist,
               validation_data=(x[:31], y[:31]))
    b = model()
    if mode == "mpi":   # from a memory-mapped file: each rank reads only its shard's rows
        np.save(f"x{rank}.npy", x)
        xm = np.load(f"x{rank}.npy", mmap_mode="r")
        hb = b.fit(xm, y, batch_size=batch, epochs=3, shuffle=False, verbose=0, distributed="mpi")
    else:
        hb = b.fit(x, y, batch_size=batch, epochs=3, shuffle=False, verbose=0)   # plain, non-distributed fit
    c = model(bn=True)
    c.fit(x, y, batch_size=batch, epochs=2, seed=5, verbose=0, distributed=dist if mode == "mpi" else None)
    for name, m, h in (("shuffled", a, ha), ("ordered", b, hb), ("bn", c, None)):
        out[name] = {"weights": [w.tolist() for w in m.get_weights()],
                     "history": None if h is None else h.history, "iterations": m.optimizer.iterations}
    with open(f"{mode}_{rank}.json", "w") as f:
        json.dump(out, f)
"""


def load(tmp_path, name):
    return json.loads((tmp_path / name).read_text())


def test_two_ranks_equal_one_process_with_the_same_global_batch(tmp_path):
    single = run_single(tmp_path, TRAIN, "single")
    assert single.returncode == 0, single.stderr
    proc, _ = mpirun(tmp_path, TRAIN, "mpi")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ref, r0, r1 = load(tmp_path, "single_0.json"), load(tmp_path, "mpi_0.json"), load(tmp_path, "mpi_1.json")
    for name in ("shuffled", "ordered"):
        assert r0[name]["iterations"] == ref[name]["iterations"] == 3 * 7
        for i, (w_ref, w0, w1) in enumerate(zip(ref[name]["weights"], r0[name]["weights"], r1[name]["weights"])):
            assert np.array_equal(w0, w1), f"{name} weight {i}: ranks differ"
            assert np.allclose(w0, w_ref, atol=2e-6, rtol=1e-5), \
                f"{name} weight {i}: max diff {np.abs(np.array(w0) - np.array(w_ref)).max()}"
        for key, values in ref[name]["history"].items():  # loss, accuracy, val_* reduced over both ranks
            assert np.allclose(r0[name]["history"][key], values, rtol=1e-5), key
            assert r0[name]["history"][key] == r1[name]["history"][key], key
    assert set(ref["shuffled"]["history"]) >= {"loss", "accuracy", "val_loss", "val_accuracy"}
    # BatchNormalization: moving statistics averaged at epoch end, so both ranks end identical
    for w0, w1 in zip(r0["bn"]["weights"], r1["bn"]["weights"]):
        assert np.array_equal(w0, w1)


FAIL = """
    import numpy as np
    from threestep.distributed import MPIStrategy
    from threestep.layers import Dense
    from threestep.models import Sequential

    strategy = MPIStrategy()
    rng = np.random.default_rng(strategy.rank)

    def batches():
        for step in range(1000):
            if strategy.rank == 1 and step == 2:
                raise ValueError("rank 1 data shard is corrupt at step 2")
            yield rng.normal(size=(4, 3)).astype("float32"), rng.normal(size=(4, 1)).astype("float32")

    model = Sequential([Dense(1, input_shape=(3,))])
    model.compile(loss="mse", optimizer="sgd")
    model.fit(batches(), steps_per_epoch=50, epochs=5, verbose=0, distributed=strategy)
    print("FINISHED", strategy.rank)
"""


def test_a_failing_rank_ends_the_job_with_its_error(tmp_path):
    proc, seconds = mpirun(tmp_path, FAIL, timeout=90)
    assert proc.returncode != 0
    assert "rank 1 data shard is corrupt at step 2" in proc.stderr
    assert "FINISHED" not in proc.stdout
    assert seconds < 60, f"the job took {seconds:.0f}s to end"


WRITE = """
    import glob, os
    import numpy as np
    from threestep import optimizers
    from threestep.callbacks import CSVLogger, ModelCheckpoint
    from threestep.distributed import MPIStrategy
    from threestep.layers import Dense
    from threestep.models import Sequential

    strategy = MPIStrategy(scale_lr=True, warmup_steps=3)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype("float32")
    y = x @ np.ones((4, 1), "float32")
    model = Sequential([Dense(1, input_shape=(4,))])
    model.compile(loss="mse", optimizer=optimizers.SGD(0.01))
    hist = model.fit(x, y, batch_size=8, epochs=2, verbose=1, distributed=strategy,
                     callbacks=[ModelCheckpoint("ckpt-{epoch:02d}.ts"), CSVLogger("log.csv")])
    # each rank reports in its own file: two ranks' stdout may interleave mid-line
    with open(f"rank{strategy.rank}.txt", "w") as f:
        f.write(f"RANK {strategy.rank} LR {model.optimizer.learning_rate}\\n")
"""


def test_only_rank_zero_prints_and_writes_files(tmp_path):
    proc, _ = mpirun(tmp_path, WRITE)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    files = sorted(p.name for p in tmp_path.iterdir() if p.name != "script.py" and not p.name.startswith("rank"))
    assert files == ["ckpt-01.ts", "ckpt-02.ts", "log.csv"], files
    assert len((tmp_path / "log.csv").read_text().strip().splitlines()) == 3  # header + 2 epochs, one writer
    assert proc.stdout.count("Epoch 1/2") == 1
    # the learning-rate scaling is announced, once, and applied on both ranks
    assert proc.stdout.count("learning rate 0.01 -> 0.02 (scale_lr), linear warm-up from 0.01 over 3 steps") == 1
    reports = "".join((tmp_path / f"rank{r}.txt").read_text() for r in (0, 1))
    lrs = sorted(re.findall(r"RANK (\d) LR (\S+)", reports))
    assert lrs == [("0", "0.02"), ("1", "0.02")], reports


def test_file_writing_callbacks_run_on_rank_zero_only(tmp_path):
    from threestep.callbacks import CSVLogger, EarlyStopping, ModelCheckpoint  # noqa: PLC0415
    from threestep.callbacks.base import Callback  # noqa: PLC0415
    from threestep.distributed.strategy import rank_zero_only  # noqa: PLC0415

    class MyCheckpoint(ModelCheckpoint):
        pass

    class Uploader(Callback):
        rank_zero_only = True

    assert rank_zero_only(ModelCheckpoint(str(tmp_path / "m.ts")))
    assert rank_zero_only(MyCheckpoint(str(tmp_path / "m.ts")))
    assert rank_zero_only(CSVLogger(str(tmp_path / "log.csv")))
    assert rank_zero_only(Uploader())
    assert not rank_zero_only(EarlyStopping())  # decides from reduced logs, so it runs on every rank


EMPTY_SHARD = """
    import numpy as np
    from threestep import optimizers
    from threestep.distributed import MPIStrategy
    from threestep.layers import Dense
    from threestep.metrics import F1Score, R2Score
    from threestep.models import Sequential

    strategy = MPIStrategy()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype("float32")
    y = np.eye(3, dtype="float32")[rng.integers(0, 3, 32)]
    model = Sequential([Dense(3, activation="softmax", input_shape=(4,))])
    model.compile(loss="categorical_crossentropy", optimizer=optimizers.SGD(0.1),
                  metrics=[F1Score(average="macro"), R2Score()])
    # one validation sample: rank 1's shard of it is empty, its metrics saw no batch
    hist = model.fit(x, y, batch_size=8, epochs=1, verbose=0, validation_data=(x[:1], y[:1]), distributed=strategy)
    alone_f1, alone_r2 = F1Score(average="macro"), R2Score()
    p = model.predict(x[:1])
    alone_f1.update_state(y[:1], p)
    alone_r2.update_state(y[:1], p)
    with open(f"rank{strategy.rank}.txt", "w") as f:
        f.write(f"{hist.history['val_f1_score'][0]!r} {alone_f1.result()!r} "
                f"{hist.history['val_r2_score'][0]!r} {alone_r2.result()!r}\\n")
"""


def test_metrics_sized_by_their_data_join_from_a_rank_that_saw_no_batch(tmp_path):
    """F1Score's and R2Score's state is sized by the classes / outputs seen; a rank whose shard had
    no batch joins the reduction with zeros, and both ranks report the one-sample value."""
    proc, _ = mpirun(tmp_path, EMPTY_SHARD)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for rank in (0, 1):
        f1, alone_f1, r2, alone_r2 = map(float, (tmp_path / f"rank{rank}.txt").read_text().split())
        assert f1 == pytest.approx(alone_f1, abs=1e-6) and r2 == pytest.approx(alone_r2, abs=1e-6)
