"""``model.summary()``: the Keras table of layers, output shapes and parameter counts,
plus the cost of one sample's forward pass: FLOPs per layer and memory estimates.

FLOPs count 2 per multiply-add (one multiply, one add) for the layers that carry the
work: Dense 2 * in * units (per position), Conv 2 * kernel_rows * kernel_cols * in_channels
* filters * output positions, recurrent layers 2 * (input + recurrent kernel sizes) per
time step (Bidirectional twice). Cheaper layers are approximate: a non-linear activation
1 per output element, pooling 1 per element of each window, batch normalisation 2 per
element (scale and shift), merges 1 per element per extra input; bias adds and reshapes
are free. Memory: parameter bytes (every weight) and the bytes of each layer's output for
one sample (what the forward pass keeps for backprop). Sizes that are ``None`` (free
sequence lengths) are left out and shown as "?".
"""


def _fmt_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def _prod(dims):
    """Product of sizes, or None when one is unknown."""
    out = 1
    for d in dims:
        if d is None:
            return None
        out *= int(d)
    return out


def _elements(shape):
    if isinstance(shape, list):
        shape = shape[0]
    return _prod(shape[1:]) if shape is not None else None


def _activation_cost(layer, shape):
    from ..layers import activations  # noqa: PLC0415

    fn = getattr(layer, "activation", None)
    if fn is None or activations.name_of(fn) in ("linear", "None", None):
        return 0
    return _elements(shape) or 0


def _recurrent_flops(layer):
    shape = layer.input_shape[0] if isinstance(layer.input_shape, list) else layer.input_shape
    steps = shape[1]
    matrices = sum(w.size for w in layer.weights if len(w.shape) == 2)
    if steps is None:
        return None
    gates = getattr(layer, "gates", 1)
    return steps * (2 * matrices + gates * layer.units)


def layer_flops(layer):
    """FLOPs of one sample's forward pass through ``layer`` (int), or None when sizes are free."""
    from ..layers import (  # noqa: PLC0415
        RNN, Activation, BatchNormalization, Bidirectional, Concatenate, Conv1D, Conv2D, Dense, Maxout,
        TimeDistributed,
    )
    from ..layers.advanced_activations import ELU, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU  # noqa: PLC0415
    from ..layers.merge import _Merge  # noqa: PLC0415
    from ..layers.pooling import GlobalPooling, Pooling  # noqa: PLC0415

    if not layer.built or layer.output_shape is None:
        return 0
    out = layer.output_shape
    if isinstance(layer, (Conv1D, Conv2D)):
        from ..layers.conv import spatial_and_channels  # noqa: PLC0415

        positions = _prod(spatial_and_channels(out, layer.data_format)[0])
        if positions is None:
            return None
        return 2 * int(layer.kernel.size) * positions + _activation_cost(layer, out)
    if isinstance(layer, (Dense, Maxout)):
        positions = _prod(layer.input_shape[1:-1])
        if positions is None:
            return None
        return 2 * int(layer.kernel.size) * positions + _activation_cost(layer, out)
    if isinstance(layer, RNN):
        return _recurrent_flops(layer)
    if isinstance(layer, Bidirectional):
        parts = [_recurrent_flops(layer.forward_layer), _recurrent_flops(layer.backward_layer)]
        return None if None in parts else sum(parts)
    if isinstance(layer, TimeDistributed):
        inner, steps = layer_flops(layer.layer), layer.input_shape[1]
        return None if inner is None or steps is None else inner * steps
    if isinstance(layer, Pooling):
        n = _elements(out)
        return None if n is None else n * _prod(layer.pool_size)
    if isinstance(layer, GlobalPooling):
        return _elements(layer.input_shape)
    if isinstance(layer, BatchNormalization):
        n = _elements(out)
        return None if n is None else 2 * n
    if isinstance(layer, (Activation, ReLU, LeakyReLU, PReLU, ELU, Softmax, ThresholdedReLU)):
        return _elements(out)
    if isinstance(layer, _Merge):
        n = _elements(out)
        return None if n is None else n * (len(layer.input_shape) - 1)
    if isinstance(layer, Concatenate):
        return 0
    return 0


def layer_memory(layer):
    """(parameter bytes, output bytes for one sample or None) of a built layer."""
    param_bytes = sum(int(w.size) * w.dtype.itemsize for w in layer.weights)
    n = _elements(layer.output_shape) if layer.output_shape is not None else None
    if isinstance(layer.output_shape, list):  # return_state: every output
        sizes = [_prod(s[1:]) for s in layer.output_shape]
        n = None if None in sizes else sum(sizes)
    import numpy  # noqa: PLC0415  (dtype sizes only)

    return param_bytes, None if n is None else n * numpy.dtype(layer.dtype).itemsize


def model_flops(model):
    """Total FLOPs of one sample's forward pass (int; free sizes count as 0)."""
    return sum(layer_flops(layer) or 0 for layer in model.layers)


def _human(n, unit):
    for scale, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if n >= scale:
            return f"{n / scale:.2f} {prefix}{unit}"
    return f"{n:.0f} {unit}"


def _human_bytes(n):
    for scale, prefix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= scale:
            return f"{n / scale:.2f} {prefix}"
    return f"{n} B"


def print_summary(model, line_length=65, print_fn=None):
    print_fn = print_fn or print
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    shapes = [_fmt_shape(layer.output_shape) for layer in model.layers]
    flops = [layer_flops(layer) for layer in model.layers]
    flop_text = ["?" if f is None else f"{f:,}" for f in flops]
    # Keras's proportions, widened so that no name or shape is cut off; FLOPs as a 4th column
    first = max([int(line_length * 0.45)] + [len(n) + 1 for n in names])
    second = max([int(line_length * 0.4)] + [len(s) + 1 for s in shapes])
    third = max(10, line_length - first - second)
    cols = [first, first + second, first + second + third,
            first + second + third + max([12] + [len(t) + 1 for t in flop_text])]
    line_length = cols[-1]
    header = ("Layer (type)", "Output Shape", "Param #", "FLOPs")

    def row(fields):
        line = ""
        for i, field in enumerate(fields):
            if i:
                line = line[: cols[i - 1]]
                line += " " * (cols[i - 1] - len(line))
            line += str(field)
        return line

    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    print_fn(row(header))
    print_fn("=" * line_length)
    trainable = total = 0
    for i, layer in enumerate(model.layers):
        n = layer.count_params()
        total += n
        trainable += sum(w.size for w in layer.trainable_weights)
        print_fn(row((names[i], shapes[i], n, flop_text[i])))
        print_fn(("=" if i == len(model.layers) - 1 else "_") * line_length)
    if not model.layers:
        print_fn("=" * line_length)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)
    memory = [layer_memory(layer) for layer in model.layers]
    total_flops = sum(f or 0 for f in flops)
    free = " (free sizes '?' not counted)" if None in flops else ""
    print_fn(f"FLOPs per sample (forward): {total_flops:,} ({_human(total_flops, 'FLOPs')}){free}")
    print_fn(f"Parameter memory: {_human_bytes(sum(m[0] for m in memory))}")
    acts = [m[1] for m in memory]
    free = " (free sizes not counted)" if None in acts else ""
    print_fn(f"Activation memory per sample (layer outputs): {_human_bytes(sum(a or 0 for a in acts))}{free}")
    print_fn("_" * line_length)


__all__ = ["layer_flops", "layer_memory", "model_flops", "print_summary"]
