"""A grid of samples from any dataset: image, alpha, trimap side by side, so a person can judge them.

``save_sample_grid(dataset, path, n=12, ids=None)`` writes a PNG with one tile per sample, each tile
three panels wide (the image, the ground-truth alpha, the trimap or "no trimap"), captioned with the
sample id and, for the synthetic set, its diversity factors. Works for any object with the dataset
contract (``ids()``, ``load(id)``); for video datasets it shows the first annotated frame of each
clip. Headless (Agg backend).

Command line (``mattebench data show``)::

    mattebench data show synthetic --out leaderboards/figures/synthetic-samples.png -n 12 --dpi 80 --max-colours 256
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Optional, Sequence

import numpy as np

from mattebench.types import Clip, Sample


def _tile_arrays(item: Any) -> tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray], str]:
    """image, alpha, trimap and a caption for one Sample (or the first annotated frame of a Clip)."""
    if isinstance(item, Clip):
        t = min(item.alphas) if item.alphas else 0
        return item.frames[t], item.alphas.get(t), item.trimaps.get(t), f"{item.id} frame {t}"
    if not isinstance(item, Sample):
        raise TypeError(f"expected a Sample or a Clip, got {type(item).__name__}")
    return item.image, item.alpha, item.trimap, item.id


def _caption(item: Any, base: str) -> str:
    md = getattr(item, "metadata", {}) or {}
    if "full_body" not in md:
        return base
    first = [base, "full body" if md.get("full_body") else "half body", "blurred bg" if md.get("blurred_bg") else "sharp bg"]
    tags: list[str] = []
    if md.get("object"):
        tags.append(str(md["object"]).replace("_", " "))
    if md.get("veil"):
        tags.append("veil")
    if md.get("eyeglasses"):
        tags.append("glasses")
    if md.get("hair_style"):
        tags.append(f"{md['hair_style']} hair")
    if md.get("background"):
        tags.append(f"on {md['background']}")
    return ", ".join(first) + "\n" + ", ".join(tags)


def _pick_ids(dataset: Any, n: int, ids: Optional[Sequence[str]]) -> list[str]:
    if ids is not None:
        return list(ids)
    all_ids = list(dataset.ids())
    if len(all_ids) <= n:
        return all_ids
    # evenly spread over the dataset, deterministic
    idx = np.linspace(0, len(all_ids) - 1, n).round().astype(int)
    return [all_ids[i] for i in idx]


def save_sample_grid(dataset: Any, path: "str | Path", n: int = 12, ids: Optional[Sequence[str]] = None,
                     columns: int = 3, dpi: int = 80, max_colours: Optional[int] = None) -> Path:
    """Write the grid to ``path`` (PNG) and return the path. ``columns`` tiles per row.

    ``max_colours`` (e.g. 256) stores the PNG with an adaptive palette: about half the bytes, for
    figures that are committed; the alpha and trimap panels are grey and stay exact.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    chosen = _pick_ids(dataset, n, ids)
    if not chosen:
        raise ValueError("the dataset has no samples to show")
    items = [dataset.load(i) for i in chosen]
    cols = max(1, min(columns, len(items)))
    rows = (len(items) + cols - 1) // cols
    h0, w0 = _tile_arrays(items[0])[0].shape[:2]
    panel_w = 2.2
    panel_h = panel_w * h0 / w0
    fig, axes = plt.subplots(rows, cols * 3, figsize=(cols * 3 * panel_w, rows * (panel_h + 0.55)), squeeze=False)
    for ax in axes.ravel():
        ax.axis("off")
    for k, item in enumerate(items):
        r, c = divmod(k, cols)
        image, alpha, trimap, base = _tile_arrays(item)
        a0, a1, a2 = axes[r, 3 * c], axes[r, 3 * c + 1], axes[r, 3 * c + 2]
        a0.imshow(image)
        a0.set_title(_caption(item, base), fontsize=7, loc="left")
        if alpha is not None:
            a1.imshow(alpha, cmap="gray", vmin=0.0, vmax=1.0, interpolation="nearest")
            a1.set_title("\nalpha", fontsize=7)
        else:
            a1.text(0.5, 0.5, "no ground truth", ha="center", va="center", fontsize=8)
        if trimap is not None:
            a2.imshow(trimap, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
            a2.set_title("\ntrimap", fontsize=7)
        else:
            a2.text(0.5, 0.5, "no trimap", ha="center", va="center", fontsize=8)
    fig.tight_layout(pad=0.3, h_pad=0.4, w_pad=0.2)
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=dpi)
    plt.close(fig)
    if max_colours:
        from PIL import Image

        with Image.open(out) as im:
            rgb = im.convert("RGB")
        palette = rgb.quantize(colors=int(max_colours), method=Image.Quantize.MEDIANCUT)
        # error diffusion against that palette: no banding on gradients and blurred backgrounds
        rgb.quantize(palette=palette, dither=Image.Dither.FLOYDSTEINBERG).save(out, optimize=True)
    return out
