"""Streaming inputs (an image, a folder of images or frames, a video) through a method, in order, and the
names their outputs are written under.

Each input becomes a :class:`Frame`; :func:`predict_stream` yields one checked matte or one error per
frame, batching when the method has a batch path. A bad input (unreadable, wrong trimap, a method
failure, an invalid matte) is an error for that frame only: the stream goes on.

Output names for `mattebench predict` (and any writer of one file per input): one distinct, deterministic name per input file.

Rule (also in ``predict --help``):

1. an input is named by its stem (``a.jpg`` -> ``a``);
2. inputs whose stems collide (``a.png`` and ``a.jpg``; compared case-insensitively, since macOS and
   Windows file systems do not tell ``A.png`` from ``a.png``) use their full file name instead
   (``a.png`` -> ``a.png``, ``a.jpg`` -> ``a.jpg``; the written files are ``a.png.png`` and ``a.jpg.png``);
3. a name that is still taken after that gets ``-2``, ``-3``, ... in sorted input order.

The same folder always gives the same names, and no two inputs ever write the same file.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Iterator, Optional, Sequence

import numpy as np

from mattebench.contract import BatchPredictor
from mattebench.data.frames import iter_frames
from mattebench.data.io import IMAGE_EXTENSIONS, list_images, read_image
from mattebench.data.trimap_values import read_checked_trimap
from mattebench.errors import MattebenchError, PredictionError, SampleError
from mattebench.scoring.scorer import check_prediction

NAMING_HELP = ("Outputs are named by the input's stem; when two inputs share a stem (a.png and a.jpg, compared "
               "case-insensitively) each is named by its full file name (a.png.png, a.jpg.png), and a name still taken "
               "gets -2, -3, ... in name order.")


def output_names(files: Sequence[Path]) -> list[str]:
    """One output name (without the ``.png``) per file, in the order given; see the module docstring."""
    stems = Counter(f.stem.casefold() for f in files)
    wanted = [f.stem if stems[f.stem.casefold()] == 1 else f.name for f in files]
    taken: set[str] = set()
    out: list[str] = []
    for name in wanted:
        candidate, k = name, 1
        while candidate.casefold() in taken:
            k += 1
            candidate = f"{name}-{k}"
        taken.add(candidate.casefold())
        out.append(candidate)
    return out



# ----------------------------------------------------------------------------------------------------
# Streaming inputs (an image, a folder of images or frames, a video) through a method, in order.
#
# Each input becomes a :class:`Frame`; :func:`predict_stream` yields one checked matte or one error per
# frame, batching when the method has a batch path. A bad input (unreadable, wrong trimap, a method
# failure, an invalid matte) is an error for that frame only: the stream goes on.
# ----------------------------------------------------------------------------------------------------

# (frame, its checked HxW float32 alpha or None, the error naming the input when the alpha is None)
Result = tuple["Frame", Optional[np.ndarray], str]


@dataclass(frozen=True)
class Frame:
    """One input of the stream: its output name, where it came from, and its pixels (None when unreadable)."""

    name: str
    label: str
    stem: str
    image: Optional[np.ndarray]
    error: str = ""


def frames(path: str, kind: str) -> Iterator[Frame]:
    """Inputs in order; an unreadable image becomes a Frame with its error instead of ending the stream."""
    if kind == "video":
        for name, image in iter_frames(path):
            yield Frame(name, name, name, image)
        return
    files = [Path(path)] if kind == "image" else image_entries(Path(path))
    if not files:
        raise MattebenchError(f"folder {path} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
    for f, name in zip(files, output_names(files)):
        try:
            yield Frame(name, str(f), f.stem, read_image(f))  # a broken link or a folder named x.png fails here, named
        except SampleError as exc:
            yield Frame(name, str(f), f.stem, None, str(exc))


def image_entries(folder: Path) -> list[Path]:
    """Every visible entry with an image suffix, sorted: unlike :func:`list_images`, a broken link or a folder
    named like an image is kept, so that it is reported instead of silently missing from the output."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise MattebenchError(f"cannot list the folder {folder} ({exc.strerror or exc})") from exc
    return sorted(f for f in entries if not f.name.startswith(".") and f.suffix.lower() in IMAGE_EXTENSIONS)


def trimap_for(frame: Frame, trimap: Optional[str], kind: str, snap: bool) -> Optional[np.ndarray]:
    """The checked trimap of one frame: ``trimap`` itself for one image, else its file of the same stem in that folder."""
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


def predict_one(method: Any, frame: Frame, trimap: Optional[str], kind: str, snap: bool) -> np.ndarray:
    """The checked alpha of one input (HxW float32 in [0, 1]); any failure raises with the input named."""
    tri = trimap_for(frame, trimap, kind, snap)
    assert frame.image is not None
    try:
        pred = method.predict(frame.image, tri)
    except (MattebenchError, MemoryError):
        raise
    except (Exception, SystemExit) as exc:  # a method bug on one image must not end the folder
        raise PredictionError(f"{frame.label}: method raised {type(exc).__name__}: {exc}") from exc
    return check_prediction(pred, frame.image.shape[:2], frame.label)


def _single(method: Any, f: Frame, trimap: Optional[str], kind: str, snap: bool) -> Result:
    """One frame on its own: its alpha, or its error (an out-of-memory error fails this frame only)."""
    if f.image is None:
        return f, None, f.error
    try:
        return f, predict_one(method, f, trimap, kind, snap), ""
    except MemoryError:
        return f, None, f"{f.label}: out of memory while predicting"
    except MattebenchError as exc:
        return f, None, str(exc)


def _batch(method: Any, pending: list[Frame], trimap: Optional[str], kind: str, snap: bool) -> Iterator[Result]:
    """One batch through ``predict_batch``; a batch that fails is retried one image at a time, so that one bad image fails alone."""
    try:
        preds = list(method.predict_batch([f.image for f in pending]))
        if len(preds) != len(pending):
            raise PredictionError(f"predict_batch returned {len(preds)} mattes for {len(pending)} images")
        checked = [check_prediction(p, f.image.shape[:2], f.label) for f, p in zip(pending, preds)]  # type: ignore[union-attr]
    except (Exception, SystemExit):
        yield from (_single(method, f, trimap, kind, snap) for f in pending)
        return
    yield from ((f, a, "") for f, a in zip(pending, checked))


def predict_stream(method: Any, frames: Iterable[Frame], batch: int, trimap: Optional[str], kind: str,
                   snap: bool = False) -> Iterator[Result]:
    """Yield (frame, alpha or None, error) in input order, batching when the method can.

    A batch that fails is retried one image at a time, so that one bad image fails alone.
    """
    batched = batch > 1 and isinstance(method, BatchPredictor) and trimap is None
    pending: list[Frame] = []
    for f in frames:
        if not batched or f.image is None:
            if pending and f.image is None:
                yield from _batch(method, pending, trimap, kind, snap)
                pending = []
            yield _single(method, f, trimap, kind, snap)
            continue
        pending.append(f)
        if len(pending) == batch:
            yield from _batch(method, pending, trimap, kind, snap)
            pending = []
    if pending:
        yield from _batch(method, pending, trimap, kind, snap)
