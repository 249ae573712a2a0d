"""`mattebench export`: a method's network as TorchScript or ONNX, checked against the eager model."""

from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path
from typing import Any

from ..errors import MattebenchError
from ..registry import create_method
from ._options import parse_options

TOLERANCE = 1e-4  # max |exported - eager| on the example input (float32 mattes in [0, 1])


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export",
        help="export a method's network to TorchScript or ONNX",
        description="Export the network of METHOD (input Bx3xHxW in [-1, 1], H and W multiples of 32; output the "
        "Bx1xHxW matte) and check the exported model against the eager one. ONNX needs `pip install mattebench[export]` "
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


def export(method: Any, fmt: str, out: Path, size: tuple[int, int] = (512, 512), opset: int = 17) -> dict[str, Any]:
    """Write the export and return {"path", "max_abs_diff" (None when not checkable), "checked_with"}."""
    import torch

    if not callable(getattr(method, "export_module", None)):
        raise MattebenchError(f"method {getattr(method, 'name', type(method).__name__)} has no export path (export_module)")
    module, example = method.export_module(*size)
    with torch.no_grad():
        eager = module(example)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(module, example, check_trace=False)
        traced.save(str(out))
        loaded = torch.jit.load(str(out), map_location=example.device)
        with torch.no_grad(), torch.jit.optimized_execution(False):  # skip the profiling passes: one check run
            got = loaded(example)
        return {"path": out, "max_abs_diff": float((got - eager).abs().max()), "checked_with": "torch.jit.load"}
    if importlib.util.find_spec("onnx") is None:
        raise MattebenchError("ONNX export needs the onnx package: pip install 'mattebench[export]'")
    torch.onnx.export(
        module, (example,), str(out), input_names=["input"], output_names=["matte"], opset_version=opset,
        dynamic_axes={"input": {0: "batch", 2: "height", 3: "width"}, "matte": {0: "batch", 2: "height", 3: "width"}},
        dynamo=False,
    )
    import onnx

    onnx.checker.check_model(onnx.load(str(out)))
    if importlib.util.find_spec("onnxruntime") is None:
        return {"path": out, "max_abs_diff": None, "checked_with": "onnx.checker only (install onnxruntime for a numerical check)"}
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input": example.cpu().numpy()})[0]
    return {"path": out, "max_abs_diff": float(abs(got - eager.cpu().numpy()).max()), "checked_with": "onnxruntime"}


def run(args: argparse.Namespace) -> int:
    mopts = parse_options(args.method_opts)
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    mopts.setdefault("device", "cpu")
    method = create_method(args.method, **mopts)
    out = Path(args.out or f"{args.method}.{'onnx' if args.format == 'onnx' else 'pt'}")
    res = export(method, args.format, out, tuple(args.size), args.opset)
    diff = res["max_abs_diff"]
    if diff is not None and diff > TOLERANCE:
        print(f"exported {out}, but it differs from the eager model by {diff:.2e} (> {TOLERANCE:g})")
        return 1
    print(f"exported {out} ({args.format}); " + (f"max |export - eager| = {diff:.2e} ({res['checked_with']})" if diff is not None else res["checked_with"]))
    return 0
