"""The fast generated trimap (mattebench.data.trimap.trimap_from_alpha) == the recipe as first written,
bit for bit, on a grid of shapes, sizes and radii (issue 23: stored runs and dataset fingerprints keep
their meaning).

The reference below is a verbatim copy of ``band_radius`` and ``trimap_from_alpha`` from
mattebench/data/trimap.py at commit b0be9ce (before the fast version), renamed ``trimap_reference``:
full-frame cv2.erode/cv2.dilate with the whole elliptic kernel, sharing no code with the fast path.
Do not optimise it. A few hand-checked arrays pin the reference itself.
"""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mattebench.data.ellipse_dilation import ellipse
from mattebench.data.trimap import trimap_from_alpha as trimap_fast
from tests._shared_data import SHARED, need_path

RADII = (0, 1, 2, 3, 7, 22, 40)
PPM = SHARED / "realdata" / "ppm100-dev" / "PPM-100" / "matte"


# ---- verbatim copy of today's recipe (b0be9ce:mattebench/data/trimap.py), the reference -------------
def band_radius(height: int, width: int) -> int:
    return max(2, int(round(min(height, width) / 100.0)))


def trimap_reference(alpha: np.ndarray, radius: int | None = None) -> np.ndarray:
    """HxW alpha (uint8 0..255 or float [0,1]) -> HxW uint8 trimap {0, 128, 255}."""
    if alpha.ndim != 2:
        raise ValueError(f"trimap_from_alpha expects an HxW alpha, got shape {alpha.shape}")
    if alpha.dtype == np.uint8:
        a8 = alpha
    else:
        a8 = np.clip(np.round(np.asarray(alpha, dtype=np.float64) * 255.0), 0, 255).astype(np.uint8)
    h, w = a8.shape
    r = band_radius(h, w) if radius is None else int(radius)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
    fg = (a8 == 255).astype(np.uint8)
    maybe = (a8 > 0).astype(np.uint8)
    # Border: pixels outside the image count as neither fg nor maybe-fg (erosion shrinks fg at the
    # border would be wrong for a person cut by the frame, so replicate the border instead).
    sure_fg = cv2.erode(fg, kernel, borderType=cv2.BORDER_REPLICATE)
    reach = cv2.dilate(maybe, kernel, borderType=cv2.BORDER_REPLICATE)
    trimap = np.full((h, w), 128, dtype=np.uint8)
    trimap[reach == 0] = 0
    trimap[sure_fg == 1] = 255
    return trimap
# ---- end of the verbatim copy ----------------------------------------------------------------------


def _blobs(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """Smooth random blobs with a soft edge: 0, 255 and a fractional ramp in between."""
    noise = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), max(1.0, min(h, w) / 12))
    lo, hi = np.quantile(noise, 0.45), np.quantile(noise, 0.6)
    return np.clip((noise - lo) / max(hi - lo, 1e-9) * 255, 0, 255).astype(np.uint8)


def _shapes(h: int, w: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    out = {
        "zeros": np.zeros((h, w), np.uint8),
        "full": np.full((h, w), 255, np.uint8),
        "fractional": np.full((h, w), 128, np.uint8),
        "noise3": (rng.integers(0, 3, (h, w)) * 127).astype(np.uint8) + (rng.random((h, w)) < 0.1).astype(np.uint8),
        "sparse": np.where(rng.random((h, w)) < 0.002, 255, 0).astype(np.uint8),
        "holes": np.where(rng.random((h, w)) < 0.002, 0, 255).astype(np.uint8),
        "checker1": ((np.indices((h, w)).sum(0) % 2) * 255).astype(np.uint8),
        "checker16": (((np.indices((h, w)) // 16).sum(0) % 2) * 255).astype(np.uint8),
        "blocks16": np.kron(rng.integers(0, 3, (h // 16 + 1, w // 16 + 1)) * 127, np.ones((16, 16), np.int64))[:h, :w].astype(np.uint8),
    }
    if min(h, w) >= 3:
        out["blobs"] = _blobs(rng, h, w)
    lines = np.zeros((h, w), np.uint8)
    lines[h // 2, :] = 255
    lines[:, w // 3] = 200
    np.fill_diagonal(lines, 255)
    out["lines"] = lines
    dot = np.zeros((h, w), np.uint8)
    dot[h // 2, w // 2] = 255
    out["dot"] = dot
    pit = np.full((h, w), 255, np.uint8)
    pit[h // 3, w // 4] = 0
    out["pit"] = pit
    border = np.zeros((h, w), np.uint8)  # touches every border
    border[: max(1, h // 4), :] = 255
    border[:, -max(1, w // 5):] = 90
    border[-1, : w // 2] = 255
    out["border"] = border
    return out


@pytest.mark.parametrize("h,w", [(1, 1), (1, 37), (41, 1), (2, 2), (17, 33), (37, 53), (64, 64), (97, 211), (300, 257)])
def test_equal_on_grid_of_shapes_sizes_radii(h: int, w: int) -> None:
    for name, a in _shapes(h, w, seed=h * 1000 + w).items():
        for r in (*RADII, None):
            got, want = trimap_fast(a, r), trimap_reference(a, r)
            assert got.dtype == np.uint8 and got.shape == (h, w)
            assert np.array_equal(got, want), f"{name} {h}x{w} r={r}: {int((got != want).sum())} pixels differ"


@pytest.mark.parametrize("r", [60, 253, 254, 300])
def test_radius_larger_than_image_and_uint16_path(r: int) -> None:
    for name, a in _shapes(37, 53, seed=r).items():
        assert np.array_equal(trimap_fast(a, r), trimap_reference(a, r)), f"{name} r={r}"


def test_float_input_same_as_reference() -> None:
    a8 = _shapes(90, 70, seed=5)["blobs"]
    af = a8.astype(np.float32) / 255
    for r in (2, 7):
        assert np.array_equal(trimap_fast(af, r), trimap_reference(af, r))
        assert np.array_equal(trimap_fast(af, r), trimap_fast(a8, r))


def test_hand_checked_r1_cross() -> None:
    # r = 1: OpenCV's 3x3 ellipse is the 4-neighbour cross (rows: half-widths 1, 0).
    assert ellipse(1).half == (1, 0)
    a = np.zeros((5, 5), np.uint8)
    a[2, 2] = 255
    t = trimap_fast(a, 1)
    expect = np.zeros((5, 5), np.uint8)
    expect[2, 1:4] = 128
    expect[1:4, 2] = 128
    assert np.array_equal(t, expect) and np.array_equal(trimap_reference(a, 1), expect)


def test_kernel_rows_are_not_a_euclidean_disc() -> None:
    # why a plain distance transform is not enough: OpenCV's r = 2 ellipse has full middle rows
    # (half-width 2 at d = 1, where a disc of radius 2 has half-width 1) and single-pixel poles.
    assert ellipse(2).half == (2, 2, 0)
    assert ellipse(40).half[-3:] == (12, 9, 0)


def test_real_matte_upscaled_to_4k() -> None:
    need_path(PPM)
    files = sorted(PPM.iterdir())
    a = cv2.imread(str(files[0]), cv2.IMREAD_GRAYSCALE)
    big = cv2.resize(a, (3840, 2160), interpolation=cv2.INTER_LINEAR)
    assert np.array_equal(trimap_fast(big), trimap_reference(big))


def test_real_mattes_several_radii() -> None:
    need_path(PPM)
    for f in sorted(PPM.iterdir())[:6]:
        a = cv2.imread(str(f), cv2.IMREAD_GRAYSCALE)
        for r in (3, 22, 40):
            assert np.array_equal(trimap_fast(a, r), trimap_reference(a, r)), (f, r)


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast")
def test_other_dtypes_and_odd_floats_keep_todays_trimap() -> None:
    # every input keeps its trimap, odd ones included: int maps (scaled by 255 and clipped, as the
    # first version did), bool, float64, overshooting floats, NaN (whatever uint8 the cast gives)
    base = _shapes(40, 50, seed=9)["blobs"]
    odd = [base.astype(np.int64), base > 100, base.astype(np.float64) / 255, base.astype(np.float32) / 250 - 0.01]
    nan = base.astype(np.float32) / 255
    nan[5:9, 5:30] = np.nan
    for a in (*odd, nan):
        for r in (1, 4, None):
            assert np.array_equal(trimap_fast(a, r), trimap_reference(a, r)), (a.dtype, r)


@pytest.mark.parametrize(
    "alpha,radius,match",
    [
        (np.zeros((4, 4, 3), np.uint8), None, "HxW"),
        (np.zeros((0, 5), np.uint8), None, "empty"),
        (np.zeros((4, 4), np.uint8), -1, "radius"),
    ],
)
def test_bad_input_raises(alpha: np.ndarray, radius: int | None, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        trimap_fast(alpha, radius)
