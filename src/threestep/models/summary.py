"""``model.summary()``: the Keras table of layers, output shapes and parameter counts."""


def _fmt_shape(shape):
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"


def print_summary(model, line_length=65, print_fn=None):
    print_fn = print_fn or print
    names = [f"{layer.name} ({type(layer).__name__})" for layer in model.layers]
    shapes = [_fmt_shape(layer.output_shape) for layer in model.layers]
    # Keras's proportions, widened so that no name or shape is cut off
    first = max([int(line_length * 0.45)] + [len(n) + 1 for n in names])
    second = max([int(line_length * 0.4)] + [len(s) + 1 for s in shapes])
    cols = [first, first + second, first + second + max(10, line_length - first - second)]
    line_length = cols[-1]
    header = ("Layer (type)", "Output Shape", "Param #")

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
        print_fn(row((f"{layer.name} ({type(layer).__name__})", _fmt_shape(layer.output_shape), n)))
        print_fn(("=" if i == len(model.layers) - 1 else "_") * line_length)
    if not model.layers:
        print_fn("=" * line_length)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)
