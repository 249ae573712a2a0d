"""Pack a trained MODNet checkpoint as a shipped one: float16 weights with their input rule in
``mattebench/weights/``, its training curve, and an entry in ``index.json`` (name, file, sha256, rule).

    python -m mattebench_baselines.modnet.ship --from runs/train/X/final.ckpt --name modnet-synthetic \
        --ref-size 192 --train-dir runs/train/X [--train-dir runs/train/X2] --description "..."

One path for every shipped MODNet (``modnet``, ``modnet-easpp``, ``modnet-trimap``): the method and network
variant are read from the trained checkpoint itself (``meta.variant``), so a trimap network cannot be packed
under a trimap-free name; ``--method``, when given, must agree with it.

The card (``mattebench/weights/CARD.md``) is written by hand from the measured numbers; this tool prints the
sha256 it must quote (tests check that the card and the index agree with the file).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from mattebench import shipped
from mattebench.errors import CheckpointError

from . import checkpoint as ckpt
from .cards import registered_name
from .method import MODNetMethod

WEIGHTS_DIR = Path(__file__).resolve().parents[2] / "mattebench" / "weights"
CURVE_COLUMNS = ("phase", "step", "lr", "loss", "semantic", "detail", "matte", "comp", "t_semantic", "t_matte", "elapsed_s")


def write_curve(train_dirs: list[Path], csv_path: Path) -> list[dict[str, Any]]:
    """The loss.csv of each training phase, steps counted on from the previous phase, as one CSV and a PNG."""
    rows: list[dict[str, Any]] = []
    offset = 0
    for phase, d in enumerate(train_dirs, 1):
        with open(d / "loss.csv", newline="", encoding="utf-8") as f:
            part = list(csv.DictReader(f))
        for r in part:
            rows.append({**r, "phase": phase, "step": int(r["step"]) + offset})
        offset += int(part[-1]["step"]) if part else 0
    with open(csv_path, "w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=[c for c in CURVE_COLUMNS if rows and c in rows[0]], extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    for key in ("loss", "detail", "t_semantic", "t_matte", "matte"):
        if rows and key in rows[0]:
            ax.plot([r["step"] for r in rows], [float(r[key] or "nan") for r in rows], label=key, lw=1)
    ax.set_yscale("log")
    ax.set_xlabel("step (batches of 8)")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(csv_path.with_name(csv_path.name.replace(".csv", ".png")), dpi=70)
    plt.close(fig)
    return rows


@dataclass(frozen=True)
class TrainedNetwork:
    """What a trained checkpoint holds: its network variant and the registered method that loads it."""

    variant: str  # "v1" | "easpp" (the low-resolution branch)
    trimap_input: bool

    @property
    def method(self) -> str:
        return registered_name(self.variant, self.trimap_input)


def trained_network(source: Path) -> TrainedNetwork:
    """The network of ``source`` from its stored variant ("v1", "easpp", "easpp-trimap", ...); official files are v1."""
    stored = str(ckpt.read_checkpoint(source)[2].get("variant", "v1"))
    base, _, trimap = stored.partition("-")
    return TrainedNetwork(base, trimap == "trimap")


def pack(source: Path, name: str, ref_size: int, train_dirs: list[Path], description: str,
         weights_dir: Path = WEIGHTS_DIR, method: Optional[str] = None) -> dict[str, Any]:
    """Write ``<name>.ckpt`` (float16, with its input rule), its curve and its index entry; returns the entry."""
    net = trained_network(source)
    if method is not None and method != net.method:
        raise CheckpointError(f"{source} holds a {net.method} network (variant {net.variant}"
                              f"{', trimap input' if net.trimap_input else ''}), not {method}; pack it with --method {net.method} "
                              f"or leave --method out")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = MODNetMethod(net.variant, checkpoint=str(source), ref_size=ref_size, trimap_input=net.trimap_input)
    phases = [json.loads((d / "train.json").read_text(encoding="utf-8")) for d in train_dirs if (d / "train.json").is_file()]
    out = weights_dir / f"{name}.ckpt"
    m.save_checkpoint(out, meta={"shipped_name": shipped.PREFIX + name, "training_phases": phases}, half=True)
    digest = ckpt.sha256(out)
    if train_dirs:
        write_curve(train_dirs, weights_dir / f"{name}.curve.csv")
    index_path = weights_dir / "index.json"
    index = json.loads(index_path.read_text(encoding="utf-8")) if index_path.is_file() else {"checkpoints": []}
    entry = {"name": name, "method": net.method, "file": out.name, "sha256": digest,
             "input_rule": m.input_rule.stored(), "description": description}
    index["checkpoints"] = [e for e in index["checkpoints"] if e["name"] != name] + [entry]
    index["checkpoints"].sort(key=lambda e: e["name"])
    index_path.write_text(json.dumps(index, indent=2) + "\n", encoding="utf-8")
    return entry


def main(argv: Optional[list[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--from", dest="source", required=True, type=Path)
    p.add_argument("--name", required=True)
    p.add_argument("--method", default=None, choices=("modnet", "modnet-easpp", "modnet-trimap"),
                   help="optional check: the method the checkpoint must load with (default: read from the checkpoint)")
    p.add_argument("--ref-size", type=int, required=True, help="the reference size it was trained and evaluated at")
    p.add_argument("--train-dir", type=Path, action="append", default=[], help="each training phase's --out, in order")
    p.add_argument("--description", default="")
    p.add_argument("--weights-dir", type=Path, default=WEIGHTS_DIR, help="where to write (default: the package's weights folder)")
    a = p.parse_args(argv)
    a.weights_dir.mkdir(parents=True, exist_ok=True)
    try:
        entry = pack(a.source, a.name, a.ref_size, a.train_dir, a.description, a.weights_dir, method=a.method)
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(entry, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
