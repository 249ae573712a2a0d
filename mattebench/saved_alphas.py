"""``run --save-alphas [IDS|all]``: the predictions of a run, stored as 16-bit PNGs in its folder.

Every prediction of such a run is rounded to what a 16-bit PNG holds (``round(65535 a) / 65535``,
at most 7.6e-6 from the float) *before* it is scored, so the stored files are exactly what was
scored: scoring ``<run>/alphas/`` with ``run --predictions`` gives the run's numbers to the last digit.
The rounding is part of the run's identity (a resume never mixes rounded and unrounded rows).
Files: ``<run>/alphas/<id>.png``; clip frames ``<run>/alphas/<clip id>/<frame>.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, Union

import numpy as np

from .errors import MattebenchError
from .prediction_io import quantise16, write_alpha16

ALPHAS_DIR = "alphas"
FORMAT = "16-bit grey PNG, value round(65535 * alpha); predictions rounded so before scoring"


@dataclass(frozen=True)
class AlphaSelection:
    """Which ids to store: every one (``all``) or the listed ones (clip ids store all their frames)."""

    ids: Optional[frozenset[str]]  # None = all

    @classmethod
    def parse(cls, spec: Union[str, Sequence[str], None]) -> Optional["AlphaSelection"]:
        if spec is None or spec is False:
            return None
        if spec is True or (isinstance(spec, str) and spec.strip().lower() in ("", "all")):
            return cls(None)
        items = spec.split(",") if isinstance(spec, str) else list(spec)
        ids = frozenset(i.strip() for i in items if str(i).strip())
        if not ids:
            raise MattebenchError("--save-alphas: give 'all' or comma-separated sample ids")
        return cls(ids)

    def wants(self, pred_id: str) -> bool:
        return self.ids is None or pred_id in self.ids or pred_id.split("/", 1)[0] in self.ids

    def describe(self) -> Any:
        return "all" if self.ids is None else sorted(self.ids)


class AlphaSink:
    """The scorer's hook (``Scorer.alpha_sink``): round, store the selected ids, hand back what was stored."""

    def __init__(self, run_dir: Path, selection: AlphaSelection):
        self.dir = Path(run_dir) / ALPHAS_DIR
        self.selection = selection

    def keep(self, pred_id: str, alpha: np.ndarray) -> np.ndarray:
        q = quantise16(alpha)
        if self.selection.wants(pred_id):
            write_alpha16(self.dir / f"{pred_id}.png", q)
        return q

    def record(self) -> dict[str, Any]:
        return {"dir": ALPHAS_DIR, "format": FORMAT, "ids": self.selection.describe()}

    def unknown_ids(self, ids: Sequence[str]) -> list[str]:
        if self.selection.ids is None:
            return []
        return sorted(self.selection.ids - set(ids))
