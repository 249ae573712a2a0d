"""Every toolkit's convention, labelled: what other evaluation code prints for the same prediction.

Each module reimplements one toolkit's evaluation at a pinned commit (read in its public
repository, never copied), deviations from the DIM MATLAB reference included. The values go to
columns named ``<metric>@<convention>`` (``sad@gca``, ``mse@rvm``...), stored apart from the
reference columns and never ranked against them.

``score(pred, gt, trimap, names)`` is what the scorer calls after the reference metrics;
``score_clip(preds, gts, names)`` adds the clip metrics (RVM's dtSSD).

:data:`VIDEO_PROTOCOLS` are the video benchmarks' official scripts (``rvm-lr``, ``rvm-hr``, ``matanyone-lr``,
``matanyone-hr``, ``tcvom``): conventions too, but bound to their datasets (a dataset card names its protocol in
``protocols``, and every run on it scores it), so ``--conventions`` neither lists nor takes them.
"""

from __future__ import annotations

import math
from typing import Iterable, Optional, Sequence, Union

import numpy as np

from mattebench.errors import UnknownConvention
from mattebench.metrics import fast as M
from mattebench.metrics.conventions import gca, indexnet, mmagic, p3m, rvm, tcvom, video_rvm
from mattebench.metrics.conventions.base import Clip, Convention, ConventionMetric, Pair

__all__ = [
    "Convention", "ConventionMetric", "Pair", "Clip", "CONVENTIONS", "UnknownConvention",
    "parse", "columns", "is_convention_column", "score", "score_clip", "table_rows", "TABLE_HEADERS",
    "VIDEO_PROTOCOLS", "dataset_protocols",
]

CONVENTIONS: dict[str, Convention] = {
    c.name: c for c in (gca.CONVENTION, mmagic.CONVENTION, indexnet.CONVENTION, p3m.WHOLE, p3m.TRIMAP, rvm.CONVENTION)
}

VIDEO_PROTOCOLS: dict[str, Convention] = {
    c.name: c for c in (video_rvm.RVM_LR, video_rvm.RVM_HR, video_rvm.MATANYONE_LR, video_rvm.MATANYONE_HR, tcvom.CONVENTION)
}
_ALL: dict[str, Convention] = {**CONVENTIONS, **VIDEO_PROTOCOLS}


def dataset_protocols(protocols: Sequence[str]) -> tuple[str, ...]:
    """The video protocols a dataset card names in its ``protocols`` (registry order)."""
    return tuple(n for n in VIDEO_PROTOCOLS if n in protocols)


def _selected(names: Sequence[str]) -> tuple[str, ...]:
    """User conventions (checked by :func:`parse`) followed by the video protocols among ``names``."""
    items = list(names)
    return parse([n for n in items if n not in VIDEO_PROTOCOLS]) + dataset_protocols(items)


def parse(names: Union[None, str, Iterable[str]]) -> tuple[str, ...]:
    """``"gca,rvm"`` or a sequence -> registry order, without duplicates; ``""``/None -> ().

    ``all`` selects every convention. Unknown names raise :class:`UnknownConvention` naming the
    registered ones.
    """
    if names is None:
        return ()
    items = names.split(",") if isinstance(names, str) else list(names)
    wanted = {n.strip().lower() for n in items if n and n.strip()}
    if "all" in wanted:
        return tuple(CONVENTIONS)
    bad = sorted(wanted - set(CONVENTIONS))
    if bad:
        raise UnknownConvention(
            f"unknown convention(s) {', '.join(bad)}; choose from {', '.join(CONVENTIONS)} (or all); "
            "see `mattebench conventions`"
        )
    return tuple(n for n in CONVENTIONS if n in wanted)


def columns(names: Sequence[str], video: bool = False) -> list[str]:
    """The stored columns of the selected conventions (clip metrics only when ``video``)."""
    return [col for n in _selected(names) for col in _ALL[n].columns(video)]


def is_convention_column(key: str) -> bool:
    """True for ``metric@convention`` keys of a registered convention."""
    metric, sep, name = key.partition("@")
    return bool(sep) and name in _ALL and any(m.metric == metric for m in _ALL[name].metrics)


def metric_of(key: str) -> tuple[Convention, ConventionMetric]:
    """The convention and metric of a ``metric@convention`` column."""
    metric, _, name = key.partition("@")
    conv = _ALL[name]
    return conv, next(m for m in conv.metrics if m.metric == metric)


def _as_u8(gt: np.ndarray) -> np.ndarray:
    """Ground truth as its 8-bit file holds it (a float k/255 map gives back k)."""
    return M.quantize(np.asarray(gt))


def _pred(pred: np.ndarray, shape: Optional[tuple[int, ...]] = None) -> np.ndarray:
    """An HxW float32 alpha in [0, 1] (uint8 k as k/255); ValueError naming the problem otherwise."""
    p = np.asarray(pred)
    if p.ndim != 2 or (shape is not None and p.shape != shape):
        raise ValueError(f"pred: expected an HxW alpha{'' if shape is None else f' of shape {shape}'}, got shape {p.shape}")
    p = p.astype(np.float32) / np.float32(255.0) if p.dtype == np.uint8 else p.astype(np.float32, copy=False)  # clip copies below
    if not np.isfinite(p).all() or p.min() < -1e-3 or p.max() > 1 + 1e-3:
        raise ValueError("pred: expected finite alpha values in [0, 1]")
    return np.clip(p, 0.0, 1.0)


def score(pred: np.ndarray, gt: np.ndarray, trimap: Optional[np.ndarray], names: Sequence[str],
          pred_fgr: Optional[np.ndarray] = None, gt_fgr: Optional[np.ndarray] = None) -> dict[str, float]:
    """Every image metric of the named conventions for one pair, keyed by column.

    ``pred``: HxW float alpha in [0, 1] (as the runner checked it; uint8 is read as k/255);
    ``gt``: uint8 or float k/255; ``trimap``: integer 0..255 or None. A convention that needs a
    trimap gives NaN without one. ``pred_fgr``/``gt_fgr``: HxWx3 foregrounds for the video protocols
    that score one (NaN without).
    """
    g = _as_u8(gt)
    t = None if trimap is None else np.asarray(trimap)
    if t is not None and (t.shape != g.shape or not np.issubdtype(t.dtype, np.integer)):
        raise ValueError(f"trimap: expected integer values 0..255 of shape {g.shape}, got {t.dtype} {t.shape}")
    pair = Pair(_pred(pred, g.shape), g, t, pred_fgr, gt_fgr)
    out: dict[str, float] = {}
    for n in _selected(names):
        conv = _ALL[n]
        for m in conv.metrics:
            if m.image is None:
                continue
            out[conv.column(m)] = math.nan if conv.needs_trimap and pair.trimap is None else float(m.image(pair))
    return out


def score_clip(preds: Sequence[np.ndarray], gts: Sequence[np.ndarray], names: Sequence[str],
               trimaps: Optional[Sequence[np.ndarray]] = None,
               flows: Optional[Sequence[Optional[np.ndarray]]] = None) -> dict[str, float]:
    """The clip metrics of the named conventions over the scored frames of one clip, in order
    (``trimaps``: one per frame; ``flows``: t -> t+1, for the protocols that need them)."""
    if len(preds) != len(gts):
        raise ValueError(f"{len(preds)} predictions for {len(gts)} ground-truth frames")
    g8 = tuple(_as_u8(g) for g in gts)
    clip = Clip(tuple(_pred(p, g.shape) for p, g in zip(preds, g8)), g8,
                tuple(np.asarray(t) for t in trimaps) if trimaps is not None else (), tuple(flows) if flows is not None else ())
    out: dict[str, float] = {}
    for n in _selected(names):
        conv = _ALL[n]
        for m in conv.metrics:
            if m.clip is not None:
                out[conv.column(m)] = float(m.clip(clip))
    return out


TABLE_HEADERS = ("convention", "metric", "column", "unit/scale", "region", "quantisation", "thresholds/filters",
                 "differs from the reference", "reference column", "source")


def table_rows(names: Optional[Sequence[str]] = None) -> list[dict[str, str]]:
    """One row per convention metric, keyed by :data:`TABLE_HEADERS`, for the CLI and the docs."""
    rows = []
    for n in _selected(names) if names else tuple(CONVENTIONS):
        conv = _ALL[n]
        for m in conv.metrics:
            rows.append(dict(zip(TABLE_HEADERS, (
                n, m.label, conv.column(m), m.scale, m.region, m.quantisation, m.filters, m.differs,
                m.reference or "–", f"{conv.repo}@{conv.commit}: {m.source}",
            ))))
    return rows
