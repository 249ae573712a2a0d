"""`run` options for inputs a user brings: --predictions DIR, exported models, their cards, --save-alphas."""

from __future__ import annotations

import argparse
from typing import Any

from mattebench.commands._options import OptionError


def add_input_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("inputs you bring (saved predictions, exported models)")
    g.add_argument("--predictions", default=None, metavar="DIR",
                   help="score a folder of saved mattes instead of a method: DIR/<sample id>.png|jpg|tif|npy "
                   "(clips: DIR/<clip id>/<frame>.*), or one sub-folder down (DIR/alpha/ as `predict --out DIR` writes it, "
                   "DIR/pha/, ...: the one whose files are named like the samples and are mattes); needs --name")
    g.add_argument("--name", default=None, help="name of the run and its leaderboard row (--predictions, --method onnx|tflite)")
    g.add_argument("--family", default=None, choices=("trimap-free", "trimap-based"),
                   help="how the predictions / the model's mattes were made (default trimap-free)")
    g.add_argument("--paper", default=None, help="paper reference for the card of --predictions / onnx / tflite")
    g.add_argument("--url", default=None, help="URL for the card of --predictions / onnx / tflite")
    g.add_argument("--save-alphas", nargs="?", const="all", default=None, metavar="IDS|all",
                   help="store the predictions as 16-bit PNGs in <run>/alphas/ (all, or comma-separated ids); "
                   "predictions are rounded to 16 bits before scoring so the files reproduce the run")


def resolve_input(args: argparse.Namespace, mopts: dict[str, Any]) -> str:
    """The method name to run; moves --predictions/--name/--family/--paper/--url into its options."""
    if args.predictions and args.method:
        raise OptionError("give either --method or --predictions DIR, not both")
    if not args.predictions and not args.method:
        raise OptionError("give --method NAME (see `mattebench list`) or --predictions DIR")
    from mattebench.runs.runner import USER_INPUT_METHODS as EXTERNAL_METHODS  # here: parsing `run` stays light

    method = "predictions" if args.predictions else args.method
    card_opts = {"name": args.name, "family": args.family, "paper": args.paper, "url": args.url}
    if method not in EXTERNAL_METHODS:
        given = [f"--{k}" for k, v in card_opts.items() if v]
        if given:
            raise OptionError(f"{', '.join(given)} describe inputs you bring (--predictions, --method onnx|tflite); "
                              f"{method} has its own card")
        return method
    if args.predictions:
        mopts["dir"] = args.predictions
    if args.predictions and not args.name and "name" not in mopts:
        raise OptionError("--predictions needs --name NAME (it names the run folder and the leaderboard row)")
    for k, v in card_opts.items():
        if v:
            mopts[k] = v
    return method
