"""SOC on real photographs (issue 17, section 2): does MODNet's self-supervised adaptation help on real portraits?

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/soc_real.py [--checkpoint mattebench:modnet-synthetic]

1. Split ``../shared/realdata/ppm100-dev`` by sorted id (mattebench.data.realsplit): the first 20 photos are the
   adaptation half (photos only: a folder of links to the photos, no matte is read), the other 21 pairs the
   evaluation half (a PPM-100 layout of links, scored with `mattebench run`'s runner).
2. Score the checkpoint on the evaluation half (whole-image MSE and MAD), then for each SOC setting run
   `mattebench adapt` on the adaptation photos and score the adapted weights.
3. References on the same 21 pairs: the MediaPipe selfie segmenter (the teacher) and a constant 0.5.
4. Per setting: mean with a 95 % bootstrap CI (10,000 resamples of the 21 images), the paired mean difference
   to "before" with its bootstrap CI, and a two-sided paired Wilcoxon signed-rank test (scipy). The SOC loss
   curves (consistency terms and L_dd) go to a PNG beside the table.

Writes ``leaderboards/real/soc.md`` and ``leaderboards/real/soc_curves.png``; runs and adapted weights under
``runs/soc-real/``. The statistics are plain scipy/numpy here; mattebench.metrics.stats may replace them later.
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from mattebench.data.realsplit import split_photos  # noqa: E402
from mattebench.methods.registry import load_dataset  # noqa: E402
from mattebench.metrics import fast as M  # noqa: E402
from mattebench.runs.runner import evaluate  # noqa: E402

SHARED = Path(os.environ.get("MATTEBENCH_SHARED", ROOT / ".." / "shared"))
DEFAULT_SETTINGS = "1e-5:20,1e-5:100,1e-4:20,1e-4:100"
N_BOOT = 10_000


def link_tree(split, out: Path) -> tuple[Path, Path]:
    """(evaluation root in the PPM-100 layout, folder of adaptation photos), as symbolic links."""
    eval_root, adapt_dir = out / "ppm100-eval", out / "adapt-photos"
    matte_dir = split.image_dir.parent / "matte"
    for d in (eval_root / "PPM-100" / "image", eval_root / "PPM-100" / "matte", adapt_dir):
        d.mkdir(parents=True, exist_ok=True)
    for photo in split.eval_photos():
        for src, dst in ((photo, eval_root / "PPM-100" / "image" / photo.name), (matte_dir / photo.name, eval_root / "PPM-100" / "matte" / photo.name)):
            if not dst.exists():
                dst.symlink_to(src.resolve())
    for photo in split.adapt_photos():  # photos only: the adaptation half's mattes are never linked or read
        dst = adapt_dir / photo.name
        if not dst.exists():
            dst.symlink_to(photo.resolve())
    return eval_root, adapt_dir


def score(checkpoint: str, eval_root: Path, out: Path, tag: str) -> dict[str, tuple[float, float]]:
    rows, record = evaluate("modnet", "ppm100", method_options={"checkpoint": checkpoint, "device": "cpu"},
                            data_root=str(eval_root), out=str(out / "runs"), tag=tag)
    bad = [r for r in rows if r["status"] != "ok"]
    if bad:
        raise RuntimeError(f"{tag}: {len(bad)} samples failed: {bad[0].get('error')}")
    rule = record.provenance.extra.get("input_rule")  # MODNet's own provenance entry
    print(f"  {tag}: MSE {record.means['mse_whole']:.5f}  input rule {rule}", flush=True)
    return {r["id"]: (float(r["mse_whole"]), float(r["mad_whole"])) for r in rows}


def reference_scores(eval_root: Path) -> dict[str, dict[str, tuple[float, float]]]:
    from mattebench.data.teacher import SelfieTeacher

    teacher = SelfieTeacher(SHARED / "models" / "selfie_segmentation.tflite")
    ds = load_dataset("ppm100", root=str(eval_root))
    out: dict[str, dict[str, tuple[float, float]]] = {"selfie segmenter (teacher)": {}, "constant 0.5": {}}
    for i in ds.ids():
        s = ds.load(i)
        for name, pred in (("selfie segmenter (teacher)", teacher.mask(s.image)), ("constant 0.5", np.full(s.alpha.shape, 0.5, np.float32))):
            out[name][i] = (M.mse_whole(pred, s.alpha), M.mad_whole(pred, s.alpha))
    return out


def boot_ci(values: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    idx = rng.integers(0, len(values), (N_BOOT, len(values)))
    means = values[idx].mean(axis=1)
    return float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5))


def row_stats(name: str, scores: dict[str, tuple[float, float]], before: dict[str, tuple[float, float]]) -> list[str]:
    ids = sorted(before)
    cells = [name]
    for k in (0, 1):
        v = np.array([scores[i][k] for i in ids])
        lo, hi = boot_ci(v, np.random.default_rng(k))
        cells.append(f"{v.mean():.4f} [{lo:.4f}, {hi:.4f}]")
    v = np.array([scores[i][0] for i in ids])
    b = np.array([before[i][0] for i in ids])
    d = v - b
    if np.allclose(d, 0):
        cells += ["0", "", "", ""]
    else:
        lo, hi = boot_ci(d, np.random.default_rng(2))
        p = stats.wilcoxon(v, b, alternative="two-sided").pvalue
        cells += [f"{d.mean():+.4f} [{lo:+.4f}, {hi:+.4f}]", f"{p:.3g}", f"{int((d < 0).sum())}/{len(d)}", ""]
    return cells


def adapt(checkpoint: str, adapt_dir: Path, lr: str, steps: int, out: Path) -> Path:
    dest = out / f"soc-lr{lr}-steps{steps}"
    if not (dest / "soc.ckpt").is_file():
        cmd = [str(ROOT / ".venv" / "bin" / "mattebench"), "adapt", "--method", "modnet", "--checkpoint", checkpoint,
               "--input", str(adapt_dir), "--steps", str(steps), "--lr", lr, "--out", str(dest), "--device", "cpu", "--quiet"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        print(f"  SOC lr {lr} steps {steps}: {time.perf_counter() - t0:.0f} s", flush=True)
    return dest


def plot_curves(curves: dict[str, Path], png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    for label, path in curves.items():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        step = [int(r["step"]) for r in rows]
        for ax, key in zip(axes, ("cons_semantic", "cons_detail", "dd")):
            ax.plot(step, [float(r[key]) for r in rows], label=label)
    for ax, title in zip(axes, ("L_cons semantic: 1/2 ||G(a) - s||^2", "L_cons detail: m_d |a - d|", "L_dd: m_d |d0 - d|")):
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("SOC step")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=80)


def main() -> int:
    ap = argparse.ArgumentParser(description="SOC on real photographs: before/after on the PPM-100 dev evaluation half")
    ap.add_argument("--checkpoint", default="mattebench:modnet-synthetic")
    ap.add_argument("--settings", default=DEFAULT_SETTINGS, help="comma-separated LR:STEPS")
    ap.add_argument("--out", type=Path, default=ROOT / "runs" / "soc-real")
    ap.add_argument("--table", type=Path, default=ROOT / "leaderboards" / "real" / "soc.md")
    a = ap.parse_args()
    image_dir = SHARED / "realdata" / "ppm100-dev" / "PPM-100" / "image"
    if not image_dir.is_dir():
        print(f"no {image_dir}: nothing to measure", file=sys.stderr)
        return 2
    split = split_photos(image_dir)
    eval_root, adapt_dir = link_tree(split, a.out)
    print(f"adaptation photos: {len(split.adapt)}, evaluation pairs: {len(split.evaluate)}", flush=True)
    warnings.simplefilter("ignore")
    before = score(a.checkpoint, eval_root, a.out, "before")
    results: list[tuple[str, dict[str, tuple[float, float]]]] = [("shipped MODNet, before SOC", before)]
    curves: dict[str, Path] = {}
    for item in a.settings.split(","):
        lr, steps = item.split(":")
        dest = adapt(a.checkpoint, adapt_dir, lr, int(steps), a.out)
        results.append((f"+ SOC lr {lr}, {steps} steps", score(str(dest / "soc.ckpt"), eval_root, a.out, f"soc-lr{lr}-steps{steps}")))
        curves[f"lr {lr}, {steps} steps"] = dest / "soc.csv"
    refs = reference_scores(eval_root)
    write_table(a, split, results, refs, before, curves)
    return 0


def write_table(a, split, results, refs, before, curves) -> None:
    a.table.parent.mkdir(parents=True, exist_ok=True)
    png = a.table.with_name("soc_curves.png")
    plot_curves(curves, png)
    head = ["model", "MSE (95% CI)", "MAD (95% CI)", "MSE - before (95% CI)", "Wilcoxon p", "images better", ""]
    lines = [" | ".join(head[:-1]), " | ".join(["---"] * (len(head) - 1))]
    for name, sc in results + list(refs.items()):
        lines.append(" | ".join(row_stats(name, sc, before)[:-1]))
    soc_rows = []
    for label, path in curves.items():
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
        first, last = rows[0], rows[-1]
        soc_rows.append(f"| {label} | " + " | ".join(f"{float(first[k]):.4f} -> {float(last[k]):.4f}" for k in ("cons_semantic", "cons_detail", "dd")) + " |")
    text = TEMPLATE.format(
        checkpoint=a.checkpoint, n_adapt=len(split.adapt), n_eval=len(split.evaluate), first_eval=split.evaluate[0],
        table="\n".join("| " + line + " |" for line in lines), soc="\n".join(soc_rows), png=png.name, n_boot=N_BOOT)
    a.table.write_text(text)
    print(text)


TEMPLATE = """# SOC on real photographs (PPM-100 dev, evaluation half)

Checkpoint `{checkpoint}`; whole-image MSE and MAD (alpha in [0, 1]) on the {n_eval} evaluation pairs of
`ppm100-dev` (sorted ids from `{first_eval}` on). SOC (`mattebench adapt`, paper eq. 6-8, Adam, batch 1, norm
layers frozen) ran on the {n_adapt} adaptation-half photos only (their mattes were never read), at the
checkpoint's input rule. 95 % CIs: percentile bootstrap, {n_boot} resamples of the images; "MSE - before":
paired difference to the unadapted model; p: two-sided paired Wilcoxon signed-rank test (scipy); "images better":
images whose MSE went down. These photos are downscaled to 1024 px and re-encoded as JPEG: numbers do not compare
with published PPM-100 tables. Produced by `benchmarks/soc_real.py`.

{table}

SOC loss terms, mean of the first and last 10 steps (curves: [{png}]({png})):

| setting | L_cons semantic | L_cons detail | L_dd |
|---|---|---|---|
{soc}
"""


if __name__ == "__main__":
    raise SystemExit(main())
