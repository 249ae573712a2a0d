"""The official MODNet image preprocessing (demo/image_matting inference), reproduced exactly.

- RGB scaled to [-1, 1]: ``x = (rgb / 255 - 0.5) / 0.5``;
- ``ref = 512``: when ``max(h, w) < 512`` or ``min(h, w) > 512`` the short side becomes 512 and the long
  side ``int(long / short * 512)``; otherwise the size is kept;
- both sides rounded DOWN to a multiple of 32;
- resized in with ``mode='area'``; the matte resized back to (h, w) with ``mode='area'``.

One guard the official code lacks: a side that would round to 0 (an image under 32 pixels on a side that
is kept as it is) becomes 32, instead of a crash.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..common.torch_method import trimap_to_tensor  # the {0, 0.5, 1} trimap coding every network here uses

REF_SIZE = 512
MULTIPLE = 32


def inference_size(h: int, w: int, ref: int = REF_SIZE, multiple: int = MULTIPLE) -> tuple[int, int]:
    """(height, width) at which MODNet runs for an h x w image."""
    if max(h, w) < ref or min(h, w) > ref:
        if w >= h:
            rh, rw = ref, int(w / h * ref)
        else:
            rh, rw = int(h / w * ref), ref
    else:
        rh, rw = h, w
    return max(multiple, rh - rh % multiple), max(multiple, rw - rw % multiple)


def normalise(image: np.ndarray) -> torch.Tensor:
    """HxWx3 uint8 RGB (HxW grey or HxWx4 RGBA accepted) -> 1x3xHxW float32 in [-1, 1]."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.shape[2] == 4:
        a = a[:, :, :3]
    elif a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    a = np.ascontiguousarray(a)
    if not a.flags.writeable:  # torch.from_numpy warns on read-only arrays (e.g. broadcast views)
        a = a.copy()
    x = torch.from_numpy(a).permute(2, 0, 1)[None].float()
    return (x / 255.0 - 0.5) / 0.5


def prepare(image: np.ndarray, ref: int = REF_SIZE, multiple: int = MULTIPLE) -> tuple[torch.Tensor, tuple[int, int]]:
    """Image -> (model input 1x3xH'xW', original (h, w))."""
    x = normalise(image)
    h, w = x.shape[-2:]
    size = inference_size(h, w, ref, multiple)
    return F.interpolate(x, size=size, mode="area"), (h, w)


def restore(matte: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bx1xH'xW' matte -> Bx1xhxw by area resizing (the official inverse step)."""
    return F.interpolate(matte, size=size, mode="area")


def encode_trimap(trimap: np.ndarray, size: tuple[int, int]) -> torch.Tensor:
    """HxW uint8 trimap (0 background, 255 foreground, anything else unknown) -> 1x1xH'xW' in {-1, 0, 1}
    at the inference size, resized by nearest neighbour so that no new unknown values appear. The
    training trimaps (0, 0.5, 1 in [0, 1]) map to the same three values by ``(t - 0.5) / 0.5``."""
    return F.interpolate((trimap_to_tensor(trimap) - 0.5) / 0.5, size=size, mode="nearest")
