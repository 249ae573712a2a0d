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
- **Per metric**: the largest change of the metric that moving every prediction value by at most half a
  step (what saving it on the grid does) can cause: MAD (whole) ``q/2`` (triangle inequality); MSE
  (whole) ``q * MAD + q^2/4`` (a pixel's squared error moves by ``|2 d e + e^2| <= q |d| + q^2/4``;
  MAD is the larger of the two runs' mean MAD (whole), 1 when a record has none); dtSSD ``100 q``
  (a frame difference of two half-steps is at most one step; RMS obeys the triangle inequality).
  The ``unknown`` protocol puts both runs on the same 8-bit grid itself, so re-saving moves nothing
  there; what is left is the grid's own granularity: one step at one pixel of the quantity a sum adds
  up, SAD and Conn ``q/1000`` (|p - g| and phi move by whole steps), Grad ``q^2/1000`` (a squared
  difference of gradient magnitudes, the kernel having unit norm); MSE (unknown) ``q^2/4``, the MSE of
  half a step at every pixel. MESSDdt (a sum, no scaling): ``q^2``, one step of a squared error at one
  pixel.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from mattebench.metrics.fast import METRICS, UNKNOWN_METRICS
from mattebench.runs.record import RunRecord, as_record

SAVED_PREDICTIONS = "scored from saved predictions"  # provenance.input.source of a --predictions run


@dataclass(frozen=True)
class Grid:
    """The values a prediction can take when it is scored: ``step`` apart; ``name`` says why."""

    step: float
    name: str


GRID_8BIT = Grid(1.0 / 255.0, "8-bit")
GRID_16BIT = Grid(1.0 / 65535.0, "16-bit")
GRID_FLOAT32 = Grid(2.0 ** -24, "float32")

# metric -> (kind, power, factor): "mean" metrics r = factor * (q/2)^power, "sum" metrics r = factor * q^power;
# mse_whole adds q * MAD (metric_resolution's ``mad``)
_RULES: dict[str, tuple[str, int, float]] = {
    "mad_whole": ("mean", 1, 1.0),
    "mse_whole": ("mean", 2, 1.0),
    "mse": ("mean", 2, 1.0),
    "dtssd": ("mean", 1, 200.0),  # 100 * RMS of (e_t - e_{t-1}) with e = +-q/2: 100 * q = 200 * (q/2)
    "sad": ("sum", 1, 1e-3),
    "conn": ("sum", 1, 1e-3),
    "grad": ("sum", 2, 1e-3),
    "messddt": ("sum", 2, 1.0),
    # the whole-image SAD/Conn/Grad: the same sums over more pixels (metrics.fast.WHOLE_DETAIL_METRICS)
    "sad_whole": ("sum", 1, 1e-3),
    "conn_whole": ("sum", 1, 1e-3),
    "grad_whole": ("sum", 2, 1e-3),
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


_FORMULAS = {"mad_whole": "q/2", "mse_whole": "q·MAD + q²/4", "mse": "q²/4", "dtssd": "100·q", "sad": "q/1000",
             "conn": "q/1000", "grad": "q²/1000", "messddt": "q²",
             "sad_whole": "q/1000", "conn_whole": "q/1000", "grad_whole": "q²/1000"}


def formula(metric: str) -> str:
    """The resolution of ``metric`` as a formula of the grid step ``q`` (docs/statistics.md)."""
    return _FORMULAS[metric]


def metric_resolution(metric: str, step: float, mad: float = 0.0) -> float:
    """The resolution of ``metric`` (in its reported units, see ``metrics.METRICS``) on a grid of ``step``;
    ``mad``: the mean absolute error (whole) the MSE (whole) bound grows with (ignored by other metrics)."""
    if metric not in _RULES:
        raise KeyError(f"no resolution rule for metric {metric!r}; known: {', '.join(_RULES)}")
    kind, power, factor = _RULES[metric]
    base = step / 2.0 if kind == "mean" else step
    extra = step * mad if metric == "mse_whole" else 0.0
    return factor * base ** power + extra


def _mad(record: RunRecord) -> float:
    v = record.means.get("mad_whole")
    return float(v) if isinstance(v, (int, float)) and 0.0 <= v <= 1.0 else 1.0  # none: the largest a MAD can be


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
    ra, rb = as_record(a), as_record(b)
    grid = max(prediction_grid(ra, metric), prediction_grid(rb, metric), key=lambda g: g.step)
    return Resolution(metric, metric_resolution(metric, grid.step, max(_mad(ra), _mad(rb))), grid)


def resolution_table() -> list[tuple[str, float, float, float]]:
    """(metric key, 8-bit, 16-bit, float32 resolution) for every metric, in ``metrics.METRICS`` order."""
    return [(k, *(metric_resolution(k, g.step) for g in (GRID_8BIT, GRID_16BIT, GRID_FLOAT32))) for k in METRICS]
