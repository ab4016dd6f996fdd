"""Graph recording and train/test switches: a tiny config object plus context managers."""
import contextlib


class Config:
    enable_grad = True  # record the computational graph for the backward pass
    training = True  # dropout etc. behave as in training (layers may override via `training=`


@contextlib.contextmanager
def using_config(name, value):
    old = getattr(Config, name)
    setattr(Config, name, value)
    try:
        yield
    finally:
        setattr(Config, name, old)


def no_grad():
    """Context manager: run the forward pass without recording a graph (predict, evaluate)."""
    return using_config("enable_grad", False)


def enable_grad():
    return using_config("enable_grad", True)


def test_mode():
    """Context manager: layers behave as at test time (dropout off, batch-norm running stats)."""
    return using_config("training", False)


def is_grad_enabled():
    return Config.enable_grad
