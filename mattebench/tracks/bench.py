"""``mattebench bench``: the timing protocol, then the engine that measures parameters, MACs and latency
of one method by it.

The timing protocol behind ``mattebench bench`` and ``benchmarks/``.

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
import os
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable, Optional

import numpy as np
import torch
from torch import nn

from mattebench.contract import Exportable, ProvidesExampleInput, TorchModel
from mattebench.environment import __version__, torch_info
from mattebench.errors import MattebenchError, MethodExited, RegistryError
from mattebench.methods.host import restore_cwd
from mattebench.methods.registry import create_method, method_card


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


# ----------------------------------------------------------------------------------------------------
# The bench engine: parameters, MACs and latency of one method, by the protocol of mattebench.tracks.bench.
#
# Two times are reported: the bare module on a prepared input tensor of ``batch`` images
# (``latency_ms``, ``p10_ms``, ``p90_ms``, ``fps`` = batch / latency), and the end-to-end
# ``predict`` of one uint8 image of ``size`` (preprocessing, resizing, transfer, post-processing:
# ``e2e_ms``...). ``mattebench bench`` and the scripts in ``benchmarks/`` call :func:`bench`; the
# record it returns is what ``bench --json`` prints.
# ----------------------------------------------------------------------------------------------------

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# torch.compile modes; "reduce-overhead" records CUDA graphs, which removes per-kernel launch cost at batch 1.
COMPILE_MODES = ["default", "reduce-overhead", "max-autotune"]


@dataclass(frozen=True)
class BenchSetting:
    """How the model is timed: input size and batch, precision, memory format, compilation, timing budget."""

    size: int = 512
    device: str = "cpu"
    batch: int = 1
    precision: str = "fp32"
    channels_last: bool = False
    compile: bool = False
    compile_mode: str = "default"
    warmup: int = 3
    iters: int = 20
    max_seconds: Optional[float] = 60.0

    @property
    def optimised(self) -> bool:
        return self.precision != "fp32" or self.channels_last or self.compile

    def describe(self) -> str:
        return (f"in {self.precision}" + (" with channels_last" if self.channels_last else "")
                + (f" under torch.compile(mode={self.compile_mode!r})" if self.compile else ""))

    def advice(self) -> str:
        return ("Drop --compile (it needs a C++ compiler, and Triton on GPU) or try another --compile-mode." if self.compile
                else "Try --precision fp32 or another --device.")


def timing_target(method: Any, size: int, needs_trimap: bool, device: torch.device) -> tuple[torch.nn.Module, Callable[[int], torch.Tensor]]:
    """The module to time and a maker of its input for a batch size.

    In order of preference: the method's ``example_input(size, batch)`` with ``.model`` (the
    mattebench baselines); its ``export_module(h, w)`` (MODNet: the inference-only module and its
    input); else ``.model`` on a random RGB(+trimap) tensor.
    """
    if isinstance(method, ProvidesExampleInput):
        sized = method
        return sized.model, lambda b: sized.example_input(size, b)
    if isinstance(method, Exportable):
        module, example = method.export_module(size, size)
        return module, lambda b: example.repeat(b, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    return method.model, lambda b: torch.rand(b, 4 if needs_trimap else 3, size, size, generator=g).to(device)


def first_tensor(out: Any) -> torch.Tensor:
    """The alpha output of a forward: the tensor itself, or the last tensor of a tuple (MODNet's matte)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        out = list(out.values())
    tensors = [o for o in out if isinstance(o, torch.Tensor)]
    if not tensors:
        raise MattebenchError("the model returned no tensor to compare")
    return tensors[-1]


def example_image(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A fixed random image and a trimap with a band of unknown pixels, for the end-to-end timing."""
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    trimap = np.zeros((size, size), np.uint8)
    trimap[size // 4: 3 * size // 4] = 128
    trimap[3 * size // 8: 5 * size // 8, 3 * size // 8: 5 * size // 8] = 255
    return image, trimap


def _check_setting(s: BenchSetting) -> None:
    if s.size < 1 or s.batch < 1:
        raise MattebenchError("--size and --batch must be positive")
    if s.precision not in PRECISIONS:
        raise MattebenchError(f"--precision must be one of {sorted(PRECISIONS)}")
    if s.compile_mode not in COMPILE_MODES:
        raise MattebenchError(f"--compile-mode must be one of {COMPILE_MODES}")


def _build(method_name: str, device: str, options: dict[str, Any]) -> Any:
    if torch.device(device).type == "cpu" or "device" in options:
        return create_method(method_name, **options)  # every factory's default device is the CPU
    try:
        return create_method(method_name, **{"device": device, **options})
    except RegistryError as exc:
        raise MattebenchError(f"{method_name} has no device option: it runs on the CPU only; use --device cpu") from exc


def _optimise(module: torch.nn.Module, x: torch.Tensor, s: BenchSetting, method_name: str, dev: torch.device) -> tuple[torch.nn.Module, torch.Tensor]:
    if s.channels_last:
        module = module.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)
    if s.compile:
        try:
            module = torch.compile(module, mode=s.compile_mode)
        except Exception as exc:  # no toolchain, unsupported backend
            raise MattebenchError(f"torch.compile failed for {method_name} on {dev}: {exc}") from exc
    return module, x


def _time_model(method: Any, method_name: str, needs_trimap: bool, s: BenchSetting, dev: torch.device) -> dict[str, Any]:
    """Parameters, MACs and the model-only latency of ``method.model`` under the setting."""
    model = method.model
    model.eval()
    out: dict[str, Any] = {"params": count_parameters(model)}
    module, make_input = timing_target(method, s.size, needs_trimap, dev)
    # The MAC count (batch 1, fp32) is a forward pass: it stands in for the first warm-up call
    # when that call would be identical (batch 1, fp32), saving one pass on large networks.
    out["gmacs"] = round(count_macs(module, make_input(1)) / 1e9, 4)
    counted_as_warmup = s.batch == 1 and not s.optimised and s.warmup > 0
    x = make_input(s.batch)
    reference = None
    if s.optimised:  # every optimisation is checked against the plain fp32 output of the same input
        with torch.inference_mode():
            reference = first_tensor(module(x)).float()
    module, x = _optimise(module, x, s, method_name, dev)
    autocast = torch.autocast(device_type=dev.type, dtype=PRECISIONS[s.precision], enabled=s.precision != "fp32")

    def call_model() -> Any:
        with torch.inference_mode(), autocast:
            return module(x)

    failed = f"{method_name} cannot run {s.describe()} on {dev}"
    if reference is not None:
        try:
            got = first_tensor(call_model()).float()
        except Exception as exc:  # torch.compile compiles lazily: its failures surface here, on the first call
            raise MattebenchError(f"{failed}: {exc}. {s.advice()}") from exc
        out["max_abs_diff_vs_fp32"] = float((got - reference).abs().max())
    try:
        times = time_calls(call_model, dev, warmup=max(0, s.warmup - 1) if counted_as_warmup else s.warmup, iters=s.iters, max_seconds=s.max_seconds)
    except RuntimeError as exc:
        raise MattebenchError(f"{failed}: {exc}. {s.advice()}") from exc
    stats = summarize(times)
    out.update(latency_ms=round(stats.median_ms, 3), p10_ms=round(stats.p10_ms, 3), p90_ms=round(stats.p90_ms, 3),
               fps=round(s.batch * 1000.0 / stats.median_ms, 3) if stats.median_ms > 0 else None, iters=stats.n)
    return out


def _time_e2e(method: Any, needs_trimap: bool, s: BenchSetting, dev: torch.device, model_timed: bool) -> dict[str, Any]:
    """The end-to-end ``predict`` of one uint8 image; a failure is recorded, not raised."""
    image, trimap = example_image(s.size)
    try:
        times = time_calls(lambda: method.predict(image, trimap if needs_trimap else None), dev,
                           warmup=s.warmup if model_timed else min(s.warmup, 1), iters=s.iters, max_seconds=s.max_seconds)
    except (RuntimeError, MattebenchError) as exc:
        return {"e2e_ms": None, "e2e_error": f"{type(exc).__name__}: {exc}"}
    st = summarize(times)
    return {"e2e_ms": round(st.median_ms, 3), "e2e_p10_ms": round(st.p10_ms, 3), "e2e_p90_ms": round(st.p90_ms, 3), "e2e_iters": st.n}


def bench(method_name: str, *, size: int = 512, device: str = "cpu", batch: int = 1, precision: str = "fp32",
          threads: Optional[int] = None, warmup: int = 3, iters: int = 20, max_seconds: Optional[float] = 60.0,
          e2e: bool = True, options: Optional[dict[str, Any]] = None, channels_last: bool = False,
          compile: bool = False, compile_mode: str = "default") -> dict[str, Any]:
    """Run the protocol and return the result record (what ``bench --json`` prints)."""
    s = BenchSetting(size=size, device=device, batch=batch, precision=precision, channels_last=channels_last,
                     compile=compile, compile_mode=compile_mode, warmup=warmup, iters=iters, max_seconds=max_seconds)
    _check_setting(s)
    options = dict(options or {})
    n_threads = set_threads(threads)
    card = method_card(method_name)
    dev = torch.device(device)
    method = _build(method_name, device, options)
    record: dict[str, Any] = {
        "method": method_name, "options": options, "size": size, "batch": batch, "precision": precision,
        "device": str(dev), "threads": n_threads, "warmup": warmup, "torch": torch.__version__, "mattebench": __version__,
        "timer": "cuda-events" if dev.type == "cuda" else "perf_counter",
        "autocast": precision != "fp32", "channels_last": channels_last, "compiled": compile,
        "compile_mode": compile_mode if compile else None,
        "device_name": torch_info(str(dev)).get("device_name"),
    }
    cwd = os.getcwd()
    try:
        _time(record, method, method_name, card.needs_trimap, s, dev, e2e)
    except SystemExit as exc:  # a method that exits while timed is an error, never a bench that "succeeded"
        raise MethodExited(f"method {method_name!r} called sys.exit({exc.code!r}) while it was timed: no figure was "
                           "recorded; fix the method") from None
    finally:
        moved = restore_cwd(cwd)
    if moved is not None:
        raise MethodExited(f"method {method_name!r} changed the working directory (os.chdir to {moved!r}) while it was "
                           "timed: no figure was recorded; fix the method")
    return record


def _time_recurrent(method: Any, s: BenchSetting) -> dict[str, Any]:
    """A recurrent model (``-m preset=rvm``) stepping through one clip with its state: the model calls alone (what
    published speed tests time) and each step end to end (preprocessing, the state, the outputs as arrays)."""
    image, _ = example_image(s.size)
    method.start_clip(*image.shape[:2])
    model_ms, step_ms = [], []
    for k in range(s.warmup + s.iters):
        m0, t0 = method.timing.model_s, time.perf_counter()
        method.step(image)
        if k >= s.warmup:
            step_ms.append((time.perf_counter() - t0) * 1000.0)
            model_ms.append((method.timing.model_s - m0) * 1000.0)
    m, e = summarize(model_ms), summarize(step_ms)
    return {"params": None, "gmacs": None, "latency_ms": round(m.median_ms, 3), "p10_ms": round(m.p10_ms, 3),
            "p90_ms": round(m.p90_ms, 3), "fps": round(1000.0 / m.median_ms, 3) if m.median_ms > 0 else None, "iters": m.n,
            "e2e_ms": round(e.median_ms, 3), "e2e_p10_ms": round(e.p10_ms, 3), "e2e_p90_ms": round(e.p90_ms, 3), "e2e_iters": e.n,
            "e2e_fps": round(1000.0 / e.median_ms, 3) if e.median_ms > 0 else None, "recurrent": True,
            "downsample_ratio": method.last_ratio[0], "downsample_ratio_source": method.last_ratio[1]}


def _time(record: dict[str, Any], method: Any, method_name: str, needs_trimap: bool, s: BenchSetting, dev: Any,
          e2e: bool) -> None:
    if callable(getattr(method, "start_clip", None)) and callable(getattr(method, "step", None)):
        record.update(_time_recurrent(method, s))  # the state is carried frame to frame, as in a video
        return
    if isinstance(method, TorchModel) and isinstance(method.model, torch.nn.Module):
        record.update(_time_model(method, method_name, needs_trimap, s, dev))
    else:  # classical methods: no network, only the end-to-end time
        record.update(params=None, gmacs=None, latency_ms=None, p10_ms=None, p90_ms=None, fps=None, iters=0)
    if e2e:
        record.update(_time_e2e(method, needs_trimap, s, dev, model_timed=record["latency_ms"] is not None))
        if record["latency_ms"] is None and record.get("e2e_ms"):
            record["fps"] = round(1000.0 / record["e2e_ms"], 3)
