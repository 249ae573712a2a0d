"""MODNet's weights: reading and writing the three formats users come with, and the inference-only
module that export and timing use.

Reading and writing MODNet weights in the three formats users come with.

1. The official release (``modnet_photographic_portrait_matting.ckpt``, ``modnet_webcam_portrait_matting.ckpt``):
   a plain state_dict saved from ``nn.DataParallel(MODNet())``, every key prefixed ``module.``, the
   backbone stored twice (``backbone.*`` and ``lr_branch.backbone.*``).
2. The same state_dict without ``module.`` (a model saved without DataParallel).
3. mattebench's own ``.ckpt``: ``{"format": "mattebench-checkpoint", "method", "variant", "state_dict", "meta"}``
   with the state_dict of (2). ``torch.save`` stores the shared backbone tensors once.

Everything loads with ``torch.load(..., weights_only=True)`` (no pickled code runs). The file handling
shared with the other torch baselines (reading, key comparison, half precision, atomic writes) is in
:mod:`mattebench_baselines.common.checkpoints`; this module holds what is MODNet's: its formats, key names and hints.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

import torch
from mattebench_baselines.common.checkpoints import (
    as_float32,
    compare_keys,
    has_half_tensors,
    key_list,
    load_file,
    portable_state_dict,
    save_atomic,
    strip_common_prefix,
)
from mattebench_baselines.modnet.model import MODNet
from torch import nn

from mattebench import environment
from mattebench.errors import CheckpointError
from mattebench.methods import shipped

PROJECT_FORMAT = "mattebench-checkpoint"
OFFICIAL_FILES = "modnet_photographic_portrait_matting.ckpt or modnet_webcam_portrait_matting.ckpt"
DOWNLOAD_HINT = (
    "The official MODNet weights (Apache-2.0) are in the Google Drive folder linked from "
    "https://github.com/ZHKKKe/MODNet (pretrained/README.md): download " + OFFICIAL_FILES + " and pass its path."
)


def sha256(path: str | os.PathLike[str]) -> str:
    """sha256 of a checkpoint file; ``path`` may be a shipped name (``mattebench:modnet-synthetic``)."""
    return environment.sha256_file(shipped.resolve(path))


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str, dict[str, Any]]:
    """Return (state_dict without ``module.``, format description, project metadata or {}).

    ``path`` may name a shipped checkpoint (``mattebench:modnet-synthetic``). Floating tensors stored in
    half precision (the shipped files) are returned as float32."""
    p = shipped.resolve(path)
    obj = load_file(p, f"Expected the official MODNet .ckpt (a state_dict) or a mattebench .ckpt. {DOWNLOAD_HINT}")
    meta: dict[str, Any] = {}
    if isinstance(obj, Mapping) and obj.get("format") == PROJECT_FORMAT:
        state, fmt = obj["state_dict"], "mattebench checkpoint"
        meta = {k: v for k, v in obj.items() if k != "state_dict"}
    elif isinstance(obj, Mapping) and isinstance(obj.get("state_dict"), Mapping):
        state, fmt = obj["state_dict"], "state_dict wrapped in a dict"
    elif isinstance(obj, Mapping) and obj and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state, fmt = obj, "plain state_dict"
    else:
        raise CheckpointError(f"{p}: holds a {type(obj).__name__}, not a state_dict. {DOWNLOAD_HINT}")
    if has_half_tensors(state):
        state = as_float32(state)
        fmt += " (half precision on disk, loaded as float32)"
    if state and all(k.startswith("module.") for k in state):
        state = strip_common_prefix(state, "module.")
        fmt = "official DataParallel state_dict (module. prefix)"
    return dict(state), fmt, meta


def method_for_variant(variant: str) -> str:
    """The command-line words that build the network a checkpoint of ``variant`` was saved from."""
    base, _, trimap = str(variant).partition("-")
    if trimap == "trimap":
        return f"--method modnet-trimap -m variant={base}"
    return "--method modnet" if base == "v1" else "--method modnet-easpp"


def load_weights(model: nn.Module, path: str | os.PathLike[str], variant: str) -> str:
    """Load strictly; on any mismatch raise CheckpointError listing missing/unexpected keys. Returns the format."""
    return load_weights_meta(model, path, variant)[0]


def load_weights_meta(model: nn.Module, path: str | os.PathLike[str], variant: str) -> tuple[str, dict[str, Any]]:
    """:func:`load_weights`, also returning the project metadata (``{}`` for official files)."""
    state, fmt, meta = read_checkpoint(path)
    if meta and meta.get("variant") not in (None, variant):
        raise CheckpointError(f"{path}: a mattebench checkpoint of the {meta['variant']!r} variant; load it with {method_for_variant(meta['variant'])}")
    if state and all(k.startswith("features.") or k.startswith("classifier.") for k in state):
        raise CheckpointError(
            f"{path}: holds a MobileNetV2 alone (keys features.*), e.g. mobilenetv2_human_seg.ckpt; "
            f"pass it as the backbone initialisation (backbone_checkpoint= / --backbone-checkpoint), not as checkpoint="
        )
    diff = compare_keys(model.state_dict(), state)
    if diff:
        missing, unexpected, wrong = list(diff.missing), list(diff.unexpected), list(diff.wrong_shape)
        hint = ""
        if any(k.startswith("lr_branch.se_block") for k in missing) and any(k.startswith("lr_branch.easpp") for k in unexpected):
            hint = " This is an e-ASPP checkpoint: use --method modnet-easpp."
        elif any(k.startswith("lr_branch.easpp") for k in missing) and any(k.startswith("lr_branch.se_block") for k in unexpected):
            hint = " This is a v1 (SE block) checkpoint: use --method modnet."
        parts = [f"{path} ({fmt}) does not match MODNet {variant}:"]
        if missing:
            parts.append(f"missing keys: {key_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {key_list(unexpected)}")
        if wrong:
            parts.append(f"wrong shapes: {key_list(wrong, 4)}")
        raise CheckpointError(
            " ".join(parts) + ". Expected the official MODNet state_dict (keys 'module.backbone.model.features...', "
            "'module.lr_branch...', 'module.hr_branch...', 'module.f_branch...'), the same without 'module.', "
            "or a mattebench .ckpt written by `mattebench train`." + hint
        )
    model.load_state_dict(state, strict=True)
    return fmt, meta


def load_backbone(model: nn.Module, path: str | os.PathLike[str]) -> None:
    """Load ``mobilenetv2_human_seg.ckpt`` (MobileNetV2 pretrained on SPS) into ``model.backbone.model``.

    Accepts keys ``features.*`` with or without ``module.``/``model.``/``backbone.model.`` prefixes; a
    classifier head, if present, is ignored (MODNet has none).
    """
    state, fmt, _ = read_checkpoint(path)
    for prefix in ("backbone.model.", "model."):
        state = strip_common_prefix(state, prefix)
    state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    target = model.backbone.model  # type: ignore[union-attr]
    expected = target.state_dict()
    first = "features.0.0.weight"
    if first in state and first in expected and state[first].shape[1] == 3 and expected[first].shape[1] == 4:
        # RGB + trimap input (trimap_input=True): the RGB filters come from the checkpoint and the trimap
        # channel starts at zero, so the network starts as the RGB backbone (as DIM extends VGG-16).
        w = torch.zeros(expected[first].shape, dtype=state[first].dtype)
        w[:, :3] = state[first]
        state = {**state, first: w}
    diff = compare_keys(expected, state)
    missing, unexpected = list(diff.missing), list(diff.unexpected)
    if missing or unexpected:
        raise CheckpointError(
            f"{path} ({fmt}) is not a MobileNetV2 backbone checkpoint: missing keys: {key_list(missing) or 'none'}; "
            f"unexpected keys: {key_list(unexpected) or 'none'}. Expected keys 'features.0.0.weight' ... 'features.18.1.*' "
            f"as in mobilenetv2_human_seg.ckpt from the official MODNet release."
        )
    target.load_state_dict(state, strict=True)


def save_weights(model: nn.Module, path: str | os.PathLike[str], variant: str, meta: Optional[dict[str, Any]] = None,
                 half: bool = False) -> None:
    """Write a mattebench checkpoint atomically (temporary file, then rename). ``half``: floating tensors in
    float16 (the shipped files: 13 MB instead of 26; :func:`read_checkpoint` returns them as float32)."""
    meta = {**(meta or {}), **({"storage": "float16"} if half else {})}
    state = portable_state_dict(model, half=half)  # the twice-registered backbone stays shared on disk
    save_atomic({"format": PROJECT_FORMAT, "version": 1, "method": "modnet", "variant": variant, "meta": meta, "state_dict": state}, path)


# ----------------------------------------------------------------------------------------------------
# MODNet for export and timing: the inference-only module (``MatteOnly``) that ONNX, TorchScript and
# ``mattebench bench`` take, and an example input of the network's shape.
# ----------------------------------------------------------------------------------------------------

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
