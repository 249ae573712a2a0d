"""``mattebench predict``: matte your own inputs. Run a registered method on an image, a folder of
images/frames or a video and write ``<out>/alpha/<name>.png`` and ``<out>/composite/<name>.png``.

Inputs that cannot be read, or whose prediction is not a valid matte, are reported (``on_skip``) and
skipped; every other input is written. The frames come from :mod:`mattebench.tracks.stream` (which also
names the outputs), the composites from :mod:`mattebench.data.compose`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

from mattebench.data.compose import check_background, composite
from mattebench.data.frames import input_kind
from mattebench.data.io import write_alpha, write_alpha16, write_image
from mattebench.errors import MattebenchError
from mattebench.methods.ofd import OneFrameDelay
from mattebench.methods.registry import create_method, method_card
from mattebench.tracks.recurrent_predict import is_recurrent, predict_clip
from mattebench.tracks.stream import (
    NAMING_HELP,  # noqa: F401  (the naming rule `predict --help` prints)
    Frame,
    Result,
    frames,
    predict_stream,
)


@dataclass(frozen=True)
class PredictJob:
    """What to predict and where to write it (the arguments of `mattebench predict`)."""

    method: str
    input: str
    out: Path
    method_options: dict[str, Any] = field(default_factory=dict)
    trimap: Optional[str] = None
    trimap_snap: bool = False
    ofd: bool = False
    batch: int = 1
    background: str = "green"
    bits: int = 8
    progress: bool = False


@dataclass(frozen=True)
class PredictOutcome:
    """How many mattes were written, and one line naming the input and reason per input that failed."""

    written: int
    failed: tuple[str, ...]
    speed: Any = None  # a recurrent model's model-only and end-to-end fps (tracks.recurrent_predict.Speed)


def check_job(job: PredictJob) -> str:
    """Refuse a job that cannot run before anything is loaded; returns the input kind (image, folder, video)."""
    card = method_card(job.method)
    if card.needs_trimap and not job.trimap:
        raise MattebenchError(f"{job.method} needs a trimap: pass --trimap FILE_OR_FOLDER")
    kind = input_kind(job.input)
    if job.ofd and kind == "image":
        raise MattebenchError("--ofd needs a sequence: pass a folder of frames or a video")
    check_background(job.background)
    if job.trimap and kind != "image" and not Path(job.trimap).is_dir():
        raise MattebenchError("--trimap must be a folder of trimaps when --input holds several images")
    return kind


def ensure_writable(out: Path) -> None:
    """Create ``out`` and check that it is a writable folder, naming the problem otherwise."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise MattebenchError(f"--out {out}: cannot create the folder ({exc.strerror or exc})") from exc
    if not out.is_dir() or not os.access(out, os.W_OK):
        raise MattebenchError(f"--out {out}: not a writable folder")


class _Writer:
    """Writes each frame's matte (and composite); a write that fails becomes a failed line, not an exception."""

    def __init__(self, job: PredictJob) -> None:
        self.job = job
        self.written = 0
        self.failed: list[str] = []

    def write(self, frame: Frame, alpha: np.ndarray) -> None:
        assert frame.image is not None
        out, job = self.job.out, self.job
        try:
            if job.bits == 16:
                write_alpha16(out / "alpha" / f"{frame.name}.png", alpha)
            else:
                write_alpha(out / "alpha" / f"{frame.name}.png", alpha)
            if job.background != "none":
                write_image(out / "composite" / f"{frame.name}.png", composite(frame.image, alpha, job.background))
        except (OSError, ValueError, MattebenchError) as exc:
            self.failed.append(f"{frame.label}: cannot write {out / 'alpha' / (frame.name + '.png')} ({exc})")
            return
        self.written += 1


def _progress_bar(job: PredictJob, kind: str) -> Any:
    """A tqdm bar over a sequence (none for one image or without ``progress``)."""
    if not job.progress or kind == "image":
        return None
    from tqdm import tqdm

    return tqdm(unit="frame" if kind == "video" else "image", desc=f"predict {job.method}", dynamic_ncols=True)


def _write_stream(stream: Any, writer: _Writer, ofd: Optional[OneFrameDelay], bar: Any,
                  on_skip: Callable[[str], None]) -> None:
    """Write every alpha of ``stream`` (through One-Frame-Delay when given), reporting failed inputs as they come."""
    pending_frames: list[Frame] = []  # OFD lags one frame: keep the frame of the delayed matte
    result: Result
    for result in stream:
        frame, alpha, error = result
        if alpha is None:
            writer.failed.append(error or f"{frame.label}: failed")
            on_skip(writer.failed[-1])
        elif ofd is None:
            writer.write(frame, alpha)
        else:
            pending_frames.append(frame)
            fixed = ofd.push(alpha)
            if fixed is not None:
                writer.write(pending_frames.pop(0), fixed)
        if bar is not None:
            bar.update(1)
            if writer.failed:
                bar.set_postfix(failed=len(writer.failed))
    if ofd is not None:
        last = ofd.flush()
        if last is not None:
            writer.write(pending_frames.pop(0), last)


def _predict_recurrent(job: PredictJob, method: Any, kind: str, on_skip: Callable[[str], None]) -> PredictOutcome:
    """A video or frame folder as one clip through a recurrent model: alpha and foreground per frame, two speeds."""
    if job.ofd or job.batch > 1:
        raise MattebenchError("--ofd and --batch do not apply to a recurrent model (it carries its own state frame to frame)")
    bar = _progress_bar(job, kind)
    written, failed, speed = predict_clip(job, method, kind, bar, on_skip)
    if bar is not None:
        bar.close()
    return PredictOutcome(written, tuple(failed), speed)


def predict_inputs(job: PredictJob, on_skip: Callable[[str], None] = lambda line: None) -> PredictOutcome:
    """Run ``job``: check it, create the method, stream every input through it and write the outputs.

    Errors that make the whole job impossible (unknown method, missing trimap, unwritable ``out``) raise
    before the method is created; a failed input is passed to ``on_skip`` as it happens and listed in
    the outcome.
    """
    kind = check_job(job)
    ensure_writable(job.out)
    method = create_method(job.method, **job.method_options)
    if is_recurrent(method) and kind != "image":
        return _predict_recurrent(job, method, kind, on_skip)
    writer = _Writer(job)
    stream = predict_stream(method, frames(job.input, kind), job.batch, job.trimap, kind, job.trimap_snap)
    bar = _progress_bar(job, kind)
    _write_stream(stream, writer, OneFrameDelay() if job.ofd else None, bar, on_skip)
    if bar is not None:
        bar.close()
    return PredictOutcome(writer.written, tuple(writer.failed))
