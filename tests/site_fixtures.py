"""Stored runs for the leaderboard-site tests.

Two runs are real (``trimap-midpoint`` and ``gt-echo`` evaluated on the tiny in-memory dataset of
conftest), the others are copies of the real summary with the method, card and means changed, so the
tests exercise every shape the runner writes without running slow methods. The fabricated means are
chosen so that sorting by MSE, by MAD, by SAD and by time give different row orders.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Optional

from conftest import TinyDataset

from mattebench.runs.runner import evaluate
from mattebench.runs.store import SUMMARY, load_summaries, run_dir
from mattebench.types import FAMILY_FREE, FAMILY_TRIMAP

# method, tag, family, pretrained, {metric: mean}, median ms
FABRICATED: tuple[tuple[str, Optional[str], str, str, dict[str, Optional[float]], float], ...] = (
    ("closed-form", None, FAMILY_TRIMAP, "",
     {"mse_whole": 0.0021, "mad_whole": 0.0090, "sad": 0.31, "mse": 0.011, "grad": 0.20, "conn": 0.29}, 850.0),
    ("knn", "k20", FAMILY_TRIMAP, "",
     {"mse_whole": 0.0034, "mad_whole": 0.0071, "sad": 0.44, "mse": 0.019, "grad": 0.35, "conn": None}, 120.0),
    ("modnet-easpp", "sps", FAMILY_FREE, "SPS MobileNetV2 (†)",
     {"mse_whole": 0.0044, "mad_whole": 0.0086, "sad": 0.95, "mse": 0.041, "grad": 0.61, "conn": 0.88}, 14.9),
    ("dim-free", "scratch", FAMILY_FREE, "",
     {"mse_whole": 0.0221, "mad_whole": 0.0327, "sad": 0.72, "mse": 0.052, "grad": 0.93, "conn": 0.70}, 95.0),
    ("lfm", "sps", FAMILY_FREE, "SPS MobileNetV2 (†)",
     {"mse_whole": 0.0094, "mad_whole": 0.0158, "sad": 1.40, "mse": 0.066, "grad": 1.10, "conn": 1.31}, 60.0),
)

# A paper mapping in the shape the site accepts: dataset -> run name -> metric -> value as printed.
PAPER = {"tiny": {"modnet-easpp@sps": {"mse_whole": "0.0044", "mad_whole": "0.0086"}}}

SECOND_DATASET = "mini-whole"


def _fabricate(base: dict[str, Any], runs: Path, dataset: str, method: str, tag: Optional[str], family: str,
               pretrained: str, means: dict[str, Optional[float]], ms: float) -> None:
    s = copy.deepcopy(base)
    folder = run_dir(runs, dataset, method, tag)
    folder.mkdir(parents=True, exist_ok=True)
    s.update(method=method, tag=tag, dataset=dataset, run_dir=str(folder))
    s["method_card"] = {**s["method_card"], "name": method, "family": family, "needs_trimap": family == FAMILY_TRIMAP,
                        "pretrained": pretrained, "paper": f"{method} paper", "url": "https://example.org/" + method,
                        "notes": f"fabricated for the site tests ({method})"}
    s["means"] = {**s["means"], **means}
    s["excluded"] = {k: (s["counts"]["ok"] if v is None else 0) for k, v in s["means"].items()}
    s["predict_ms"] = {"median": ms, "mean": ms}
    if tag:
        s["settings"] = {**s["settings"], "method_options": {"variant": tag}}
    s["provenance"] = {**s["provenance"], "checkpoint": f"/ckpt/{method}-{tag}.ckpt" if tag else None,
                       "checkpoint_sha256": ("ab" * 32) if tag else None}
    (folder / SUMMARY).write_text(json.dumps(s, indent=2))


def make_runs(root: Path) -> Path:
    """A runs folder with two real and several fabricated runs on ``tiny``, and one run on a second dataset."""
    runs = root / "runs"
    ds = TinyDataset(n=3)
    evaluate("trimap-midpoint", ds, out=runs)
    evaluate("gt-echo", ds, out=runs)  # off the leaderboard by its card: the site must leave it out
    base = json.loads((run_dir(runs, "tiny", "trimap-midpoint") / SUMMARY).read_text())
    for method, tag, family, pretrained, means, ms in FABRICATED:
        _fabricate(base, runs, "tiny", method, tag, family, pretrained, means, ms)
    second = copy.deepcopy(base)
    second["dataset_card"] = {**second["dataset_card"], "name": SECOND_DATASET, "protocols": ["whole"]}
    second["means"] = {"mse_whole": 0.0123, "mad_whole": 0.0456}
    _fabricate(second, runs, SECOND_DATASET, "trimap-midpoint", None, FAMILY_TRIMAP, "",
               {"mse_whole": 0.0123, "mad_whole": 0.0456}, 1.0)
    return runs


def leaderboard_summaries(runs: Path) -> list[dict[str, Any]]:
    return [s for s in load_summaries(runs) if s.method_card.on_leaderboard]
