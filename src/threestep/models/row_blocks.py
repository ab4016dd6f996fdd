"""``predict`` on several cores: whole batches side by side, one per thread
(``side_by_side``, ``forward_batches``), or each batch's rows split into blocks, one thread per
block (``plan``, ``forward``).

A sample's prediction never reads another sample's rows (in test mode: dropout off, batch
normalization from its moving statistics), so a batch can be cut into row blocks and each
block run through the WHOLE network on its own thread, the BLAS at one thread per block. The
threads meet once per batch instead of once per GEMM: a small GEMM split over two BLAS threads
(the lecture CNN's, a 100-row MLP's) gains little, the elementwise kernels run on one thread,
and BLAS threads that wait for each other spin on a core that a neighbouring process may hold.
The figures are in benchmarks/RESULTS.md.

A model is split only where every layer is one of threestep's own, row-independent layers
(never a subclassed model, whose ``call`` is the user's code):
not a ``Lambda`` or a user's layer class (either may compute across the batch, e.g. a batch
mean) and not a stateful recurrent layer (its states belong to fixed batch rows). Results
agree with the unsplit batch to float rounding (a BLAS may round a 50-row GEMM differently
from a 100-row one), as ``predict`` with another ``batch_size`` would.
"""
import math
import threading

from .. import backend
from ..accel import switches, threads
from ..autograd import no_grad, using_config
from . import predict_plan
from .data import n_samples, take, to_tensors

MIN_BLOCK_REUSE = 256  # rows per block times uses of each weight per sample (see plan)
BLOCK_BYTES = 16 << 20  # the most output bytes of all layers per block (see plan)
_OWN = "threestep."
_NOT_ROW_INDEPENDENT = {"Lambda"}


def _layers_independent(layers):
    for layer in layers:
        cls = type(layer)
        if (not cls.__module__.startswith(_OWN) or cls.__name__ in _NOT_ROW_INDEPENDENT
                or getattr(layer, "stateful", False)):
            return False
        inner = _inner_layers(layer)
        if inner and not _layers_independent(inner):
            return False
    return True


def _inner_layers(layer):
    inner = [getattr(layer, a, None) for a in ("layer", "forward_layer", "backward_layer", "cell")]
    inner += list(getattr(layer, "layers", None) or [])  # a model used as a layer
    return [i for i in inner if i is not None and hasattr(i, "call")]


def batch_penalties(model):
    """Whether a forward pass of ``model`` leaves loss terms of its own batch on its layers (an
    activity regularizer, a functional model's ``add_loss`` of a symbolic tensor): ``evaluate``
    reads them right after the pass, so two passes at once would mix them up."""
    graph = getattr(model, "_graph", None)
    if graph is not None and getattr(graph, "extra", None):
        return True
    stack = list(model.layers)
    while stack:
        layer = stack.pop()
        if getattr(layer, "activity_regularizer", None) is not None:
            return True
        stack += _inner_layers(layer)
    return False


def _positions(shape):
    if isinstance(shape, tuple) and len(shape) > 2 and all(isinstance(s, int) for s in shape[1:-1]):
        return math.prod(shape[1:-1])
    return None


def weight_reuse(layers):
    """How many times a sample uses each weight, on average: a Dense layer's weights once, a
    convolution's once per output position, a recurrent layer's once per time step."""
    macs = params = 0
    for layer in layers:
        try:
            p = layer.count_params()
            out, inp = layer.output_shape, layer.input_shape
        except Exception:  # not built, or several inputs or outputs: count its weights once
            p, out, inp = getattr(layer, "count_params", lambda: 0)(), None, None
        macs += p * (_positions(out) or _positions(inp) or 1)
        params += p
    return macs / max(params, 1)


def activation_bytes(layers, skip=()):
    """The bytes of every layer's output for one sample (what a forward pass allocates per row),
    but for the layers in ``skip`` (by position), whose outputs are never allocated
    (``_unallocated``)."""
    total = 0
    for i, layer in enumerate(layers):
        if i in skip:
            continue
        try:
            shape = layer.output_shape
        except Exception:
            continue
        if isinstance(shape, tuple) and all(isinstance(s, int) for s in shape[1:]):
            total += math.prod(shape[1:]) * 4
    return total


def _unallocated(model):
    """Positions in a Sequential model's layers whose outputs a forward pass never allocates: a
    convolution pooled in one pass, an ``Activation("relu")`` merged into the layer before it
    (``models.fusion``)."""
    fused = getattr(model, "_fused_steps", None)
    if fused is None or type(model).__name__ != "Sequential":
        return set()
    steps, pooled = fused(), fused(pooled=True)
    position = {id(layer): i for i, layer in enumerate(model.layers)}
    merged = {position[id(then)] for _, then in steps if then is not None}
    return merged | {position[id(steps[i][0])] for i in pooled}


def plan(model, rows):
    """(row blocks, threads): how to run a ``rows``-row batch of ``model``'s input in test mode.

    Threads: each block's thread reads all the weights (a BLAS packs the weight matrix of every
    GEMM), so a split pays where each block's rows use each weight many times: a convolution
    (once per position per row), a recurrent layer (once per step), a Dense stack only with
    hundreds of rows per block. Below that, one GEMM split over the BLAS threads (by columns)
    does better: one block, one thread (the BLAS's own threads, the governor's count). A Dense
    stack at hundreds of rows per block could also run unsplit on the BLAS threads: as fast on a
    quiet machine, but next to busy neighbour processes the threaded GEMMs varied two-fold from
    call to call where the blocks held steady (benchmarks/RESULTS.md). So it runs unsplit only
    right after threaded BLAS calls (a ``fit`` epoch, a batch-100 ``predict``): OpenBLAS's
    workers then busy-wait on the cores for ~0.1 s, and row blocks started next to them took
    twice as long, where the unsplit GEMMs put those workers to use.

    Blocks: at most ``BLOCK_BYTES`` of outputs per block (a convolution's output is ~70 kB per
    image): a larger array comes fresh from the OS (above the C library's mmap threshold, 32 MB
    as ``backend`` sets it), and the OS zeroes every page of it on first touch, which took
    longer than the convolution itself. Outputs never allocated (a convolution pooled in one
    pass, a merged ReLU) do not count: the lecture CNN's blocks grow from ~140 to ~610 rows.
    """
    if model.built and model.device != "cpu" or model._subclassed() or not _layers_independent(model.layers):
        return [slice(None)], 1  # a subclassed model's call may compute across the batch
    per_row = activation_bytes(model.layers, _unallocated(model))
    size = max(threads.MIN_ROWS, BLOCK_BYTES // max(per_row, 1))
    workers = max(1, min(threads.blas_threads(), threads.cpus_available(), rows // threads.MIN_ROWS))
    reuse = weight_reuse(model.layers) if workers > 1 else 1
    if workers > 1 and (reuse * (rows // workers) < MIN_BLOCK_REUSE or reuse < 2 and threads.blas_spinning()):
        workers = 1
    count = max(workers, -(-rows // size))
    count = -(-count // workers) * workers  # a whole number of blocks per thread
    return threads.even(rows, count), max(1, min(workers, count))


def _outputs(model, xb):
    run = None if isinstance(xb, list) else predict_plan.runner(model)
    out = None if run is None else run(xb)
    if out is None:  # not planned (predict_plan's notes)
        out = model.forward(to_tensors(xb), training=False)
        out = [o.data for o in out] if isinstance(out, list) else out.data
    return out


def forward(model, xb, blocks, workers=1):
    """``model``'s test-mode outputs for the batch ``xb`` as arrays (a list for several outputs):
    the row ``blocks`` in turn, over ``workers`` threads, joined in row order."""
    if len(blocks) == 1:
        return _outputs(model, xb)
    results = [None] * len(blocks)

    def some(indices):
        with no_grad(), using_config("training", False):
            for i in indices:
                results[i] = _outputs(model, take(xb, blocks[i]))

    threads.run(some, [range(w, len(blocks), workers) for w in range(workers)])
    return _join(results)


def _join(results):
    """Blocks' outputs (arrays, or lists of arrays for several outputs) joined in row order."""
    xp = backend.get_array_module(*(results[0] if isinstance(results[0], list) else results[:1]))
    if isinstance(results[0], list):
        return [xp.concatenate(parts, axis=0) for parts in zip(*results)]
    return xp.concatenate(results, axis=0)


def block_rows(model):
    """The most rows of a block: at most ``BLOCK_BYTES`` of the outputs a pass allocates (see ``plan``)."""
    return max(threads.MIN_ROWS, BLOCK_BYTES // max(activation_bytes(model.layers, _unallocated(model)), 1))


def side_by_side(model, rows, batches, whole=False):
    """How many threads run ``batches`` batches of ``rows`` rows side by side (1: none).

    Where one batch is too small to split well (a Dense stack at batch 100: each block would
    pack every weight matrix for half the rows) or splits into blocks that each do less than
    the whole batch would, several batches run side by side instead: each thread takes the next
    batch when it finishes its last, runs it through the whole network with the BLAS at one
    thread, and no thread waits for another until the end; every batch is computed exactly as
    one thread would compute it alone. A batch larger than a block (``block_rows``) is taken a
    block at a time the same way (``forward_batches``), unless ``whole`` (``evaluate``: a batch's
    loss is its own mean). Only where the model is split at all (``plan``'s conditions)."""
    if not switches.SIDE_BY_SIDE or model.built and model.device != "cpu" or model._subclassed() \
            or not _layers_independent(model.layers):
        return 1
    size = block_rows(model)
    if whole and rows > size:
        return 1
    workers = min(threads.blas_threads(), threads.cpus_available(), batches * -(-rows // size))
    return workers if workers >= 2 else 1


def run_side_by_side(batches, workers, compute, begin, done):
    """``compute(item)`` for every item of the iterator ``batches``, ``workers`` threads each
    taking the next item as it gets free (in test mode, without a graph). ``begin(i, item)`` and
    ``done(i, item, result)`` run under one lock and in item order, from whichever thread holds
    it: begin as an item is taken, done once it and every item before it are computed. An error
    stops the other threads after their current item and is raised here."""
    lock = threading.Lock()
    items = enumerate(batches)
    pending, failed = {}, []
    reported = [0]

    def work(_):
        with no_grad(), using_config("training", False):
            try:
                while not failed:
                    with lock:
                        taken = next(items, None)
                        if taken is None:
                            return
                        begin(*taken)
                    result = compute(taken[1])
                    with lock:
                        pending[taken[0]] = (taken[1], result)
                        while reported[0] in pending:
                            done(reported[0], *pending.pop(reported[0]))
                            reported[0] += 1
            except BaseException:  # reading a batch, computing it, or a hook: the others stop too
                failed.append(True)
                raise

    threads.run(work, list(range(workers)))


def forward_batches(model, batches, workers, callbacks):
    """``model``'s test-mode outputs for every batch of the iterator ``batches`` (``(x, y, w)``
    items), in order, by ``run_side_by_side``, a batch larger than a block (``block_rows``) a
    block at a time; the ``callbacks``' predict batch hooks in batch order."""
    size = block_rows(model)
    outs, parts = [], []

    def pieces():
        for i, (xb, _, _) in enumerate(batches):
            rows = n_samples(xb)
            blocks = threads.even(rows, -(-rows // size))
            for j, block in enumerate(blocks):
                yield i, rows, j, len(blocks), xb if len(blocks) == 1 else take(xb, block)

    def begin(_, item):
        i, rows, j = item[:3]
        if j == 0:
            callbacks.on_predict_batch_begin(i, {"batch": i, "size": rows})

    def done(_, item, out):
        i, rows, j, count = item[:4]
        parts.append(out)
        if j == count - 1:
            outs.append(parts[0] if count == 1 else _join(parts))
            parts.clear()
            callbacks.on_predict_batch_end(i, {"batch": i, "size": rows, "outputs": outs[-1]})

    run_side_by_side(pieces(), workers, lambda item: _outputs(model, item[4]), begin, done)
    return outs
