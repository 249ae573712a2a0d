"""The timing protocol behind ``mattebench bench`` and ``benchmarks/``.

- Warm-up calls first (cuDNN autotuning, lazy allocations, numba JIT), never timed.
- On CUDA each call is bracketed by CUDA events and the end event is synchronised, so the time is
  the device's; on CPU ``time.perf_counter`` around a call that returns finished tensors.
- The thread count of the CPU (torch intra-op threads) is pinned by the caller and reported.
- Results are the median and the 10th / 90th percentiles (linear interpolation, numpy's default)
  of the per-call times, so one slow outlier does not move the figure.
- Parameters are counted from the module; multiply-accumulates with
  ``torch.utils.flop_counter.FlopCounterMode`` (it counts 2 FLOPs per MAC of convolutions and
  matrix products; element-wise work is not counted, as in the usual MAC tables).
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn


@dataclass(frozen=True)
class TimingStats:
    median_ms: float
    p10_ms: float
    p90_ms: float
    mean_ms: float
    min_ms: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def summarize(times_ms: list[float]) -> TimingStats:
    """Median, 10th and 90th percentiles (linear interpolation), mean and minimum of ``times_ms``."""
    if not times_ms:
        raise ValueError("no timings to summarise")
    a = np.asarray(times_ms, dtype=np.float64)
    p10, p50, p90 = np.percentile(a, [10, 50, 90])
    return TimingStats(float(p50), float(p10), float(p90), float(a.mean()), float(a.min()), int(a.size))


def set_threads(threads: Optional[int]) -> int:
    """Pin torch's intra-op CPU threads (when given) and return the count in effect."""
    if threads is not None:
        if threads < 1:
            raise ValueError("threads must be at least 1")
        torch.set_num_threads(int(threads))
    return torch.get_num_threads()


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def time_calls(fn: Callable[[], Any], device: torch.device | str = "cpu", *, warmup: int = 3, iters: int = 20,
               max_seconds: Optional[float] = None, min_iters: int = 3,
               clock: Callable[[], float] = time.perf_counter) -> list[float]:
    """Per-call times in milliseconds of ``fn`` after ``warmup`` untimed calls.

    Stops after ``iters`` calls, or earlier once ``max_seconds`` of timed calls have passed and at
    least ``min_iters`` were made (large models on small CPUs). ``clock`` is injectable for tests.
    """
    device = torch.device(device)
    for _ in range(max(0, warmup)):
        fn()
    synchronize(device)
    times: list[float] = []
    spent = 0.0
    use_events = device.type == "cuda"
    for i in range(max(1, iters)):
        if use_events:
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            end.synchronize()
            ms = float(start.elapsed_time(end))
        else:
            t0 = clock()
            fn()
            synchronize(device)
            ms = (clock() - t0) * 1000.0
        times.append(ms)
        spent += ms / 1000.0
        if max_seconds is not None and spent >= max_seconds and i + 1 >= min_iters:
            break
    return times


def count_parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, *inputs: Any) -> int:
    """Multiply-accumulates of one forward of ``model(*inputs)`` (FlopCounterMode FLOPs / 2)."""
    from torch.utils.flop_counter import FlopCounterMode

    was_training = model.training
    model.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(*inputs)
    finally:
        model.train(was_training)
    return int(math.floor(counter.get_total_flops() / 2))
