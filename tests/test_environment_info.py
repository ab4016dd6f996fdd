"""``threestep info`` / ``utils.environment``: the report names NumPy's BLAS and its kernels, the
variables that change threestep's speed, and hints where a setting holds it back."""
import json
import os
import subprocess
import sys

from threestep.cli import main
from threestep.utils import environment


def _info(**changes):
    info = {"cpu_simd": ["avx512f", "avx2", "fma"], "numba": "0.68.1", "env": {"OPENBLAS_CORETYPE": "Haswell"},
            "blas": [{"api": "openblas", "library": "libopenblas.so", "version": "0.3.31", "kernels": "Haswell",
                      "threads": 2, "numpy": True}]}
    info.update(changes)
    return info


def test_a_forced_older_openblas_core_on_an_avx512_cpu_is_a_hint():
    (hint,) = environment.hints(_info())
    assert "OPENBLAS_CORETYPE=Haswell" in hint and "AVX-512" in hint and "Unset it" in hint


def test_no_hint_where_the_kernels_fit_the_cpu_or_nothing_forces_them():
    assert environment.hints(_info(env={})) == []  # OpenBLAS's own choice
    assert environment.hints(_info(cpu_simd=["avx2", "fma"])) == []  # an AVX2 CPU: Haswell is its best
    skylake = _info()
    skylake["blas"][0]["kernels"] = "SkylakeX"
    assert environment.hints(skylake) == []


def test_missing_numba_or_threadpoolctl_are_hints():
    assert any("Numba is not installed" in h for h in environment.hints(_info(env={}, numba=None)))
    assert any("threadpoolctl is not installed" in h for h in environment.hints(_info(env={}, blas=None)))


def test_the_report_reads_this_process():
    info = environment.report()
    assert info["numpy"] and info["cores_available"] >= 1 and info["backend"] in ("numpy", "cupy")
    numpy_blas = [b for b in info["blas"] if b["numpy"]]
    assert numpy_blas and numpy_blas[0]["threads"] >= 1
    assert all(k in os.environ for k in info["env"])


def test_threestep_info_prints_the_report_and_json(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("threestep ") and "BLAS: " in out and "Numba: " in out
    assert main(["info", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {"blas", "env", "hints", "cpu"} <= set(data)


def test_the_forced_core_type_is_reported_from_a_fresh_process():
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "THREESTEP_BLAS_UPDATE": "0"}
    done = subprocess.run([sys.executable, "-m", "threestep", "info", "--json"], capture_output=True, text=True,
                          env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["env"]["OPENBLAS_CORETYPE"] == "Haswell" and data["env"]["THREESTEP_BLAS_UPDATE"] == "0"
    openblas = [b for b in data["blas"] if b["api"] == "openblas" and b["numpy"]]
    if openblas:  # NumPy's wheels bring OpenBLAS, which obeys the variable
        assert openblas[0]["kernels"] == "Haswell"
        assert ("avx512f" in data["cpu_simd"]) == any("OPENBLAS_CORETYPE" in h for h in data["hints"])
