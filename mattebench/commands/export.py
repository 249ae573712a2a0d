"""`mattebench export`: a method's network as TorchScript or ONNX, checked against the eager model
(engine: :mod:`mattebench.tracks.export`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mattebench.commands._options import parse_options
from mattebench.methods.registry import create_method
from mattebench.tracks.export import TOLERANCE, export


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a method's network to TorchScript or ONNX",
        description="Export the network of METHOD (input `input` Bx3xHxW in [-1, 1], H and W multiples of 32; output `output`, the "
        "Bx1xHxW matte, as the official MODNet export; run it with `mattebench run --method onnx -m model=FILE -m preset=modnet`) and check the exported model against the eager one. ONNX needs `pip install mattebench[export]` "
        "(onnx; onnxruntime for the numerical check).",
    )
    p.add_argument("--method", required=True, help="a method with an export path (modnet, modnet-easpp)")
    p.add_argument("--checkpoint", default=None, help="weights to export")
    p.add_argument("--format", required=True, choices=("onnx", "torchscript"))
    p.add_argument("--out", default=None, help="output file (default <method>.onnx / <method>.pt)")
    p.add_argument("--size", type=int, nargs=2, default=(512, 512), metavar=("H", "W"), help="example input size (default 512 512)")
    p.add_argument("--opset", type=int, default=17, help="ONNX opset (default 17)")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    mopts = parse_options(args.method_opts)
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    mopts.setdefault("device", "cpu")
    method = create_method(args.method, **mopts)
    out = Path(args.out or f"{args.method}.{'onnx' if args.format == 'onnx' else 'pt'}")
    res = export(method, args.format, out, tuple(args.size), args.opset)
    diff = res["max_abs_diff"]
    if diff is not None and diff > TOLERANCE and "export_vs_float64" in res:
        verdict = "float32 rounding on both sides, the export is sound" if res["ok"] else "the export is at fault"
        print(f"exported {out}: {diff:.2e} from eager float32 (> {TOLERANCE:g}); against float64 the export is "
              f"{res['export_vs_float64']:.2e} off and eager float32 {res['eager_vs_float64']:.2e}: {verdict}")
        if not res["ok"]:
            return 1
        return 0
    if diff is not None and diff > TOLERANCE:
        print(f"exported {out}, but it differs from the eager model by {diff:.2e} (> {TOLERANCE:g})")
        return 1
    print(f"exported {out} ({args.format}); " + (f"max |export - eager| = {diff:.2e} ({res['checked_with']})" if diff is not None else res["checked_with"]))
    return 0
