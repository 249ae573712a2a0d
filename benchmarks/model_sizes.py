"""Size and latency of every network method (MODNet and the paper's baselines, † variants included).

Writes ``leaderboards/model-sizes.md``: parameters and MACs as built beside the published figures,
and the model-only latency at SxS (default 512) by the protocol of ``mattebench.tracks.bench`` (warm-up,
median and p10/p90, pinned threads). Usage::

    python benchmarks/model_sizes.py [--size 512] [--device cpu] [--threads 2] [--iters 3] [--out leaderboards/model-sizes.md]

MACs at other sizes (the published LFM and HAtt figures are at 800 x 800) are counted on the meta
device, which costs no compute.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path
from typing import Any, Optional

import torch

import mattebench
from mattebench.tracks.bench import bench, count_macs

# (row label, registered name, factory options)
ROWS: list[tuple[str, str, dict[str, Any]]] = [
    ("MODNet", "modnet", {}),
    ("MODNet (e-ASPP)", "modnet-easpp", {}),
    ("DIM", "dim", {}),
    ("DIM (no trimap)", "dim-free", {}),
    ("DIM † (no trimap)", "dim-free", {"backbone": "mobilenetv2"}),
    ("IndexNet (release)", "indexnet", {}),
    ("IndexNet (paper size)", "indexnet", {"paper_size": True}),
    ("FDMPA", "fdmpa", {}),
    ("FDMPA †", "fdmpa", {"backbone": "mobilenetv2"}),
    ("LFM", "lfm", {}),
    ("LFM †", "lfm", {"backbone": "mobilenetv2"}),
    ("SHM", "shm", {}),
    ("SHM †", "shm", {"backbone": "mobilenetv2"}),
    ("BSHM", "bshm", {}),
    ("BSHM †", "bshm", {"backbone": "mobilenetv2"}),
    ("HAtt", "hatt", {}),
    ("HAtt †", "hatt", {"backbone": "mobilenetv2"}),
]

# Published figures (each baseline's paper, and MODNet's Table/Figure 6), shown beside ours, never instead.
PUBLISHED: dict[str, tuple[str, str, Optional[int]]] = {
    # label: (params, MACs, size at which the published MACs were given, to recount ours there)
    "MODNet": ("6,487,075", "15.47 GMACs at 512²", 512),
    "DIM": ("130.55 M (with fc6)", "175.5 GFLOPs at 512² (without fc6)", None),
    "IndexNet (paper size)": ("8.15 M", "6.30 GFLOPs (input size not stated)", 224),
    "FDMPA": ("0.026 M", "0.12 GMACs at 128²", 128),
    "LFM": ("about 37.9 M", "about 2.8 TMACs at 800²", 800),
    "SHM": ("79.27 M", "355.7 GMACs at 512²", 512),
    "HAtt": ("about 107 M", "about 1.5 TMACs at 800²", 800),
}

NOTES = {
    "DIM": "encoder-decoder 130,545,345 (= 130.55 M) + refinement 76,801; without fc6 25.95 M / 154.6 GMACs at 512",
    "IndexNet (release)": "the released model (checkpoint layout); index branches C->C",
    "IndexNet (paper size)": "index branches 2C wide: exactly the paper's 8.15 M",
    "FDMPA": "native input 128x128",
    "LFM": "decoder widths not published; MACs far below the paper's (its decoders must work at higher resolution)",
    "SHM": "M-Net decoder widths not published (DIM's used)",
    "HAtt": "+ 2,766,657 in the PatchGAN discriminator (training only) = 106.8 M",
    "BSHM": "size not reported in the paper",
}


def macs_at(name: str, options: dict[str, Any], size: int) -> Optional[float]:
    """GMACs at ``size`` counted on the meta device (our baselines), else None."""
    method = mattebench.create_method(name, **options)
    if not callable(getattr(method, "example_input", None)):
        return None
    model = method.model.to("meta")  # shapes only: no compute, and the weights are released
    x = torch.empty(1, 4 if method.needs_trimap else 3, size, size, device="meta")
    return count_macs(model, x) / 1e9


def load_average() -> str:
    try:
        return " / ".join(f"{v:.1f}" for v in os.getloadavg())
    except OSError:
        return "n/a"


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--max-seconds", type=float, default=30.0)
    ap.add_argument("--only", nargs="*", help="row labels to run (default: all)")
    ap.add_argument("--out", default=str(Path(__file__).resolve().parents[1] / "leaderboards" / "model-sizes.md"))
    ap.add_argument("--json", default=None, help="also write the raw records here")
    return ap.parse_args(argv)


def measure(args: argparse.Namespace) -> list[dict]:
    """One bench record per row of ROWS (those in --only), each with its label and trimap need."""
    records = []
    for label, name, options in ROWS:
        if args.only and label not in args.only:
            continue
        print(f"{label} ...", file=sys.stderr, flush=True)
        rec = bench(name, size=args.size, device=args.device, batch=1, precision="fp32", threads=args.threads,
                    warmup=args.warmup, iters=args.iters, max_seconds=args.max_seconds, e2e=False, options=options)
        rec["label"] = label
        rec["needs_trimap"] = mattebench.method_card(name).needs_trimap
        pub = PUBLISHED.get(label)
        if pub and pub[2] and pub[2] != args.size:
            rec["gmacs_at_published_size"] = round(macs_at(name, options, pub[2]) or float("nan"), 3)
        records.append(rec)
        print(json.dumps(rec), file=sys.stderr, flush=True)
    return records


def table_lines(records: list[dict], args: argparse.Namespace, load_before: str, load_after: str) -> list[str]:
    """The markdown page: one row per record beside the published figures, then how it was measured."""
    lines = [
        "# Model sizes and latency",
        "",
        f"Parameters and multiply-accumulates (MACs, `torch.utils.flop_counter`, FLOPs / 2) of each network as built "
        f"by mattebench, beside the published figures; model-only latency at {args.size}x{args.size}, batch 1, fp32 "
        f"(median of the timed calls after {args.warmup} warm-up; p10-p90 in brackets).",
        "",
        "| method | trimap | params (M) | published params | GMACs @{0} | published MACs | ours at the published size | latency @{0} (ms) | notes |".format(args.size),
        "|---|---|---:|---|---:|---|---:|---:|---|",
    ]
    for r in records:
        pub = PUBLISHED.get(r["label"], ("", "", None))
        at_pub = ""
        if pub[2]:
            g = r["gmacs"] if pub[2] == args.size else r.get("gmacs_at_published_size")
            at_pub = f"{g:,.2f} GMACs at {pub[2]}²" if g is not None else ""
        lat = f"{r['latency_ms']:,.0f} ({r['p10_ms']:,.0f}-{r['p90_ms']:,.0f}), n={r['iters']}"
        lines.append(
            f"| {r['label']} | {'yes' if r['needs_trimap'] else 'no'} | {r['params'] / 1e6:,.3f} | {pub[0]} | "
            f"{r['gmacs']:,.2f} | {pub[1]} | {at_pub} | {lat} | {NOTES.get(r['label'], '')} |"
        )
    first = records[0] if records else {}
    lines += [
        "",
        f"Measured {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} on {args.device} "
        f"({platform.processor() or platform.machine()}, {first.get('threads')} torch threads, torch {torch.__version__}, "
        f"mattebench {mattebench.__version__}). Load average (1/5/15 min) before: {load_before}; after: {load_after}. "
        "The machine was shared with other jobs, so CPU latencies are upper bounds; compare them only within one table. "
        "Regenerate with `python benchmarks/model_sizes.py`; one method with `mattebench bench --method M --size 512 --json`.",
        "",
        "† = MobileNetV2 backbone (MODNet's, initialised from the SPS checkpoint a user supplies via "
        "`-m backbone_checkpoint=PATH`); trimap-free DIM and the † variants are options of the registered names "
        "(`-m backbone=mobilenetv2`).",
        "",
    ]
    return lines


def main(argv: Optional[list[str]] = None) -> int:
    args = parse_args(argv)
    load_before = load_average()
    records = measure(args)
    load_after = load_average()
    lines = table_lines(records, args, load_before, load_after)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    if args.json:
        Path(args.json).write_text(json.dumps(records, indent=2))
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
