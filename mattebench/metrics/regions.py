"""Where the alpha error is: SAD, MSE and MAD over the trimap's foreground, background and transition.

Sources (read, not copied): JizhiziLi/P3M @ 9f9390f ``core/evaluate.py`` ``calculate_sad_fgbg`` (its
``SAD FG`` / ``SAD BG``) and JizhiziLi/AIM @ 48e3dc8 ``core/test.py``, which calls the same functions.
Facts: ``shared/facts/breakdowns.md`` sections 2.3 and 8.

A region is the set of pixels whose trimap value is *exactly* 255 (fg), 0 (bg) or 128 (transition), as
P3M compares them; a stray value (127, 64) belongs to none and is counted in ``n_other``. The prediction is
scored raw (not overwritten by the known labels, as P3M's fg/bg SAD), alpha in [0, 1], float64:

* SAD = sum |p - g| / 1000 (P3M's fg/bg SAD; the transition one is mattebench's unknown-region ``sad``);
* MSE = sum (p - g)^2 / |region| and MAD = sum |p - g| / |region|, raw. P3M and AIM define no fg/bg MSE or
  MAD; MaGGIe's ``MAD_fg/bg/unk`` also divide by H*W and multiply by 1e10 (maggie/utils/metric.py:80-98),
  which makes them depend on the image size: not adopted.

On a trimap of only 0/128/255 the three SADs add up to the whole-image SAD. An empty region: SAD 0.0 (a sum
over nothing), MSE/MAD NaN (excluded and counted by the run's means, as :func:`mattebench.metrics.mse` on an
empty unknown region). P3M's overwrite-then-sum "trimap" triple is a toolkit's convention and stays in
:mod:`mattebench.metrics.conventions.p3m` (``p3m-trimap``). The readable version: ``definitions.ref_region``.

What the split tells: error in fg/bg of a trimap-free method is a wrong person/background decision
(semantics); error in the transition is the detail (hair, soft edges).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mattebench.metrics.fast import _alpha64, _check_map, _check_trimap

__all__ = ["REGIONS", "REGION_VALUES", "REGION_COLUMNS", "RegionError", "RegionMetrics", "region_metrics"]

REGIONS: tuple[str, ...] = ("fg", "bg", "transition")
REGION_VALUES = {"fg": 255, "bg": 0, "transition": 128}
# samples.csv / summary.json columns: sad_fg, mse_fg, mad_fg, sad_bg, ... (never ranked)
REGION_COLUMNS: tuple[str, ...] = tuple(f"{m}_{r}" for r in REGIONS for m in ("sad", "mse", "mad"))


@dataclass(frozen=True)
class RegionError:
    """SAD (/1000), MSE and MAD (raw) of one region, and its pixel count."""

    sad: float
    mse: float
    mad: float
    n: int


@dataclass(frozen=True)
class RegionMetrics:
    """One sample's breakdown; ``n_other``: pixels whose trimap value is none of 0/128/255."""

    fg: RegionError
    bg: RegionError
    transition: RegionError
    n_other: int

    def as_row(self) -> dict[str, float]:
        """The columns of :data:`REGION_COLUMNS`."""
        row: dict[str, float] = {}
        for name in REGIONS:
            r: RegionError = getattr(self, name)
            row.update({f"sad_{name}": r.sad, f"mse_{name}": r.mse, f"mad_{name}": r.mad})
        return row


def _region(absd: np.ndarray, sq: np.ndarray, mask: np.ndarray) -> RegionError:
    n = int(np.count_nonzero(mask))
    if n == 0:
        return RegionError(0.0, math.nan, math.nan, 0)
    s_abs = float(absd[mask].sum())
    return RegionError(s_abs / 1000.0, float(sq[mask].sum()) / n, s_abs / n, n)


def region_metrics(pred: np.ndarray, gt: np.ndarray, trimap: np.ndarray) -> RegionMetrics:
    """Per-sample SAD/MSE/MAD over trimap == 255, == 0 and == 128 (see the module docstring).

    ``pred``, ``gt``: HxW uint8 or float alpha in [0, 1], scored as given; ``trimap``: HxW integer, as stored.
    """
    p = _check_map(pred, "pred")
    g = _check_map(gt, "gt", p.shape)
    t = _check_trimap(trimap, "trimap", p.shape)
    d = _alpha64(p) - _alpha64(g)
    absd, sq = np.abs(d), d * d
    masks = {k: t == v for k, v in REGION_VALUES.items()}
    other = t.size - sum(int(np.count_nonzero(m)) for m in masks.values())
    return RegionMetrics(_region(absd, sq, masks["fg"]), _region(absd, sq, masks["bg"]),
                         _region(absd, sq, masks["transition"]), other)
