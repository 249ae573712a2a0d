"""Figures a person would rather look at than read (PNG, matplotlib, headless):

- **Figure 6** (the MODNet paper's "model size and execution efficiency"): parameters versus latency at
  512x512 for every benchmarked method, one figure per device / precision / batch, from the JSON
  results of ``mattebench bench`` (see :func:`load_bench`), with the paper's stated speeds (MODNet
  14.9 ms, FDMPA 31 fps, both on a GTX 1080Ti) drawn as reference lines: the paper gives no
  per-method parameter counts in its text, so the references are latencies only.
- **Visual comparisons** like the paper's Figures 5 and 8: for a few samples of one dataset, the input,
  the ground truth and each method's alpha side by side, with the error maps ``|alpha - gt|`` below.

Where the compared alphas come from: only from what the runs stored. A run made with
``mattebench run --save-alphas [IDS|all]`` keeps the predictions it scored as 16-bit PNGs in its folder
(recorded in ``provenance.saved_alphas``; read by :mod:`.stored_alphas`). The figure never rebuilds a
method or predicts: a run without stored alphas is left out (named in the caption, with a warning that
gives the command to rerun it with ``--save-alphas``), and a run that stored other ids gets a placeholder
panel saying so. Each panel's title carries the per-sample MSE recomputed from the stored PNG, checked
against the run's samples.csv (marked "differs" when a file or the dataset changed since the run).

The report loads a dataset, for display only (the input image, the ground truth, the trimap): through
an opener the caller gives (:class:`DatasetOpener`; the command line passes the registry's
``load_dataset``), so no report module imports the registry (docs/architecture.md).
"""

from __future__ import annotations

import json
import math
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Protocol, Sequence, Union

import numpy as np

from mattebench.errors import MattebenchError
from mattebench.files import atomic_write_text, check_not_link, inside, safe_folder
from mattebench.report.board import shipped_weights
from mattebench.report.markdown_safe import md_text
from mattebench.report.out_paths import anchor, file_stem, save_figure
from mattebench.report.paper import FIGURE6_REFERENCES, FIGURE6_SIZE
from mattebench.report.published import published
from mattebench.runs.alphas import StoredAlphas, rerun_command, stored_alphas
from mattebench.runs.record import RunRecord, as_record
from mattebench.runs.store import SAMPLES, load_summaries, read_rows
from mattebench.types import Sample

RecordLike = Union[RunRecord, Mapping[str, Any]]

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


# The record of `mattebench bench --json` (mattebench.tracks.bench.bench): the keys Figure 6 reads, with the
# types they hold there. No other spelling is read: the project writes this one format, and a file of
# another shape is skipped with a warning naming the key it lacks, never half-read.
_BENCH_KEYS: dict[str, tuple[type, ...]] = {
    "method": (str,), "size": (int,), "batch": (int,), "precision": (str,), "device": (str,),
    "params": (int, type(None)), "latency_ms": (int, float, type(None)),
    "p10_ms": (int, float, type(None)), "p90_ms": (int, float, type(None)),
}
_BENCH_OPTIONAL: dict[str, tuple[type, ...]] = {  # absent with --no-e2e, or on older records
    "e2e_ms": (int, float, type(None)), "device_name": (str, type(None)), "options": (dict,),
}


def bench_problem(d: Any) -> Optional[str]:
    """Why ``d`` is not a ``mattebench bench --json`` record, or None."""
    if not isinstance(d, dict):
        return f"not a JSON object (a {type(d).__name__})"
    for key, types in _BENCH_KEYS.items():
        if key not in d:
            return f"no {key!r} key (not a `mattebench bench --json` record)"
        if isinstance(d[key], bool) or not isinstance(d[key], types):
            return f"{key!r} is {d[key]!r}, not {' or '.join(t.__name__ for t in types)}"
    for key, types in _BENCH_OPTIONAL.items():
        if key in d and (isinstance(d[key], bool) or not isinstance(d[key], types)):
            return f"{key!r} is {d[key]!r}, not {' or '.join(t.__name__ for t in types)}"
    if d["batch"] < 1 or d["size"] < 1:
        return f"batch {d['batch']} / size {d['size']} is not positive"
    return None


def bench_point(d: dict[str, Any], source: str = "") -> Optional[BenchPoint]:
    """One ``mattebench bench --json`` record, normalised; None when it is not such a record (see
    :func:`bench_problem`) or holds no time at all (a failed end-to-end call of a classical method).

    ``latency_ms`` / ``p10_ms`` / ``p90_ms`` time one call of the bare module on a batch of ``batch`` images
    (divided by ``batch`` here, so every time is per image), ``e2e_ms`` one ``predict`` of one uint8 image.
    Classical methods have no module: only their end-to-end time is known.
    """
    if bench_problem(d) is not None:
        return None
    model_ms, e2e_ms = _float(d["latency_ms"]), _float(d.get("e2e_ms"))
    if model_ms is None and e2e_ms is None:
        return None
    lo, hi = _float(d["p10_ms"]), _float(d["p90_ms"])
    batch = d["batch"]
    return BenchPoint(
        method=d["method"],
        params=d["params"],
        model_ms=model_ms / batch if model_ms is not None else None,
        model_spread=(lo / batch, hi / batch) if lo is not None and hi is not None and model_ms is not None else None,
        e2e_ms=e2e_ms,
        device=d["device"],
        device_name=d.get("device_name") or "",
        size=d["size"],
        precision=d["precision"],
        batch=batch,
        source=source,
        extra={k: d[k] for k in ("gmacs", "threads", "options", "timer", "torch") if k in d},
    )


def _float(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def _json_records(f: Path) -> list[Any]:
    """The records of one file: the whole file as JSON (one record, a list, or ``{"results": [...]}``), or
    else its last non-empty line (``bench --json`` prints its record on the last line of its output)."""
    text = f.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except ValueError:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if not lines:
            raise
        data = json.loads(lines[-1])
    if isinstance(data, dict) and isinstance(data.get("results"), list):
        return list(data["results"])
    return data if isinstance(data, list) else [data]


def load_bench(path: str | os.PathLike[str]) -> list[BenchPoint]:
    """Every bench record in ``*.json`` files under ``path`` (a file or a folder). A file holds one
    record, a list of records, or ``{"results": [...]}``. Unreadable files and records that are not
    ``mattebench bench --json`` records are skipped with a warning naming the file and the reason."""
    root = Path(path)
    files = sorted(root.rglob("*.json")) if root.is_dir() else ([root] if root.exists() else [])
    points: list[BenchPoint] = []
    for f in files:
        try:
            records = _json_records(f)
        except (OSError, ValueError) as exc:
            warnings.warn(f"skipping bench file {f}: {exc}")
            continue
        for k, r in enumerate(records):
            problem = bench_problem(r)
            if problem is not None:
                warnings.warn(f"skipping bench record {k} of {f}: {problem}")
                continue
            p = bench_point(r, str(f))
            if p is not None:
                points.append(p)
    return points


# -- Figure 6 ----------------------------------------------------------------------------------------
def figure6(points: Sequence[BenchPoint], out_dir: str | os.PathLike[str], size: int = FIGURE6_SIZE) -> list[Path]:
    """One PNG per (device, precision, batch) with the points measured at ``size``x``size``."""
    plt = _pyplot()
    out = safe_folder(out_dir)
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
        f = save_figure(fig, out / f"figure6-{anchor(device)}-{precision}-b{batch}.png")
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
        rows.append([md_text(p.label), f"{p.params / 1e6:.3f}" if p.params else "–", f"{p.model_ms:.2f}" if p.model_ms else "–", spread,
                     f"{1000.0 / p.model_ms:.0f}" if p.model_ms else "–", f"{p.e2e_ms:.2f}" if p.e2e_ms else "–",
                     md_text(p.extra.get("gmacs", "–")),  # every string from a bench file is data, not markup
                     md_text(p.device_name or p.device), md_text(p.precision), md_text(p.batch)])
    lines += [tabulate(rows, headers=["Method", "Params (M)", "Model ms / image (median)", "p10–p90", "fps (model)",
                                      "End-to-end ms (1 image)", "GMACs", "Device", "Precision", "Batch"],
                       tablefmt="github", disable_numparse=True), ""]
    lines += ["Model: the bare network on a prepared tensor (per image: a batch's time divided by the batch); end to end: "
              "`predict` on one uint8 image with pre- and post-processing. Times by `mattebench bench` (warm-up, "
              "CUDA events on GPU, median and 10th–90th percentiles of repeated calls).", ""]
    return "\n".join(lines)


# -- visual comparisons ---------------------------------------------------------------------------------
class DatasetOpener(Protocol):
    """Opens a dataset by name for display (the command line passes the registry's ``load_dataset``;
    the report itself never looks anything up in the registry)."""

    def __call__(self, name: str, root: Optional[str] = None, **options: Any) -> Any: ...


@dataclass(frozen=True)
class Panel:
    """One run's alpha for one sample, read from the run's stored PNG; ``error`` says why there is none."""

    run: str
    alpha: Optional[np.ndarray]
    stored_mse: Optional[float]  # the run's samples.csv value
    mse: Optional[float]  # recomputed from the stored PNG and the ground truth
    error: str = ""


def _panel_name(record: RunRecord) -> str:
    """The run's name, and the shipped checkpoint it scored (ours, never shown as the method's own weights)."""
    weights = shipped_weights(record)
    return record.name + (f" ({weights})" if weights else "")


def _ok_scores(record: RunRecord, metric: str) -> dict[str, float]:
    rows = read_rows(Path(record.run_dir or "") / SAMPLES)
    return {r["id"]: r[metric] for r in rows if r.get("status") == "ok" and isinstance(r.get(metric), float)}


def choose_samples(summaries: Sequence[RecordLike], n: int = 3, metric: str = "mse_whole") -> list[str]:
    """Samples where the methods disagree most: the largest spread (max - min) of ``metric`` over the
    runs, among samples scored ok by every run and, where some runs stored alphas, stored by every one of
    those (so the figure shows pictures, not placeholders, when it can); ties broken by id."""
    records = [as_record(s) for s in summaries]
    per_run = [_ok_scores(r, metric) for r in records]
    if not per_run:
        return []
    common = set(per_run[0]).intersection(*per_run[1:])
    stores = [a for a in (stored_alphas(r) for r in records) if a is not None]
    pictured = {i for i in common if stores and all(a.kept(i) and (p := a.path(i)) is not None and p.exists() for a in stores)}
    pool = pictured or common
    spread = {i: max(r[i] for r in per_run) - min(r[i] for r in per_run) for i in pool}
    return [i for i, _ in sorted(spread.items(), key=lambda kv: (-kv[1], kv[0]))[:n]]


def _stored_scores(record: RunRecord, metric: str = "mse_whole") -> dict[str, Optional[float]]:
    rows = read_rows(Path(record.run_dir or "") / SAMPLES)
    return {r["id"]: r.get(metric) for r in rows}


def _panels(record: RunRecord, store: StoredAlphas, samples: Sequence[Sample]) -> list[Panel]:
    """One run's row: each sample's stored alpha and its MSE against the ground truth (nothing predicted)."""
    stored = _stored_scores(record)
    row = []
    for smp in samples:
        got = store.load(smp.id, smp.image.shape[:2])
        mse = None
        if got.alpha is not None:
            mse = float(np.mean((got.alpha.astype(np.float64) - smp.alpha.astype(np.float64)) ** 2))
        row.append(Panel(_panel_name(record), got.alpha, stored.get(smp.id), mse, got.reason))
    return row


@dataclass(frozen=True)
class Comparison:
    """What a comparison figure shows: samples, one row of panels per run, runs left out and why."""

    dataset: str
    samples: list[Any]
    panels: list[list[Panel]]  # [run][sample]
    skipped: list[str]


def _open(dataset: str, first: RunRecord, dataset_obj: Any, open_dataset: Optional[DatasetOpener]) -> Any:
    if dataset_obj is not None:
        return dataset_obj
    if open_dataset is None:
        raise MattebenchError(f"the comparison figure of {dataset} needs its images: give dataset_obj or open_dataset")
    st = first.settings
    return open_dataset(dataset, root=st.data_root, **dict(st.dataset_options))


def collect_comparison(
    dataset: str,
    summaries: Sequence[RecordLike],
    *,
    sample_ids: Optional[Sequence[str]] = None,
    n: int = 3,
    dataset_obj: Any = None,
    open_dataset: Optional[DatasetOpener] = None,
) -> Optional[Comparison]:
    """Each published run's stored alphas (``run --save-alphas``) on the chosen samples, beside the dataset's
    image and ground truth; None when there is nothing to show (video, no runs, no samples, no run with
    stored alphas). A run without stored alphas is left out, named in ``skipped`` with the command that
    stores them, and warned about; a run that stored other ids gets a placeholder panel with the reason."""
    # Untrained networks are never shown as a method's mattes. A run whose rows disagree with its record stays: each
    # panel re-scores the stored PNG and flags a stored score it does not reproduce (the figure's own check).
    shown = [r for r in map(as_record, published(summaries)) if not r.is_untrained]
    if not shown or shown[0].dataset_card.kind == "video":
        return None
    ds = _open(dataset, shown[0], dataset_obj, open_dataset)
    if sample_ids:
        have = set(ds.ids())
        ids = [i for i in sample_ids if i in have]
    else:
        ids = choose_samples(shown, n)
    if not ids:
        return None
    skipped: list[str] = []
    runs: list[tuple[RunRecord, StoredAlphas]] = []
    for r in sorted(shown, key=lambda x: (x.method, x.tag or "")):
        store = stored_alphas(r)
        if store is None:
            why = f"{r.name} (no stored alphas: rerun with `{rerun_command(r, ids)}`)"
            warnings.warn(f"comparison figure of {dataset}: {why}")
            skipped.append(why)
        else:
            runs.append((r, store))
    if not runs:
        return None
    samples = [ds.load(i) for i in ids]
    if any(not isinstance(x, Sample) for x in samples):
        return None  # clips: a comparison of video runs is not drawn
    return Comparison(dataset, samples, [_panels(r, store, samples) for r, store in runs], skipped)


def comparison_figure(
    dataset: str,
    summaries: Sequence[RecordLike],
    out_dir: str | os.PathLike[str],
    *,
    sample_ids: Optional[Sequence[str]] = None,
    n: int = 3,
    dataset_obj: Any = None,
    open_dataset: Optional[DatasetOpener] = None,
    vmax_error: float = 0.5,
) -> Optional[Path]:
    """``<out_dir>/<dataset>-comparison.png``; None when there is nothing to show."""
    comp = collect_comparison(dataset, summaries, sample_ids=sample_ids, n=n, dataset_obj=dataset_obj,
                              open_dataset=open_dataset)
    if comp is None:
        return None
    return _draw_comparison(comp.dataset, comp.samples, comp.panels, Path(out_dir), comp.skipped, vmax_error)


def differs(p: Panel) -> bool:
    """The stored PNG does not reproduce the run's stored per-sample MSE (beyond float noise): the file or
    the dataset changed since the run."""
    return p.stored_mse is not None and p.mse is not None and abs(p.stored_mse - p.mse) > 1e-6 + 1e-3 * abs(p.stored_mse)


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
            ax_a.set_title(p.run, fontsize=8)
            if p.alpha is None:
                ax_a.text(0.5, 0.5, _wrap(p.error or "no stored alpha", 28), ha="center", va="center", fontsize=6)
                continue
            ax_a.imshow(p.alpha, cmap="gray", vmin=0, vmax=1)
            err_im = ax_e.imshow(np.abs(p.alpha - smp.alpha), cmap="inferno", vmin=0, vmax=vmax_error)
            bad = differs(p)
            label = f"MSE {p.mse:.4f}" + (f" (stored {p.stored_mse:.4f}: differs)" if bad else "")
            ax_e.set_title(label, fontsize=7, color="tab:red" if bad else "black")
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
        for sp in ax.spines.values():
            sp.set_visible(False)
    caption = f"{dataset}: input, ground truth and each run's stored alpha (run --save-alphas); error maps below"
    if skipped:
        caption += "\nleft out (no stored alphas): " + ", ".join(s.split(" (", 1)[0] for s in skipped)
    fig.suptitle(caption, fontsize=9)
    if err_im is not None:
        fig.colorbar(err_im, ax=axes[:, -1].tolist(), fraction=0.05, shrink=0.6, label="|alpha - gt|")
    f = save_figure(fig, safe_folder(out_dir) / f"{anchor(dataset)}-comparison.png")
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
                             open_dataset: DatasetOpener,
                             figures_dir: Optional[str | os.PathLike[str]] = None,
                             sample_ids: Optional[Sequence[str]] = None, n: int = 3,
                             datasets: Optional[Iterable[str]] = None) -> dict[str, Path]:
    """A comparison figure per image dataset with runs, in ``figures_dir`` (default ``<out>/figures/``);
    links appended to ``<out>/<dataset>.md`` when that leaderboard exists. Returns {dataset: png}.
    Sample ids that a dataset lacks are ignored for that dataset. ``open_dataset`` opens a dataset by name
    for its images and ground truth (the command line passes the registry's ``load_dataset``)."""
    by_dataset: dict[str, list[RunRecord]] = {}
    for r in load_summaries(runs):  # an unreadable record is skipped there, with a warning naming it
        by_dataset.setdefault(r.dataset, []).append(r)
    wanted = set(datasets) if datasets else None
    out_dir = Path(out)
    if not figures_dir:
        check_not_link(out_dir / "figures")  # a folder below --out: never followed (LinkRefused)
    written: dict[str, Path] = {}
    for name, records in sorted(by_dataset.items()):
        if wanted is not None and name not in wanted:
            continue
        fig_dir = Path(figures_dir) if figures_dir else out_dir / "figures"
        try:
            png = comparison_figure(name, records, fig_dir, sample_ids=sample_ids, n=n, open_dataset=open_dataset)
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
    if not md.exists() or md.is_symlink():  # never read or written through a link
        return
    rel = os.path.relpath(png, md.parent)
    text = md.read_text(encoding="utf-8")
    link = f"![{title}]({rel})"
    if link in text:
        return
    atomic_write_text(md, text.rstrip("\n") + f"\n\n## {title}\n\n{link}\n\nInput, ground truth, each method's alpha (the 16-bit "
                  "PNG its run stored with `--save-alphas`) and the error map |alpha - gt| below it; titles give the per-sample MSE.\n")
