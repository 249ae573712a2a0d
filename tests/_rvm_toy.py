"""A small model with RobustVideoMatting's I/O signature whose output depends on all four recurrent states (tests
only; the real weights are the user's). ``export_onnx`` follows RVM's export_onnx.py (names, opset 12, dynamic axes)
with ``dynamo=False``; ``manual_loop`` is the loop of RVM's documentation/inference.md, written out."""

from __future__ import annotations

from typing import List, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

ONNX_INPUTS = ("src", "r1i", "r2i", "r3i", "r4i", "downsample_ratio")
ONNX_OUTPUTS = ("fgr", "pha", "r1o", "r2o", "r3o", "r4o")


def _toy_step(src: Tensor, r1: Tensor, r2: Tensor, r3: Tensor, r4: Tensor, ratio: Tensor) -> List[Tensor]:
    """Four leaky memories at 1/2, 1/4, 1/8, 1/16 of the frame (ceil, as RVM at ratio 1), each mixing the
    previous state (a [1,1,1,1] zero state broadcasts) with the pooled frame; pha and fgr read all four,
    and the ratio shifts pha, so a runner that drops, resets or mis-ratios the state changes the output."""
    x = src.mean(dim=1, keepdim=True)
    channels = [16, 20, 40, 64]  # mobilenetv3 state channels (model.py L26, decoder.py L61-80)
    states: List[Tensor] = []
    for k, r in enumerate([r1, r2, r3, r4]):
        x = F.avg_pool2d(x, 2, 2, ceil_mode=True, count_include_pad=False)
        cur = x.expand(-1, channels[k], -1, -1)
        states.append(0.6 * r.expand_as(cur) + 0.4 * cur + 0.01 * (k + 1))
    h, w = src.shape[-2], src.shape[-1]
    mem = F.interpolate(states[0][:, :1], scale_factor=2.0, mode="nearest")[..., :h, :w]
    glob = states[1].mean() + states[2].mean() - states[3].mean()
    pha = (0.5 * src.mean(dim=1, keepdim=True) + 0.5 * mem + 0.1 * glob - 0.2 * ratio.reshape(1, 1, 1, 1) + 0.1).clamp(0.0, 1.0)
    fgr = (src * (0.5 + 0.5 * mem)).clamp(0.0, 1.0)
    return [fgr, pha] + states


class ToyRVM(nn.Module):
    """PyTorch / TorchScript contract: states Optional (None = zeros), ratio a float."""

    def forward(self, src: Tensor, r1: Optional[Tensor] = None, r2: Optional[Tensor] = None, r3: Optional[Tensor] = None,
                r4: Optional[Tensor] = None, downsample_ratio: float = 1.0) -> List[Tensor]:
        z = torch.zeros(1, 1, 1, 1, dtype=src.dtype, device=src.device)
        return _toy_step(src, r1 if r1 is not None else z, r2 if r2 is not None else z, r3 if r3 is not None else z,
                         r4 if r4 is not None else z, torch.tensor([downsample_ratio], dtype=src.dtype))


class ToyRVMOnnx(nn.Module):
    """ONNX contract: every input a tensor, ratio float32 [1]."""

    def forward(self, src: Tensor, r1: Tensor, r2: Tensor, r3: Tensor, r4: Tensor, downsample_ratio: Tensor) -> List[Tensor]:
        return _toy_step(src, r1, r2, r3, r4, downsample_ratio.to(src.dtype))


def export_onnx(path: str, opset: int = 12) -> None:
    """ToyRVM as RVM's export_onnx.py exports: names, opset 12, dynamic batch/height/width."""
    # RVM reuses the names height/width for the states too; onnxruntime 1.32 then assumes the states have
    # the frame's size and fails, so every state gets its own dimension names (same axes as RVM).
    spatial = {0: "batch_size", 2: "height", 3: "width"}
    axes = {"src": spatial, "fgr": spatial, "pha": spatial}
    for i in range(1, 5):
        axes[f"r{i}i"] = {0: f"r{i}i_batch", 1: f"r{i}i_channels", 2: f"r{i}i_height", 3: f"r{i}i_width"}
        axes[f"r{i}o"] = {0: "batch_size", 2: f"r{i}o_height", 3: f"r{i}o_width"}
    rec = (torch.zeros(1, 1, 1, 1),) * 4
    torch.onnx.export(ToyRVMOnnx().eval(), (torch.rand(1, 3, 36, 64), *rec, torch.tensor([0.25])), path,
                      opset_version=opset, input_names=list(ONNX_INPUTS), output_names=list(ONNX_OUTPUTS), dynamo=False,
                      dynamic_axes=axes)


def export_torchscript(path: str) -> None:
    torch.jit.save(torch.jit.script(ToyRVM().eval()), path)


def manual_loop(path: str, frames: list, ratio: float) -> list:
    """inference.md L43-64 with onnxruntime: zeros [1,1,1,1] as the first states, each frame's outputs fed back."""
    import onnxruntime as ort

    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    rec = [np.zeros((1, 1, 1, 1), np.float32)] * 4
    out = []
    for f in frames:
        src = (f.astype(np.float32) / 255).transpose(2, 0, 1)[None]
        fgr, pha, *rec = sess.run(["fgr", "pha", "r1o", "r2o", "r3o", "r4o"],
                                  {"src": src, "r1i": rec[0], "r2i": rec[1], "r3i": rec[2], "r4i": rec[3],
                                   "downsample_ratio": np.array([ratio], np.float32)})
        out.append((pha[0, 0], fgr[0].transpose(1, 2, 0)))
    return out
