"""`mattebench predict`: run a method on your own image, folder of images, or video; write mattes and composites
(engine: :mod:`mattebench.tracks.predict`)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from mattebench.commands._options import parse_options
from mattebench.methods.ofd import CLOSE, FAR
from mattebench.tracks.predict import NAMING_HELP, PredictJob, predict_inputs


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="matte your own images, folders or videos",
        description="Run METHOD on INPUT (an image, a folder of images/frames, or a video). Writes <out>/alpha/<name>.png "
        "(8-bit mattes) and <out>/composite/<name>.png (the image over --background). " + NAMING_HELP + " An input that "
        "cannot be read, or whose prediction is not a valid matte (NaN, wrong shape, out of range), is reported and "
        "skipped; the others are written. Exit codes: 0 every input written, 3 some inputs failed (named on stderr), "
        "2 usage error.",
    )
    p.add_argument("--method", required=True)
    p.add_argument("--input", required=True, help="image file, folder of images (sorted by name = frame order), or video file")
    p.add_argument("--out", default="predictions", help="output folder (default: predictions)")
    p.add_argument("--checkpoint", default=None, help="weights file for the method")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (torch methods)")
    p.add_argument("--trimap", default=None, help="trimap file (one image) or folder of trimaps named like the images (trimap-based methods)")
    p.add_argument("--trimap-snap", action="store_true",
                   help="map trimap values other than 0/128/255 (JPEG or resized trimaps) to the nearest class instead of failing the image")
    p.add_argument("--ofd", action="store_true", help=f"One-Frame-Delay flicker removal over the sequence (thresholds {CLOSE}/{FAR})")
    p.add_argument("--batch", type=int, default=1, help="images per forward pass when the method has a batch path (GPU throughput)")
    p.add_argument("--background", default="green", help="composite background: green, white, black, blue, transparent (RGBA), or none")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8,
                   help="matte PNG depth: 8 (default) or 16 (what `run --save-alphas` writes; `run --predictions` reads both)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


EXIT_SOME_FAILED = 3  # like `run`: the command finished, some inputs failed (each is named on stderr)


def run(args: argparse.Namespace) -> int:
    mopts = parse_options(args.method_opts)
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    if args.device:
        mopts["device"] = args.device
    out = Path(args.out)
    job = PredictJob(method=args.method, input=args.input, out=out, method_options=mopts, trimap=args.trimap,
                     trimap_snap=args.trimap_snap, ofd=args.ofd, batch=args.batch, background=args.background,
                     bits=args.bits, progress=not args.quiet)
    outcome = predict_inputs(job, on_skip=lambda line: print(f"skipped: {line}", file=sys.stderr))
    written, failed = outcome.written, outcome.failed
    where = f"{out / 'alpha'}" + ("" if args.background == "none" else f" and composites to {out / 'composite'}")
    print(f"wrote {written} matte(s) to {where}")
    if outcome.speed is not None:  # a recurrent model: the foregrounds too, and the two speeds
        print(f"foregrounds in {job.out / 'foreground'}; speed: {outcome.speed.text()}")
    if written:
        print(f"to score them against a dataset: mattebench run --predictions {out} --name NAME --dataset DATASET")
    if failed:
        print(f"{len(failed)} of {written + len(failed)} input(s) failed and were skipped:", file=sys.stderr)
        for line in failed:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0
