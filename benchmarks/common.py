"""Shared helpers: timing with warm-up and repeats, machine facts, JSON output."""
import json
import os
import platform
import statistics
import time


def machine():
    import numpy

    info = {"python": platform.python_version(), "machine": platform.machine(), "cpus": os.cpu_count(),
            "numpy": numpy.__version__}
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: d.get(k) for k in ("internal_api", "version", "num_threads", "architecture")}
                        for d in threadpool_info()]
    except ImportError:
        pass
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            info[var] = os.environ[var]
    return info


def measure(run_once, repeats=3):
    """Median seconds of ``run_once()`` over ``repeats`` runs, after one warm-up run."""
    run_once()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run_once()
        times.append(time.perf_counter() - start)
    return statistics.median(times), times


def emit(result):
    print(json.dumps(result, indent=2))


def torch_sgd_epoch(forward, params, x, y, batch, lr=0.01, device=None, make_optimizer=None):
    """One shuffled epoch of PyTorch SGD on softmax cross-entropy, as a closure for ``measure``
    (``make_optimizer(params)``: another optimizer than SGD(lr)).

    With a CUDA ``device`` the epoch copies the whole training set there first and gathers each
    batch on the device through a device permutation (as threestep's ``fit`` does on a GPU for
    data up to 1 GiB: a per-batch copy from pageable memory waits for the device), and it waits
    for queued kernels before it returns, so a timer sees the work.
    """
    import numpy
    import torch

    opt = torch.optim.SGD(params, lr=lr) if make_optimizer is None else make_optimizer(params)
    loss_fn = torch.nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(x), torch.from_numpy(y.astype(numpy.int64))
    dev = torch.device(device or "cpu")

    def epoch():
        xs, ys = (xt.to(dev), yt.to(dev)) if dev.type == "cuda" else (xt, yt)
        order = torch.randperm(len(xt), device=xs.device)
        for start in range(0, len(xt), batch):
            idx = order[start:start + batch]
            opt.zero_grad()
            loss_fn(forward(xs[idx]), ys[idx]).backward()
            opt.step()
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return epoch
