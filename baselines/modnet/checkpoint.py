"""Reading and writing MODNet weights in the three formats users come with.

1. The official release (``modnet_photographic_portrait_matting.ckpt``, ``modnet_webcam_portrait_matting.ckpt``):
   a plain state_dict saved from ``nn.DataParallel(MODNet())``, every key prefixed ``module.``, the
   backbone stored twice (``backbone.*`` and ``lr_branch.backbone.*``).
2. The same state_dict without ``module.`` (a model saved without DataParallel).
3. mattebench's own ``.ckpt``: ``{"format": "mattebench-checkpoint", "method", "variant", "state_dict", "meta"}``
   with the state_dict of (2). ``torch.save`` stores the shared backbone tensors once.

Everything loads with ``torch.load(..., weights_only=True)`` (no pickled code runs).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any, Mapping, Optional

import torch
from torch import nn

from mattebench import shipped
from mattebench.errors import CheckpointError

PROJECT_FORMAT = "mattebench-checkpoint"
OFFICIAL_FILES = "modnet_photographic_portrait_matting.ckpt or modnet_webcam_portrait_matting.ckpt"
DOWNLOAD_HINT = (
    "The official MODNet weights (Apache-2.0) are in the Google Drive folder linked from "
    "https://github.com/ZHKKKe/MODNet (pretrained/README.md): download " + OFFICIAL_FILES + " and pass its path."
)


def sha256(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(shipped.resolve(path), "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_checkpoint(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], str, dict[str, Any]]:
    """Return (state_dict without ``module.``, format description, project metadata or {}).

    ``path`` may name a shipped checkpoint (``mattebench:modnet-synthetic``). Floating tensors stored in
    half precision (the shipped files) are returned as float32."""
    p = shipped.resolve(path)
    if not p.is_file():
        raise CheckpointError(f"checkpoint {p} not found. {DOWNLOAD_HINT}")
    try:
        obj = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign or truncated files
        raise CheckpointError(
            f"{p}: cannot read it as a PyTorch checkpoint with weights_only=True ({type(exc).__name__}: {exc}). "
            f"Expected the official MODNet .ckpt (a state_dict) or a mattebench .ckpt."
        ) from exc
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
    if any(isinstance(v, torch.Tensor) and v.dtype in (torch.float16, torch.bfloat16) for v in state.values()):
        state = {k: v.float() if isinstance(v, torch.Tensor) and v.is_floating_point() else v for k, v in state.items()}
        fmt += " (half precision on disk, loaded as float32)"
    keys = list(state)
    if keys and all(k.startswith("module.") for k in keys):
        state = {k[len("module.") :]: v for k, v in state.items()}
        fmt = "official DataParallel state_dict (module. prefix)"
    return dict(state), fmt, meta


def _key_list(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


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
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if k in state and state[k].shape != v.shape]
    if missing or unexpected or wrong:
        hint = ""
        if any(k.startswith("lr_branch.se_block") for k in missing) and any(k.startswith("lr_branch.easpp") for k in unexpected):
            hint = " This is an e-ASPP checkpoint: use --method modnet-easpp."
        elif any(k.startswith("lr_branch.easpp") for k in missing) and any(k.startswith("lr_branch.se_block") for k in unexpected):
            hint = " This is a v1 (SE block) checkpoint: use --method modnet."
        parts = [f"{path} ({fmt}) does not match MODNet {variant}:"]
        if missing:
            parts.append(f"missing keys: {_key_list(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {_key_list(unexpected)}")
        if wrong:
            parts.append(f"wrong shapes: {_key_list(wrong, 4)}")
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
        if state and all(k.startswith(prefix) for k in state):
            state = {k[len(prefix) :]: v for k, v in state.items()}
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
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        raise CheckpointError(
            f"{path} ({fmt}) is not a MobileNetV2 backbone checkpoint: missing keys: {_key_list(missing) or 'none'}; "
            f"unexpected keys: {_key_list(unexpected) or 'none'}. Expected keys 'features.0.0.weight' ... 'features.18.1.*' "
            f"as in mobilenetv2_human_seg.ckpt from the official MODNet release."
        )
    target.load_state_dict(state, strict=True)


def save_weights(model: nn.Module, path: str | os.PathLike[str], variant: str, meta: Optional[dict[str, Any]] = None,
                 half: bool = False) -> None:
    """Write a mattebench checkpoint atomically (temporary file, then rename). ``half``: floating tensors in
    float16 (the shipped files: 13 MB instead of 26; :func:`read_checkpoint` returns them as float32)."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    state: dict[str, torch.Tensor] = {}
    copies: dict[tuple, torch.Tensor] = {}  # keep the twice-registered backbone shared on disk
    for k, v in model.state_dict().items():
        key = (v.data_ptr(), str(v.device), tuple(v.shape), v.dtype)
        if key not in copies:
            copies[key] = v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()
        state[k] = copies[key]
    meta = {**(meta or {}), **({"storage": "float16"} if half else {})}
    obj = {"format": PROJECT_FORMAT, "version": 1, "method": "modnet", "variant": variant, "meta": meta, "state_dict": state}
    tmp = p.with_name(p.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, p)
