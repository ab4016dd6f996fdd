"""The install stays light: runtime dependencies, the extras, and every example's imports declared."""
import ast
import pathlib
import re
import sys
import tomllib

ROOT = pathlib.Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# import name -> distribution name, where they differ
DIST_OF = {"sklearn": "scikit-learn", "PIL": "Pillow", "yaml": "PyYAML", "cv2": "opencv-python"}


def _names(specs):
    return {re.split(r"[<>=!~\[; ]", s, maxsplit=1)[0].lower() for s in specs}


def test_runtime_dependencies_are_numpy_and_numba_only():
    assert _names(PYPROJECT["project"]["dependencies"]) == {"numpy", "numba"}


def test_all_extra_names_every_extra_but_gpu_bench_and_test():
    extras = PYPROJECT["project"]["optional-dependencies"]
    (spec,) = extras["all"]
    named = set(spec[spec.index("[") + 1:spec.index("]")].split(","))
    assert named == set(extras) - {"all", "gpu", "bench", "test"}


def test_gpu_and_docs_extras_exist():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "cupy-cuda12x" in _names(extras["gpu"])
    assert {"mkdocs", "mkdocs-material", "mkdocstrings"} <= _names(extras["docs"])


def _third_party_imports(path):
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return {name for name in found
            if name not in sys.stdlib_module_names and name not in ("threestep", "numpy", "numba")}


def test_every_example_import_is_declared_in_the_examples_extra():
    extras = PYPROJECT["project"]["optional-dependencies"]
    # PyTorch (an example's optional comparison run) is pinned once, in the bench extra.
    declared = _names(extras["examples"]) | _names(extras["bench"])
    missing = {}
    for path in sorted((ROOT / "examples").glob("*.py")):
        absent = {DIST_OF.get(n, n).lower() for n in _third_party_imports(path)} - declared
        if absent:
            missing[path.name] = sorted(absent)
    assert not missing, f"declare these in the `examples` extra of pyproject.toml: {missing}"
