"""Trimap files whose values are not exactly 0, 128 and 255.

A trimap saved as JPEG, or resized with anything but nearest-neighbour, grows values such as 127,
129 or 3. The DIM metrics count only ``== 128`` as unknown and pymatting treats every value other
than 0 and 255 as unknown, so such a trimap would score a different region from the one its author
drew, silently. Every dataset that reads trimap files goes through :func:`read_checked_trimap`:

- by default a stray value fails the sample (SampleError naming the file, the values and how many
  pixels hold each), so no number is computed from it;
- with ``-d trimap_snap=true`` each pixel is mapped to the nearest class and the sample carries a
  ``trimap_snapped`` note (file, values, pixel counts), which reaches its row and the run's provenance.

Nearest class: 0..63 -> 0, 64..191 -> 128, 192..255 -> 255. 64 is equally far from 0 and 128: it
goes to unknown, the conservative choice (an unknown pixel is scored; a known one is forced).
"""

from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

import numpy as np

from mattebench.data.io import read_trimap
from mattebench.errors import SampleError

TRIMAP_CLASSES = (0, 128, 255)
TRIMAP_SNAPPED = "trimap_snapped"
SNAP_OPTION = "trimap_snap"
_SHOWN = 8  # values listed in a message; the rest are summed up

# value -> nearest class, ties (64) to unknown.
_NEAREST = np.array([0 if v < 64 else (128 if v < 192 else 255) for v in range(256)], dtype=np.uint8)


def stray_values(trimap: np.ndarray) -> dict[int, int]:
    """value -> pixel count for every value other than 0, 128 and 255 (empty for a clean trimap)."""
    counts = np.bincount(np.asarray(trimap, dtype=np.uint8).ravel(), minlength=256)
    return {v: int(counts[v]) for v in np.flatnonzero(counts) if int(v) not in TRIMAP_CLASSES}


def describe_stray(stray: dict[int, int], total: int) -> str:
    """``127 (x312), 129 (x40), ... = 352 of 10000 pixels``: the most frequent values first."""
    order = sorted(stray.items(), key=lambda kv: (-kv[1], kv[0]))
    shown = ", ".join(f"{v} (x{n})" for v, n in order[:_SHOWN])
    more = f" and {len(order) - _SHOWN} more values" if len(order) > _SHOWN else ""
    return f"{shown}{more} = {sum(stray.values())} of {total} pixels"


def snap(trimap: np.ndarray) -> np.ndarray:
    """Each pixel mapped to the nearest of 0, 128, 255 (see the module docstring for ties)."""
    return _NEAREST[np.asarray(trimap, dtype=np.uint8)]


def parse_snap_option(value: object) -> bool:
    """``-d trimap_snap=`` accepts true/false (and 1/0); anything else is a usage error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no", "1", "0"):
        return value.strip().lower() in ("true", "yes", "1")
    from mattebench.errors import (
        DatasetNotFound,  # the error the dataset constructors raise for bad options
    )

    raise DatasetNotFound(f"-d {SNAP_OPTION} must be true or false, got {value!r}")


def checked_trimap(trimap: np.ndarray, path: Union[str, Path], snap_values: bool,
                   sample_id: Optional[str] = None) -> tuple[np.ndarray, Optional[str]]:
    """(trimap, note): the trimap unchanged and no note when clean; snapped with a note, or SampleError."""
    stray = stray_values(trimap)
    if not stray:
        return trimap, None
    what = describe_stray(stray, int(trimap.size))
    if int(trimap.max()) <= 2:
        # 0/1/2 class indices, not grey levels: snapping would turn the whole trimap into background, and which
        # index means unknown depends on the dataset, so mattebench does not guess (even with trimap_snap).
        raise SampleError(
            f"trimap holds only the values 0, 1 and 2 ({what}): class indices, not 0/128/255 grey levels. "
            "Re-encode it as 0 = background, 128 = unknown, 255 = foreground",
            path=str(path),
            sample_id=sample_id,
        )
    if not snap_values:
        raise SampleError(
            f"trimap has values other than 0/128/255: {what} (a JPEG or a resized trimap?). Re-export it losslessly "
            f"with nearest-neighbour resizing, or pass -d {SNAP_OPTION}=true to map each pixel to the nearest class "
            "(recorded in the run)",
            path=str(path),
            sample_id=sample_id,
        )
    return snap(trimap), f"{TRIMAP_SNAPPED}: {path}: {what} mapped to the nearest of 0/128/255"


def read_checked_trimap(path: Union[str, Path], snap_values: bool = False,
                        sample_id: Optional[str] = None) -> tuple[np.ndarray, Optional[str]]:
    """Read a trimap file and hold it to {0, 128, 255} (see :func:`checked_trimap`)."""
    return checked_trimap(read_trimap(path), path, snap_values, sample_id)
