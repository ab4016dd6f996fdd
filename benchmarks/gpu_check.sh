#!/usr/bin/env bash
# The GPU checks of issue #8 as one short, prepared script, for a session lent a GPU machine
# (the device tool's `run`, whose image already holds CuPy, PyTorch CUDA, NumPy, Numba, pytest):
#
#   bash benchmarks/gpu_check.sh          # ~7.5 minutes at most; logs, JUnit XML and JSON under $OUT
#
# 1. installs threestep without dependencies (nothing can be downloaded there),
# 2. runs the test suite on the CuPy backend (THREESTEP_BACKEND=cupy), the GPU-marked tests
#    included (each chain of accel.fused under the real cupy.fuse, the optimizers on the GPU): first
#    the files closest to the GPU code (capped at 2 min), then the rest (1.5 min). pytest-xdist
#    (in the image) spreads them over 8 processes, since a cold CuPy compiles every new kernel;
#    no -x, so one run reports every failure it reaches; `timeout -s INT` lets pytest print its
#    summary and write the JUnit XML when the cap cuts it short,
# 3. runs the benchmark suite on the GPU against PyTorch CUDA at batch 256 (the issue's target:
#    >= 0.5x PyTorch CUDA training throughput on the MLP and CNN; the LSTM for the recurrent
#    path), 2 rounds: 12 worker processes of ~5 s start-up each, capped at 2.5 min (each
#    worker's figures are logged as it finishes),
# 4. the same for the MLP and LSTM with the elementwise chains of accel.fused unfused
#    (THREESTEP_CUPY_FUSE=0): the GPU profile that says whether the fusion pays, capped at 1 min.
# About 7.5 minutes in all, which leaves a 15-minute device budget room to start the machine.
# Record the tables in benchmarks/RESULTS.md with the date and the device they name.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
python3 -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | tail -3
python3 - <<'EOF' 2>&1 | tee "$OUT/device.txt"
import cupy, numpy, torch
props = cupy.cuda.runtime.getDeviceProperties(0)
print("GPU", props["name"].decode(), "| CuPy", cupy.__version__, "| NumPy", numpy.__version__,
      "| PyTorch", torch.__version__, "CUDA available:", torch.cuda.is_available())
EOF
CORE="tests/test_fused.py tests/test_optimizers.py tests/test_ops.py tests/test_conv_ops.py tests/test_pool_ops.py
      tests/test_recurrent_ops.py tests/test_recurrent_layers.py tests/test_backend_device.py tests/test_fit_options.py"
CORE=$(echo $CORE)  # one line: it goes into a `bash -c` command
XDIST=""
python3 -c "import xdist" 2>/dev/null && XDIST="-n 8 --dist loadfile"
PYTEST="python3 -m pytest -p no:cacheprovider --timeout=120 -m 'gpu or not gpu' -rfE --tb=short --maxfail=60 $XDIST"
echo "== THREESTEP_BACKEND=cupy pytest: the files closest to the GPU code"
THREESTEP_BACKEND=cupy timeout -s INT 120 bash -c "$PYTEST -q $CORE --junitxml=$OUT/pytest_cupy_core.xml" \
    2>&1 | tee "$OUT/pytest_cupy_core.log" | tail -25
echo "== THREESTEP_BACKEND=cupy pytest: the rest"
IGNORE=$(for f in $CORE; do printf -- "--ignore=%s " "$f"; done)
THREESTEP_BACKEND=cupy timeout -s INT 90 bash -c "$PYTEST -q tests $IGNORE --junitxml=$OUT/pytest_cupy_rest.xml" \
    2>&1 | tee "$OUT/pytest_cupy_rest.log" | tail -25
echo "== python -m benchmarks --device gpu --batch 256"
timeout 150 python3 -m benchmarks --device gpu --batch 256 --workloads mlp,cnn,lstm --rounds 2 \
    --frameworks threestep,pytorch --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log" | tail -30
echo "== the same, chains unfused (THREESTEP_CUPY_FUSE=0)"
THREESTEP_CUPY_FUSE=0 timeout 60 python3 -m benchmarks --device gpu --batch 256 --workloads mlp,lstm --rounds 2 \
    --frameworks threestep --json "$OUT/bench_gpu_unfused.json" 2>&1 | tee "$OUT/bench_gpu_unfused.log" | tail -12
