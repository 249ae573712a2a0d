"""Small fake dataset trees in the official layouts (never real data), for the dataset tests.

Pixels are random but seeded, alphas have 0, 255 and fractional values, sizes are tiny.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
from PIL import Image

from mattebench.data.comp1k import AMD_PORTRAITS


def rgb(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    return rng.integers(0, 256, size=(h, w, 3), dtype=np.uint8)


def soft_alpha(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A blob: 255 inside, 0 outside, a fractional ring in between (plus a few random values)."""
    yy, xx = np.mgrid[0:h, 0:w]
    r = np.hypot((yy - h / 2) / (h / 2), (xx - w / 2) / (w / 2))
    a = np.clip((0.8 - r) / 0.3, 0, 1)
    a8 = np.round(a * 255).astype(np.uint8)
    noise = rng.integers(0, 256, size=(h, w), dtype=np.uint8)
    ring = (a8 > 0) & (a8 < 255)
    a8[ring] = np.clip(noise[ring], 1, 254)
    return a8


def save(path: Path, arr: np.ndarray, **kw) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(arr).save(path, **kw)
    return path


def reference_composite(fg_path: Path, alpha_path: Path, bg_path: Path) -> np.ndarray:
    """An independent, literal per-pixel implementation of the official rule (slow; tiny images only).

    Follows the official Composition_code.py of the Deep Image Matting dataset: PIL open, RGB conversion, BICUBIC upscale to
    ceil(size * ratio) only when ratio > 1, top-left crop, per-channel int(a/255*fg + (1-a/255)*bg)
    with a == 255 copying fg and a == 0 keeping bg.
    """
    fg = Image.open(fg_path)
    a = Image.open(alpha_path)
    w, h = fg.size
    if fg.mode not in ("RGB", "RGBA"):
        fg = fg.convert("RGB")
    bg = Image.open(bg_path)
    if bg.mode != "RGB":
        bg = bg.convert("RGB")
    bw, bh = bg.size
    ratio = max(w / bw, h / bh)
    if ratio > 1:
        bg = bg.resize((math.ceil(bw * ratio), math.ceil(bh * ratio)), Image.BICUBIC)
    bg = bg.crop((0, 0, w, h))
    fp, bp, ap = fg.load(), bg.load(), a.load()
    out = np.zeros((h, w, 3), np.uint8)
    for y in range(h):
        for x in range(w):
            alpha = ap[x, y] / 255
            f, b = fp[x, y], bp[x, y]
            for c in range(3):
                if alpha >= 1:
                    out[y, x, c] = int(f[c])
                elif alpha > 0:
                    out[y, x, c] = int(alpha * f[c] + (1 - alpha) * b[c])
                else:
                    out[y, x, c] = int(b[c])
    return out


def write_list(path: Path, names: Sequence[str], crlf: bool = False, final_newline: bool = True) -> Path:
    sep = "\r\n" if crlf else "\n"
    text = sep.join(names) + (sep if final_newline else "")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode())
    return path


def make_comp1k(root: Path, fg_names: Optional[Sequence[str]] = None, per_fg: int = 20, seed: int = 0,
                crlf: bool = False, voc: str = "VOCdevkit/VOC2012/JPEGImages") -> dict:
    """Combined_Dataset/Test_set in the official layout plus a VOC-like JPEG folder.

    Default foregrounds: the 11 AMD portraits plus one non-portrait, listed in a non-sorted order.
    Background sizes vary so that both the upscale and the crop-only paths run.
    """
    rng = np.random.default_rng(seed)
    if fg_names is None:
        fg_names = ["zebra-object_1920.png", *AMD_PORTRAITS[::-1]]
    test = root / "Combined_Dataset" / "Test_set"
    adobe = test / "Adobe-licensed images"
    bg_names = [f"2008_{i:06d}.jpg" for i in range(per_fg * len(fg_names))]
    write_list(test / "test_fg_names.txt", fg_names, crlf=crlf)
    write_list(test / "test_bg_names.txt", bg_names, crlf=crlf, final_newline=not crlf)
    sizes = {}
    for i, name in enumerate(fg_names):
        h, w = 10 + i % 3, 12 + (i * 5) % 7
        sizes[name] = (h, w)
        save(adobe / "fg" / name, rgb(rng, h, w))
        save(adobe / "alpha" / name, soft_alpha(rng, h, w))
        for k in range(per_fg):
            tri = np.full((h, w), 128, np.uint8)
            tri[: k % h] = 0
            tri[h - 1] = 255
            save(adobe / "trimaps" / f"{Path(name).stem}_{k}.png", tri)
    for j, bname in enumerate(bg_names):
        bh, bw = [(6, 9), (30, 40), (11, 8), (9, 30)][j % 4]
        save(root / voc / bname, rgb(rng, bh, bw), quality=90)
    return {"fg_names": list(fg_names), "bg_names": bg_names, "adobe": adobe, "test": test, "bg_dir": root / voc, "sizes": sizes}


def make_d646(root: Path, n: int = 12, per_fg: int = 20, seed: int = 1, bg_list_name: str = "bg_test.txt") -> dict:
    rng = np.random.default_rng(seed)
    test = root / "Distinctions-646" / "Test"
    fg_names = [f"test_{i}.png" for i in range(n)]
    for i, name in enumerate(fg_names):
        h, w = 12 + i % 4, 14 + i % 3
        save(test / "FG" / name, rgb(rng, h, w))
        save(test / "GT" / name, soft_alpha(rng, h, w))
    bg_names = [f"2009_{i:06d}.jpg" for i in range(per_fg * n)]
    write_list(test / bg_list_name, bg_names, crlf=True, final_newline=False)  # as shipped: CRLF, no final newline
    voc = root / "VOCdevkit" / "VOC2012" / "JPEGImages"
    for j, bname in enumerate(bg_names):
        bh, bw = [(7, 9), (40, 33)][j % 2]
        save(voc / bname, rgb(rng, bh, bw), quality=90)
    return {"fg_names": fg_names, "bg_names": bg_names, "test": test, "bg_dir": voc}


def make_pairs(image_dir: Path, alpha_dir: Path, stems: Sequence[str], image_ext: str = ".jpg", alpha_ext: str = ".png",
               trimap_dir: Optional[Path] = None, seed: int = 2, h: int = 16, w: int = 20, alpha_mode: str = "L") -> None:
    rng = np.random.default_rng(seed)
    for s in stems:
        save(image_dir / f"{s}{image_ext}", rgb(rng, h, w), **({"quality": 95} if image_ext == ".jpg" else {}))
        a = soft_alpha(rng, h, w)
        if alpha_mode == "RGB":
            save(alpha_dir / f"{s}{alpha_ext}", np.repeat(a[:, :, None], 3, axis=2))
        else:
            save(alpha_dir / f"{s}{alpha_ext}", a, **({"quality": 95} if alpha_ext == ".jpg" else {}))
        if trimap_dir is not None:
            t = np.full((h, w), 128, np.uint8)
            t[:3] = 0
            t[-3:] = 255
            save(trimap_dir / f"{s}.png", t)


def make_crgnn(root: Path, videos: Sequence[str] = ("v01", "v02"), n_frames: int = 25, seed: int = 3, h: int = 9, w: int = 16) -> dict:
    rng = np.random.default_rng(seed)
    gt = {}
    for v in videos:
        for f in range(1, n_frames + 1):
            name = f"frame{f:05d}.png"
            save(root / "image_allframe" / v / name, rgb(rng, h, w))
            if (f - 1) % 10 == 0:
                a = soft_alpha(rng, h, w)
                gt[(v, f - 1)] = a
                save(root / "alpha" / v / name, a)
                t = np.where(a == 0, 0, np.where(a == 255, 255, 128)).astype(np.uint8)
                save(root / "trimap" / v / name, t)
                save(root / "image" / v / name, rgb(rng, h, w))
    return {"gt": gt}
