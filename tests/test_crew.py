"""accel.crew: the helper threads behind ``threads.run`` that wait hot between parts. Every part
runs once, in the caller's context, errors come back to the caller, and a second caller while
the crew is busy takes the thread pool instead of waiting."""
import contextvars
import threading
import time

import pytest

import threestep.accel.crew as crew
import threestep.accel.threads as threads
from helpers import numpy_only

pytestmark = numpy_only("the crew runs the CPU's row blocks")
HAS_CREW = crew.crew(1) is not None  # no crew without Numba (THREESTEP_NUMBA=0): threads.run uses its pool
where = contextvars.ContextVar("where", default="unset")


def _run(fn, parts):
    """The crew where there is one, else ``threads.run``'s pool (which must behave the same)."""
    if HAS_CREW:
        assert crew.run(fn, parts)
    else:
        assert crew.run(fn, parts) is False
        threads.run(fn, parts)


@pytest.mark.parametrize("rounds", [crew.SPIN_ROUNDS, 1], ids=["hot", "sleeping"])
def test_every_part_runs_once_in_the_callers_context(monkeypatch, rounds):
    """Hot hand-offs, and with one spin round every hand-off through the semaphores."""
    monkeypatch.setattr(crew, "SPIN_ROUNDS", rounds)
    for trial in range(200):
        seen, names = [], set()
        where.set(f"trial {trial}")

        def part(p, trial=trial):
            seen.append((p, where.get()))
            names.add(threading.current_thread().name)
            if p and trial % 50 == 0:
                time.sleep(0.002)  # a helper slower than the caller now and then

        _run(part, [0, 1, 2])
        assert sorted(seen) == [(p, f"trial {trial}") for p in range(3)]
        assert threading.current_thread().name in names
        if HAS_CREW:  # one helper per part (the pool may run both of its parts on one worker)
            assert len(names) == 3


def test_a_helpers_error_reaches_the_caller_after_every_part_ended():
    ended = []

    def part(p):
        if p == 1:
            raise ValueError("part 1 failed")
        time.sleep(0.01)
        ended.append(p)

    with pytest.raises(ValueError, match="part 1 failed"):
        _run(part, [0, 1, 2])
    assert sorted(ended) == [0, 2]
    _run(lambda p: None, [0, 1])  # and it works on


def test_a_second_caller_while_the_crew_is_busy_takes_the_pool():
    if not HAS_CREW:  # no crew at all: every caller takes the pool
        assert crew.run(lambda p: None, [0, 1]) is False
        done = []
        threads.run(done.append, [0, 1])
        assert sorted(done) == [0, 1]
        return
    started, release, results = threading.Event(), threading.Event(), {}

    def slow(p):
        started.set()
        release.wait(10)

    first = threading.Thread(target=lambda: results.setdefault("first", crew.run(slow, [0, 1])))
    first.start()
    assert started.wait(10)
    assert crew.run(lambda p: None, [0, 1]) is False  # busy: nothing ran, the caller goes its own way
    done = []
    threads.run(done.append, [0, 1])  # threads.run then uses its pool
    release.set()
    first.join(10)
    assert results == {"first": True} and sorted(done) == [0, 1]
