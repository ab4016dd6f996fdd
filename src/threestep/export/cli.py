"""``threestep export MODEL OUT.onnx``: a saved model (threestep, Keras .h5 or .keras) to ONNX."""


def add_parser(subparsers):
    """Register the ``export`` subcommand on an argparse subparsers object."""
    parser = subparsers.add_parser("export", help="export a saved model to ONNX",
                                   description="Convert a saved model (threestep's own file, a Keras .h5 or a "
                                               ".keras file) to an ONNX file with a dynamic batch axis.")
    parser.add_argument("model", help="the saved model file")
    parser.add_argument("output", help="the .onnx file to write")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (13-21, default 17)")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Load ``args.model``, write ``args.output``; prints one line and returns 0 (1 with the error on stderr)."""
    import sys  # noqa: PLC0415

    from ..errors import ThreestepError  # noqa: PLC0415
    from ..models import load_model  # noqa: PLC0415
    from .onnx import to_onnx  # noqa: PLC0415

    try:
        model = load_model(args.model, compile=False)
        to_onnx(model, args.output, opset=args.opset)
    except (ThreestepError, FileNotFoundError) as exc:
        print(f"threestep export: {exc}", file=sys.stderr)
        return 1
    inputs = model.input_shape if isinstance(model.input_shape, list) else [model.input_shape]
    print(f"Wrote {args.output}: {len(model.layers)} layers, inputs {', '.join(str(tuple(s)) for s in inputs)} "
          f"(batch axis dynamic), opset {args.opset}.")
    return 0
