"""`mattebench adapt`: self-supervised SOC adaptation (MODNet) on unlabeled images or video frames."""

from __future__ import annotations

import argparse
from pathlib import Path

from mattebench.commands._options import parse_options
from mattebench.contract import Adaptable
from mattebench.errors import MattebenchError
from mattebench.methods.registry import create_method


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "adapt",
        help="adapt a trained model to unlabeled images or video (MODNet SOC)",
        description="Sub-objectives consistency (SOC, MODNet paper eq. 6-8) on the images of INPUT (folder or video), "
        "no labels needed. Writes <out>/soc.ckpt (load it with --checkpoint) and <out>/soc.csv.",
    )
    p.add_argument("--method", required=True, help="a method with self-supervised adaptation (modnet, modnet-easpp)")
    p.add_argument("--checkpoint", required=True, help="the trained weights to adapt (SOC needs a converged model): a path or a "
                   "shipped name such as mattebench:modnet-synthetic")
    p.add_argument("--input", required=True, help="folder of unlabeled images/frames, or a video file")
    p.add_argument("--steps", type=int, default=None, help="adaptation steps, batch 1 (default: one pass over the input)")
    p.add_argument("--lr", type=float, default=1e-5,
                   help="Adam learning rate (default 1e-5, the released code's; the paper's 1e-4 diverged at batch 1 in our tests)")
    p.add_argument("--out", default="runs/adapt", help="output folder (default runs/adapt)")
    p.add_argument("--device", default=None, help="cpu, cuda, ...")
    p.add_argument("--ref-size", type=int, default=None,
                   help="images are resized by the inference rule with this reference size (default: the checkpoint's rule, else 512)")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    mopts = parse_options(args.method_opts)
    mopts["checkpoint"] = args.checkpoint
    if args.device:
        mopts["device"] = args.device
    method = create_method(args.method, **mopts)
    if not isinstance(method, Adaptable):
        raise MattebenchError(f"method {args.method!r} has no self-supervised adaptation (SOC belongs to modnet and modnet-easpp)")
    rows = method.adapt(args.input, steps=args.steps, lr=args.lr, out=args.out, ref_size=args.ref_size, progress=not args.quiet)
    last = rows[-1]
    print(f"SOC: {last['step']} steps, last loss {last['loss']:.5f}; adapted weights: {Path(args.out) / 'soc.ckpt'}")
    return 0
