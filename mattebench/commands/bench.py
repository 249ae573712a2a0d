"""`mattebench bench`: parameters, MACs and latency of one method (the engine is mattebench.tracks.bench).

With ``--json`` the last line of the output is one JSON object: the record of :func:`mattebench.tracks.bench.bench`.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from mattebench.commands._options import parse_options
from mattebench.tracks.bench import COMPILE_MODES, PRECISIONS, bench


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
              + (f" = {record['e2e_fps']} fps" if record.get("e2e_fps") else "")
              + (f"  [{record['e2e_error']}]" if record.get("e2e_error") else ""))
    if record.get("recurrent"):
        print(f"  recurrent    one clip, state carried frame to frame; downsample ratio {record['downsample_ratio']} "
              f"({record['downsample_ratio_source']})")
    return 0
