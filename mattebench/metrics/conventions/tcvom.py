"""VideoMatting108's official protocol (yunkezhang/TCVOM@f5fa07a ``calc_metric.py``, ``utils/utils.py``),
reimplemented: the ``tcvom`` convention.

Per frame, a = pred / 255, g = GT / 255 (float32, L59-60), over m = {0 < trimap < 255} (L61), raw values
(no scaling in the code; the README table shows MSE and mSAD x1e3):

- mSAD = mean_m |a - g| (L22-23); MSE = mean_m (a - g)^2 (L25-26); SSDA = sqrt(sum_m (a - g)^2) (L28-29);
- dtSSD = sqrt(sum_{m_t} ((a_t - a_{t+1}) - (g_t - g_{t+1}))^2), the NEXT frame, the current frame's region
  (L31-34, L84-95);
- MESSDdt = sum over m_t with valid flow of |(a_t - g_t)^2 - (a'_{t+1} - g'_{t+1})^2|, a', g' the next frame
  sampled at (x + dx, y + dy) (bilinear, align_corners, zeros outside; utils.py L90-125), as
  :func:`mattebench.metrics.fast.messddt_details`; MESSDdt_fix: |(a_t - g_t) - (a' - g')| instead (L121).

The last frame of a video gets 0 for dtSSD and both MESSDdt and still counts: a video's value is the mean over
all its frames (L97-101, L209-216), the dataset's the mean over videos (L218-225): one run row per video, the
run's mean over videos. Predictions are quantised as pred_vmn.py writes them: truncated (L130-135).

Two departures, both documented: a frame with an empty region gives NaN for mSAD and MSE (as numpy), and the
run's frame mean skips it, where the script's video mean would become NaN; and every complete video is scored,
where calc_metric.py never scores the last video in key order (L142-154, a bug): the run notes that video.
Without GT flow (``flow_png`` absent) the MESSDdt flow is estimated on the ground truth and the row says so.
"""

from __future__ import annotations

import math
from typing import Optional

import numpy as np

from mattebench.metrics import fast as M
from mattebench.metrics.conventions.base import Clip, Convention, ConventionMetric, trimap_of
from mattebench.metrics.conventions.video_rvm import truncate

__all__ = ["CONVENTION", "frame_values", "clip_values"]

_A8 = np.arange(256, dtype=np.float32) / np.float32(255.0)


def _region(trimap: np.ndarray) -> np.ndarray:
    t = np.asarray(trimap)
    return (t > 0) & (t < 255)


def frame_values(p: np.ndarray, g: np.ndarray, trimap: np.ndarray) -> dict[str, float]:
    """mSAD, MSE, SSDA of one frame (8-bit maps); an empty region gives NaN, NaN, 0."""
    m = _region(trimap)
    d = p[m].astype(np.int64) - g[m]
    n = int(d.size)
    sq = float((d * d).sum()) / 65025.0
    return {"mSAD": float(np.abs(d).sum()) / 255.0 / n if n else math.nan, "MSE": sq / n if n else math.nan,
            "SSDA": math.sqrt(sq)}


def _messddt_fix(a: np.ndarray, g: np.ndarray, na: np.ndarray, ng: np.ndarray, m: np.ndarray, flow: np.ndarray) -> float:
    """sum over m with finite flow of |(a - g) - (a' - g')| (a', g': the next frame at (x + dx, y + dy))."""
    ys, xs = np.nonzero(m & np.isfinite(flow).all(axis=2))
    if ys.size == 0:
        return 0.0
    f = flow[ys, xs].astype(np.float64)
    xq, yq = xs + f[:, 0], ys + f[:, 1]
    e = a[ys, xs].astype(np.float64) - g[ys, xs]
    en = M._sample_bilinear_zero(na, xq, yq) - M._sample_bilinear_zero(ng, xq, yq)
    return float(np.abs(e - en).sum())


def clip_values(ps: list[np.ndarray], gs: list[np.ndarray], trimaps: list[np.ndarray],
                flows: Optional[list[np.ndarray]]) -> dict[str, float]:
    """dtSSD, MESSDdt, MESSDdt_fix of one video: the mean over all T frames, the last counting 0.
    ``flows``: T-1 HxWx2 arrays (t -> t+1, NaN = none), or None to estimate them on the ground truth."""
    n = len(ps)
    if n < 2:
        return {"dtSSD": 0.0, "MESSDdt": 0.0, "MESSDdt_fix": 0.0}
    if flows is None:
        flows = M.estimate_gt_flow(gs)
    dt, fix = [0.0] * n, [0.0] * n
    for t in range(n - 1):
        m = _region(trimaps[t])
        d = (ps[t][m].astype(np.int64) - ps[t + 1][m]) - (gs[t][m].astype(np.int64) - gs[t + 1][m])
        dt[t] = math.sqrt(float((d * d).sum()) / 65025.0)
        fix[t] = _messddt_fix(_A8[ps[t]], _A8[gs[t]], _A8[ps[t + 1]], _A8[gs[t + 1]], m, np.asarray(flows[t], np.float32))
    mess = M.messddt_details(ps, gs, trimaps, flows)
    return {"dtSSD": sum(dt) / n, "MESSDdt": mess.value, "MESSDdt_fix": sum(fix) / n}


def _image(key: str):
    return lambda pr: frame_values(truncate(pr.pred), pr.gt, trimap_of(pr))[key]


def _clip(key: str):
    def value(c: Clip) -> float:
        if not c.trimaps or len(c.trimaps) != len(c.preds):
            return math.nan
        flows = list(c.flows) if c.flows and all(f is not None for f in c.flows[: len(c.preds) - 1]) else None
        return clip_values([truncate(p) for p in c.preds], list(c.gts), [np.asarray(t) for t in c.trimaps], flows)[key]
    return value


_T = "0 < trimap < 255 (TCVOM's medium trimap)"
_Q = "8-bit file; a float prediction truncated as pred_vmn.py L130-135"
_SRC = "calc_metric.py"

CONVENTION = Convention(
    name="tcvom", toolkit="TCVOM calc_metric.py (VideoMatting108)", repo="yunkezhang/TCVOM", commit="f5fa07a", needs_trimap=True,
    description="TCVOM's metrics over the trimap's unknown band, raw; dtSSD and MESSDdt against the NEXT frame, the last "
                "frame counted as 0; mean per video, then over videos.",
    metrics=(
        ConventionMetric("mSAD", "mSAD", "raw", _T, _Q, "–", "Mean instead of sum over the unknown band.",
                         f"{_SRC} L22-23", image=_image("mSAD")),
        ConventionMetric("MSE", "MSE", "raw", _T, _Q, "–", "Same as mattebench's mse on this trimap.", f"{_SRC} L25-26",
                         image=_image("MSE"), reference="mse"),
        ConventionMetric("SSDA", "SSDA", "raw", _T, _Q, "–", "Root of the summed squared error.", f"{_SRC} L28-29", image=_image("SSDA")),
        ConventionMetric("dtSSD", "dtSSD", "raw", _T + ", frame t vs t+1", _Q, "last frame counted as 0",
                         "Next frame, unknown band, no normalisation (RVM's dtSSD is whole-frame, previous frame).",
                         f"{_SRC} L31-34, L84-101", clip=_clip("dtSSD")),
        ConventionMetric("MESSDdt", "MESSDdt", "raw", _T + ", valid GT flow", _Q, "bilinear, align_corners, zeros outside",
                         "Same as mattebench's messddt on this trimap and flow.", "utils/utils.py L90-125",
                         clip=_clip("MESSDdt"), reference="messddt"),
        ConventionMetric("MESSDdt_fix", "MESSDdt (L1)", "raw", _T + ", valid GT flow", _Q, "bilinear, align_corners, zeros outside",
                         "Absolute instead of squared differences.", "utils/utils.py L121", clip=_clip("MESSDdt_fix")),
    ),
)
