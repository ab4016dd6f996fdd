"""Progbar and ProgbarLogger: live bar on terminals/Jupyter, clean lines in logs, silence."""
import io
import sys
import types

import numpy as np
import pytest

import threestep.utils.progbar as progbar_mod
from threestep.callbacks.progress import ProgbarLogger
from threestep.errors import ConfigError
from threestep.utils import Progbar
from threestep.utils.progbar import format_value


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


class FakeClock:
    """Replaces the progbar's clock; ``t`` is the time in seconds."""

    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


@pytest.fixture
def clock(monkeypatch):
    c = FakeClock()
    monkeypatch.setattr(progbar_mod, "_now", c)
    return c


@pytest.fixture
def no_jupyter(monkeypatch):
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)


def assert_clean(text):
    assert "\r" not in text and "\b" not in text, repr(text)


# ---------------------------------------------------------------------- value formatting
@pytest.mark.parametrize("value, text", [
    (0.12345678, "0.1235"), (1.0, "1.0000"), (-2.5, "-2.5000"), (1e-3, "0.0010"),
    (1.5e-4, "1.5000e-04"), (0.0, "0.0000e+00"), (float("nan"), "nan"),
    (float("inf"), "inf"), (float("-inf"), "-inf"), (np.float32(0.25), "0.2500"),
    (np.array(0.5), "0.5000"), (np.array([1.0, 3.0]), "2.0000"), ("adam", "adam"), (3, "3.0000"),
])
def test_format_value_like_keras(value, text):
    assert format_value(value) == text


@pytest.mark.parametrize("seconds, text", [
    (0, "0s/step"), (2.4, "2s/step"), (0.02, "20ms/step"), (0.0015, "2ms/step"),
    (2e-5, "20us/step"),
])
def test_time_per_unit_format(seconds, text):
    assert progbar_mod._format_per_unit(seconds, "step") == text


@pytest.mark.parametrize("eta, text", [(3.7, "3s"), (65, "1:05"), (3725, "1:02:05")])
def test_eta_format(eta, text):
    assert progbar_mod._format_eta(eta) == text


# ---------------------------------------------------------------------- one-line mode
def test_verbose2_exact_single_line(clock):
    out = io.StringIO()
    bar = Progbar(100, verbose=2, file=out)
    for step in range(1, 101):
        clock.t = step * 0.02
        bar.update(step, [("loss", 0.1234), ("accuracy", 0.95)])
    assert out.getvalue() == "100/100 - 2s - 20ms/step - loss: 0.1234 - accuracy: 0.9500\n"


def test_verbose2_on_tty_is_still_one_clean_line(clock):
    out = FakeTTY()
    bar = Progbar(10, verbose=2, file=out, interval=0.0)
    for step in range(1, 11):
        clock.t = step
        bar.update(step, [("loss", 1.0)])
    assert out.getvalue().count("\n") == 1
    assert_clean(out.getvalue())


def test_verbose1_piped_prints_one_line_at_the_end(clock, no_jupyter):
    out = io.StringIO()
    bar = Progbar(50, verbose=1, file=out, interval=0.0)
    for step in range(1, 50):
        clock.t = step
        bar.update(step, [("loss", 0.5)])
    assert out.getvalue() == ""  # nothing until finalized
    bar.update(50, [("loss", 0.5)])
    text = out.getvalue()
    assert_clean(text)
    assert text.splitlines() == ["50/50 - 49s - 980ms/step - loss: 0.5000"]


def test_non_stateful_values_are_step_weighted_averages(clock):
    out = io.StringIO()
    bar = Progbar(4, verbose=2, file=out)
    bar.update(1, [("loss", 1.0)])
    bar.update(3, [("loss", 4.0)])  # advanced 2 steps -> weight 2
    bar.update(4, [("loss", 0.0)])  # (1*1 + 4*2 + 0*1) / 4
    assert "loss: 2.2500" in out.getvalue()


def test_values_may_be_a_dict(clock):
    out = io.StringIO()
    Progbar(1, verbose=2, file=out).update(1, {"loss": 0.5})
    assert out.getvalue().endswith("loss: 0.5000\n")


def test_stateful_metrics_are_shown_as_given(clock):
    out = io.StringIO()
    bar = Progbar(3, verbose=2, file=out, stateful_metrics=["acc"])
    bar.update(1, [("acc", 0.1)])
    bar.update(2, [("acc", 0.2)])
    bar.update(3, [("acc", 0.9)])
    assert out.getvalue().endswith("acc: 0.9000\n")


def test_add_advances_and_finalizes(clock):
    out = io.StringIO()
    bar = Progbar(6, verbose=2, file=out)
    bar.add(2, [("loss", 1.0)])
    bar.add(2, [("loss", 3.0)])
    assert out.getvalue() == ""
    bar.add(2, [("loss", 2.0)])
    assert out.getvalue().startswith("6/6 - ")
    assert "loss: 2.0000" in out.getvalue()


def test_nan_and_inf_values_print_plainly(clock):
    out = io.StringIO()
    bar = Progbar(2, verbose=2, file=out, stateful_metrics=["s"])
    bar.update(1, [("loss", float("nan")), ("s", float("inf"))])
    bar.update(2, [("loss", 1.0), ("s", float("inf"))])
    assert out.getvalue().endswith(" - loss: nan - s: inf\n")


def test_explicit_finalize_before_target_and_unknown_target(clock):
    out = io.StringIO()
    bar = Progbar(None, verbose=2, file=out)
    for step in range(1, 8):
        bar.update(step, [("loss", 1.0)])
    assert out.getvalue() == ""  # unknown target never finalizes by itself
    clock.t = 7.0
    bar.update(7, finalize=True)
    assert out.getvalue() == "      7/Unknown - 7s - 1s/step - loss: 1.0000\n"


def test_verbose0_prints_nothing(clock, capsys):
    out = FakeTTY()
    for file in (out, None):
        bar = Progbar(5, verbose=0, file=file)
        for step in range(1, 6):
            bar.update(step, [("loss", 1.0)])
        bar.update(5, finalize=True)
    assert out.getvalue() == ""
    assert capsys.readouterr().out == ""


def test_default_file_is_stdout_at_call_time(capsys, monkeypatch, no_jupyter):
    bar = Progbar(3, verbose=2)
    bar.update(1, [("loss", 0.5)])
    redirected = io.StringIO()  # stdout replaced after the bar was made
    monkeypatch.setattr(sys, "stdout", redirected)
    bar.update(3, [("loss", 0.5)])
    assert redirected.getvalue().startswith("3/3 - ")
    assert redirected.getvalue().endswith("loss: 0.5000\n")


def test_default_file_works_with_capsys(capsys, no_jupyter):
    bar = Progbar(2, verbose=1)
    bar.update(1)
    bar.update(2, [("loss", 0.5)])
    assert capsys.readouterr().out.endswith("loss: 0.5000\n")


# ---------------------------------------------------------------------- live mode
def test_tty_draws_live_bar_with_carriage_returns(clock):
    out = FakeTTY()
    bar = Progbar(100, verbose=1, file=out)
    clock.t = 1.0
    bar.update(50, [("loss", 0.1234), ("accuracy", 0.95)])
    assert out.getvalue() == ("\r 50/100 [==============>...............] - ETA: 1s"
                              " - loss: 0.1234 - accuracy: 0.9500")
    clock.t = 2.0
    bar.update(100, [("loss", 0.1234), ("accuracy", 0.95)])
    final = out.getvalue().split("\r")[-1]
    assert final == ("100/100 [==============================] - 2s 20ms/step"
                     " - loss: 0.1234 - accuracy: 0.9500\n")
    assert "\b" not in out.getvalue()


def test_eta_ignores_slow_first_step(clock):
    out = FakeTTY()
    bar = Progbar(12, verbose=1, file=out, interval=0.0)
    clock.t = 5.0
    bar.update(1)  # the first step took 5 s (one-off costs)
    assert "ETA: 55s" in out.getvalue()
    clock.t = 5.2
    bar.update(2)  # then 0.2 s per step: 10 steps left
    assert out.getvalue().split("\r")[-1].startswith(" 2/12 [====>")
    assert "ETA: 2s" in out.getvalue().split("\r")[-1]  # not 26s


def test_tty_unknown_target_shows_count_without_bar(clock):
    out = FakeTTY()
    bar = Progbar(None, verbose=1, file=out)
    clock.t = 1.0
    bar.update(50, [("loss", 1.0)])
    assert out.getvalue() == "\r     50/Unknown - 1s 20ms/step - loss: 1.0000"
    assert "[" not in out.getvalue()


def test_tty_shorter_line_blanks_out_leftovers(clock):
    out = FakeTTY()
    bar = Progbar(10, verbose=1, file=out, interval=0.0, stateful_metrics=["note"])
    bar.update(1, [("note", "a long message")])
    first = out.getvalue()
    bar.update(2, [("note", "x")])
    second = out.getvalue()[len(first):]
    assert len(second) == len(first)  # padded with spaces to cover the old line
    assert second.rstrip().endswith("note: x")


def test_tty_redraws_are_throttled_real_clock():
    out = FakeTTY()
    bar = Progbar(10_000, verbose=1, file=out)  # interval 0.05 s
    for step in range(1, 10_001):
        bar.update(step, [("loss", 0.5)])
    text = out.getvalue()
    assert text.count("\r") < 200  # 10,000 updates, far fewer redraws
    assert text.endswith("\n") and text.count("\n") == 1
    assert text.split("\r")[-1].startswith("10000/10000 [" + "=" * 30 + "]")


def test_tty_throttling_exact_with_fake_clock(clock):
    out = FakeTTY()
    bar = Progbar(1000, verbose=1, file=out, interval=0.05)
    for step in range(1, 1001):
        clock.t = step * 0.001  # 1 ms per step: 1 s total
        bar.update(step, [("loss", 0.5)])
    # first update draws, then one draw per 50 ms, and the final update always draws
    draws = out.getvalue().count("\r")
    assert 20 <= draws <= 22, draws


def test_final_update_always_draws_even_inside_interval(clock):
    out = FakeTTY()
    bar = Progbar(3, verbose=1, file=out, interval=100.0)
    bar.update(1)
    bar.update(2)
    bar.update(3)
    assert out.getvalue().count("\r") == 2  # the first and the final
    assert out.getvalue().endswith("\n")


def test_jupyter_kernel_gets_live_bar(monkeypatch, clock):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    notebook_out = io.StringIO()  # ipykernel's stream is not a TTY
    monkeypatch.setattr(sys, "stdout", notebook_out)
    bar = Progbar(4, verbose=1, interval=0.0)
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0)])
    assert notebook_out.getvalue().count("\r") == 4


def test_jupyter_with_explicit_log_file_stays_clean(monkeypatch, clock):
    monkeypatch.setitem(sys.modules, "ipykernel", types.ModuleType("ipykernel"))
    log = io.StringIO()
    bar = Progbar(4, verbose=1, interval=0.0, file=log)
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0)])
    assert_clean(log.getvalue())
    assert log.getvalue().count("\n") == 1


def test_no_jupyter_stdout_pipe_is_clean(monkeypatch, clock, no_jupyter):
    piped = io.StringIO()
    monkeypatch.setattr(sys, "stdout", piped)
    bar = Progbar(4, verbose=1, interval=0.0)
    for step in range(1, 5):
        bar.update(step, [("loss", 1.0)])
    assert_clean(piped.getvalue())
    assert piped.getvalue().count("\n") == 1


def test_writes_are_flushed(clock):
    class CountingTTY(FakeTTY):
        flushes = 0

        def flush(self):
            CountingTTY.flushes += 1

    out = CountingTTY()
    bar = Progbar(2, verbose=1, file=out, interval=0.0)
    bar.update(1)
    bar.update(2)
    assert CountingTTY.flushes == 2


def test_repr():
    assert repr(Progbar(10, verbose=2)) == "<Progbar 0/10 verbose=2>"


# ---------------------------------------------------------------------- ProgbarLogger
def run_fake_fit(logger, epochs=3, steps=5, early_stop_at=None):
    """Drives the hooks like models.training.fit does (running averages in the logs)."""
    logger.on_train_begin()
    for epoch in range(epochs):
        logger.on_epoch_begin(epoch)
        logs = {}
        for step in range(steps):
            logger.on_train_batch_begin(step, {"batch": step, "size": 32})
            logs = {"loss": 1.0 / (step + 1), "accuracy": 0.5}
            logger.on_train_batch_end(step, logs)
            if early_stop_at is not None and step + 1 == early_stop_at:
                break
        logger.on_epoch_end(epoch, {**logs, "val_loss": 0.75, "val_accuracy": 0.625})
    logger.on_train_end()


def make_logger(verbose, epochs=3, steps=5, **kwargs):
    logger = ProgbarLogger(**kwargs)
    logger.set_model(object())
    logger.set_params({"epochs": epochs, "steps": steps, "verbose": verbose, "batch_size": 32,
                       "samples": steps * 32, "metrics": ["loss", "accuracy"]})
    return logger


@pytest.mark.parametrize("verbose", [1, 2])
def test_logger_piped_one_line_per_epoch(capsys, clock, no_jupyter, verbose):
    run_fake_fit(make_logger(verbose))
    text = capsys.readouterr().out
    assert_clean(text)
    lines = text.splitlines()
    assert lines[0::2] == ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]
    assert len(lines) == 6
    for line in lines[1::2]:
        # the last running average is shown as given (not averaged again), val_ included
        assert line.startswith("5/5 - 0s - 0s/step - loss: 0.2000 - accuracy: 0.5000")
        assert line.endswith(" - val_loss: 0.7500 - val_accuracy: 0.6250")


def test_logger_prints_epoch_for_single_epoch(capsys, clock, no_jupyter):
    run_fake_fit(make_logger(2, epochs=1))
    assert capsys.readouterr().out.splitlines()[0] == "Epoch 1/1"


def test_logger_tty_live(monkeypatch, clock):
    tty = FakeTTY()
    monkeypatch.setattr(sys, "stdout", tty)
    logger = make_logger(1, epochs=2, steps=200)
    logger.on_train_begin()
    for epoch in range(2):
        logger.on_epoch_begin(epoch)
        for step in range(200):
            clock.t += 0.01
            logger.on_train_batch_end(step, {"loss": 0.5, "accuracy": 0.75})
        logger.on_epoch_end(epoch, {"loss": 0.5, "accuracy": 0.75, "val_loss": 0.25})
    text = tty.getvalue()
    assert "\r" in text and "\b" not in text
    lines = text.split("\n")
    assert lines[0] == "Epoch 1/2"
    assert lines[1].split("\r")[-1] == ("200/200 [==============================] - 2s 10ms/step"
                                        " - loss: 0.5000 - accuracy: 0.7500 - val_loss: 0.2500")
    assert lines[2] == "Epoch 2/2"
    assert lines[1].count("\r") < 200 / 2  # throttled (5 steps per 50 ms interval)
    assert "val_loss" not in lines[1].split("\r")[-2]  # only the final line has val_


def test_logger_early_stop_finalizes_partial_epoch(capsys, clock, no_jupyter):
    run_fake_fit(make_logger(2, epochs=1, steps=10), early_stop_at=4)
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(" 4/10 - ")


def test_logger_count_mode_samples(capsys, clock, no_jupyter):
    run_fake_fit(make_logger(2, epochs=1, steps=5, count_mode="samples"))
    assert capsys.readouterr().out.splitlines()[1].startswith("160/160 - 0s - 0s/sample")


def test_logger_verbose0_prints_nothing(capsys, clock):
    run_fake_fit(make_logger(0))
    assert capsys.readouterr().out == ""


def test_logger_test_mode(capsys, clock, no_jupyter):
    logger = ProgbarLogger(mode="test")
    logger.set_params({"steps": 4, "verbose": 1})
    run_fake_fit(logger, epochs=1, steps=4)  # train hooks are ignored in test mode
    assert capsys.readouterr().out == ""
    logger.on_test_begin()
    for step in range(4):
        logger.on_test_batch_begin(step)
        logger.on_test_batch_end(step, {"loss": 0.5, "accuracy": 0.25})
    logger.on_test_end({"loss": 0.5, "accuracy": 0.25})
    assert capsys.readouterr().out == "4/4 - 0s - 0s/step - loss: 0.5000 - accuracy: 0.2500\n"


def test_logger_train_mode_ignores_test_hooks(capsys, clock):
    logger = make_logger(1)
    logger.on_test_begin()
    logger.on_test_batch_end(0, {"loss": 1.0})
    logger.on_test_end({"loss": 1.0})
    assert capsys.readouterr().out == ""


def test_logger_is_reusable_and_validates_arguments(capsys, clock, no_jupyter):
    logger = make_logger(2, epochs=1)
    run_fake_fit(logger, epochs=1)
    run_fake_fit(logger, epochs=1)
    assert capsys.readouterr().out.count("5/5 - ") == 2
    with pytest.raises(ConfigError, match="mode"):
        ProgbarLogger(mode="infer")
    with pytest.raises(ConfigError, match="count_mode"):
        ProgbarLogger(count_mode="epochs")


def test_keras_callbacks_progbar_logger_replaces_the_one_verbose_adds(capsys, no_jupyter):
    import numpy as np  # noqa: PLC0415
    from threestep import keras  # noqa: PLC0415

    model = keras.Sequential([keras.layers.Dense(2, input_shape=(3,))])
    model.compile("sgd", "mse")
    x, y = np.ones((64, 3), "float32"), np.zeros((64, 2), "float32")
    model.fit(x, y, epochs=2, verbose=2, callbacks=[keras.callbacks.ProgbarLogger()])
    out = capsys.readouterr().out
    assert out.count("Epoch 1/2") == 1 and out.count("2/2 - ") == 2  # one bar, not two
    model.predict(x, verbose=2, callbacks=[keras.callbacks.ProgbarLogger(mode="predict")])
    assert capsys.readouterr().out.count("2/2 - ") == 1
