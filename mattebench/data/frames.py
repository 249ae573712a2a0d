"""Reading the inputs of `predict` and `adapt`: one image, a folder of images or frames, or a video file."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import numpy as np

from mattebench.data.io import IMAGE_EXTENSIONS, list_images, read_image
from mattebench.errors import MattebenchError

VIDEO_EXTENSIONS = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg")


def input_kind(path: str | Path) -> str:
    """'image', 'folder' or 'video' (MattebenchError if the path is none of them)."""
    p = Path(path)
    if p.is_dir():
        return "folder"
    if not p.exists():
        raise MattebenchError(f"input {p} not found")
    suffix = p.suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    raise MattebenchError(f"input {p}: not an image ({', '.join(IMAGE_EXTENSIONS)}), a folder or a video ({', '.join(VIDEO_EXTENSIONS)})")


def iter_frames(path: str | Path) -> Iterator[tuple[str, np.ndarray]]:
    """(name, HxWx3 uint8 RGB) in order: the image, the folder's images sorted by name, or the video's frames
    (named frame_000000 ...)."""
    p = Path(path)
    kind = input_kind(p)
    if kind == "image":
        yield p.stem, read_image(p)
    elif kind == "folder":
        files = list_images(p)
        if not files:
            raise MattebenchError(f"folder {p} holds no images ({', '.join(IMAGE_EXTENSIONS)})")
        for f in files:
            yield f.stem, read_image(f)
    else:
        import cv2

        cap = cv2.VideoCapture(str(p))
        if not cap.isOpened():
            raise MattebenchError(f"cannot open video {p} (OpenCV could not decode it; try extracting frames with ffmpeg)")
        try:
            i = 0
            while True:
                ok, bgr = cap.read()
                if not ok:
                    break
                yield f"frame_{i:06d}", np.ascontiguousarray(bgr[:, :, ::-1])
                i += 1
        finally:
            cap.release()
        if i == 0:
            raise MattebenchError(f"video {p} has no readable frames")
