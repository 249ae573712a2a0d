"""Exporting a method's network to TorchScript or ONNX, checked against the eager model (the engine of
`mattebench export`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from mattebench.contract import Exportable
from mattebench.errors import MattebenchError

TOLERANCE = 1e-4  # max |exported - eager| on the check inputs (float32 mattes in [0, 1])
# Names of the official MODNet ONNX export (onnx/export_onnx.py), so `--method onnx -m preset=modnet` runs
# both the official file and ours unchanged.
INPUT_NAME, OUTPUT_NAME = "input", "output"


def check_inputs(example: Any) -> list[Any]:
    """What the exported file is compared on: synthetic portraits (and seeded noise) in [-1, 1], never zeros.

    An all-zero example (a flat grey image) was the check's own bug: every feature map is then nearly
    constant, and MODNet's InstanceNorm halves divide float32 rounding noise by sqrt(var + 1e-5) with var
    close to 0, so two correct float32 implementations drift by 1e-4..1e-3 (measured against a float64
    eager run: onnxruntime 1.6e-4, eager 3e-5). On real-looking images both agree to about 1e-6.
    """
    import torch

    from mattebench.data.synthetic import SyntheticDataset

    b, c, h, w = example.shape
    gen = torch.Generator().manual_seed(0)
    out = [(torch.rand(example.shape, generator=gen) * 2 - 1).to(example)]
    if c >= 3:
        ds = SyntheticDataset()
        for sid in ds.ids()[:2]:
            img = torch.from_numpy(ds.load(sid).image.copy()).permute(2, 0, 1)[None].float()
            img = torch.nn.functional.interpolate(img, size=(h, w), mode="area")
            x = (img / 255.0 - 0.5) / 0.5
            if c > 3:  # extra input planes (a trimap): a smooth ramp in [-1, 1]
                ramp = torch.linspace(-1, 1, w).expand(1, c - 3, h, w)
                x = torch.cat((x, ramp), 1)
            out.append(x.expand(b, c, h, w).contiguous().to(example))
    return out


def export(method: Any, fmt: str, out: Path, size: tuple[int, int] = (512, 512), opset: int = 17) -> dict[str, Any]:
    """Write the export and return {"path", "max_abs_diff" (None when not checkable), "checked_with"}."""
    import torch

    if not isinstance(method, Exportable):
        raise MattebenchError(f"method {getattr(method, 'name', type(method).__name__)} has no export path (export_module: "
                              "see mattebench.contract.Exportable)")
    module, example = method.export_module(*size)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "torchscript":
        with torch.no_grad():
            traced = torch.jit.trace(module, example, check_trace=False)
        traced.save(str(out))
        loaded = torch.jit.load(str(out), map_location=example.device)
        diff = 0.0
        with torch.no_grad(), torch.jit.optimized_execution(False):  # skip the profiling passes: one check run
            for x in check_inputs(example):
                diff = max(diff, float((loaded(x) - module(x)).abs().max()))
        return {"path": out, "max_abs_diff": diff, "checked_with": "torch.jit.load"}
    if importlib.util.find_spec("onnx") is None:
        raise MattebenchError("ONNX export needs the onnx package: pip install 'mattebench[export]'")
    torch.onnx.export(
        module, (example,), str(out), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=opset,
        dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"}, OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
        dynamo=False,
    )
    import onnx

    onnx.checker.check_model(onnx.load(str(out)))
    if importlib.util.find_spec("onnxruntime") is None:
        return {"path": out, "max_abs_diff": None, "checked_with": "onnx.checker only (install onnxruntime for a numerical check)"}
    import onnxruntime as ort

    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    diff = 0.0
    inputs = check_inputs(example)
    for x in inputs:
        with torch.no_grad():
            eager = module(x).cpu().numpy()
        got = session.run(None, {INPUT_NAME: x.cpu().numpy()})[0]
        diff = max(diff, float(abs(got - eager).max()))
    res: dict[str, Any] = {"path": out, "max_abs_diff": diff, "checked_with": "onnxruntime", "ok": diff <= TOLERANCE}
    if diff > TOLERANCE:
        res.update(float64_arbiter(module, session, inputs))
    return res


def float64_arbiter(module: Any, session: Any, inputs: list[Any]) -> dict[str, Any]:
    """Which side is wrong? Both float32 results against the eager model run in float64.

    A deep network with unit-free weights can be conditioned so that float32 itself is only good to
    ~1e-4 (MODNet's InstanceNorm halves amplify rounding where a channel's variance is small): then the
    eager float32 matte is as far from the exact one as the export's, and the export is not at fault.
    The export passes when it is no farther from float64 than eager float32 is (x1.5), or within TOLERANCE.
    """
    import copy

    import torch

    m64 = copy.deepcopy(module).double()
    err_export = err_eager = 0.0
    for x in inputs:
        with torch.no_grad():
            exact = m64(x.double()).cpu().numpy()
            eager = module(x).cpu().numpy()
        got = session.run(None, {INPUT_NAME: x.cpu().numpy()})[0]
        err_export = max(err_export, float(abs(got - exact).max()))
        err_eager = max(err_eager, float(abs(eager - exact).max()))
    return {"export_vs_float64": err_export, "eager_vs_float64": err_eager,
            "ok": err_export <= max(TOLERANCE, 1.5 * err_eager)}
