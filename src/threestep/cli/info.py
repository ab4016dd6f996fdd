"""``threestep info``: what threestep runs on here (``utils.environment``), with hints."""


def info(args):
    from ..utils import environment  # noqa: PLC0415

    environment.main(json_output=args.json)
    return 0


def add_parser(sub):
    """Register ``info`` on the ``threestep`` subparsers."""
    parser = sub.add_parser("info", help="versions, the BLAS and its kernels, threads, Numba and GPU: what sets "
                                         "threestep's speed here, with hints")
    parser.add_argument("--json", action="store_true", help="print the report as JSON (for a bug report)")
    parser.set_defaults(func=info)
