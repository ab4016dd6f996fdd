"""Which samples each rank reads: a per-epoch seeded permutation cut into disjoint shards.

Like PyTorch's ``DistributedSampler``, every rank draws the same permutation from
``(seed, epoch)`` and takes every ``world``-th sample starting at its rank. Rank ``r``'s
``s``-th batch of ``b`` samples is then ``order[s*b*world : (s+1)*b*world][r::world]``, so
the ranks' batches at step ``s`` together are exactly the global batch a single process
with ``batch_size = b * world`` would take at step ``s``. Nothing is padded or repeated: a
rank whose shard runs out first contributes an empty batch (weight 0) to the last step.
"""
import numpy


def epoch_order(n, shuffle, seed, epoch):
    """The epoch's sample order, identical on every rank (no communication needed)."""
    if not shuffle:
        return numpy.arange(n)
    return numpy.random.default_rng([int(seed), int(epoch)]).permutation(n)


def shard(order, rank, world):
    """Rank ``rank``'s disjoint share of ``order`` (every ``world``-th element)."""
    return order[rank::world]


def steps_per_epoch(n, batch_size, world):
    """Steps that visit every sample once, with ``batch_size`` per rank (the same on every rank)."""
    return -(-n // (batch_size * world))


def epoch_batches(n, batch_size, shuffle, seed, epoch, rank, world, steps=None):
    """Rank ``rank``'s index arrays for one epoch (the last may be short or empty)."""
    local = shard(epoch_order(n, shuffle, seed, epoch), rank, world)
    steps = steps or steps_per_epoch(n, batch_size, world)
    out = []
    for step in range(steps):
        start = step * batch_size
        if len(local) and start >= len(local) and steps > steps_per_epoch(n, batch_size, world):
            start %= len(local)  # steps_per_epoch beyond one pass wraps around, as in single-process fit
        out.append(local[start:start + batch_size])
    return out


def eval_batches(n, batch_size, rank, world):
    """Rank ``rank``'s index arrays for one in-order evaluation pass (its share only)."""
    local = numpy.arange(rank, n, world)
    return [local[s:s + batch_size] for s in range(0, len(local), batch_size)] or [local]
