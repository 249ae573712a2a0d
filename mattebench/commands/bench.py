"""`mattebench bench`: parameters, MACs and latency of one method, by the protocol of mattebench.timing.

Two times are reported: the bare module on a prepared input tensor of ``--batch`` images
(``latency_ms``, ``p10_ms``, ``p90_ms``, ``fps`` = batch / latency), and the end-to-end
``predict`` of one uint8 image of ``--size`` (preprocessing, resizing, transfer, post-processing:
``e2e_ms``...). With ``--json`` the last line of the output is one JSON object.
"""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable, Optional

import numpy as np
import torch

from .. import __version__
from ..errors import MattebenchError, RegistryError
from ..provenance import torch_info
from ..registry import create_method, method_card
from ..timing import count_macs, count_parameters, set_threads, summarize, time_calls
from ._options import parse_options

PRECISIONS = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
# torch.compile modes; "reduce-overhead" records CUDA graphs, which removes per-kernel launch cost at batch 1.
COMPILE_MODES = ["default", "reduce-overhead", "max-autotune"]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="parameters, MACs and latency of a method",
                       description="Time a method: the bare network (model-only) and predict() end to end, with warm-up and "
                                   "device synchronisation (CUDA events on GPU; pinned threads on CPU).")
    p.add_argument("--method", required=True, help="registered method name (see `mattebench list methods`)")
    p.add_argument("-m", "--method-option", action="append", default=[], metavar="KEY=VALUE", help="factory option, repeatable (e.g. -m backbone=mobilenetv2)")
    p.add_argument("--size", type=int, default=512, help="square input size S (default 512)")
    p.add_argument("--device", default="cpu", help="cpu, cuda, cuda:1, mps (default cpu)")
    p.add_argument("--batch", type=int, default=1, help="batch of the model-only timing (default 1)")
    p.add_argument("--precision", choices=sorted(PRECISIONS), default="fp32",
                   help="fp16/bf16 run the model under torch.autocast; the output is checked against fp32 (max_abs_diff_vs_fp32)")
    p.add_argument("--channels-last", action="store_true", help="model and input in channels_last memory format")
    p.add_argument("--compile", action="store_true", help="torch.compile the model before timing (needs a working compiler toolchain)")
    p.add_argument("--compile-mode", choices=COMPILE_MODES, default="default",
                   help="torch.compile mode; reduce-overhead captures CUDA graphs on GPU (default: default)")
    p.add_argument("--threads", type=int, default=None, help="CPU threads to pin (default: torch's current setting)")
    p.add_argument("--warmup", type=int, default=3, help="untimed calls before timing (default 3)")
    p.add_argument("--iters", type=int, default=20, help="timed calls (default 20)")
    p.add_argument("--max-seconds", type=float, default=60.0, help="stop timing a phase after this many seconds, keeping at least 3 calls (default 60)")
    p.add_argument("--no-e2e", action="store_true", help="skip the end-to-end predict() timing")
    p.add_argument("--json", action="store_true", help="print one JSON object on the last line")
    p.set_defaults(func=run)


def timing_target(method: Any, size: int, needs_trimap: bool, device: torch.device) -> tuple[torch.nn.Module, Callable[[int], torch.Tensor]]:
    """The module to time and a maker of its input for a batch size.

    In order of preference: the method's ``example_input(size, batch)`` with ``.model`` (the
    mattebench baselines); its ``export_module(h, w)`` (MODNet: the inference-only module and its
    input); else ``.model`` on a random RGB(+trimap) tensor.
    """
    if callable(getattr(method, "example_input", None)):
        return method.model, lambda b: method.example_input(size, b)
    if callable(getattr(method, "export_module", None)):
        module, example = method.export_module(size, size)
        return module, lambda b: example.repeat(b, 1, 1, 1)
    g = torch.Generator().manual_seed(0)
    return method.model, lambda b: torch.rand(b, 4 if needs_trimap else 3, size, size, generator=g).to(device)


def _first_tensor(out: Any) -> torch.Tensor:
    """The alpha output of a forward: the tensor itself, or the last tensor of a tuple (MODNet's matte)."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        out = list(out.values())
    tensors = [o for o in out if isinstance(o, torch.Tensor)]
    if not tensors:
        raise MattebenchError("the model returned no tensor to compare")
    return tensors[-1]


def _example_image(size: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    trimap = np.zeros((size, size), np.uint8)
    trimap[size // 4: 3 * size // 4] = 128
    trimap[3 * size // 8: 5 * size // 8, 3 * size // 8: 5 * size // 8] = 255
    return image, trimap


def bench(method_name: str, *, size: int = 512, device: str = "cpu", batch: int = 1, precision: str = "fp32",
          threads: Optional[int] = None, warmup: int = 3, iters: int = 20, max_seconds: Optional[float] = 60.0,
          e2e: bool = True, options: Optional[dict[str, Any]] = None, channels_last: bool = False,
          compile: bool = False, compile_mode: str = "default") -> dict[str, Any]:
    """Run the protocol and return the result record (what ``--json`` prints)."""
    if size < 1 or batch < 1:
        raise MattebenchError("--size and --batch must be positive")
    if precision not in PRECISIONS:
        raise MattebenchError(f"--precision must be one of {sorted(PRECISIONS)}")
    if compile_mode not in COMPILE_MODES:
        raise MattebenchError(f"--compile-mode must be one of {COMPILE_MODES}")
    options = dict(options or {})
    n_threads = set_threads(threads)
    card = method_card(method_name)
    dev = torch.device(device)
    if dev.type == "cpu" or "device" in options:
        method = create_method(method_name, **options)  # every factory's default device is the CPU
    else:
        try:
            method = create_method(method_name, **{"device": device, **options})
        except RegistryError as exc:
            raise MattebenchError(f"{method_name} has no device option: it runs on the CPU only; use --device cpu") from exc
    record: dict[str, Any] = {
        "method": method_name, "options": options, "size": size, "batch": batch, "precision": precision,
        "device": str(dev), "threads": n_threads, "warmup": warmup, "torch": torch.__version__, "mattebench": __version__,
        "timer": "cuda-events" if dev.type == "cuda" else "perf_counter",
        "autocast": precision != "fp32", "channels_last": channels_last, "compiled": compile,
        "compile_mode": compile_mode if compile else None,
    }
    record["device_name"] = torch_info(str(dev)).get("device_name")
    model = getattr(method, "model", None)
    if isinstance(model, torch.nn.Module):
        model.eval()
        record["params"] = count_parameters(model)
        module, make_input = timing_target(method, size, card.needs_trimap, dev)
        # The MAC count (batch 1, fp32) is a forward pass: it stands in for the first warm-up call
        # when that call would be identical (batch 1, fp32), saving one pass on large networks.
        record["gmacs"] = round(count_macs(module, make_input(1)) / 1e9, 4)
        optimised = precision != "fp32" or channels_last or compile
        # The MAC count doubles as the first warm-up call only when the timed call is the same plain forward.
        counted_as_warmup = batch == 1 and not optimised and warmup > 0
        x = make_input(batch)
        reference = None
        if optimised:  # every optimisation is checked against the plain fp32 output of the same input
            with torch.inference_mode():
                reference = _first_tensor(module(x)).float()
        if channels_last:
            module = module.to(memory_format=torch.channels_last)
            x = x.contiguous(memory_format=torch.channels_last)
        if compile:
            try:
                module = torch.compile(module, mode=compile_mode)
            except Exception as exc:  # no toolchain, unsupported backend
                raise MattebenchError(f"torch.compile failed for {method_name} on {dev}: {exc}") from exc
        setting = f"in {precision}" + (" with channels_last" if channels_last else "") + (f" under torch.compile(mode={compile_mode!r})" if compile else "")
        advice = ("Drop --compile (it needs a C++ compiler, and Triton on GPU) or try another --compile-mode." if compile
                  else "Try --precision fp32 or another --device.")
        autocast = torch.autocast(device_type=dev.type, dtype=PRECISIONS[precision], enabled=precision != "fp32")

        def call_model() -> Any:
            with torch.inference_mode(), autocast:
                return module(x)

        if reference is not None:
            try:
                out = _first_tensor(call_model()).float()
            except Exception as exc:  # torch.compile compiles lazily: its failures surface here, on the first call
                raise MattebenchError(f"{method_name} cannot run {setting} on {dev}: {exc}. {advice}") from exc
            record["max_abs_diff_vs_fp32"] = float((out - reference).abs().max())
        try:
            times = time_calls(call_model, dev, warmup=max(0, warmup - 1) if counted_as_warmup else warmup, iters=iters, max_seconds=max_seconds)
        except RuntimeError as exc:
            raise MattebenchError(f"{method_name} cannot run {setting} on {dev}: {exc}. {advice}") from exc
        stats = summarize(times)
        record.update(latency_ms=round(stats.median_ms, 3), p10_ms=round(stats.p10_ms, 3), p90_ms=round(stats.p90_ms, 3),
                      fps=round(batch * 1000.0 / stats.median_ms, 3) if stats.median_ms > 0 else None, iters=stats.n)
    else:  # classical methods: no network, only the end-to-end time
        record.update(params=None, gmacs=None, latency_ms=None, p10_ms=None, p90_ms=None, fps=None, iters=0)
    if e2e:
        image, trimap = _example_image(size)
        try:
            e2e_times = time_calls(lambda: method.predict(image, trimap if card.needs_trimap else None), dev,
                                   warmup=min(warmup, 1) if record["latency_ms"] is None else warmup, iters=iters, max_seconds=max_seconds)
            s = summarize(e2e_times)
            record.update(e2e_ms=round(s.median_ms, 3), e2e_p10_ms=round(s.p10_ms, 3), e2e_p90_ms=round(s.p90_ms, 3), e2e_iters=s.n)
        except (RuntimeError, MattebenchError) as exc:
            record.update(e2e_ms=None, e2e_error=f"{type(exc).__name__}: {exc}")
        if record["latency_ms"] is None and record.get("e2e_ms"):
            record["fps"] = round(1000.0 / record["e2e_ms"], 3)
    return record


def run(args: argparse.Namespace) -> int:
    record = bench(args.method, size=args.size, device=args.device, batch=args.batch, precision=args.precision,
                   threads=args.threads, warmup=args.warmup, iters=args.iters, max_seconds=args.max_seconds,
                   e2e=not args.no_e2e, options=parse_options(args.method_option),
                   channels_last=args.channels_last, compile=args.compile, compile_mode=args.compile_mode)
    if args.json:
        print(json.dumps(record, sort_keys=True))
        return 0
    def fmt(v: Any, unit: str = "") -> str:
        return "n/a" if v is None else f"{v}{unit}"
    print(f"{record['method']} at {record['size']}x{record['size']}, batch {record['batch']}, {record['precision']}, "
          f"{record['device']} ({record['device_name']}), {record['threads']} threads, torch {record['torch']}")
    print(f"  parameters   {fmt(record['params'])}")
    print(f"  GMACs        {fmt(record['gmacs'])}")
    print(f"  model-only   median {fmt(record['latency_ms'], ' ms')} (p10 {fmt(record['p10_ms'])}, p90 {fmt(record['p90_ms'])}; "
          f"{record['iters']} calls) = {fmt(record['fps'])} fps")
    if "max_abs_diff_vs_fp32" in record:
        print(f"  vs fp32      max |difference| {record['max_abs_diff_vs_fp32']:.3g} "
              f"(autocast {record['precision']}, channels_last {record['channels_last']}, compiled {record['compiled']})")
    if "e2e_ms" in record:
        print(f"  end-to-end   median {fmt(record['e2e_ms'], ' ms')} (p10 {fmt(record.get('e2e_p10_ms'))}, p90 {fmt(record.get('e2e_p90_ms'))})"
              + (f"  [{record['e2e_error']}]" if record.get("e2e_error") else ""))
    return 0
