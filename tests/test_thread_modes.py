"""Graph recording and training mode are per thread (contextvars), so predict/evaluate in
other threads never change what a fit records (issue: predict in 4 threads left recording
off for the next fit, which then returned a loss and left the weights unchanged)."""
import threading

import numpy as np

import threestep as ts
from threestep.autograd import Config, is_grad_enabled, no_grad, test_mode
from threestep.layers import Dense
from threestep.models import Sequential


def _model(seed=0, optimizer="sgd"):
    ts.backend.set_seed(seed)
    model = Sequential([Dense(8, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


def _data(n=64):
    rng = np.random.default_rng(1)
    return rng.standard_normal((n, 4)).astype("float32"), rng.integers(0, 3, n)


def _run_threads(fn, count):
    errors = []

    def wrapped():
        try:
            fn()
        except BaseException as exc:  # collected and re-raised in the test's thread
            errors.append(exc)
    threads = [threading.Thread(target=wrapped) for _ in range(count)]
    for t in threads:
        t.start()
    return threads, errors


def test_no_grad_in_another_thread_leaves_this_thread_recording():
    inside = threading.Event()
    release = threading.Event()

    def hold_no_grad():
        with no_grad(), test_mode():
            inside.set()
            release.wait(5)
    threads, errors = _run_threads(hold_no_grad, 1)
    assert inside.wait(5)
    try:
        assert is_grad_enabled() is True and Config.training is True  # this thread: unchanged
    finally:
        release.set()
        threads[0].join()
    assert not errors


def test_new_thread_starts_from_defaults_even_inside_no_grad():
    seen = []
    with no_grad(), test_mode():
        t = threading.Thread(target=lambda: seen.append((is_grad_enabled(), Config.training)))
        t.start()
        t.join()
        assert is_grad_enabled() is False
    assert seen == [(True, True)]
    assert is_grad_enabled() is True


def test_fit_after_concurrent_predicts_updates_weights():
    x, y = _data()
    for trial in range(5):
        model = _model(trial)
        threads, errors = _run_threads(lambda: [model.predict(x, batch_size=8) for _ in range(5)], 4)
        for t in threads:
            t.join()
        assert not errors, errors
        assert is_grad_enabled() is True
        before = [w.copy() for w in model.get_weights()]
        model.fit(x, y, epochs=1, batch_size=16, verbose=0)
        changed = [not np.array_equal(a, b) for a, b in zip(before, model.get_weights())]
        assert all(changed), f"trial {trial}: weights unchanged by fit after concurrent predicts: {changed}"


def test_fit_with_adam_is_not_disturbed_by_predicts_in_other_threads():
    """A fit while 3 threads predict on the same model gives bit-identical weights to a fit alone."""
    x, y = _data()
    reference = _model(3, "adam")
    reference.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=5, shuffle=True)
    model = _model(3, "adam")
    stop = threading.Event()

    def predict_loop():
        while not stop.is_set():
            model.predict(x, batch_size=4)
    threads, errors = _run_threads(predict_loop, 3)
    try:
        model.fit(x, y, epochs=3, batch_size=8, verbose=0, seed=5, shuffle=True)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not errors, errors
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_concurrent_evaluate_and_predict_give_the_single_thread_results():
    x, y = _data()
    model = _model(4)
    want_eval = model.evaluate(x, y, verbose=0, batch_size=16)
    want_pred = model.predict(x, batch_size=16)
    results = []
    lock = threading.Lock()

    def work():
        for _ in range(3):
            e = model.evaluate(x, y, verbose=0, batch_size=16)
            p = model.predict(x, batch_size=16)
            with lock:
                results.append((e, p))
    threads, errors = _run_threads(work, 4)
    for t in threads:
        t.join()
    assert not errors, errors
    assert len(results) == 12
    for e, p in results:
        np.testing.assert_allclose(e, want_eval, rtol=1e-6)
        np.testing.assert_array_equal(p, want_pred)
