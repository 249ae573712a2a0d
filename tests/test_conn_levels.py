"""The connectivity error from one pass over the level image (mattebench.metrics.conn_levels) equals, with
``==``, the labelling version it replaced (fast._conn_by_labelling) and the literal transcription of the DIM
MATLAB code (mattebench.metrics.definitions.ref_conn): the same float32 phi differences summed in the same
order in float64. Cases: random maps of four kinds (noise; a few values around the 8-bit thresholds 25/26/51,
so many equal-size components and ties; a checkerboard; smooth blobs) on sizes around the 16-pixel blocks,
float and mixed inputs with values on the thresholds, ties across blocks, the 1920x1080 benchmark pair at
half size. Ported from the issue-23 phase-1 scratch tests."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mattebench.metrics import definitions as R
from mattebench.metrics import fast as M


def conn_new(p: np.ndarray, g: np.ndarray, t: np.ndarray) -> float:
    return M.conn(p, g, t)


def conn_old(p: np.ndarray, g: np.ndarray, t: np.ndarray) -> float:
    pc, gc, tc = M._check_unknown_args(p, g, t)
    return M._conn_by_labelling(pc, gc, tc, M._unknown(tc))


def _blob(rng: np.random.Generator, h: int, w: int, sigma: float) -> np.ndarray:
    x = cv2.GaussianBlur(rng.random((h, w)).astype(np.float32), (0, 0), sigma)
    x = (x - x.min()) / max(float(x.max() - x.min()), 1e-9)
    return np.clip((x - 0.3) * 2.5, 0, 1)


def _pair(rng: np.random.Generator, h: int, w: int, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    q = M.quantize
    if kind == "noise":
        p, g = rng.integers(0, 256, (h, w), dtype=np.uint8), rng.integers(0, 256, (h, w), dtype=np.uint8)
    elif kind == "levels":  # few distinct values: many equal-size components and ties
        vals = np.array([0, 25, 26, 51, 128, 153, 255], np.uint8)
        p, g = vals[rng.integers(0, 7, (h, w))], vals[rng.integers(0, 7, (h, w))]
    elif kind == "checker":
        c = (np.indices((h, w)).sum(0) % 2).astype(np.uint8) * 255
        p, g = c, np.where(rng.random((h, w)) < 0.5, c, 200).astype(np.uint8)
    else:  # "blobs": smooth mattes, a prediction with an error and some noise
        g = q(_blob(rng, h, w, max(1.0, min(h, w) / 8)))
        p = q(g / 255 + 0.15 * (_blob(rng, h, w, max(1.0, min(h, w) / 10)) - 0.5) + rng.normal(0, 0.02, (h, w)))
    t = np.where(rng.random((h, w)) < 0.7, 128, rng.choice([0, 255, 127], (h, w))).astype(np.uint8)
    return p, g, t


@pytest.mark.parametrize("h,w", [(1, 1), (1, 40), (40, 1), (3, 3), (16, 16), (17, 33), (50, 47), (120, 90)])
@pytest.mark.parametrize("kind", ["noise", "levels", "checker", "blobs"])
def test_equal_to_labelling_and_literal(h: int, w: int, kind: str) -> None:
    rng = np.random.default_rng(h * 131 + w * 7 + len(kind))
    for _ in range(3):
        p, g, t = _pair(rng, h, w, kind)
        want = conn_old(p, g, t)
        assert conn_new(p, g, t) == want
        assert want == R.ref_conn(p, g, t)


def test_float_and_mixed_inputs() -> None:
    rng = np.random.default_rng(3)
    for kind in ("blobs", "levels", "noise"):
        p, g, t = _pair(rng, 70, 65, kind)
        pf, gf = p.astype(np.float32) / np.float32(255), g.astype(np.float64) / 255.0
        assert conn_new(pf, gf, t) == conn_old(pf, gf, t) == conn_new(p, g, t)
        assert conn_new(p, gf, t) == conn_old(p, gf, t)  # uint8 prediction, float ground truth
        pr = np.round(rng.random((70, 65)).astype(np.float32) * 10) / np.float32(10)  # on the thresholds
        assert conn_new(pr, gf, t) == conn_old(pr, gf, t)


def test_edge_cases() -> None:
    z = np.zeros((20, 30), np.uint8)
    full = np.full((20, 30), 255, np.uint8)
    unk = np.full((20, 30), 128, np.uint8)
    assert conn_new(z, full, np.zeros((20, 30), np.uint8)) == 0.0  # empty unknown region
    assert conn_new(full, full, unk) == 0.0  # all equal maps
    assert conn_new(z, full, unk) == conn_old(z, full, unk)  # empty intersections
    half = z.copy()
    half[:, :15] = 255
    assert conn_new(half, full, unk) == conn_old(half, full, unk)
    two = z.copy()  # two equal squares: a tie broken by column-major order
    two[2:6, 20:24] = 255
    two[12:16, 3:7] = 200
    assert conn_new(two, full, unk) == conn_old(two, full, unk) == R.ref_conn(two, full, unk)


def test_tie_across_blocks() -> None:
    # equal components spanning several 16x16 blocks, the column-major first one lower down
    a = np.zeros((80, 80), np.uint8)
    a[40:72, 5:37] = 255
    a[2:34, 45:77] = 255
    b = np.where(np.indices(a.shape).sum(0) % 3 == 0, 128, 255).astype(np.uint8)
    unk = np.full(a.shape, 128, np.uint8)
    assert conn_new(a, b, unk) == conn_old(a, b, unk) == R.ref_conn(a, b, unk)


@pytest.mark.parametrize("noisy", [False, True])
def test_benchmark_pair_at_half_size(noisy: bool) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
    from metrics import make_hd_case

    p, g, t = make_hd_case(noisy)
    p, g, t = p[::2, ::2].copy(), g[::2, ::2].copy(), t[::2, ::2].copy()
    assert conn_new(p, g, t) == conn_old(p, g, t)
    assert M.unknown_metrics(p, g, t)["conn"] == conn_new(p, g, t)
