"""Reading and writing weight files for every torch baseline: wrapper dicts, ``module.`` prefixes,
half-precision storage, key comparison with clear errors, atomic writes.

Method-specific layouts (MODNet's official release and project format, IndexNet's names) are handled by
the method on top of these functions; everything loads with ``torch.load(..., weights_only=True)``, so no
pickled code runs.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from mattebench.errors import CheckpointError

# Keys under which training scripts commonly nest the weights (ours writes "state_dict").
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "params")


def load_file(path: str | os.PathLike[str], hint: str = "Give the path of a weight file you downloaded.") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; a missing or unreadable file is a CheckpointError
    ending with ``hint`` (what file was expected, where to get it)."""
    p = os.fspath(path)
    if not os.path.isfile(p):
        raise CheckpointError(f"checkpoint {p!r} not found: the file does not exist. {hint}")
    try:
        return torch.load(p, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises several types for foreign, truncated or code-carrying files
        raise CheckpointError(
            f"{p}: cannot read it as a PyTorch checkpoint with weights_only=True ({type(exc).__name__}: {exc}). {hint}"
        ) from exc


def read_state_dict(path: str | os.PathLike[str]) -> "OrderedDict[str, Tensor]":
    """Load a file holding a state_dict (possibly wrapped) with ``weights_only=True``."""
    obj: Any = load_file(path)
    for _ in range(3):  # nested wrappers such as {"model": {"state_dict": ...}}
        if isinstance(obj, Mapping) and not _looks_like_state_dict(obj):
            inner = next((obj[k] for k in WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not _looks_like_state_dict(obj):
        raise CheckpointError(f"{os.fspath(path)}: holds no state_dict (found {type(obj).__name__} with keys {list(obj)[:5] if isinstance(obj, Mapping) else ''})")
    return OrderedDict((str(k), v) for k, v in obj.items() if isinstance(v, Tensor))


def _looks_like_state_dict(obj: Mapping[str, Any]) -> bool:
    return len(obj) > 0 and sum(isinstance(v, Tensor) for v in obj.values()) >= max(1, len(obj) // 2)


def strip_module_prefix(sd: Mapping[str, Tensor]) -> "OrderedDict[str, Tensor]":
    """``nn.DataParallel`` saves every key as ``module.<key>``."""
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in sd.items())


def strip_common_prefix(sd: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    """``sd`` without ``prefix`` when EVERY key carries it (a whole model saved under one name); else unchanged."""
    if sd and all(k.startswith(prefix) for k in sd):
        return {k[len(prefix):]: v for k, v in sd.items()}
    return dict(sd)


def has_half_tensors(sd: Mapping[str, Any]) -> bool:
    return any(isinstance(v, Tensor) and v.dtype in (torch.float16, torch.bfloat16) for v in sd.values())


def as_float32(sd: Mapping[str, Any]) -> dict[str, Any]:
    """Floating tensors as float32 (files stored in half precision load into float32 models)."""
    return {k: v.float() if isinstance(v, Tensor) and v.is_floating_point() else v for k, v in sd.items()}


def key_list(keys: list[str], limit: int = 8) -> str:
    shown = ", ".join(keys[:limit])
    return shown + (f", ... ({len(keys)} in all)" if len(keys) > limit else "")


@dataclass(frozen=True)
class KeyMismatch:
    """How a state_dict differs from a module's: keys it lacks, keys it has extra, tensors of another shape."""

    missing: tuple[str, ...]
    unexpected: tuple[str, ...]
    wrong_shape: tuple[str, ...]  # "key (file shape) != (module shape)"

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_shape)


def compare_keys(expected: Mapping[str, Tensor], sd: Mapping[str, Tensor]) -> KeyMismatch:
    """``expected``: the module's state_dict (or part of it); ``sd``: what the file holds."""
    return KeyMismatch(
        tuple(k for k in expected if k not in sd),
        tuple(k for k in sd if k not in expected),
        tuple(f"{k} {tuple(sd[k].shape)} != {tuple(v.shape)}" for k, v in expected.items() if k in sd and sd[k].shape != v.shape),
    )


def load_strict(module: torch.nn.Module, sd: Mapping[str, Tensor], path: str, what: str) -> None:
    own = module.state_dict()
    # Files saved before PyTorch 0.4.1 have no BN ``num_batches_tracked`` (only used for momentum=None).
    sd = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked") and k not in sd}, **sd}
    diff = compare_keys(own, sd)
    if diff:
        missing, unexpected, shape_bad = list(diff.missing), list(diff.unexpected), list(diff.wrong_shape)
        raise CheckpointError(
            f"{path}: does not match {what} ({len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(shape_bad)} wrong shape). missing: {missing[:8]}; unexpected: {unexpected[:8]}; "
            f"shapes: {shape_bad[:4]}. Check that the factory options (backbone, trimap channel, variant) "
            "match the ones the checkpoint was trained with."
        )
    module.load_state_dict(sd, strict=True)


def portable_state_dict(module: nn.Module, half: bool = False) -> dict[str, Tensor]:
    """The module's state_dict on the CPU (floating tensors in float16 when ``half``), a submodule registered
    twice (MODNet's backbone) staying one tensor on disk instead of two copies."""
    state: dict[str, Tensor] = {}
    copies: dict[tuple, Tensor] = {}
    for k, v in module.state_dict().items():
        key = (v.data_ptr(), str(v.device), tuple(v.shape), v.dtype)
        if key not in copies:
            copies[key] = v.detach().cpu().half() if half and v.is_floating_point() else v.detach().cpu()
        state[k] = copies[key]
    return state


def save_atomic(obj: Any, path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file beside ``path``, then rename: an interrupted write never leaves a
    truncated checkpoint under the real name."""
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, p)
