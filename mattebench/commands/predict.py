"""`mattebench predict`: run a method on your own image, folder of images, or video; write mattes and composites."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional

import numpy as np

from ..contract import BatchPredictor
from ..data.trimap_values import read_checked_trimap
from ..errors import MattebenchError, PredictionError, SampleError
from ..io import IMAGE_EXTENSIONS, list_images, read_image, write_alpha, write_image
from ..prediction_io import write_alpha16
from ..registry import create_method, method_card
from ..scorer import check_prediction
from ..video.frames import input_kind, iter_frames
from ..video.ofd import CLOSE, FAR, OneFrameDelay
from ._options import parse_options
from .predict_names import NAMING_HELP, output_names

BACKGROUNDS = {"green": (0, 255, 0), "white": (255, 255, 255), "black": (0, 0, 0), "blue": (0, 0, 255)}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "predict",
        help="matte your own images, folders or videos",
        description="Run METHOD on INPUT (an image, a folder of images/frames, or a video). Writes <out>/alpha/<name>.png "
        "(8-bit mattes) and <out>/composite/<name>.png (the image over --background). " + NAMING_HELP + " An input that "
        "cannot be read, or whose prediction is not a valid matte (NaN, wrong shape, out of range), is reported and "
        "skipped; the others are written. Exit codes: 0 every input written, 3 some inputs failed (named on stderr), "
        "2 usage error.",
    )
    p.add_argument("--method", required=True)
    p.add_argument("--input", required=True, help="image file, folder of images (sorted by name = frame order), or video file")
    p.add_argument("--out", default="predictions", help="output folder (default: predictions)")
    p.add_argument("--checkpoint", default=None, help="weights file for the method")
    p.add_argument("--device", default=None, help="cpu, cuda, ... (torch methods)")
    p.add_argument("--trimap", default=None, help="trimap file (one image) or folder of trimaps named like the images (trimap-based methods)")
    p.add_argument("--trimap-snap", action="store_true",
                   help="map trimap values other than 0/128/255 (JPEG or resized trimaps) to the nearest class instead of failing the image")
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


EXIT_SOME_FAILED = 3  # like `run`: the command finished, some inputs failed (each is named on stderr)


@dataclass(frozen=True)
class Frame:
    """One input of the stream: its output name, where it came from, and its pixels (None when unreadable)."""

    name: str
    label: str
    stem: str
    image: Optional[np.ndarray]
    error: str = ""


def _frames(path: str, kind: str) -> Iterator[Frame]:
    """Inputs in order; an unreadable image becomes a Frame with its error instead of ending the stream."""
    if kind == "video":
        for name, image in iter_frames(path):
            yield Frame(name, name, name, image)
        return
    files = [Path(path)] if kind == "image" else _image_entries(Path(path))
    if not files:
        raise MattebenchError(f"folder {path} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    for f, name in zip(files, output_names(files)):
        try:
            yield Frame(name, str(f), f.stem, read_image(f))  # a broken link or a folder named x.png fails here, named
        except SampleError as exc:
            yield Frame(name, str(f), f.stem, None, str(exc))


def _image_entries(folder: Path) -> list[Path]:
    """Every visible entry with an image suffix, sorted: unlike :func:`list_images`, a broken link or a folder
    named like an image is kept, so that it is reported instead of silently missing from the output."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise MattebenchError(f"cannot list the folder {folder} ({exc.strerror or exc})") from exc
    return sorted(f for f in entries if not f.name.startswith(".") and f.suffix.lower() in IMAGE_EXTENSIONS)


def _trimap_for(frame: Frame, trimap: Optional[str], kind: str, snap: bool) -> Optional[np.ndarray]:
    if trimap is None:
        return None
    t = Path(trimap)
    if t.is_dir():
        matches = [f for f in list_images(t) if f.stem == frame.stem]
        same_file = [f for f in matches if f.name == Path(frame.label).name]
        if not matches:
            raise SampleError(f"no trimap named {frame.stem}.* in {t}", path=frame.label)
        if len(matches) > 1 and not same_file:
            raise SampleError(f"several trimaps named {frame.stem}.* in {t}: {', '.join(m.name for m in matches)}; keep one",
                              path=frame.label)
        path = (same_file or matches)[0]
    elif kind != "image":
        raise MattebenchError("--trimap must be a folder of trimaps when --input holds several images")
    else:
        path = t
    tri, _ = read_checked_trimap(path, snap)
    if frame.image is not None and tri.shape != frame.image.shape[:2]:
        raise SampleError(f"trimap is {tri.shape[1]}x{tri.shape[0]} but the image is {frame.image.shape[1]}x{frame.image.shape[0]}",
                          path=str(path))
    return tri


def _one(method: Any, frame: Frame, trimap: Optional[str], kind: str, snap: bool) -> np.ndarray:
    """The checked alpha of one input (HxW float32 in [0, 1]); any failure raises with the input named."""
    tri = _trimap_for(frame, trimap, kind, snap)
    assert frame.image is not None
    try:
        pred = method.predict(frame.image, tri)
    except (MattebenchError, MemoryError):
        raise
    except (Exception, SystemExit) as exc:  # a method bug on one image must not end the folder
        raise PredictionError(f"{frame.label}: method raised {type(exc).__name__}: {exc}") from exc
    return check_prediction(pred, frame.image.shape[:2], frame.label)


def _predict_stream(method: Any, frames: Iterable[Frame], batch: int, trimap: Optional[str], kind: str,
                    snap: bool = False) -> Iterator[tuple[Frame, Optional[np.ndarray], str]]:
    """Yield (frame, alpha or None, error) in input order, batching when the method can.

    A batch that fails is retried one image at a time, so that one bad image fails alone.
    """
    batched = batch > 1 and isinstance(method, BatchPredictor) and trimap is None
    pending: list[Frame] = []

    def single(f: Frame) -> tuple[Frame, Optional[np.ndarray], str]:
        if f.image is None:
            return f, None, f.error
        try:
            return f, _one(method, f, trimap, kind, snap), ""
        except MemoryError:
            return f, None, f"{f.label}: out of memory while predicting"
        except MattebenchError as exc:
            return f, None, str(exc)

    def flush() -> Iterator[tuple[Frame, Optional[np.ndarray], str]]:
        try:
            preds = list(method.predict_batch([f.image for f in pending]))
            if len(preds) != len(pending):
                raise PredictionError(f"predict_batch returned {len(preds)} mattes for {len(pending)} images")
            checked = [check_prediction(p, f.image.shape[:2], f.label) for f, p in zip(pending, preds)]  # type: ignore[union-attr]
        except (Exception, SystemExit):
            yield from (single(f) for f in pending)
            return
        yield from ((f, a, "") for f, a in zip(pending, checked))

    for f in frames:
        if not batched or f.image is None:
            if pending and f.image is None:
                yield from flush()
                pending = []
            yield single(f)
            continue
        pending.append(f)
        if len(pending) == batch:
            yield from flush()
            pending = []
    if pending:
        yield from flush()


def _writable(out: Path) -> None:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MattebenchError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from exc
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise MattebenchError(f"--out {out}: not a writable folder")


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
    if args.background not in (*BACKGROUNDS, "transparent", "none"):
        raise MattebenchError(f"--background {args.background!r}: choose {', '.join(BACKGROUNDS)}, transparent or none")
    if args.trimap and kind != "image" and not Path(args.trimap).is_dir():
        raise MattebenchError("--trimap must be a folder of trimaps when --input holds several images")
    out = Path(args.out)
    _writable(out)
    method = create_method(args.method, **mopts)
    ofd = OneFrameDelay() if args.ofd else None
    pending_frames: list[Frame] = []  # OFD lags one frame: keep the frame of the delayed matte
    written = 0
    failed: list[str] = []

    def emit(frame: Frame, alpha: np.ndarray) -> None:
        nonlocal written
        assert frame.image is not None
        try:
            if args.bits == 16:
                write_alpha16(out / "alpha" / f"{frame.name}.png", alpha)
            else:
                write_alpha(out / "alpha" / f"{frame.name}.png", alpha)
            if args.background != "none":
                write_image(out / "composite" / f"{frame.name}.png", composite(frame.image, alpha, args.background))
        except (OSError, ValueError) as exc:
            failed.append(f"{frame.label}: cannot write {out / 'alpha' / (frame.name + '.png')} ({exc})")
            return
        written += 1

    stream = _predict_stream(method, _frames(args.input, kind), args.batch, args.trimap, kind, args.trimap_snap)
    bar = None
    if not args.quiet and kind != "image":
        from tqdm import tqdm

        bar = tqdm(unit="frame" if kind == "video" else "image", desc=f"predict {args.method}", dynamic_ncols=True)
    for frame, alpha, error in stream:
        if alpha is None:
            failed.append(error or f"{frame.label}: failed")
            print(f"skipped: {failed[-1]}", file=sys.stderr)
        elif ofd is None:
            emit(frame, alpha)
        else:
            pending_frames.append(frame)
            fixed = ofd.push(alpha)
            if fixed is not None:
                emit(pending_frames.pop(0), fixed)
        if bar is not None:
            bar.update(1)
            if failed:
                bar.set_postfix(failed=len(failed))
    if ofd is not None:
        last = ofd.flush()
        if last is not None:
            emit(pending_frames.pop(0), last)
    if bar is not None:
        bar.close()
    where = f"{out / 'alpha'}" + ("" if args.background == "none" else f" and composites to {out / 'composite'}")
    print(f"wrote {written} matte(s) to {where}")
    if failed:
        print(f"{len(failed)} of {written + len(failed)} input(s) failed and were skipped:", file=sys.stderr)
        for line in failed:
            print(f"  - {line}", file=sys.stderr)
        return EXIT_SOME_FAILED
    return 0
