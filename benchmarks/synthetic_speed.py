"""Time the synthetic dataset: milliseconds per sample (and per video frame) at a given size.

    python benchmarks/synthetic_speed.py [--size 256x320] [--n 30]

Reports the median and mean over ``n`` test samples after one warm-up sample (which pays for
imports and reading the photographs), on this machine's CPU, single process.
"""

from __future__ import annotations

import argparse
import statistics
import time

from mattebench.data.synthetic import SyntheticDataset, SyntheticVideoDataset


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="256x320", help="WIDTHxHEIGHT")
    ap.add_argument("--n", type=int, default=30)
    ap.add_argument("--frames", type=int, default=10)
    args = ap.parse_args()
    d = SyntheticDataset(size=args.size)
    d.load(d.ids()[0])
    times = []
    for i in d.ids()[: args.n]:
        t = time.perf_counter()
        d.load(i)
        times.append(1000 * (time.perf_counter() - t))
    print(f"synthetic {args.size}: median {statistics.median(times):.1f} ms, mean {statistics.mean(times):.1f} ms "
          f"per sample over {len(times)} samples")
    v = SyntheticVideoDataset(n_clips=1, frames=args.frames, size=args.size)
    t = time.perf_counter()
    v.load("clip-00")
    print(f"synthetic-video {args.size}: {1000 * (time.perf_counter() - t) / args.frames:.1f} ms per frame "
          f"({args.frames} frames, flow included)")


if __name__ == "__main__":
    main()
