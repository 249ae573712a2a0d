"""The metrics: what a number means, before any step produces one.

Read in this order:

- :mod:`.definitions`: each metric written literally from its reference (the Deep Image Matting MATLAB
  evaluation code, the MODNet paper), slow and plain: whole-image float64, SciPy filters and labelling.
- :mod:`.fast`: the same metrics as the runner computes them, exact to the definitions (the tests compare
  the two on every case) and fast; their metadata (units, scaling, direction) for every table.
- :mod:`.conventions`: what other toolkits' evaluation code prints for the same prediction, labelled.
- :mod:`.stats`: uncertainty of means over samples (bootstrap intervals, paired tests, Holm, P(first)).

``from mattebench.metrics import sad`` and the other public names of :mod:`.fast` work here too. This
package imports nothing of the later steps (data, methods, scoring, runs, report).
"""

from __future__ import annotations

from mattebench.metrics.fast import (
    FLOW_ESTIMATOR,
    METRICS,
    UNKNOWN_METRICS,
    VIDEO_METRICS,
    WHOLE_METRICS,
    MessddtResult,
    MetricInfo,
    conn,
    dtssd,
    estimate_gt_flow,
    grad,
    mad_whole,
    messddt,
    messddt_details,
    mse,
    mse_whole,
    quantize,
    sad,
    unknown_metrics,
    whole_metrics,
)

__all__ = [
    "MetricInfo", "METRICS", "UNKNOWN_METRICS", "WHOLE_METRICS", "VIDEO_METRICS", "quantize", "sad", "mse",
    "grad", "conn", "unknown_metrics", "whole_metrics", "mse_whole", "mad_whole", "dtssd", "messddt", "messddt_details",
    "MessddtResult", "estimate_gt_flow", "FLOW_ESTIMATOR",
]
