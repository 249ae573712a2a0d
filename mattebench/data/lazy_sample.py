"""A sample whose photograph and generated trimap are produced on first read, not when it is loaded.

Why (issue 23): scoring saved predictions under the whole-image protocol reads two files per sample, the
prediction and the ground truth. At PPM-100's sizes (1080p to 6000x4000) decoding the photo and generating a
trimap that no protocol reads cost more than the scoring itself. :class:`LazySample` is a
:class:`~mattebench.types.Sample` whose ``image`` and ``trimap`` are read by loaders the first time someone
reads the attribute (a method, a protocol that scores the unknown region, a figure), then kept. The photo's
size comes from its header (:func:`image_shape`), so the size checks need no decode.

What it changes for a reader: nothing but the moment a file is read. A photo that is truncated after its
header is refused when it is read (a method that sees it gets the sample's error row, as before); a run that
never reads it (saved predictions) scores the sample. The row digest (``mattebench.data.sample_inputs``)
hashes every listed file whether it was decoded or not, so resumes check the photo as before.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import numpy as np

from mattebench.data import io
from mattebench.data import trimap as trimap_recipe
from mattebench.errors import SampleError
from mattebench.types import Sample

Loader = Callable[[], np.ndarray]


class LazySample(Sample):
    """A Sample with ``image`` (and ``trimap``) read on first access by ``image_loader`` (``trimap_loader``).

    Assigning an attribute replaces the loader; ``dataclasses.replace`` reads the attributes it keeps (so
    a variant that transforms the photo reads it). Loaders are module-level callables (picklable).
    """

    def __init__(self, id: str, image: Optional[np.ndarray] = None, alpha: Optional[np.ndarray] = None,
                 trimap: Optional[np.ndarray] = None, fg: Optional[np.ndarray] = None, bg: Optional[np.ndarray] = None,
                 metadata: Optional[dict[str, Any]] = None, *, image_loader: Optional[Loader] = None,
                 image_shape: Optional[tuple[int, int]] = None, trimap_loader: Optional[Loader] = None) -> None:
        self._image_loader = image_loader if image is None else None
        self._trimap_loader = trimap_loader if trimap is None else None
        self._image_shape = None if image_shape is None else (int(image_shape[0]), int(image_shape[1]))
        super().__init__(id=id, image=image, alpha=alpha, trimap=trimap, fg=fg, bg=bg,  # type: ignore[arg-type]
                         metadata={} if metadata is None else metadata)

    @property  # type: ignore[override]
    def image(self) -> np.ndarray:
        if self._image is None and self._image_loader is not None:
            self._image, self._image_loader = self._image_loader(), None
        return self._image

    @image.setter
    def image(self, value: Optional[np.ndarray]) -> None:
        self._image = value
        if value is not None:
            self._image_loader = None

    @property  # type: ignore[override]
    def trimap(self) -> Optional[np.ndarray]:
        if self._trimap is None and self._trimap_loader is not None:
            self._trimap, self._trimap_loader = self._trimap_loader(), None
        return self._trimap

    @trimap.setter
    def trimap(self, value: Optional[np.ndarray]) -> None:
        self._trimap = value
        if value is not None:
            self._trimap_loader = None

    @property
    def image_shape(self) -> tuple[int, int]:
        """The photo's height and width, from its header while it is not read."""
        if self._image is None and self._image_shape is not None:
            return self._image_shape
        return tuple(self.image.shape[:2])  # type: ignore[return-value]

    def trimap_pending(self) -> bool:
        """Whether the trimap is still to be made (reading ``trimap`` would generate it)."""
        return self._trimap is None and self._trimap_loader is not None


def image_shape(s: Sample) -> tuple[int, int]:
    """Any sample's photo size (height, width), without decoding a lazy sample's photo."""
    return s.image_shape if isinstance(s, LazySample) else tuple(s.image.shape[:2])  # type: ignore[return-value]


def ready_trimap(s: Sample) -> Optional[np.ndarray]:
    """The sample's trimap if it is already there (read or given), None if it would have to be generated."""
    if isinstance(s, LazySample) and s.trimap_pending():
        return None
    return s.trimap


class PhotoReader:
    """Reads the photo as planned from its header: with or without the EXIF rotation, checked to have the
    planned size (a header that lied, or an EXIF block PIL cannot apply, is the sample's error)."""

    def __init__(self, path: Any, apply_exif: bool, shape: tuple[int, int]) -> None:
        self.path, self.apply_exif, self.shape = path, apply_exif, shape

    def __call__(self) -> np.ndarray:
        image = io.read_image(self.path, apply_exif=self.apply_exif)
        if image.shape[:2] != self.shape:
            h, w = image.shape[:2]
            raise SampleError(f"the photo decodes to {w}x{h} but its header says {self.shape[1]}x{self.shape[0]}; "
                              "the file is inconsistent: re-save or re-download it", path=str(self.path))
        return image


class TrimapFromAlpha:
    """Generates the recipe's trimap from the 8-bit ground truth when it is first read."""

    def __init__(self, alpha_u8: np.ndarray) -> None:
        self.alpha_u8 = alpha_u8

    def __call__(self) -> np.ndarray:
        return trimap_recipe.trimap_from_alpha(self.alpha_u8)
