"""A shipped MODNet on the embedded set and on real photographs, in one table (issue 17): the gap between
``synthetic`` and real portraits as numbers.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shipped_scores.py [--checkpoint mattebench:modnet-synthetic]
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/shipped_scores.py --checkpoint mattebench:modnet-trimap-synthetic

The method is the one the shipped name's index entry names (``modnet``, ``modnet-trimap``); a trimap-based one
gets each dataset's trimap as input (alphamatting-lowres: the official Trimap1) in the whole-image scores too.

- ``synthetic``: the first 20 and all 100 test portraits (the runner; whole-image and unknown-region metrics);
- ``alphamatting-lowres`` (27 images, ../shared/realdata): whole-image MSE/MAD of the trimap-free prediction
  (computed here from the runner's saved alphas are not needed: predicted directly), plus the runner's
  unknown-region metrics with the small trimap (Trimap1);
- ``ppm100-dev`` evaluation half (21 pairs, the split of mattebench.data.realsplit): whole-image MSE/MAD;
  the MediaPipe selfie segmenter and a constant 0.5 on the same images for reference.

Writes ``leaderboards/real/shipped-modnet.md`` and prints the numbers as JSON (for the card).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mattebench.methods import shipped  # noqa: E402
from mattebench.methods.registry import create_method, load_dataset  # noqa: E402
from mattebench.metrics import fast as M  # noqa: E402
from mattebench.runs.runner import evaluate  # noqa: E402

SHARED = Path(os.environ.get("MATTEBENCH_SHARED", ROOT / ".." / "shared"))


def runner_means(method: str, checkpoint: str, dataset: str, out: Path, limit=None, data_root=None, dopts=None, tag=None) -> dict:
    t0 = time.perf_counter()
    _, record = evaluate(method, dataset, method_options={"checkpoint": checkpoint, "device": "cpu"}, limit=limit,
                         data_root=data_root, dataset_options=dopts or {}, out=str(out), tag=tag)
    means = {k: v for k, v in record.means.items() if v is not None}
    print(f"  {dataset} {tag or ''}: {means} ({time.perf_counter() - t0:.0f} s)", flush=True)
    # input_rule is MODNet's own provenance entry (kept among the record's method-specific extras)
    return {"n": record.counts.ok, "errors": record.counts.error, **means,
            "input_rule": record.provenance.extra.get("input_rule")}


def whole_image(predict, dataset, with_trimap: bool = False) -> dict:
    mse, mad = [], []
    for i in dataset.ids():
        s = dataset.load(i)
        p = predict(s.image, s.trimap) if with_trimap else predict(s.image)
        mse.append(M.mse_whole(p, s.alpha))
        mad.append(M.mad_whole(p, s.alpha))
    return {"n": len(mse), "mse_whole": float(np.mean(mse)), "mad_whole": float(np.mean(mad))}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--checkpoint", default="mattebench:modnet-synthetic")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "shipped-scores")
    ap.add_argument("--table", type=Path, default=None, help="default leaderboards/real/shipped-<method>.md")
    ap.add_argument("--skip-full-synthetic", action="store_true")
    a = ap.parse_args()
    warnings.simplefilter("ignore")
    method = shipped.lookup(a.checkpoint).method
    table = a.table or ROOT / "leaderboards" / "real" / f"shipped-{method}.md"
    res: dict = {"checkpoint": a.checkpoint, "method": method}
    res["synthetic-20"] = runner_means(method, a.checkpoint, "synthetic", a.out, limit=20, tag="first20")
    if not a.skip_full_synthetic:
        res["synthetic-100"] = runner_means(method, a.checkpoint, "synthetic", a.out)
    am_root = SHARED / "realdata" / "alphamatting-lowres"
    ppm = SHARED / "realdata" / "ppm100-dev" / "PPM-100" / "image"
    if am_root.is_dir():
        res["alphamatting-lowres-unknown"] = runner_means(method, a.checkpoint, "alphamatting", a.out, data_root=str(am_root), dopts={"trimap": 1})
        m = create_method(method, checkpoint=a.checkpoint)
        res["alphamatting-lowres-whole"] = whole_image(m.predict, load_dataset("alphamatting", root=str(am_root), trimap=1),
                                                       with_trimap=m.needs_trimap)
    if ppm.is_dir():
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from soc_real import link_tree  # the same split and link tree as the SOC table

        from mattebench.data.realsplit import split_photos
        from mattebench.data.teacher import SelfieTeacher

        eval_root, _ = link_tree(split_photos(ppm), ROOT / "runs" / "soc-real")
        res["ppm100-dev-eval"] = runner_means(method, a.checkpoint, "ppm100", a.out, data_root=str(eval_root))
        ds = load_dataset("ppm100", root=str(eval_root))
        res["ppm100-dev-eval-selfie"] = whole_image(SelfieTeacher(SHARED / "models" / "selfie_segmentation.tflite").mask, ds)
        res["ppm100-dev-eval-constant"] = whole_image(lambda im: np.full(im.shape[:2], 0.5, np.float32), ds)
    write_table(table, res)
    print(json.dumps(res, indent=2))
    return 0


def write_table(path: Path, res: dict) -> None:
    def cell(key, metric):
        v = res.get(key, {}).get(metric)
        return f"{v:.4f}" if isinstance(v, float) else "-"

    rows = [
        ("synthetic (embedded), first 20", "synthetic-20"), ("synthetic (embedded), all 100", "synthetic-100"),
        ("alphamatting-lowres (27, real)", "alphamatting-lowres-whole"),
        ("PPM-100 dev, evaluation half (21, real)", "ppm100-dev-eval"),
        ("  reference: MediaPipe selfie segmenter, same 21", "ppm100-dev-eval-selfie"),
        ("  reference: constant 0.5, same 21", "ppm100-dev-eval-constant"),
    ]
    lines = ["| data | n | MSE (whole) | MAD (whole) |", "|---|---|---|---|"]
    for label, key in rows:
        if key in res:
            lines.append(f"| {label} | {res[key].get('n')} | {cell(key, 'mse_whole')} | {cell(key, 'mad_whole')} |")
    unk = res.get("alphamatting-lowres-unknown", {})
    trimap = res.get("method") == "modnet-trimap"
    kind = "trimap-based (the trimap is its fourth input channel)" if trimap else "trimap-free"
    am_note = "the official Trimap1 is also its input" if trimap else "the trimap is not an input of this model"
    text = (f"# The shipped {'MODNet (trimap)' if trimap else 'MODNet'} on the embedded set and on real photographs\n\n`{res['checkpoint']}` (card: "
            f"`mattebench/weights/CARD.md`), {kind}, at its shipped input rule "
            f"({res.get('synthetic-20', {}).get('input_rule')}). Whole-image metrics, alpha in [0, 1]. The real sets are "
            f"the copies in `../shared/realdata` (PPM-100 photos downscaled to 1024 px, JPEG): not comparable with "
            f"published tables. Produced by `benchmarks/shipped_scores.py`.\n\n" + "\n".join(lines) + "\n\n"
            f"alphamatting-lowres, unknown region of Trimap1 (the runner's protocol; {am_note}): SAD {unk.get('sad', float('nan')):.2f}, MSE {unk.get('mse', float('nan')):.4f}, "
            f"Grad {unk.get('grad', float('nan')):.2f}, Conn {unk.get('conn', float('nan')):.2f} (/1000 as in the paper's tables).\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


if __name__ == "__main__":
    raise SystemExit(main())
