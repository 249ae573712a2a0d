"""Reading weight files: wrapper dicts, ``module.`` prefixes, clear errors."""

from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Mapping

import torch
from torch import Tensor

from mattebench.errors import CheckpointError

# Keys under which training scripts commonly nest the weights (ours writes "state_dict").
WRAPPER_KEYS = ("state_dict", "model_state_dict", "model", "net", "params")


def read_state_dict(path: str | os.PathLike[str]) -> "OrderedDict[str, Tensor]":
    """Load a file holding a state_dict (possibly wrapped) with ``weights_only=True``."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint {path!r} does not exist; give the path of a weight file you downloaded")
    try:
        obj: Any = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt file, pickle with code objects, ...
        raise CheckpointError(f"{path}: cannot be read as a torch weight file ({type(exc).__name__}: {exc})") from exc
    for _ in range(3):  # nested wrappers such as {"model": {"state_dict": ...}}
        if isinstance(obj, Mapping) and not _looks_like_state_dict(obj):
            inner = next((obj[k] for k in WRAPPER_KEYS if k in obj and isinstance(obj[k], Mapping)), None)
            if inner is None:
                break
            obj = inner
    if not isinstance(obj, Mapping) or not _looks_like_state_dict(obj):
        raise CheckpointError(f"{path}: holds no state_dict (found {type(obj).__name__} with keys {list(obj)[:5] if isinstance(obj, Mapping) else ''})")
    return OrderedDict((str(k), v) for k, v in obj.items() if isinstance(v, Tensor))


def _looks_like_state_dict(obj: Mapping[str, Any]) -> bool:
    return len(obj) > 0 and sum(isinstance(v, Tensor) for v in obj.values()) >= max(1, len(obj) // 2)


def strip_module_prefix(sd: Mapping[str, Tensor]) -> "OrderedDict[str, Tensor]":
    """``nn.DataParallel`` saves every key as ``module.<key>``."""
    return OrderedDict((k[7:] if k.startswith("module.") else k, v) for k, v in sd.items())


def load_strict(module: torch.nn.Module, sd: Mapping[str, Tensor], path: str, what: str) -> None:
    own = module.state_dict()
    # Files saved before PyTorch 0.4.1 have no BN ``num_batches_tracked`` (only used for momentum=None).
    sd = {**{k: v for k, v in own.items() if k.endswith("num_batches_tracked") and k not in sd}, **sd}
    missing = [k for k in own if k not in sd]
    unexpected = [k for k in sd if k not in own]
    shape_bad = [f"{k} {tuple(sd[k].shape)} != {tuple(own[k].shape)}" for k in own if k in sd and sd[k].shape != own[k].shape]
    if missing or unexpected or shape_bad:
        raise CheckpointError(
            f"{path}: does not match {what} ({len(missing)} missing, {len(unexpected)} unexpected, "
            f"{len(shape_bad)} wrong shape). missing: {missing[:8]}; unexpected: {unexpected[:8]}; "
            f"shapes: {shape_bad[:4]}. Check that the factory options (backbone, trimap channel, variant) "
            "match the ones the checkpoint was trained with."
        )
    module.load_state_dict(sd, strict=True)
