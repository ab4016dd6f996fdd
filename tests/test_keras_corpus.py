"""Runs every program of tests/keras_corpus (Keras 2 usage written with threestep.keras imports)."""
import pathlib
import runpy
import warnings

import pytest

from threestep import backend
from threestep.keras import backend as K

CORPUS = sorted((pathlib.Path(__file__).parent / "keras_corpus").glob("*.py"))


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_program_runs(path):
    layout = K.image_data_format()
    backend.set_seed(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the Keras 1 program warns by design
            runpy.run_path(str(path), run_name="__main__")
    finally:
        K.set_image_data_format(layout)
        K.clear_session()


def test_corpus_imports_only_threestep_keras():
    for path in CORPUS:
        for line in path.read_text().splitlines():
            if line.startswith(("import ", "from ")) and "threestep" in line:
                assert line.startswith("from threestep.keras"), f"{path.name}: {line}"
