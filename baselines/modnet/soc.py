"""Sub-Objectives Consistency (SOC): self-supervised adaptation of a trained MODNet to unlabeled images
(paper eq. 6-8).

For an unlabeled image, ``s, d, a = M(I)`` and ``d0 = M0(I)`` with M0 a frozen copy of M taken before SOC:

    L_cons = 1/2 ||G(a) - s||_2 + m_d ||a - d||_1      (eq. 7)
    L_dd   = m_d ||d0 - d||_1                             (eq. 8)

minimised together. Norm layers are frozen (eval mode, affine parameters fixed), as the paper says.

The transition region m_d of ``a`` follows the released code: foreground = (a > 0.1) and (up16(s) > 0.1);
m_d = pixels where a square dilation and erosion of it (side = 5 % of the mean of h and w) differ. Means over
m_d are taken over its pixels, and an image without transition pixels contributes 0 (the released code
divides by zero there and produces NaN).
"""

from __future__ import annotations

import copy
import csv
import os
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from mattebench.train.losses import masked_mean

from .losses import thumbnail
from .model import MODNet


def transition_region(matte: torch.Tensor, semantic: torch.Tensor) -> torch.Tensor:
    """Bx1xHxW binary mask of the boundary band of the predicted foreground (no gradient)."""
    with torch.no_grad():
        h, w = matte.shape[-2:]
        sem = F.interpolate((semantic > 0.1).float(), size=(h, w), mode="bilinear", align_corners=False)
        fg = (matte > 0.1).float() * sem
        side = max(1, int((h + w) / 2 * 0.05))
        pad = (side // 2, side - 1 - side // 2, side // 2, side - 1 - side // 2)
        dilated = F.max_pool2d(F.pad(fg, pad, value=0.0), side, stride=1)
        eroded = -F.max_pool2d(F.pad(-fg, pad, value=-1.0), side, stride=1)
        return (dilated != eroded).float()


def soc_loss(pred_semantic, pred_detail, pred_matte, frozen_detail, mask=None):
    """Eq. 7 + eq. 8 -> (total, parts). ``mask`` defaults to :func:`transition_region`."""
    m_d = transition_region(pred_matte, pred_semantic) if mask is None else mask
    semantic = 0.5 * F.mse_loss(thumbnail(pred_matte), pred_semantic)
    detail = masked_mean((pred_matte - pred_detail).abs(), m_d)
    keep = masked_mean((frozen_detail - pred_detail).abs(), m_d)
    parts = {"cons_semantic": semantic, "cons_detail": detail, "dd": keep}
    return semantic + detail + keep, parts


def trainable_after_freezing(model: MODNet) -> list[torch.nn.Parameter]:
    model.train()
    model.freeze_norm()
    return [p for p in model.parameters() if p.requires_grad]


def adapt(
    model: MODNet,
    images: Callable[[], Iterable[torch.Tensor]],
    steps: int,
    lr: float = 1e-5,
    out: Optional[str | os.PathLike[str]] = None,
    save: Optional[Callable[[Path], None]] = None,
    log_every: int = 10,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Run ``steps`` SOC iterations over ``images()`` (an iterable of 1x3xHxW tensors in [-1, 1] on the model's
    device; called again for every pass). Adam, batch 1, lr 1e-5 as in the released code: the paper's 1e-4
    (batch unstated) diverged at batch 1 on synthetic-video (whole-image MSE 0.0136 -> 0.0528 after 40 steps,
    the L_dd term rising fivefold), where 1e-5 improved it (0.0136 -> 0.0123). Writes ``soc.csv`` and, through
    ``save``, ``soc.ckpt`` to ``out``. Returns the logged rows."""
    frozen = copy.deepcopy(model).eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    opt = torch.optim.Adam(trainable_after_freezing(model), lr=lr, betas=(0.9, 0.99))
    out_dir = Path(out) if out else None
    if out_dir:
        out_dir.mkdir(parents=True, exist_ok=True)
    rows: list[dict[str, Any]] = []
    window: list[dict[str, float]] = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=steps, unit="step", desc="SOC", dynamic_ncols=True)
    t0, step = time.perf_counter(), 0
    while step < steps:
        seen = 0
        for x in images():
            seen += 1
            s, d, a = model(x, False)
            with torch.no_grad():
                _, d0, _ = frozen(x, False)
            loss, parts = soc_loss(s, d, a, d0)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"SOC loss became {float(loss)} at step {step}; lower --lr")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            window.append({"loss": float(loss.detach()), **{k: float(v.detach()) for k, v in parts.items()}})
            if bar is not None:
                bar.update(1)
            if step % log_every == 0 or step == steps:
                row = {"step": step, **{k: float(np.mean([w[k] for w in window])) for k in window[0]}, "elapsed_s": round(time.perf_counter() - t0, 1)}
                rows.append(row)
                window = []
            if step >= steps:
                break
        if seen == 0:
            raise ValueError("SOC got no images to adapt on")
    if bar is not None:
        bar.close()
    model.eval()
    if out_dir:
        with open(out_dir / "soc.csv", "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        if save:
            save(out_dir / "soc.ckpt")
    return rows
