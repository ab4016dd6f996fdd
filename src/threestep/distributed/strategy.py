"""``MPIStrategy``: data-parallel ``fit`` with mpi4py's buffer API (Open MPI underneath).

What each hook does (``models.training`` calls them):

* ``setup`` — broadcast rank 0's weights and optimizer state (one flat buffer each) so
  every rank starts from the same function; agree on the shuffling seed; keep progress
  output and file-writing callbacks (checkpoints, CSV logs, run directories) on rank 0.
* ``gradient_hook`` — after forward and backward on this rank's batch (``Model.train_step``), ONE ``Allreduce`` of
  one contiguous buffer holding every gradient (weighted by the rank's sample count), the
  loss sum and the sample count; the optimizer (and its clipping) then sees the global
  mean gradient, so clipping happens after the reduction.
* ``end_epoch`` — sum the metrics' running totals over ranks; average BatchNormalization's
  moving statistics (every non-trainable weight).
* ``reduce_evaluation`` — validation and ``evaluate`` run on disjoint shards; sums are reduced.
* ``fail`` — an exception on any rank prints that rank's traceback and calls
  ``comm.Abort``, which ends every rank (no rank waits forever in a collective).

Only the uppercase, buffer-based mpi4py calls are used (``Bcast``, ``Allreduce``): no
pickling of arrays, no per-parameter messages.

Learning rate: with ``R`` ranks the global batch is ``R`` times larger. Nothing changes the
learning rate unless asked: ``scale_lr=True`` multiplies it by ``R`` (the linear scaling
rule of Goyal et al., 2017) and ``warmup_steps=k`` ramps it linearly from ``lr / R`` to the
(scaled) ``lr`` over the first ``k`` steps. Both are announced on rank 0.
"""
import math
import sys
import traceback

import numpy

from .. import backend
from ..errors import ConfigError, ShapeError
from . import sharding

# Callbacks that write files or directories run on rank 0 only (matched by class name
# along the MRO, so subclasses count); any callback can opt in with ``rank_zero_only = True``.
RANK_ZERO_CALLBACKS = {"ModelCheckpoint", "CSVLogger", "TensorBoard", "BackupAndRestore", "RunLogger",
                       "RunDirectory", "ProgbarLogger", "RemoteMonitor", "LivePlot"}


def _mpi():
    try:
        from mpi4py import MPI  # noqa: PLC0415  (optional dependency)
    except ImportError as exc:
        raise ConfigError(
            "fit(distributed='mpi') needs mpi4py and an MPI library: `apt-get install -y openmpi-bin "
            "libopenmpi-dev` then `pip install 'threestep[mpi]'` (or `pip install mpi4py`), and start "
            "the script with `mpirun -n 2 python train.py`.") from exc
    return MPI


def get_strategy(distributed):
    """``fit``'s ``distributed=`` argument as a strategy: ``"mpi"`` or an ``MPIStrategy``."""
    if isinstance(distributed, MPIStrategy):
        return distributed
    if isinstance(distributed, str) and distributed.lower() == "mpi":
        return MPIStrategy()
    raise ConfigError(f"fit: distributed must be 'mpi' or a threestep.distributed.MPIStrategy. "
                      f"Received: distributed={distributed!r}.")


def rank_zero_only(callback):
    if getattr(callback, "rank_zero_only", False):
        return True
    return any(k.__name__ in RANK_ZERO_CALLBACKS for k in type(callback).__mro__)


class MPIStrategy:
    """Data-parallel training over ``MPI.COMM_WORLD`` (or ``comm``).

    Args:
        comm: an mpi4py communicator (default ``MPI.COMM_WORLD``).
        scale_lr: multiply the learning rate by the number of ranks (off by default).
        warmup_steps: ramp the learning rate linearly from ``lr / ranks`` over this many steps.
        seed: the shuffling seed shared by all ranks (default: ``fit(seed=)``'s generator on
            rank 0, broadcast).
        average_moving_stats: average BatchNormalization's moving statistics at epoch end.
        abort_on_error: on an exception, print it and ``Abort`` every rank (default True).

    Example (run with ``mpirun -n 2 python train.py``):
        >>> model.fit(x, y, batch_size=64, epochs=5, distributed=MPIStrategy(scale_lr=True))
    """

    def __init__(self, comm=None, scale_lr=False, warmup_steps=0, seed=None, average_moving_stats=True,
                 abort_on_error=True):
        if isinstance(warmup_steps, bool) or not isinstance(warmup_steps, int) or warmup_steps < 0:
            raise ConfigError(f"MPIStrategy: warmup_steps must be an integer >= 0. Received: "
                              f"warmup_steps={warmup_steps!r}.")
        self.MPI = _mpi()
        self.comm = comm if comm is not None else self.MPI.COMM_WORLD
        self.rank, self.world = self.comm.Get_rank(), self.comm.Get_size()
        self.scale_lr, self.warmup_steps, self.seed = bool(scale_lr), warmup_steps, seed
        self.average_moving_stats, self.abort_on_error = average_moving_stats, abort_on_error
        self._steps = None
        self._target_lr = None
        self.last_size = 0.0  # the samples of all ranks in the last step (gradient_hook)

    @property
    def is_root(self):
        return self.rank == 0

    def __repr__(self):
        return f"MPIStrategy(rank={self.rank}, world={self.world}, scale_lr={self.scale_lr})"

    # ------------------------------------------------------------------ setup
    def setup(self, model, train, val, callbacks, verbose):
        """Synchronise the ranks before the first step; returns this rank's (callbacks, verbose)."""
        self._broadcast_state(model)
        header = numpy.array([-1 if self.seed is None else int(self.seed)], dtype=numpy.int64)
        if self.seed is None and self.is_root:
            header[0] = int(backend.host_rng().integers(2 ** 31))
        self.comm.Bcast(header, root=0)
        self.seed = int(header[0])
        if hasattr(train, "strategy"):
            train.strategy = self
        if getattr(train, "n", None) is not None:  # arrays: this strategy shards them
            train.steps = int(train.user_steps or sharding.steps_per_epoch(train.n, train.batch_size, self.world))
        steps = numpy.array([train.steps, -train.steps], dtype=numpy.int64)
        self.comm.Allreduce(self.MPI.IN_PLACE, steps, op=self.MPI.MAX)
        if steps[0] != -steps[1]:
            raise ConfigError(f"fit(distributed): ranks disagree on the steps per epoch (from {-steps[1]} to "
                              f"{steps[0]}). Every rank must take the same number of steps: pass the same "
                              "steps_per_epoch, or generators/Sequences of the same length.")
        self._steps = train.steps
        self._setup_lr(model.optimizer, verbose)
        params = model.trainable_weights
        self._slices, start = [], 0
        for p in params:
            self._slices.append((start, start + p.data.size, p.data.shape))
            start += p.data.size
        dtype = params[0].data.dtype if params else numpy.float32
        self._grad_buffer = numpy.empty(start + 2, dtype=dtype)  # + loss sum + sample count
        if isinstance(callbacks, (list, tuple)) and not self.is_root:
            callbacks = [cb for cb in callbacks if not rank_zero_only(cb)]
        elif callbacks is not None and not isinstance(callbacks, (list, tuple)) and not self.is_root:
            callbacks = None if rank_zero_only(callbacks) else callbacks
        return callbacks, (verbose if self.is_root else 0)

    def _broadcast_state(self, model):
        """Rank 0's weights and optimizer state on every rank (two flat ``Bcast`` buffers)."""
        weights = model.get_weights()
        sizes = numpy.array([sum(w.size for w in weights), len(weights)], dtype=numpy.int64)
        root_sizes = sizes.copy()
        self.comm.Bcast(root_sizes, root=0)
        if not numpy.array_equal(sizes, root_sizes):
            raise ConfigError(f"fit(distributed): rank {self.rank}'s model has {sizes[0]} weights in {sizes[1]} "
                              f"arrays but rank 0's has {root_sizes[0]} in {root_sizes[1]}. Build the same model "
                              "on every rank.")
        model.set_weights(self._bcast_arrays(weights))
        opt = model.optimizer
        state = numpy.array([int(opt.iterations), int(getattr(opt, "_built_for", None) is not None)],
                            dtype=numpy.int64)
        self.comm.Bcast(state, root=0)
        opt.iterations = int(state[0])
        if state[1]:
            if getattr(opt, "_built_for", None) is None:
                opt.build(model.trainable_weights)
            xp = backend.get_xp()
            for name in sorted(opt.slots):
                arrays = self._bcast_arrays([backend.to_numpy(a) for a in opt.slots[name]])
                opt.slots[name] = [xp.asarray(a) for a in arrays]

    def _bcast_arrays(self, arrays):
        if not arrays:
            return arrays
        flat = numpy.concatenate([numpy.asarray(a, dtype=numpy.float64).ravel() for a in arrays]) \
            if self.is_root else numpy.empty(sum(a.size for a in arrays), dtype=numpy.float64)
        self.comm.Bcast(flat, root=0)
        out, start = [], 0
        for a in arrays:
            out.append(flat[start:start + a.size].reshape(a.shape).astype(a.dtype))
            start += a.size
        return out

    def _setup_lr(self, optimizer, verbose):
        if not (self.scale_lr or self.warmup_steps):
            return
        lr = optimizer.learning_rate
        if callable(lr):
            raise ConfigError("MPIStrategy: scale_lr/warmup_steps need a constant learning rate; this optimizer "
                              "has a schedule. Scale the schedule yourself (multiply by the number of ranks).")
        target = float(lr) * (self.world if self.scale_lr else 1)
        self._target_lr = target
        optimizer.learning_rate = target
        if self.is_root and verbose:
            print(f"MPIStrategy: {self.world} ranks; learning rate {float(lr):g} -> {target:g}"
                  + (" (scale_lr)" if self.scale_lr else "")
                  + (f", linear warm-up from {target / self.world:g} over {self.warmup_steps} steps"
                     if self.warmup_steps else ""))

    # ------------------------------------------------------------------ data
    def batch_indices(self, n, batch_size, shuffle, epoch):
        return sharding.epoch_batches(n, batch_size, shuffle, self.seed, epoch, self.rank, self.world, self._steps)

    def eval_indices(self, n, batch_size):
        return sharding.eval_batches(n, batch_size, self.rank, self.world)

    # ------------------------------------------------------------------ one step
    def gradient_hook(self, n_local, optimizer):
        """The hook of one step for ``Optimizer.minimize``: ONE Allreduce of every local gradient
        (weighted by this rank's ``n_local`` samples), the loss sum and the sample count, giving
        the global mean gradients and loss (the same update on every rank). ``last_size`` is
        then the samples of all ranks."""
        def reduce(grads, value):
            buf = self._grad_buffer
            for g, (a, b, _) in zip(grads, self._slices):
                if g is None or not math.isfinite(value):
                    buf[a:b] = 0
                else:
                    numpy.multiply(backend.to_numpy(g).ravel(), n_local, out=buf[a:b])
            buf[-2] = value * n_local
            buf[-1] = n_local
            self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
            total = self.last_size = float(buf[-1])
            global_loss = float(buf[-2]) / max(total, 1.0)
            if not math.isfinite(global_loss):
                return grads, global_loss  # every rank skips this update
            numpy.divide(buf, total, out=buf)
            xp = backend.get_xp()
            grads = [xp.asarray(buf[a:b].reshape(shape)) for a, b, shape in self._slices]
            self._warmup(optimizer)
            return grads, global_loss
        return reduce

    def _warmup(self, optimizer):
        if self.warmup_steps and self._target_lr is not None:
            t = min(optimizer.iterations, self.warmup_steps) / self.warmup_steps
            optimizer.learning_rate = self._target_lr * (1.0 / self.world + (1 - 1.0 / self.world) * t)

    # ------------------------------------------------------------------ reductions
    def _sum(self, values):
        buf = numpy.asarray(values, dtype=numpy.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
        return buf

    def _reduce_metrics(self, metric_list, extra=()):
        states = [list(m.state()) for m in metric_list]  # read here (running totals, or AUC's counts)
        # A metric whose state is sized by the data it saw (R2Score's outputs, FBetaScore's classes)
        # has none on a rank whose shard had no batch: it joins with zeros of the others' length.
        lengths = numpy.asarray([len(state) for state in states], dtype=numpy.int64)
        if lengths.size:
            self.comm.Allreduce(self.MPI.IN_PLACE, lengths, op=self.MPI.MAX)
        for m, state, n in zip(metric_list, states, lengths.tolist()):
            if len(state) < n:
                if any(state):
                    raise ShapeError(f"Metric {m.name!r} has {len(state)} state values on rank {self.rank} and {n} "
                                     "on another: the ranks' batches gave it different shapes (e.g. a different "
                                     "number of outputs or classes). Give every rank data of one shape.")
                state.extend([0.0] * (n - len(state)))
        buf = self._sum(list(extra) + [v for state in states for v in state])
        start = len(extra)
        for m, state in zip(metric_list, states):
            m.set_state(buf[start:start + len(state)])
            start += len(state)
        return buf[:len(extra)]

    def end_epoch(self, model, metric_list, logs):
        """Global metrics for the epoch's logs; averaged moving statistics."""
        self._reduce_metrics(metric_list)
        if self.average_moving_stats:
            stats = model.non_trainable_weights
            if stats:
                flat = self._sum(numpy.concatenate([backend.to_numpy(w.data).ravel() for w in stats])) / self.world
                start, xp = 0, backend.get_xp()
                for w in stats:
                    w.data = xp.asarray(flat[start:start + w.data.size].reshape(w.data.shape), dtype=w.data.dtype)
                    start += w.data.size
        logs = dict(logs)
        logs.update({m.name: m.result() for m in metric_list})
        return logs

    def reduce_evaluation(self, total, count, metric_list):
        total, count = self._reduce_metrics(metric_list, (total, count))
        return float(total), float(count)

    # ------------------------------------------------------------------ failure
    def fail(self, exc):
        """Show this rank's error and end every rank (a peer blocked in a collective would hang)."""
        if self.world == 1 or not self.abort_on_error:
            return
        sys.stdout.flush()
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        sys.stderr.write(f"[threestep rank {self.rank}/{self.world}] fit failed; aborting all ranks.\n{text}")
        sys.stderr.flush()
        self.comm.Abort(1)
