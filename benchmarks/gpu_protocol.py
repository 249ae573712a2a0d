"""MODNet's speed on one GPU, by the protocol of ``mattebench bench``: the numbers issue 7 asks for.

1. Latency at SxS (default 512), batch 1, for each optimisation alone and combined: fp32 (the
   baseline), channels_last, fp16 and bf16 autocast, fp16 + channels_last, torch.compile, and
   torch.compile(mode="reduce-overhead"), which records CUDA graphs. Each row carries its gain over
   the fp32 baseline and the largest |difference| of its matte from fp32's on the same input.
2. Throughput over a batch sweep (1, 2, 4, ... up to --max-batch or out of memory) with the fastest
   batch-1 setting; the best batch is named.

A setting that cannot run (no Triton for torch.compile, no bf16 on an old card) becomes a row with
its error; the script goes on. Usage on a GPU machine (a few minutes on one card)::

    python benchmarks/gpu_protocol.py --device cuda --checkpoint modnet_photographic_portrait_matting.ckpt \
        --out leaderboards/gpu-modnet.md --json runs/gpu-protocol/modnet.json

On a CPU ``--quick`` runs the same code on small inputs (what the tests do).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
from pathlib import Path
from typing import Any, Optional

import torch

import mattebench
from mattebench.environment import torch_info
from mattebench.tracks.bench import bench

# (label, bench keyword arguments): each optimisation alone, then combined.
SETTINGS: list[tuple[str, dict[str, Any]]] = [
    ("fp32", {}),
    ("channels_last", {"channels_last": True}),
    ("fp16 autocast", {"precision": "fp16"}),
    ("bf16 autocast", {"precision": "bf16"}),
    ("fp16 + channels_last", {"precision": "fp16", "channels_last": True}),
    ("torch.compile (fp32)", {"compile": True}),
    ("fp16 + channels_last + torch.compile", {"precision": "fp16", "channels_last": True, "compile": True}),
    ("fp16 + channels_last + CUDA graphs (compile reduce-overhead)",
     {"precision": "fp16", "channels_last": True, "compile": True, "compile_mode": "reduce-overhead"}),
]


def measure(method: str, size: int, device: str, batch: int, iters: int, warmup: int, kwargs: dict[str, Any],
            options: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """One bench record, or a record with ``error`` when the setting cannot run here."""
    try:
        return bench(method, size=size, device=device, batch=batch, warmup=warmup, iters=iters,
                     max_seconds=20.0, e2e=False, options=options, **kwargs)
    except Exception as exc:  # one failing setting must not cost the others
        msg = str(exc).splitlines()[0][:300] if str(exc) else type(exc).__name__
        return {"method": method, "size": size, "batch": batch, "device": device, "error": f"{type(exc).__name__}: {msg}", **kwargs}


def run_protocol(method: str = "modnet", size: int = 512, device: str = "cuda", iters: int = 50, warmup: int = 10,
                 max_batch: int = 64, settings: Optional[list[tuple[str, dict[str, Any]]]] = None,
                 options: Optional[dict[str, Any]] = None) -> dict[str, Any]:
    """Both parts of the protocol; returns {"device": ..., "latency": [...], "throughput": [...], "best": ...}.

    ``options`` go to the method's factory: give a trained ``checkpoint`` so that the differences from
    fp32 are measured on real mattes (an untrained MODNet saturates, and every setting then agrees exactly)."""
    settings = settings if settings is not None else SETTINGS
    if torch.device(device).type != "cuda":
        # CUDA graphs exist only on CUDA; elsewhere the row would only repeat torch.compile.
        settings = [(label, kw) for label, kw in settings if kw.get("compile_mode") != "reduce-overhead"]
    latency: list[dict[str, Any]] = []
    for label, kwargs in settings:
        rec = measure(method, size, device, 1, iters, warmup, kwargs, options)
        rec["setting"] = label
        latency.append(rec)
        print(f"[latency] {label}: " + (f"{rec['latency_ms']} ms" if "latency_ms" in rec else rec["error"]), flush=True)
    base = next((r for r in latency if r["setting"] == "fp32" and r.get("latency_ms")), None)
    for r in latency:
        r["gain_vs_fp32"] = round(base["latency_ms"] / r["latency_ms"], 3) if base and r.get("latency_ms") else None
    ok = [r for r in latency if r.get("latency_ms")]
    fastest = min(ok, key=lambda r: r["latency_ms"]) if ok else None
    throughput: list[dict[str, Any]] = []
    if fastest is not None:
        kwargs = dict(next(kw for label, kw in settings if label == fastest["setting"]))
        batch = 1
        while batch <= max_batch:
            rec = measure(method, size, device, batch, max(5, iters // 5), max(2, warmup // 5), kwargs, options)
            rec["setting"] = fastest["setting"]
            throughput.append(rec)
            print(f"[throughput] batch {batch}: " + (f"{rec['fps']} img/s" if rec.get("fps") else rec.get("error", "?")), flush=True)
            if "error" in rec:  # out of memory: larger batches will not fit either
                break
            batch *= 2
    good = [r for r in throughput if r.get("fps")]
    best = max(good, key=lambda r: r["fps"]) if good else None
    timer = "CUDA events" if torch.device(device).type == "cuda" else "perf_counter with pinned threads"
    return {"method": method, "options": dict(options or {}), "timer": timer, "size": size, "device": device, "device_name": torch_info(device).get("device_name"),
            "torch": torch.__version__, "mattebench": mattebench.__version__, "python": platform.python_version(),
            "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "latency": latency, "throughput": throughput,
            "best": {"setting": best["setting"], "batch": best["batch"], "fps": best["fps"]} if best else None}


def _cell(v: Any, fmt: str = "{}") -> str:
    return "—" if v is None else fmt.format(v)


def render(result: dict[str, Any]) -> str:
    """The markdown report: device, then both tables."""
    lines = [f"# {result['method']} speed at {result['size']}x{result['size']} on {result['device_name'] or result['device']}", "",
             f"`python benchmarks/gpu_protocol.py`, {result['date']}; torch {result['torch']}, mattebench {result['mattebench']}. "
             f"Options {result.get('options') or '{}'}. Model-only times (the network on a prepared tensor), {result['timer']}, "
             "median over repeated calls after warm-up. "
             "The paper reports 14.9 ms (67 fps) at 512x512 on a GTX 1080Ti.", "",
             "## Latency, batch 1", "",
             "| setting | median ms | p10 | p90 | fps | gain vs fp32 | max abs diff vs fp32 |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in result["latency"]:
        if "error" in r:
            lines.append(f"| {r['setting']} | could not run: {r['error']} | | | | | |")
            continue
        lines.append(f"| {r['setting']} | {r['latency_ms']:.3f} | {r['p10_ms']:.3f} | {r['p90_ms']:.3f} | {_cell(r.get('fps'), '{:.1f}')} | "
                     f"{_cell(r.get('gain_vs_fp32'), '{:.2f}x')} | {_cell(r.get('max_abs_diff_vs_fp32'), '{:.2e}')} |")
    lines += ["", "## Throughput by batch" + (f" ({result['throughput'][0]['setting']})" if result["throughput"] else ""), "",
              "| batch | median ms per batch | images/s |", "|---:|---:|---:|"]
    for r in result["throughput"]:
        if "error" in r:
            lines.append(f"| {r['batch']} | could not run: {r['error']} | |")
        else:
            lines.append(f"| {r['batch']} | {r['latency_ms']:.3f} | {r['fps']:.1f} |")
    if result["best"]:
        b = result["best"]
        lines += ["", f"Best: batch {b['batch']} with {b['setting']}, {b['fps']:.1f} images/s."]
    return "\n".join(lines) + "\n"


def main(argv: Optional[list[str]] = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="modnet")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--iters", type=int, default=50)
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--max-batch", type=int, default=64)
    ap.add_argument("--checkpoint", default=None, help="trained weights (recommended: fp16/bf16 differences are then meaningful)")
    ap.add_argument("--quick", action="store_true", help="tiny sizes and counts: checks the script, measures nothing")
    ap.add_argument("--out", default=None, help="markdown report (default: print it)")
    ap.add_argument("--json", default=None, help="also write the raw records here")
    args = ap.parse_args(argv)
    if args.quick:
        args.size, args.iters, args.warmup, args.max_batch = 64, 3, 2, 2
    options = {"checkpoint": args.checkpoint} if args.checkpoint else None
    result = run_protocol(args.method, args.size, args.device, args.iters, args.warmup, args.max_batch, options=options)
    text = render(result)
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(text)
        print(f"wrote {args.out}")
    else:
        print(text)
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
