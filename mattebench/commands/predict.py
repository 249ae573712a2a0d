"""`mattebench predict`: run a method on your own image, folder of images, or video; write mattes and composites."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Iterator, Optional

import numpy as np

from ..errors import MattebenchError
from ..io import list_images, read_trimap, write_alpha, write_image
from ..prediction_io import write_alpha16
from ..registry import create_method, method_card
from ..video.frames import input_kind, iter_frames
from ..video.ofd import CLOSE, FAR, OneFrameDelay
from ._options import parse_options

BACKGROUNDS = {"green": (0, 255, 0), "white": (255, 255, 255), "black": (0, 0, 0), "blue": (0, 0, 255)}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="matte your own images, folders or videos",
        description="Run METHOD on INPUT (an image, a folder of images/frames, or a video). Writes <out>/alpha/<name>.png "
        "(8-bit mattes) and <out>/composite/<name>.png (the image over --background).",
    )
    p.add_argument("--method", required=True)
    p.add_argument("--input", required=True, help="image file, folder of images (sorted by name = frame order), or video file")
    p.add_argument("--out", default="predictions", help="output folder (default: predictions)")
    p.add_argument("--checkpoint", default=None, help="weights file for the method")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (torch methods)")
    p.add_argument("--trimap", default=None, help="trimap file (one image) or folder of trimaps named like the images (trimap-based methods)")
    p.add_argument("--ofd", action="store_true", help=f"One-Frame-Delay flicker removal over the sequence (thresholds {CLOSE}/{FAR})")
    p.add_argument("--batch", type=int, default=1, help="images per forward pass when the method has a batch path (GPU throughput)")
    p.add_argument("--background", default="green", help="composite background: green, white, black, blue, transparent (RGBA), or none")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("--bits", type=int, choices=(8, 16), default=8,
                   help="matte PNG depth: 8 (default) or 16 (what `run --save-alphas` writes; `run --predictions` reads both)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def composite(image: np.ndarray, alpha: np.ndarray, background: str) -> np.ndarray:
    if background == "transparent":
        return np.dstack([image, np.round(alpha * 255).astype(np.uint8)])
    if background not in BACKGROUNDS:
        raise MattebenchError(f"--background {background!r}: choose {', '.join(BACKGROUNDS)}, transparent or none")
    a = alpha[..., None].astype(np.float32)
    bg = np.array(BACKGROUNDS[background], np.float32)
    return np.clip(np.round(a * image + (1 - a) * bg), 0, 255).astype(np.uint8)


def _trimap_for(name: str, trimap: Optional[str], kind: str) -> Optional[np.ndarray]:
    if trimap is None:
        return None
    t = Path(trimap)
    if t.is_dir():
        matches = [f for f in list_images(t) if f.stem == name]
        if not matches:
            raise MattebenchError(f"no trimap named {name}.* in {t}")
        return read_trimap(matches[0])
    if kind != "image":
        raise MattebenchError("--trimap must be a folder of trimaps when --input holds several images")
    return read_trimap(t)


def _predict_stream(method: Any, frames: Iterator[tuple[str, np.ndarray]], batch: int, trimap: Optional[str], kind: str):
    """Yield (name, image, alpha) in input order, batching when the method can."""
    batched = batch > 1 and callable(getattr(method, "predict_batch", None)) and trimap is None
    pending: list[tuple[str, np.ndarray]] = []
    for name, image in frames:
        if not batched:
            yield name, image, method.predict(image, _trimap_for(name, trimap, kind))
            continue
        pending.append((name, image))
        if len(pending) == batch:
            yield from zip(*zip(*pending), method.predict_batch([im for _, im in pending]))
            pending = []
    if pending:
        yield from zip(*zip(*pending), method.predict_batch([im for _, im in pending]))


def run(args: argparse.Namespace) -> int:
    mopts = parse_options(args.method_opts)
    if args.checkpoint:
        mopts["checkpoint"] = args.checkpoint
    if args.device:
        mopts["device"] = args.device
    card = method_card(args.method)
    if card.needs_trimap and not args.trimap:
        raise MattebenchError(f"{args.method} needs a trimap: pass --trimap FILE_OR_FOLDER")
    kind = input_kind(args.input)
    if args.ofd and kind == "image":
        raise MattebenchError("--ofd needs a sequence: pass a folder of frames or a video")
    method = create_method(args.method, **mopts)
    out = Path(args.out)
    ofd = OneFrameDelay() if args.ofd else None
    pending_names: list[tuple[str, np.ndarray]] = []  # OFD lags one frame: keep the image of the delayed frame
    written = 0

    def emit(name: str, image: np.ndarray, alpha: np.ndarray) -> None:
        nonlocal written
        if args.bits == 16:
            write_alpha16(out / "alpha" / f"{name}.png", alpha)
        else:
            write_alpha(out / "alpha" / f"{name}.png", alpha)
        if args.background != "none":
            write_image(out / "composite" / f"{name}.png", composite(image, alpha, args.background))
        written += 1

    stream = _predict_stream(method, iter_frames(args.input), args.batch, args.trimap, kind)
    bar = None
    if not args.quiet and kind != "image":
        from tqdm import tqdm

        bar = tqdm(unit="frame" if kind == "video" else "image", desc=f"predict {args.method}", dynamic_ncols=True)
    for name, image, alpha in stream:
        if ofd is None:
            emit(name, image, alpha)
        else:
            pending_names.append((name, image))
            fixed = ofd.push(alpha)
            if fixed is not None:
                emit(*pending_names.pop(0), fixed)
        if bar is not None:
            bar.update(1)
    if ofd is not None:
        last = ofd.flush()
        if last is not None:
            emit(*pending_names.pop(0), last)
    if bar is not None:
        bar.close()
    print(f"wrote {written} matte(s) to {out / 'alpha'}" + ("" if args.background == "none" else f" and composites to {out / 'composite'}"))
    return 0
