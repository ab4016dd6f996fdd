"""Bad inputs at every entry point raise the documented threestep error, naming the argument,
the value received and the fix; valid but unusual inputs keep working.

The table lives in ``bad_inputs_cases.py`` (also used to count clear / unclear / silent
outcomes before and after a change: ``python benchmarks/bad_inputs_count.py``).
"""
import warnings

import pytest

from bad_inputs_cases import CASES, FIX, VALID
from threestep.errors import ThreestepError

# the entry points the table must cover, by the id prefix of its cases
ENTRY_POINTS = ["fit-", "evaluate-", "predict-", "train_on_batch-", "test_on_batch-", "generator-", "sequence-",
                "compile-", "Dense-", "Conv2D-", "LSTM-", "EarlyStopping-", "save-", "load-"]


def test_the_table_is_large_and_covers_every_entry_point():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate case ids"
    assert len(CASES) >= 120, len(CASES)
    for prefix in ENTRY_POINTS:
        assert any(i.startswith(prefix) for i in ids), prefix


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_raises_a_clear_threestep_error(case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(ThreestepError) as info:
            case.call()
    error = info.value
    assert isinstance(error, case.error), f"{type(error).__name__} is not a {case.error.__name__}: {error}"
    message = str(error)
    missing = [name for name in case.names if name not in message]
    assert not missing, f"the message does not name {missing}: {message}"
    assert FIX.search(message), f"the message does not say how to fix it: {message}"


@pytest.mark.parametrize("name,call", VALID, ids=[v[0] for v in VALID])
def test_valid_but_unusual_input_keeps_working(name, call):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        call()
