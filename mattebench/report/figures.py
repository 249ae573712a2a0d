"""Figures a person would rather look at than read (PNG, matplotlib, headless):

- **Figure 6** (the MODNet paper's "model size and execution efficiency"): parameters versus latency at
  512x512 for every benchmarked method, one figure per device / precision / batch, from the JSON
  results of ``mattebench bench`` (see :func:`load_bench`), with the paper's stated speeds (MODNet
  14.9 ms, FDMPA 31 fps, both on a GTX 1080Ti) drawn as reference lines: the paper gives no
  per-method parameter counts in its text, so the references are latencies only.
- **Visual comparisons** like the paper's Figures 5 and 8: for a few samples of one dataset, the input,
  the ground truth and each method's alpha side by side, with the error maps ``|alpha - gt|`` below.

Where the compared alphas come from (a choice): runs store scores, not predictions, so the figure
code *re-runs* each stored run's method on the chosen samples only, with the options recorded in the
run's summary (checkpoint path included) and the dataset options and root of the run. Each panel's
title carries the per-sample MSE recomputed from that re-run next to the value stored in the run's
samples.csv, so a re-run that does not reproduce the stored run shows up (marked "differs"). Runs
whose stored median time per sample would make the re-run longer than ``time_budget_s`` are left out
and listed in the figure's caption, as are methods that cannot be rebuilt (a checkpoint that moved).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Optional, Sequence

import numpy as np

from ..store import SAMPLES, load_summaries, read_rows
from .out_paths import file_stem, inside
from .visibility import published
from .paper_values import FIGURE6_REFERENCES, FIGURE6_SIZE

# Default folder of bench results: <runs>/bench/*.json, one `mattebench bench --json` record per file, e.g.
#   mattebench bench --method modnet --size 512 --device cuda --json > runs/bench/modnet-cuda-512.json
BENCH_DIR = "bench"


def _pyplot():
    import matplotlib

    if not os.environ.get("MPLBACKEND"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- bench results -----------------------------------------------------------------------------------
@dataclass
class BenchPoint:
    """One ``mattebench bench`` measurement, normalised (times in ms, per image)."""

    method: str
    params: Optional[int]
    model_ms: Optional[float]  # model only: median over repeats
    model_spread: Optional[tuple[float, float]] = None  # (low, high) around the median, e.g. p10..p90 or IQR
    e2e_ms: Optional[float] = None  # end to end: with pre- and post-processing
    device: str = "?"
    device_name: str = ""
    size: Optional[int] = None
    precision: str = "fp32"
    batch: int = 1
    source: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """The method and the options that change its architecture (``dim-free backbone=mobilenetv2``)."""
        opts = {k: v for k, v in (self.extra.get("options") or {}).items() if k not in ("checkpoint", "device", "threads")}
        return self.method + "".join(f" {k}={v}" for k, v in sorted(opts.items()))

    @property
    def short_label(self) -> str:
        """The label as the paper writes it: ``backbone=mobilenetv2`` is the † mark."""
        opts = {k: v for k, v in (self.extra.get("options") or {}).items() if k not in ("checkpoint", "device", "threads")}
        text = self.method + (" †" if str(opts.pop("backbone", "")).lower() == "mobilenetv2" else "")
        return text + "".join(f" {k}={v}" for k, v in sorted(opts.items()))

    @property
    def group(self) -> tuple[str, str, int]:
        return (self.device_name or self.device, self.precision, self.batch)


def _first(d: dict[str, Any], *keys: str) -> Any:
    """The first present key, also looking one level down (``{"model": {"median_ms": ..}}``)."""
    for k in keys:
        cur: Any = d
        for part in k.split("."):
            if not isinstance(cur, dict) or part not in cur:
                cur = None
                break
            cur = cur[part]
        if cur is not None:
            return cur
    return None


def _as_size(v: Any) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, (list, tuple)) and v:
        return int(v[0]) if all(int(x) == int(v[0]) for x in v) else None
    if isinstance(v, str) and "x" in v:
        a, b = v.lower().split("x", 1)
        return int(a) if int(a) == int(b) else None
    return int(v)


def bench_point(d: dict[str, Any], source: str = "") -> Optional[BenchPoint]:
    """Normalise one bench record; None when it has no method or no time at all.

    The keys of ``mattebench bench --json`` come first: ``latency_ms`` / ``p10_ms`` / ``p90_ms`` time one
    call of the bare module on a batch of ``batch`` images (divided by ``batch`` here, so every time is per
    image), ``e2e_ms`` one ``predict`` of one uint8 image, ``params``, ``gmacs``, ``device``, ``device_name``,
    ``precision``, ``batch``, ``threads``. Nested forms (``{"model": {"median_ms": ..}}``) are accepted too.
    Classical methods have no module: only their end-to-end time is known.
    """
    method = _first(d, "method", "name")
    batch = int(_first(d, "batch", "batch_size") or 1)
    model_ms = _float(_first(d, "latency_ms", "model.median_ms", "model_ms.median", "model_ms", "median_ms"))
    e2e_ms = _float(_first(d, "e2e_ms", "end_to_end.median_ms", "e2e.median_ms", "end_to_end_ms.median", "end_to_end_ms"))
    if not method or (model_ms is None and e2e_ms is None):
        return None
    lo = _float(_first(d, "p10_ms", "model.p10_ms", "model.q1_ms", "model_ms.p10", "model_ms.q1"))
    hi = _float(_first(d, "p90_ms", "model.p90_ms", "model.q3_ms", "model_ms.p90", "model_ms.q3"))
    params = _first(d, "params", "parameters", "n_params")
    per_image = (lambda v: v / batch) if batch > 1 else (lambda v: v)
    return BenchPoint(
        method=str(method),
        params=int(params) if params is not None else None,
        model_ms=per_image(model_ms) if model_ms is not None else None,
        model_spread=(per_image(lo), per_image(hi)) if lo is not None and hi is not None and model_ms is not None else None,
        e2e_ms=e2e_ms,
        device=str(_first(d, "device") or "?"),
        device_name=str(_first(d, "device_name", "gpu", "cpu") or ""),
        size=_as_size(_first(d, "size", "input_size", "resolution")),
        precision=str(_first(d, "precision", "dtype") or "fp32"),
        batch=batch,
        source=source,
        extra={k: d[k] for k in ("gmacs", "threads", "options", "timer", "torch") if k in d},
    )


def _float(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def load_bench(path: str | os.PathLike[str]) -> list[BenchPoint]:
    """Every bench record in ``*.json`` files under ``path`` (a file or a folder). A file holds one
    record, a list of records, or ``{"results": [...]}``. Unreadable files are skipped with a warning."""
    root = Path(path)
    files = sorted(root.rglob("*.json")) if root.is_dir() else ([root] if root.exists() else [])
    points: list[BenchPoint] = []
    for f in files:
        try:
            data = json.loads(f.read_text())
        except (OSError, ValueError) as exc:
            warnings.warn(f"skipping bench file {f}: {exc}")
            continue
        records = data.get("results", [data]) if isinstance(data, dict) else data
        for r in records if isinstance(records, list) else []:
            p = bench_point(r, str(f)) if isinstance(r, dict) else None
            if p is not None:
                points.append(p)
    return points


# -- Figure 6 ----------------------------------------------------------------------------------------
def figure6(points: Sequence[BenchPoint], out_dir: str | os.PathLike[str], size: int = FIGURE6_SIZE) -> list[Path]:
    """One PNG per (device, precision, batch) with the points measured at ``size``x``size``."""
    plt = _pyplot()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, str, int], list[BenchPoint]] = {}
    for p in points:
        if p.size in (None, size) and (p.model_ms is not None or p.e2e_ms is not None):
            groups.setdefault(p.group, []).append(p)
    written = []
    for (device, precision, batch), pts in sorted(groups.items()):
        fig, ax = plt.subplots(figsize=(7.5, 5.0), dpi=120)
        with_params = [p for p in pts if p.params and p.model_ms is not None]
        labels: list[tuple[str, float, float]] = []
        for p in sorted(pts, key=lambda q: q.method):
            y = p.params / 1e6 if p.params else None
            if y is None or p.model_ms is None:
                continue  # no module (classical methods): listed below the plot
            ax.scatter([p.model_ms], [y], s=60, zorder=3, label=None)
            if p.model_spread:
                ax.plot(list(p.model_spread), [y, y], color="0.3", lw=1.2, zorder=2)
            if p.e2e_ms:
                ax.scatter([p.e2e_ms], [y], s=60, facecolors="none", edgecolors="0.3", zorder=3)
                ax.plot([p.model_ms, p.e2e_ms], [y, y], color="0.6", lw=0.8, ls=":", zorder=1)
            labels.append((p.short_label, p.model_ms, y))
        _place_labels(fig, ax, labels)
        for ref in FIGURE6_REFERENCES:
            ax.axvline(ref.ms, color="0.45", ls="--", lw=1, zorder=0)
            ax.text(ref.ms, 0.98, f"{ref.note}, {ref.device} ", transform=ax.get_xaxis_transform(),
                    fontsize=7, va="top", ha="right", rotation=90, color="0.3")
        ax.set_xscale("log")
        if with_params:
            ax.set_yscale("log")
        ax.set_xlabel(f"latency per image at {size}x{size}, ms (log; filled: model only, median; hollow: end to end)")
        ax.set_ylabel("parameters, millions (log)")
        ax.set_title(f"Figure 6: size vs speed on {device}\n{precision}, batch {batch}", fontsize=10)
        missing = sorted(f"{p.label} ({p.e2e_ms:.0f} ms end to end)" if p.e2e_ms else p.label
                         for p in pts if not p.params or p.model_ms is None)
        if missing:
            ax.text(0.01, 0.01, "no network (not plotted): " + ", ".join(missing), transform=ax.transAxes, fontsize=7, wrap=True)
        ax.grid(True, which="both", alpha=0.3)
        lo = min([p.model_ms for p in with_params if p.model_ms] + [r.ms for r in FIGURE6_REFERENCES])
        hi = max([p.e2e_ms or p.model_ms or 0 for p in with_params] + [r.ms for r in FIGURE6_REFERENCES])
        ax.set_xlim(lo / 1.6, hi * 1.6)  # the paper's reference lines always in view
        fig.tight_layout()
        f = out / f"figure6-{_slug(device)}-{precision}-b{batch}.png"
        fig.savefig(f)
        plt.close(fig)
        written.append(f)
    return written


# Label positions tried in turn (offset in points, horizontal alignment): right-above, right-below,
# left-above, left-below, then further out; the first that overlaps no placed label wins.
_LABEL_SPOTS = [((6, 5), "left"), ((6, -11), "left"), ((-6, 5), "right"), ((-6, -11), "right"),
                ((6, 15), "left"), ((6, -21), "left"), ((-6, 15), "right"), ((-6, -21), "right")]


def _place_labels(fig: Any, ax: Any, labels: Sequence[tuple[str, float, float]]) -> None:
    """Annotate each point, moving a label around its point until it overlaps no earlier one."""
    renderer = fig.canvas.get_renderer()
    placed: list[Any] = []
    for text, x, y in sorted(labels, key=lambda t: (-t[2], t[1])):  # top to bottom
        ann = None
        for offset, ha in _LABEL_SPOTS:
            if ann is not None:
                ann.remove()
            ann = ax.annotate(text, (x, y), textcoords="offset points", xytext=offset, ha=ha, fontsize=8)
            box = ann.get_window_extent(renderer)
            if not any(box.overlaps(b) for b in placed):
                break
        placed.append(ann.get_window_extent(renderer))


def _slug(text: str) -> str:
    keep = "".join(c if c.isalnum() else "-" for c in text.strip().lower())
    while "--" in keep:
        keep = keep.replace("--", "-")
    return keep.strip("-") or "device"


def speed_section(points: Sequence[BenchPoint], figures: Sequence[Path], relative_to: Path, size: int = FIGURE6_SIZE) -> str:
    """The markdown of the Figure 6 section: figures, the measured table and the paper's reference."""
    from tabulate import tabulate

    lines = ["## Figure 6: model size and execution efficiency", ""]
    refs = "; ".join(f"{r.note} on {r.device}" for r in FIGURE6_REFERENCES)
    lines += [f"The paper's stated speeds at {size}x{size}: {refs}. The paper gives no other per-method values "
              "in its text; latencies below come from `mattebench bench` on the device named in each row.", ""]
    at = [p for p in points if p.size in (None, size)]
    if not at:
        lines += [f"No bench results at {size}x{size} yet: run `mattebench bench --method M --size {size} --device cuda --json "
                  f"> runs/bench/M-cuda-{size}.json` for each method (`mattebench tables --plan` lists them).", ""]
        return "\n".join(lines)
    for f in figures:
        rel = os.path.relpath(f, relative_to)
        lines += [f"![{f.stem}]({rel})", ""]
    rows = []
    for p in sorted(at, key=lambda q: (q.group, q.model_ms or q.e2e_ms or math.inf)):
        spread = f"{p.model_spread[0]:.2f}–{p.model_spread[1]:.2f}" if p.model_spread else ""
        rows.append([p.label, f"{p.params / 1e6:.3f}" if p.params else "–", f"{p.model_ms:.2f}" if p.model_ms else "–", spread,
                     f"{1000.0 / p.model_ms:.0f}" if p.model_ms else "–", f"{p.e2e_ms:.2f}" if p.e2e_ms else "–",
                     str(p.extra.get("gmacs", "–")),
                     p.device_name or p.device, p.precision, p.batch])
    lines += [tabulate(rows, headers=["Method", "Params (M)", "Model ms / image (median)", "p10–p90", "fps (model)",
                                      "End-to-end ms (1 image)", "GMACs", "Device", "Precision", "Batch"],
                       tablefmt="github", disable_numparse=True), ""]
    lines += ["Model: the bare network on a prepared tensor (per image: a batch's time divided by the batch); end to end: "
              "`predict` on one uint8 image with pre- and post-processing. Times by `mattebench bench` (warm-up, "
              "CUDA events on GPU, median and 10th–90th percentiles of repeated calls).", ""]
    return "\n".join(lines)


# -- visual comparisons ---------------------------------------------------------------------------------
@dataclass
class Panel:
    run: str
    alpha: Optional[np.ndarray]
    stored_mse: Optional[float]
    mse: Optional[float]
    error: str = ""


def choose_samples(summaries: Sequence[dict[str, Any]], n: int = 3, metric: str = "mse_whole") -> list[str]:
    """Samples where the methods disagree most: the largest spread (max - min) of ``metric`` over the
    runs, among samples scored ok by every run; ties broken by id (deterministic)."""
    per_run = []
    for s in summaries:
        rows = read_rows(Path(s.get("run_dir", "")) / SAMPLES)
        per_run.append({r["id"]: r.get(metric) for r in rows if r.get("status") == "ok" and isinstance(r.get(metric), float)})
    if not per_run:
        return []
    common = set(per_run[0]).intersection(*per_run[1:])
    spread = {i: max(r[i] for r in per_run) - min(r[i] for r in per_run) for i in common}
    return [i for i, _ in sorted(spread.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _stored_scores(s: dict[str, Any], metric: str = "mse_whole") -> dict[str, Optional[float]]:
    rows = read_rows(Path(s.get("run_dir", "")) / SAMPLES)
    return {r["id"]: r.get(metric) for r in rows}


def _rerun(s: dict[str, Any], samples: list[Any]) -> tuple[list[Optional[np.ndarray]], str]:
    """The run's method rebuilt from its summary, applied to ``samples``; (alphas, error text)."""
    from ..registry import create_method
    from ..scorer import check_prediction

    opts = dict((s.get("settings", {}) or {}).get("method_options", {}) or {})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = create_method(s["method"], **opts)
    except Exception as exc:  # a moved checkpoint, a plug-in not installed: say so in the figure
        return [None] * len(samples), f"cannot rebuild: {exc}"
    needs_trimap = bool((s.get("method_card", {}) or {}).get("needs_trimap"))
    out: list[Optional[np.ndarray]] = []
    err = ""
    for smp in samples:
        try:
            observe = getattr(m, "observe", None)
            if callable(observe):
                observe(smp)
            pred = m.predict(smp.image, smp.trimap if needs_trimap else None)
            out.append(check_prediction(pred, smp.image.shape[:2], smp.id))
        except Exception as exc:  # one failed sample leaves a blank panel, not a crashed report
            out.append(None)
            err = f"{type(exc).__name__}: {exc}"
    return out, err


@dataclass
class Comparison:
    """What a comparison figure shows: samples, one row of panels per run, runs left out and why."""

    dataset: str
    samples: list[Any]
    panels: list[list[Panel]]  # [run][sample]
    skipped: list[str]


def collect_comparison(
    dataset: str,
    summaries: Sequence[dict[str, Any]],
    *,
    sample_ids: Optional[Sequence[str]] = None,
    n: int = 3,
    time_budget_s: float = 120.0,
    dataset_obj: Any = None,
) -> Optional[Comparison]:
    """Re-run each run's method on the chosen samples; None when there is nothing to show (video, no runs)."""
    from ..registry import load_dataset
    from ..types import Clip

    shown = published(summaries)
    if not shown or (shown[0].get("dataset_card", {}) or {}).get("kind") == "video":
        return None
    ds = dataset_obj
    if ds is None:
        st = shown[0].get("settings", {}) or {}
        ds = load_dataset(dataset, root=st.get("data_root"), **(st.get("dataset_options") or {}))
    if sample_ids:
        have = set(ds.ids())
        ids = [i for i in sample_ids if i in have]
    else:
        ids = choose_samples(shown, n)
    if not ids:
        return None
    skipped: list[str] = []
    runs = []
    for s in sorted(shown, key=lambda x: (x.get("method", ""), x.get("tag") or "")):
        ms = (s.get("predict_ms", {}) or {}).get("median")
        if ms is not None and ms * len(ids) / 1000.0 > time_budget_s:
            skipped.append(f"{_name(s)} (~{ms * len(ids) / 1000:.0f} s to re-run)")
        else:
            runs.append(s)
    samples = [ds.load(i) for i in ids]
    if any(isinstance(x, Clip) for x in samples):
        return None
    panels: list[list[Panel]] = []
    for s in runs:
        alphas, err = _rerun(s, samples)
        stored = _stored_scores(s)
        row = []
        for smp, a in zip(samples, alphas):
            mse = float(np.mean((a.astype(np.float64) - smp.alpha.astype(np.float64)) ** 2)) if a is not None else None
            row.append(Panel(_name(s), a, stored.get(smp.id), mse, err if a is None else ""))
        panels.append(row)
    return Comparison(dataset, samples, panels, skipped)


def comparison_figure(
    dataset: str,
    summaries: Sequence[dict[str, Any]],
    out_dir: str | os.PathLike[str],
    *,
    sample_ids: Optional[Sequence[str]] = None,
    n: int = 3,
    time_budget_s: float = 120.0,
    dataset_obj: Any = None,
    vmax_error: float = 0.5,
) -> Optional[Path]:
    """``<out_dir>/<dataset>-comparison.png``; None when there is nothing to show."""
    comp = collect_comparison(dataset, summaries, sample_ids=sample_ids, n=n, time_budget_s=time_budget_s, dataset_obj=dataset_obj)
    if comp is None:
        return None
    return _draw_comparison(comp.dataset, comp.samples, comp.panels, Path(out_dir), comp.skipped, vmax_error)


def differs(p: Panel) -> bool:
    """The re-run's per-sample MSE does not reproduce the stored one (beyond float noise)."""
    return p.stored_mse is not None and p.mse is not None and abs(p.stored_mse - p.mse) > 1e-6 + 1e-3 * abs(p.stored_mse)


def _name(s: dict[str, Any]) -> str:
    return s.get("method", "?") + (f"@{s['tag']}" if s.get("tag") else "")


def _draw_comparison(dataset: str, samples: list[Any], panels: list[list[Panel]], out_dir: Path,
                     skipped: list[str], vmax_error: float) -> Path:
    plt = _pyplot()
    ncol = 2 + len(panels)
    nrow = 2 * len(samples)
    h, w = samples[0].image.shape[:2]
    cell = 2.2
    fig, axes = plt.subplots(nrow, ncol, figsize=(cell * ncol + 0.8, cell * h / w * nrow + 0.9), dpi=110, squeeze=False,
                             layout="constrained")
    err_im = None
    for k, smp in enumerate(samples):
        top, bottom = axes[2 * k], axes[2 * k + 1]
        top[0].imshow(smp.image)
        top[0].set_title(f"input {smp.id}", fontsize=8)
        top[1].imshow(smp.alpha, cmap="gray", vmin=0, vmax=1)
        top[1].set_title("ground truth", fontsize=8)
        if smp.trimap is not None:
            bottom[0].imshow(smp.trimap, cmap="gray", vmin=0, vmax=255)
            bottom[0].set_title("trimap (trimap-based methods)", fontsize=7)
        bottom[1].text(0.5, 0.5, f"|alpha - gt|\n0 … {vmax_error:g}", ha="center", va="center", fontsize=8)
        for j, row in enumerate(panels):
            p = row[k]
            ax_a, ax_e = top[2 + j], bottom[2 + j]
            if p.alpha is None:
                ax_a.text(0.5, 0.5, _wrap(p.error or "no prediction", 28), ha="center", va="center", fontsize=6)
                ax_a.set_title(p.run, fontsize=8)
                continue
            ax_a.imshow(p.alpha, cmap="gray", vmin=0, vmax=1)
            ax_a.set_title(p.run, fontsize=8)
            err_im = ax_e.imshow(np.abs(p.alpha - smp.alpha), cmap="inferno", vmin=0, vmax=vmax_error)
            bad = differs(p)
            label = f"MSE {p.mse:.4f}" + (f" (stored {p.stored_mse:.4f}: differs)" if bad else "")
            ax_e.set_title(label, fontsize=7, color="tab:red" if bad else "black")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_visible(False)
    caption = f"{dataset}: input, ground truth and each run's alpha (re-run on these samples); error maps below"
    if skipped:
        caption += "\nleft out (too slow to re-run): " + ", ".join(skipped)
    fig.suptitle(caption, fontsize=9)
    if err_im is not None:
        fig.colorbar(err_im, ax=axes[:, -1].tolist(), fraction=0.05, shrink=0.6, label="|alpha - gt|")
    out_dir.mkdir(parents=True, exist_ok=True)
    f = out_dir / f"{_slug(dataset)}-comparison.png"
    fig.savefig(f)
    plt.close(fig)
    return f


def _wrap(text: str, width: int) -> str:
    words, lines, cur = text.split(), [], ""
    for wd in words:
        if len(cur) + len(wd) + 1 > width and cur:
            lines.append(cur)
            cur = wd
        else:
            cur = f"{cur} {wd}".strip()
    lines.append(cur)
    return "\n".join(lines[:8])


def write_comparison_figures(runs: str | os.PathLike[str], out: str | os.PathLike[str], *,
                             figures_dir: Optional[str | os.PathLike[str]] = None,
                             sample_ids: Optional[Sequence[str]] = None, n: int = 3,
                             time_budget_s: float = 120.0, datasets: Optional[Iterable[str]] = None) -> dict[str, Path]:
    """A comparison figure per image dataset with runs, in ``figures_dir`` (default ``<out>/figures/``);
    links appended to ``<out>/<dataset>.md`` when that leaderboard exists. Returns {dataset: png}.
    Sample ids that a dataset lacks are ignored for that dataset."""
    by_dataset: dict[str, list[dict[str, Any]]] = {}
    for s in load_summaries(runs):
        by_dataset.setdefault(s["dataset"], []).append(s)
    wanted = set(datasets) if datasets else None
    out_dir = Path(out)
    written: dict[str, Path] = {}
    for name, summaries in sorted(by_dataset.items()):
        if wanted is not None and name not in wanted:
            continue
        fig_dir = Path(figures_dir) if figures_dir else out_dir / "figures"
        try:
            png = comparison_figure(name, summaries, fig_dir, sample_ids=sample_ids, n=n, time_budget_s=time_budget_s)
        except Exception as exc:  # a dataset that moved must not stop the other figures
            warnings.warn(f"no comparison figure for {name}: {exc}")
            continue
        if png is None:
            continue
        written[name] = png
        md = out_dir / f"{file_stem(name)}.md"  # the leaderboard's own name for it: never outside out_dir
        if inside(out_dir, md):
            link_figure(md, png, "Visual comparison")
    return written


def link_figure(md: Path, png: Path, title: str) -> None:
    """Append (once) a section linking ``png`` to the markdown file ``md``, with a relative path."""
    if not md.exists():
        return
    rel = os.path.relpath(png, md.parent)
    text = md.read_text()
    link = f"![{title}]({rel})"
    if link in text:
        return
    md.write_text(text.rstrip("\n") + f"\n\n## {title}\n\n{link}\n\nInput, ground truth, each method's alpha (re-run from the "
                  "options stored in its run) and the error map |alpha - gt| below it; titles give the per-sample MSE.\n")
