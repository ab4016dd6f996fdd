"""Data-parallel training over MPI: the same network on every rank, each rank a shard of the data.

Step 3 (gradient descent) parallelises over the mini-batch: the gradient of a mean loss
over ``N`` samples is the sample-count-weighted mean of the gradients over disjoint parts
of those samples. So ``mpirun -n R python train.py`` with ``fit(..., distributed="mpi")``
(or ``distributed=MPIStrategy(...)``) gives every rank ``batch_size`` samples per step,
sums the gradients with one MPI ``Allreduce`` and takes the identical optimizer step
everywhere — the same result as one process with a global batch of ``R * batch_size``.

This room sits beside ``models``: the training loop calls a strategy through a small hook
interface (``setup``, ``gradient_hook``, ``end_epoch``, ``reduce_evaluation``, ``fail``, and
the feeds' ``batch_indices`` / ``eval_indices``) and never imports MPI itself.
"""
from .sharding import epoch_batches, eval_batches, shard
from .strategy import MPIStrategy, get_strategy

__all__ = ["MPIStrategy", "epoch_batches", "eval_batches", "get_strategy", "shard"]
