"""Paired comparison of two runs' breakdown columns (regions, boundaries, foreground colour): never a verdict.

The breakdown columns (docs/breakdowns.md) say *where* a method fails; they are not ranked anywhere, so
``mattebench compare`` gives them the paired statistics of the ranked metrics (the mean of A - B over the
samples both scored with a finite value, its 95 % bootstrap interval, the Wilcoxon signed-rank p-value) but
no better/worse/equivalent verdict: no resolution is derived for them and a region's SAD can improve while
the ranked metric worsens. Their p-values are Holm-corrected among themselves, a family of their own, so
adding them leaves the ranked metrics' numbers unchanged. The whole-image SAD, Grad and Conn are metrics with
a resolution (:mod:`mattebench.report.resolution`) and are compared with the ranked ones, as before.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Mapping, Optional, Sequence

from mattebench.metrics import stats
from mattebench.metrics.boundary import BOUNDARY_COLUMNS
from mattebench.metrics.fast import METRICS
from mattebench.metrics.foreground import FOREGROUND_COLUMNS
from mattebench.runs.record import RunRecord

NOT_RANKED = "not ranked"
# Boundary IoU and mBA are shares of agreeing pixels (higher is better); every other breakdown column is an error.
HIGHER_IS_BETTER = frozenset(BOUNDARY_COLUMNS)


@dataclass(frozen=True)
class BreakdownComparison:
    """One breakdown column of a paired comparison: how much A and B differ, and no verdict."""

    metric: str
    n: int
    mean_a: float
    mean_b: float
    mean_diff: float  # mean of A - B over the n paired samples
    ci: tuple[float, float]  # 95 % bootstrap interval of the mean difference
    p_value: float  # Wilcoxon signed-rank, two-sided
    p_holm: float  # Holm-corrected across the breakdown columns compared (their own family)
    lower_is_better: bool
    verdict: str  # always NOT_RANKED
    foreground: Optional[tuple[Optional[str], Optional[str]]]  # fgr_*: whose foreground each run scored

    def as_json(self) -> dict[str, Any]:
        d = asdict(self)
        d["ci"] = list(self.ci)
        d["foreground"] = list(self.foreground) if self.foreground is not None else None
        d["breakdown"] = True
        return d


def breakdown_columns(record: RunRecord) -> list[str]:
    """The unranked breakdown columns a run stored (not those with a ranked definition, e.g. ``sad_whole``)."""
    facts = record.breakdowns or {}
    cols = facts.get("columns") or []
    return [str(c) for c in cols if c not in METRICS and c in record.means]


def _source(record: RunRecord) -> Optional[str]:
    src = (record.breakdowns or {}).get("foreground")
    return str(src) if src is not None else None


def compare_breakdowns(a: RunRecord, b: RunRecord, rows_a: Mapping[str, Mapping[str, float]],
                       rows_b: Mapping[str, Mapping[str, float]], wanted: Optional[Sequence[str]] = None,
                       spec: stats.BootstrapSpec = stats.DEFAULT) -> tuple[tuple[BreakdownComparison, ...], list[str]]:
    """The breakdown columns both runs stored (only those in ``wanted`` when given), from their stored rows
    (metric -> id -> finite value, :func:`mattebench.runs.store.load_stored_rows`); (results, skipped)."""
    cols_a, cols_b = breakdown_columns(a), breakdown_columns(b)
    common = [c for c in cols_a if c in cols_b]
    one_sided = [c for c in dict.fromkeys(cols_a + cols_b) if c not in common]
    if wanted is not None:
        common, one_sided = [c for c in common if c in wanted], [c for c in one_sided if c in wanted]
    found: list[tuple[str, stats.PairedDifference, float, float]] = []
    skipped = [f"{c}: only {'A' if c in cols_a else 'B'} stored it (a foreground is scored only where the run has one)"
               for c in one_sided]
    for k in common:
        va, vb = rows_a.get(k, {}), rows_b.get(k, {})
        ids = sorted(set(va) & set(vb))
        if not ids:
            skipped.append(f"{k}: no sample scored with a finite value by both runs")
            continue
        xa, xb = [va[i] for i in ids], [vb[i] for i in ids]
        found.append((k, stats.paired_difference(xa, xb, spec), sum(xa) / len(xa), sum(xb) / len(xb)))
    adjusted = stats.holm([d.p_value for _, d, _, _ in found])
    fg = (_source(a), _source(b))
    results = tuple(
        BreakdownComparison(k, d.n, ma, mb, d.mean_diff, (d.lo, d.hi), d.p_value, ph, k not in HIGHER_IS_BETTER,
                            NOT_RANKED, fg if k in FOREGROUND_COLUMNS else None)
        for (k, d, ma, mb), ph in zip(found, adjusted))
    return results, skipped
