#!/usr/bin/env bash
# The GPU checks of issue #8 as one short, prepared script, for a session lent a GPU machine
# (the device tool's `run`, whose image already holds CuPy, PyTorch CUDA, NumPy, Numba, pytest):
#
#   bash benchmarks/gpu_check.sh          # ~9 minutes at most; logs and JSON under $OUT
#
# 1. installs threestep without dependencies (nothing can be downloaded there),
# 2. runs the whole test suite on the CuPy backend (THREESTEP_BACKEND=cupy), the GPU-marked tests
#    included (each chain of ops.fused under the real cupy.fuse, the optimizers on the GPU), capped at 4 min,
# 3. runs the benchmark suite on the GPU against PyTorch CUDA at batch 256 (the issue's target:
#    >= 0.5x PyTorch CUDA training throughput on the MLP and CNN), capped at 3 min,
# 4. the same for the MLP and LSTM with the elementwise chains of ops.fused unfused
#    (THREESTEP_CUPY_FUSE=0): the GPU profile that says whether the fusion pays, capped at 1.5 min.
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
echo "== THREESTEP_BACKEND=cupy pytest"
THREESTEP_BACKEND=cupy timeout 240 python3 -m pytest -q -p no:cacheprovider -x --timeout=120 -m "gpu or not gpu" \
    2>&1 | tee "$OUT/pytest_cupy.log" | tail -25
echo "== python -m benchmarks --device gpu --batch 256"
timeout 180 python3 -m benchmarks --device gpu --batch 256 --workloads mlp,cnn,lstm,gru --rounds 3 \
    --frameworks threestep,pytorch --json "$OUT/bench_gpu.json" 2>&1 | tee "$OUT/bench_gpu.log" | tail -30
echo "== the same, chains unfused (THREESTEP_CUPY_FUSE=0)"
THREESTEP_CUPY_FUSE=0 timeout 90 python3 -m benchmarks --device gpu --batch 256 --workloads mlp,lstm --rounds 2 \
    --frameworks threestep --json "$OUT/bench_gpu_unfused.json" 2>&1 | tee "$OUT/bench_gpu_unfused.log" | tail -12
