"""``mattebench predict`` with a recurrent model (``--method onnx -m preset=rvm``): a video file or a folder of frames
is one clip, predicted in order with the model's state carried from frame to frame, and every frame's alpha and
foreground are written (``<out>/alpha/``, ``<out>/foreground/``; ``<out>/composite/`` unless ``--background none``).

The speed is reported two ways (:class:`Speed`): the model calls alone, which is what published speed tests time
(tensors already in memory), and end to end: decoding, preprocessing, the state, writing the files.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from mattebench.data.compose import composite
from mattebench.data.io import write_alpha, write_alpha16, write_image
from mattebench.errors import MattebenchError
from mattebench.tracks.stream import frames


def is_recurrent(method: Any) -> bool:
    """A method that predicts a clip frame by frame with a state (``start_clip`` then ``step``)."""
    return callable(getattr(method, "start_clip", None)) and callable(getattr(method, "step", None))


@dataclass(frozen=True)
class Speed:
    frames: int
    model_fps: float
    end_to_end_fps: float

    def text(self) -> str:
        return (f"{self.frames} frames: {self.model_fps:.1f} fps in the model alone (what published speed tests time), "
                f"{self.end_to_end_fps:.1f} fps end to end (decode, preprocessing, state, writing)")


def predict_clip(job: Any, method: Any, kind: str, bar: Any, on_skip: Callable[[str], None]) -> tuple[int, list[str], Speed]:
    """(written, failed lines, speed) of one clip through a recurrent method."""
    written, failed = 0, []
    size = None
    model_before = method.timing.model_s
    start = time.perf_counter()
    for f in frames(job.input, kind):
        try:
            if f.image is None:
                raise MattebenchError(f.error or f"{f.label}: unreadable")
            if size is None:
                size = f.image.shape[:2]
                method.start_clip(*size)  # a zero state at the clip's first frame
            elif f.image.shape[:2] != size:
                raise MattebenchError(f"{f.label}: {f.image.shape[1]}x{f.image.shape[0]}, the clip is {size[1]}x{size[0]}")
            alpha, fgr = method.step(f.image)
            (write_alpha16 if job.bits == 16 else write_alpha)(job.out / "alpha" / f"{f.name}.png", alpha)
            write_image(job.out / "foreground" / f"{f.name}.png", fgr)
            if job.background != "none":
                write_image(job.out / "composite" / f"{f.name}.png", composite(f.image, alpha, job.background))
            written += 1
        except (OSError, ValueError, MattebenchError) as exc:
            failed.append(str(exc) if isinstance(exc, MattebenchError) else f"{f.label}: {exc}")
            on_skip(failed[-1])
        if bar is not None:
            bar.update(1)
    total = time.perf_counter() - start
    model = method.timing.model_s - model_before
    n = written
    return written, failed, Speed(n, n / model if model > 0 else float("nan"), n / total if total > 0 else float("nan"))
