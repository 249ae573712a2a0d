"""MODNet for export and timing: the inference-only module (``MatteOnly``) that ONNX, TorchScript and
``mattebench bench`` take, and an example input of the network's shape."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import nn

from .model import MODNet


class MatteOnly(nn.Module):
    """``model(x, True)[2]``: the form ONNX and TorchScript exports take."""

    def __init__(self, model: MODNet):
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x, True)[2]


class MODNetExport:
    """The export part of :class:`~mattebench_baselines.modnet.method.MODNetMethod` (it sets these attributes)."""

    model: MODNet
    device: torch.device

    # No bare-model timing input: the bare forward also runs the two training heads, so `mattebench bench`
    # (which prefers ``example_input`` with ``.model``) times ``export_module`` instead, as it always has.
    example_input: Optional[Any] = None

    def export_module(self, height: int = 512, width: int = 512) -> tuple[nn.Module, torch.Tensor]:
        """An inference-only module ``x in [-1, 1] (Bx3xHxW, multiples of 32) -> matte`` and an example input."""
        return MatteOnly(self.model).eval(), torch.zeros(1, self.model.in_channels, height, width, device=self.device)
