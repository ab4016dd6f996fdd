"""Row-parallel recurrent loops (accel.threads): blocks of batch rows in parallel threads give the one-block results."""
import numpy as np
import pytest

import threestep.accel.threads as threads
import threestep.ops.recurrent_base as recurrent_base
import threestep.ops.recurrent_gated as recurrent_gated
import threestep.ops.recurrent_gru as recurrent_gru
from threestep.autograd import Tensor
from test_recurrent_ops import OURS, general_mask, make_inputs
from helpers import numpy_only

pytestmark = numpy_only("row-parallel threads split the CPU (NumPy) time loops; on the GPU one kernel takes "
                        "the whole batch")


def run_cell(kind, arrays, **kwargs):
    """Outputs and every input's gradient of one cell under fixed random upstream gradients
    (in the outputs' dtype)."""
    ts = {k: Tensor(v.copy(), requires_grad=True) for k, v in arrays.items()}
    outs = OURS[kind](**ts, **kwargs)
    g = np.random.default_rng(1)
    loss = 0
    for o in outs:
        loss = loss + (o * Tensor(g.standard_normal(o.shape).astype(o.dtype))).sum()
    loss.backward()
    return [o.numpy() for o in outs], {k: t.grad for k, t in ts.items()}


@pytest.mark.parametrize("masked", [False, True], ids=["nomask", "mask"])
@pytest.mark.parametrize("reverse", [False, True], ids=["forward", "reverse"])
@pytest.mark.parametrize("kind,kwargs", [("lstm", {}), ("lstm", {"peephole": True}), ("gru", {}),
                                         ("gru", {"reset_after": False})],
                         ids=["lstm", "lstm-peephole", "gru", "gru-keras2"])
def test_row_parallel_blocks_match_one_block(kind, kwargs, masked, reverse, monkeypatch):
    """With several BLAS threads the gated cells run their time loops (and the GEMMs around
    them) on row blocks in parallel threads (accel.threads). Forced on a 7-row batch in 3 blocks,
    outputs and every gradient equal the one-block run's."""
    rng = np.random.default_rng(0)
    opts = {"peephole": kwargs.get("peephole", False), "reset_after": kwargs.get("reset_after", True)}
    arrays = {k: v for k, v in make_inputs(rng, kind, n=7, t=9, **opts).items() if v is not None}
    call = {"mask": general_mask(rng, n=7, t=9) if masked else None, "reverse": reverse}
    if "reset_after" in kwargs:
        call["reset_after"] = kwargs["reset_after"]
    one_outs, one_grads = run_cell(kind, arrays, **call)
    calls = []

    def counting(fn, parts):
        calls.append(len(parts))
        return threads.run(fn, parts)
    monkeypatch.setattr(threads, "MIN_ROWS", 2)
    monkeypatch.setattr(threads, "blas_threads", lambda: 3)
    monkeypatch.setattr(recurrent_base, "run", counting)
    monkeypatch.setattr(recurrent_gated, "run", counting)
    monkeypatch.setattr(recurrent_gru, "run", counting)
    outs, grads = run_cell(kind, arrays, **call)
    assert max(calls) == 3  # the loops did run in three blocks
    for a, b in zip(outs, one_outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for k in arrays:
        np.testing.assert_allclose(grads[k], one_grads[k], rtol=1e-12, atol=1e-12, err_msg=k)


def test_blocks_follow_the_blas_thread_count(monkeypatch):
    monkeypatch.setattr(threads, "blas_threads", lambda: 2)
    assert threads.blocks(128, np) == [slice(0, 64), slice(64, 128)]
    assert threads.blocks(63, np) == [slice(None)]  # too few rows for two blocks of MIN_ROWS
    monkeypatch.setattr(threads, "blas_threads", lambda: 1)
    assert threads.blocks(128, np) == [slice(None)]
