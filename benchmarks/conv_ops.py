"""Conv and pooling micro-benchmark: the lecture CNN's layer shapes, threestep vs PyTorch (CPU).

Times the forward pass and the backward pass separately (median milliseconds) for
conv1 x (100, 28, 28, 1) * W (3, 3, 1, 25) (the data: no input gradient),
conv2 x (100, 13, 13, 25) * W (3, 3, 25, 50) (input gradient too), and 2x2 max pooling of
both outputs, with the same thread count for NumPy's BLAS and torch. Prints JSON.

    python -m benchmarks.conv_ops [--threads 2] [--repeats 20]
"""
import argparse
import statistics
import time

import numpy as np

from .common import emit, machine

SHAPES = {  # name: (x shape channels_last, W shape Keras layout, x needs a gradient)
    "conv1": ((100, 28, 28, 1), (3, 3, 1, 25), False),
    "conv2": ((100, 13, 13, 25), (3, 3, 25, 50), True),
}
POOLS = {"pool1": (100, 26, 26, 25), "pool2": (100, 11, 11, 50)}


def time_fwd_bwd(forward, repeats):
    """Median (forward ms, backward ms); ``forward()`` returns (output, backward callable)."""
    fwd, bwd = [], []
    for i in range(repeats + 1):
        start = time.perf_counter()
        _, backward = forward()
        mid = time.perf_counter()
        backward()
        end = time.perf_counter()
        if i:  # the first run warms up
            fwd.append(mid - start)
            bwd.append(end - mid)
    return round(statistics.median(fwd) * 1e3, 3), round(statistics.median(bwd) * 1e3, 3)


def ours(x, W, x_grad, op):
    from threestep.autograd import Tensor

    b = np.zeros(W.shape[-1], np.float32) if W is not None else None
    gy = None

    def forward():
        nonlocal gy
        xt = Tensor(x, requires_grad=x_grad)
        params = [] if W is None else [Tensor(W, requires_grad=True), Tensor(b, requires_grad=True)]
        y = op(xt, *params)
        gy = np.ones(y.shape, np.float32) if gy is None else gy
        return y, lambda: y.backward(gy)

    return forward


def theirs(x, W, x_grad, op):
    import torch

    xt = torch.from_numpy(x.transpose(0, 3, 1, 2).copy())
    Wt = None if W is None else torch.from_numpy(W.transpose(3, 2, 0, 1).copy())
    bt = None if W is None else torch.zeros(W.shape[-1])

    def forward():
        xi = xt.detach().requires_grad_(x_grad)
        params = [] if Wt is None else [Wt.detach().requires_grad_(), bt.detach().requires_grad_()]
        y = op(xi, *params)
        gy = torch.ones_like(y)
        return y, lambda: y.backward(gy)

    return forward


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args(argv)
    import torch
    import torch.nn.functional as F

    from threestep.ops.conv import conv2d
    from threestep.ops.pool import max_pool

    torch.set_num_threads(args.threads)
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(args.threads)
    except ImportError:
        pass
    rng = np.random.default_rng(0)
    results = {"machine": machine(), "threads": args.threads, "unit": "ms (median)"}
    for name, (xs, ws, x_grad) in SHAPES.items():
        x, W = rng.standard_normal(xs, dtype=np.float32), rng.standard_normal(ws, dtype=np.float32)
        f_ours, b_ours = time_fwd_bwd(ours(x, W, x_grad, conv2d), args.repeats)
        f_torch, b_torch = time_fwd_bwd(theirs(x, W, x_grad, F.conv2d), args.repeats)
        results[name] = {"x": xs, "W": ws, "x_grad": x_grad, "threestep": {"forward": f_ours, "backward": b_ours},
                         "pytorch": {"forward": f_torch, "backward": b_torch}}
    for name, xs in POOLS.items():
        x = rng.standard_normal(xs, dtype=np.float32)
        f_ours, b_ours = time_fwd_bwd(ours(x, None, True, lambda t: max_pool(t, 2)), args.repeats)
        f_torch, b_torch = time_fwd_bwd(theirs(x, None, True, lambda t: F.max_pool2d(t, 2)), args.repeats)
        results[name] = {"x": xs, "pool": 2, "threestep": {"forward": f_ours, "backward": b_ours},
                         "pytorch": {"forward": f_torch, "backward": b_torch}}
    emit(results)


if __name__ == "__main__":
    main()
