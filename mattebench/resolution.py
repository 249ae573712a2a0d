"""The resolution of a metric: the smallest difference between two runs that their inputs can express.

Pure functions over run records (nothing is read from disk). The derivation of every value is in
docs/statistics.md; in short, with ``q`` the step of the grid the predictions were scored on:

- **The grid of a comparison** is the coarser of the two runs' prediction grids, per metric:
  the ``unknown`` protocol quantises every prediction to 8 bits before scoring (``q = 1/255``,
  ``provenance.quantisation``); for the other metrics a run scored from saved prediction files is
  taken as 8-bit (the record does not keep the files' bit depth, and 8-bit PNG/JPEG is the coarsest
  format the reader accepts, so this never claims a finer grid than the files had); a run with
  ``--save-alphas`` rounds every prediction to 16 bits before scoring (``q = 1/65535``); any other
  run scores the method's float32 output (``q = 2^-24``, the float32 spacing just below 1, the
  coarsest spacing of an alpha in [0, 1)). The ground truth's own bit depth does not enter: both runs
  are scored against the same matte, and a change of the matte moves a paired difference only in
  proportion to the difference between the two predictions, so it sets no floor of its own.
- **Per metric**: metrics that average over pixels take the value they give to an error of half a
  step at every pixel (the largest rounding error, which is also how far re-saving a prediction on
  the grid can move it): MAD ``q/2``, MSE ``q^2/4``, dtSSD ``100 q`` (two half-steps of opposite sign
  in consecutive frames). Metrics that sum over pixels (their region's size is not in the record)
  take one step at one pixel of the quantity they sum: SAD and Conn ``q/1000`` (|p - g| and phi move
  by whole steps), Grad ``q^2/1000`` (a squared difference of gradient magnitudes, the kernel having
  unit norm), MESSDdt ``q^2`` (a change of a squared error, no scaling).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from .metrics import METRICS, UNKNOWN_METRICS
from .record import RunRecord, as_record

SAVED_PREDICTIONS = "scored from saved predictions"  # provenance.input.source of a --predictions run


@dataclass(frozen=True)
class Grid:
    """The values a prediction can take when it is scored: ``step`` apart; ``name`` says why."""

    step: float
    name: str


GRID_8BIT = Grid(1.0 / 255.0, "8-bit")
GRID_16BIT = Grid(1.0 / 65535.0, "16-bit")
GRID_FLOAT32 = Grid(2.0 ** -24, "float32")

# metric -> (kind, factor): "mean" metrics r = factor * (q/2)^power, "sum" metrics r = factor * q^power
_RULES: dict[str, tuple[str, int, float]] = {
    "mad_whole": ("mean", 1, 1.0),
    "mse_whole": ("mean", 2, 1.0),
    "mse": ("mean", 2, 1.0),
    "dtssd": ("mean", 1, 200.0),  # 100 * RMS of (e_t - e_{t-1}) with e = +-q/2: 100 * q = 200 * (q/2)
    "sad": ("sum", 1, 1e-3),
    "conn": ("sum", 1, 1e-3),
    "grad": ("sum", 2, 1e-3),
    "messddt": ("sum", 2, 1.0),
}


@dataclass(frozen=True)
class Resolution:
    """The resolution of one metric in one comparison, with the grid it comes from."""

    metric: str
    value: float
    grid: Grid

    @property
    def text(self) -> str:
        return f"{self.value:.2g} ({self.grid.name} predictions)"


def metric_resolution(metric: str, step: float) -> float:
    """The resolution of ``metric`` (in its reported units, see ``metrics.METRICS``) on a grid of ``step``."""
    if metric not in _RULES:
        raise KeyError(f"no resolution rule for metric {metric!r}; known: {', '.join(_RULES)}")
    kind, power, factor = _RULES[metric]
    base = step / 2.0 if kind == "mean" else step
    return factor * base ** power


def prediction_grid(record: Union[RunRecord, Mapping[str, Any]], metric: str) -> Grid:
    """The grid a run's predictions were scored on for ``metric`` (the rule in the module doc)."""
    r = as_record(record)
    if metric in UNKNOWN_METRICS:
        return GRID_8BIT
    given = r.provenance.input or {}
    if given.get("source") == SAVED_PREDICTIONS:
        return GRID_8BIT
    if r.provenance.saved_alphas:
        return GRID_16BIT
    return GRID_FLOAT32


def comparison_resolution(a: Union[RunRecord, Mapping[str, Any]], b: Union[RunRecord, Mapping[str, Any]],
                          metric: str) -> Resolution:
    """The resolution of ``metric`` for a paired comparison of runs ``a`` and ``b``: the coarser grid wins."""
    grid = max(prediction_grid(a, metric), prediction_grid(b, metric), key=lambda g: g.step)
    return Resolution(metric, metric_resolution(metric, grid.step), grid)


def resolution_table() -> list[tuple[str, float, float, float]]:
    """(metric key, 8-bit, 16-bit, float32 resolution) for every metric, in ``metrics.METRICS`` order."""
    return [(k, *(metric_resolution(k, g.step) for g in (GRID_8BIT, GRID_16BIT, GRID_FLOAT32))) for k in METRICS]
