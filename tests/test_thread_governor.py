"""accel.threads.Governor: the BLAS thread count fit and predict pick by timing their steps, so
that threestep yields the cores busy neighbours hold instead of splitting GEMMs over them."""
import numpy as np
import pytest

from threestep import layers as L
from threestep.accel import switches, threads
from threestep.models import Sequential


class FakeMachine:
    """Steps whose duration depends on the thread count: ``cost[n]`` seconds per row."""

    def __init__(self, cost):
        self.cost, self.now, self.threads, self.history = dict(cost), 0.0, None, []

    def clock(self):
        return self.now

    def set_threads(self, n):
        self.threads = n
        self.history.append(n)

    def step(self, gov, rows=100):
        self.now += self.cost[self.threads] * rows
        gov.tick(rows)


def run(machine, gov, steps):
    seen = []
    for _ in range(steps):
        machine.step(gov)
        seen.append(machine.threads)
    return seen


def test_keeps_all_threads_when_they_are_faster_and_yields_a_core_when_one_is_faster():
    quiet = FakeMachine({2: 1.0, 1: 1.7})
    gov = first = threads.Governor(limit=2, clock=quiet.clock, set_threads=quiet.set_threads)
    with gov:
        seen = run(quiet, gov, 400)
    assert gov.best == 2 and seen[-1] == 2
    assert seen.count(1) <= 0.05 * len(seen)  # probing the slower count costs a few steps only
    busy = FakeMachine({2: 3.0, 1: 1.8})  # a neighbour holds a core: two threads wait for each other
    gov = threads.Governor(limit=2, clock=busy.clock, set_threads=busy.set_threads)
    with gov:
        seen = run(busy, gov, 400)
    assert gov.best == 1 and seen.count(2) <= 0.05 * len(seen)
    assert first is not gov


def test_a_busy_neighbour_costs_one_slow_step_in_the_first_measurement():
    """The first probe tries one thread first, so the split count (3x slower next to a neighbour)
    is dropped after a single step instead of being timed for several."""
    busy = FakeMachine({2: 3.0, 1: 1.0})
    gov = threads.Governor(limit=2, clock=busy.clock, set_threads=busy.set_threads)
    with gov:
        seen = run(busy, gov, 12)
    assert gov.best == 1 and seen.count(2) == 1


def test_measuring_costs_a_bounded_share_of_the_time_next_to_a_neighbour():
    """Next to a busy neighbour one split step can take as long as thirty on one core; the
    governor still measures again now and then, but spends at most ~5 % of the time doing so."""
    busy = FakeMachine({2: 30.0, 1: 1.0})
    gov = threads.Governor(limit=2, clock=busy.clock, set_threads=busy.set_threads)
    with gov:
        seen = run(busy, gov, 2000)
    split_time = seen.count(2) * busy.cost[2]
    assert 2 <= seen.count(2) <= 4  # measured again, but rarely
    assert split_time <= 0.08 * (split_time + seen.count(1) * busy.cost[1])


def test_measures_again_when_the_steps_slow_down():
    machine = FakeMachine({2: 1.0, 1: 1.7})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        run(machine, gov, 50)
        assert gov.best == 2
        machine.cost = {2: 4.0, 1: 1.8}  # neighbours start
        seen = run(machine, gov, 40)
    assert gov.best == 1 and seen.count(1) >= 30  # found within a few steps (then probed again now and then)


def test_a_later_loop_goes_on_with_the_winner_without_measuring_again():
    machine = FakeMachine({2: 3.0, 1: 1.0})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        run(machine, gov, 6)  # measured (one thread, then two: dropped at once), the winner chosen
    assert gov.best == 1
    machine.history.clear()
    with gov:
        seen = run(machine, gov, 10)
    assert seen == [1] * 10 and machine.history == [1]


def test_one_thread_allowed_means_nothing_to_pick():
    machine = FakeMachine({1: 1.0})
    gov = threads.Governor(limit=1, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        machine.threads = 1
        run(machine, gov, 10)
    assert machine.history == [] and not gov.active


def _blas_threads_during_fit(limit):
    from threadpoolctl import threadpool_limits

    from threestep.callbacks import Callback

    seen = []

    class Watch(Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(threads.blas_threads())

    rng = np.random.default_rng(0)
    x, y = rng.random((640, 20), dtype=np.float32), rng.integers(0, 3, 640)
    model = Sequential([L.Dense(16, activation="relu", input_dim=20), L.Dense(3, activation="softmax")])
    model.compile("sgd", "sparse_categorical_crossentropy")
    with threadpool_limits(limit, user_api="blas"):
        before = threads.blas_threads()
        model.fit(x, y, batch_size=16, epochs=3, verbose=0, callbacks=[Watch()])
        model.predict(x, batch_size=16)
        after = threads.blas_threads()
    return before, seen, after


def test_fit_never_exceeds_the_threadpool_limit_and_restores_the_pool():
    if not threads.numpy_blas():
        pytest.fail("threadpoolctl finds no BLAS in NumPy: the governor would have nothing to set")
    before, seen, after = _blas_threads_during_fit(1)
    assert before == after == 1 and set(seen) == {1}
    if threads.cpus_available() >= 2:
        before, seen, after = _blas_threads_during_fit(2)
        assert before == after == 2 and set(seen) <= {1, 2}


def test_the_switch_turns_the_governor_off(monkeypatch):
    monkeypatch.setattr(switches, "ADAPTIVE_THREADS", False)
    machine = FakeMachine({2: 3.0, 1: 1.0})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        machine.threads = 2
        run(machine, gov, 50)
    assert machine.history == [] and not gov.active


def test_a_much_slower_count_is_dropped_after_one_step():
    machine = FakeMachine({2: 1.0, 1: 1.0})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        run(machine, gov, 10)  # both equal: measured in full
        machine.cost = {2: 6.0, 1: 1.0}  # two threads became hopeless
        seen = run(machine, gov, 2000)
    assert gov.best == 1 and seen.count(2) <= 12  # a step each time it is measured again


def test_a_measurement_goes_on_across_loops_too_short_to_finish_it():
    """A predict of a few large batches ends before every count is timed: the next call goes on
    where it stopped instead of starting over at one thread (which kept short predicts at one
    thread for good), and the time between the calls is not counted as its cost."""
    machine = FakeMachine({2: 1.0, 1: 1.7})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    seen = []
    for _ in range(6):
        with gov:
            seen += run(machine, gov, 3)
        machine.now += 1000.0  # the caller's own work between the loops
    assert gov.best == 2 and seen[-6:] == [2] * 6
    assert seen.count(1) <= 5  # one thread timed once (a settling step and three samples), not every call
    assert gov.period <= threads.Governor.MAX_PERIOD and gov.period < 100  # no pause counted as probing cost


def test_a_second_loop_entering_before_the_first_left_goes_on_measuring():
    """Two threads' predict calls on one model share its governor: the second may enter while
    the first still runs, before any loop has left (it raised AttributeError)."""
    machine = FakeMachine({2: 1.0, 1: 1.7})
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        run(machine, gov, 1)
        with gov:  # the other thread's loop
            run(machine, gov, 2)
    with gov:
        seen = run(machine, gov, 12)
    assert gov.best == 2 and seen[-3:] == [2] * 3


def test_the_step_after_a_switch_may_pay_for_it_without_dropping_the_count():
    """Two threads' first step also starts their helper threads (a CNN's took 1.45x a one-thread
    step, its later ones 0.73x): on that step only one 2.5x slower drops the count at once."""

    class FirstStepSlow(FakeMachine):
        def step(self, gov, rows=100):
            first = self.threads == 2 and 2 not in self.seen
            self.seen.add(self.threads)
            self.now += (2.0 if first else self.cost[self.threads]) * rows  # twice a one-thread step
            gov.tick(rows)

    machine = FirstStepSlow({2: 0.73, 1: 1.0})
    machine.seen = set()
    gov = threads.Governor(limit=2, clock=machine.clock, set_threads=machine.set_threads)
    with gov:
        run(machine, gov, 10)  # the first measurement: each count's switch step and three more
        assert gov.best == 2
        seen = run(machine, gov, 200)
    assert gov.best == 2 and seen.count(2) >= 0.8 * len(seen)
