"""One prediction scored with every convention, next to the mattebench reference values (`mattebench conventions --pred`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional

import numpy as np

from mattebench.data.io import read_alpha, read_alpha_u8, read_trimap
from mattebench.data.io import read_prediction as read_saved_prediction
from mattebench.errors import MattebenchError
from mattebench.metrics import fast as M
from mattebench.metrics.conventions import metric_of, score


def read_prediction(path: str) -> np.ndarray:
    """A predicted alpha from an image file, or a .npy holding a float HxW alpha in [0, 1] (or uint8 0..255).

    ``.npy`` goes through the saved-prediction reader (:func:`mattebench.data.io.read_prediction`): a FIFO is
    refused without blocking, the header's shape is held to the pixel limit before any data is read.
    """
    if Path(path).suffix.lower() == ".npy":
        a = read_saved_prediction(path)
        if a.ndim != 2:
            raise MattebenchError(f"{path}: expected a finite HxW float alpha in [0, 1], got shape {a.shape}")
        return np.clip(a, 0.0, 1.0)
    return read_alpha(path)


def pair_values(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """One record per convention metric: its value and, where one exists, the reference value
    column the convention names as its counterpart (``ConventionMetric.reference``)."""
    if gt.shape != pred.shape or (trimap is not None and trimap.shape != pred.shape):
        raise MattebenchError(f"--pred, --gt and --trimap differ in size: {pred.shape}, {gt.shape}, {None if trimap is None else trimap.shape}")
    ref: dict[str, float] = {"mse_whole": M.mse_whole(pred, gt), "mad_whole": M.mad_whole(pred, gt)}
    if trimap is not None:
        ref.update(M.unknown_metrics(M.quantize(pred), M.quantize(gt), trimap))
    values = score(pred, gt, trimap, names)
    out = []
    for col, v in values.items():
        conv, m = metric_of(col)
        out.append({"convention": conv.name, "metric": m.label, "column": col, "scale": m.scale, "value": v,
                    "reference_column": m.reference if m.reference in ref else None, "reference": ref.get(m.reference)})
    return out


def pair_values_from_files(pred: str, gt: str, trimap: Optional[str], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """:func:`pair_values` of the files ``pred`` (image or .npy), ``gt`` (8-bit alpha) and ``trimap`` (0/128/255 or None)."""
    gt_u8 = read_alpha_u8(gt)
    tri = read_trimap(trimap) if trimap else None
    return pair_values(read_prediction(pred), gt_u8, tri, names)
