"""The MODNet paper's Tables 1-5 as data, and which run fills which of their cells.

The MODNet paper's Tables 1-5 and its Figure-6 reference point, as data.

Transcribed from the paper (Ke et al., "MODNet: Real-Time Trimap-Free Portrait Matting via Objective
Decomposition", AAAI 2022, arXiv:2011.11961, Tables 1-5 and Figure 6); each number was checked
against the paper's text. Values are kept as
the strings printed in the paper (``"0.0016"``) so that a regenerated table shows them exactly, digit
for digit; :attr:`PaperRow.mse` / :attr:`PaperRow.mad` give the floats for differences.

These are the paper's numbers: a regenerated table shows them *beside* what mattebench measured,
never in place of it. MSE and MAD follow the ``whole`` protocol (every pixel, alpha in [0, 1]).

Table 3: the seed's text of the ablation table is garbled (cells shifted); the reading below is the one
consistent with its numbers (the last row equals MODNet † of Table 1) and with the paper's description
(L_s and L_d bring considerable gains, e-ASPP helps, SPS pre-training matters): each row adds one
ingredient to the one above it.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, Optional


@dataclass(frozen=True)
class PaperRow:
    """One row of a paper table. ``key`` is stable and is what :mod:`.table_spec` maps to a run."""

    key: str
    label: str  # as printed (dagger included)
    trimap: bool  # the method takes a trimap as input
    mse_text: str
    mad_text: str
    # Table 3 only: which ingredients the row has (L_s, L_d, e-ASPP, SPS).
    ablation: Optional[dict[str, bool]] = None

    @property
    def mse(self) -> float:
        return float(self.mse_text)

    @property
    def mad(self) -> float:
        return float(self.mad_text)


@dataclass(frozen=True)
class PaperTable:
    number: int
    title: str  # the paper's caption, shortened
    dataset: str  # the mattebench dataset name that stands for the paper's set
    rows: tuple[PaperRow, ...]
    notes: str = ""
    columns: tuple[str, ...] = field(default=("trimap",))

    def row(self, key: str) -> PaperRow:
        for r in self.rows:
            if r.key == key:
                return r
        raise KeyError(f"Table {self.number} has no row {key!r}; rows: {[r.key for r in self.rows]}")


def _r(key: str, label: str, trimap: bool, mse: str, mad: str) -> PaperRow:
    return PaperRow(key, label, trimap, mse, mad)


def _ab(key: str, ls: bool, ld: bool, easpp: bool, sps: bool, mse: str, mad: str) -> PaperRow:
    parts = [n for n, on in (("L_s", ls), ("L_d", ld), ("e-ASPP", easpp), ("SPS", sps)) if on]
    label = "MODNet: " + (" + ".join(["L_a", *parts]) if parts else "L_a only")
    return PaperRow(key, label, False, mse, mad, {"L_s": ls, "L_d": ld, "e-ASPP": easpp, "SPS": sps})


TABLE1 = PaperTable(
    1,
    "Quantitative results on PPM-100",
    "ppm100",
    (
        _r("dim-trimap", "DIM", True, "0.0016", "0.0067"),
        _r("indexnet-trimap", "IndexMatter", True, "0.0015", "0.0064"),
        _r("modnet-trimap", "MODNet", True, "0.0013", "0.0054"),
        _r("dim-free", "DIM", False, "0.0221", "0.0327"),
        _r("dim-free-sps", "DIM †", False, "0.0115", "0.0178"),
        _r("fdmpa-sps", "FDMPA †", False, "0.0101", "0.0160"),
        _r("lfm-sps", "LFM †", False, "0.0094", "0.0158"),
        _r("shm-sps", "SHM †", False, "0.0072", "0.0152"),
        _r("hatt-sps", "HAtt †", False, "0.0067", "0.0137"),
        _r("bshm-sps", "BSHM †", False, "0.0063", "0.0114"),
        _r("modnet-sps", "MODNet †", False, "0.0044", "0.0086"),
    ),
    notes="PPM-100 images were partly replaced after the paper, so numbers are close to, not exactly, the paper's set.",
)

TABLE2 = PaperTable(
    2,
    "Quantitative results on AMD (portrait foregrounds, 10 backgrounds each)",
    "amd",
    (
        _r("dim-trimap", "DIM", True, "0.0014", "0.0069"),
        _r("indexnet-trimap", "IndexMatter", True, "0.0013", "0.0066"),
        _r("modnet-trimap", "MODNet", True, "0.0011", "0.0063"),
        _r("dim-free", "DIM", False, "0.0075", "0.0159"),
        _r("dim-free-sps", "DIM †", False, "0.0048", "0.0116"),
        _r("fdmpa-sps", "FDMPA †", False, "0.0047", "0.0115"),
        _r("lfm-sps", "LFM †", False, "0.0043", "0.0101"),
        _r("shm-sps", "SHM †", False, "0.0031", "0.0092"),
        _r("hatt-sps", "HAtt †", False, "0.0034", "0.0094"),
        _r("bshm-sps", "BSHM †", False, "0.0029", "0.0088"),
        _r("modnet-sps", "MODNet †", False, "0.0023", "0.0077"),
    ),
    notes="The paper's AMD set (portrait foregrounds from both splits, unstated backgrounds) cannot be rebuilt; "
    "mattebench's `amd` is the 11 portrait foregrounds of the Composition-1k test set with their first 10 "
    "official backgrounds (a mattebench protocol, not the paper's set).",
)

TABLE3 = PaperTable(
    3,
    "Ablation of MODNet on PPM-100 (SPS: backbone pre-trained on SPS)",
    "ppm100",
    (
        _ab("ablation-la", False, False, False, False, "0.0162", "0.0235"),
        _ab("ablation-ls", True, False, False, False, "0.0097", "0.0158"),
        _ab("ablation-ls-ld", True, True, False, False, "0.0083", "0.0142"),
        _ab("ablation-ls-ld-easpp", True, True, True, False, "0.0057", "0.0109"),
        _ab("modnet-sps", True, True, True, True, "0.0044", "0.0086"),
    ),
    notes="The seed's text of this table is garbled; rows read as cumulative (each adds one ingredient), "
    "consistent with the numbers: the last row equals MODNet † of Table 1.",
    columns=("L_s", "L_d", "e-ASPP", "SPS"),
)

TABLE4 = PaperTable(
    4,
    "Results on CRGNN-R (real-world video)",
    "crgnn-r",
    (
        _r("crgnn-trimap", "CRGNN", True, "0.0010", "0.0035"),
        _r("modnet-sps", "MODNet", False, "0.0082", "0.0157"),
        _r("modnet-sps-soc", "MODNet + SOC", False, "0.0033", "0.0084"),
    ),
    notes="CRGNN's number is quoted from its paper; mattebench has no CRGNN implementation.",
)

TABLE5 = PaperTable(
    5,
    "Results on D646",
    "d646",
    (
        _r("dim-trimap", "DIM", True, "0.0025", "0.0081"),
        _r("hatt-sps", "HAtt", False, "0.0054", "0.0126"),
        _r("modnet-sps", "MODNet", False, "0.0037", "0.0098"),
    ),
    notes="D646 has no official test trimaps: trimap-based numbers depend on the trimap recipe (recorded per run).",
)

TABLES: tuple[PaperTable, ...] = (TABLE1, TABLE2, TABLE3, TABLE4, TABLE5)


@dataclass(frozen=True)
class SpeedReference:
    """A speed figure stated in the paper's text (Figure 6's own per-method values are not in the text)."""

    method: str
    ms: float
    fps: float
    device: str
    size: int
    note: str


# "The inference time of MODNet is 14.9ms (67fps), which is twice the fps of the fastest method, FDMPA (31fps)",
# measured as the average over PPM-100 resized to 512x512 on an NVIDIA GTX 1080Ti.
FIGURE6_REFERENCES: tuple[SpeedReference, ...] = (
    SpeedReference("modnet", 14.9, 67.0, "NVIDIA GTX 1080Ti", 512, "paper: MODNet 14.9 ms (67 fps)"),
    SpeedReference("fdmpa", 1000.0 / 31.0, 31.0, "NVIDIA GTX 1080Ti", 512, "paper: FDMPA 31 fps (fastest other)"),
)
FIGURE6_SIZE = 512


# ----------------------------------------------------------------------------------------------------
# Which run fills which cell of the paper's Tables 1-5, and the commands that make those runs.
#
# A paper row (:mod:`.paper_values`) maps to a :class:`RowSpec`: the registered method, its options,
# the checkpoint it needs (a placeholder under ``$CKPT`` made by a :class:`TrainConfig`), and the run
# tag. A stored run fills the cell when its summary has the table's dataset, the row's method and the
# row's tag: the run folder is ``<runs>/<dataset>/<method>@<tag>/``. Tags are what keep apart runs of one
# method with different weights (``dim-free@scratch`` vs ``dim-free@sps``); rows of methods that need
# no weights (the classical extras) use no tag.
#
# The same row key in several tables (``modnet-sps`` in Tables 1, 3, 4 and 5) is the same trained model
# evaluated on different datasets, so one checkpoint serves them all.
#
# Placeholders in commands are shell variables set at the top of the ``--plan`` script:
# ``$CKPT`` (checkpoints folder: ``mattebench train --out $CKPT/<name>`` writes ``$CKPT/<name>/final.ckpt``), ``$SPS`` (the SPS-pretrained MobileNetV2, ``mobilenetv2_human_seg.ckpt``
# from MODNet's Drive folder), ``$TRAIN_SET`` (the training dataset: the paper's ~3k-foreground set is
# private; ``synthetic`` or your own ``folder`` dataset), ``$SOC_INPUT`` (unlabelled frames or video for SOC),
# ``$STEPS``, ``$TRAIN_SIZE``, ``$DEVICE``, ``$RUNS`` and one data-root variable per dataset.
#
# Ablation (Table 3), as training configurations:
#
# - L_s / L_d off: the MODNet factory's loss weights of eq. 5 set to 0 (``-m lambda_s=0``, ``-m lambda_d=0``).
# - e-ASPP off: method ``modnet`` (the v1 release, SE block in the low-resolution branch) instead of
#   ``modnet-easpp``; the paper does not say what stands in e-ASPP's place, the SE block is the only
#   released alternative.
# - SPS off: no ``backbone_checkpoint``, the backbone starts from the official initialisation.
#
# This module is data about the paper and the runs that fill it; it never looks up a method. Whether this
# install can run a command (the method is registered, its factory takes the options) is checked by the
# plan, :mod:`mattebench.tracks.paper_plan`, against the registry.
# ----------------------------------------------------------------------------------------------------

SYNTHETIC = "synthetic"
SYNTHETIC_VIDEO = "synthetic-video"

# Shell variables of the plan script and their defaults.
PLAN_VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("RUNS", "$MATTEBENCH_PLAN_RUNS", "runs folder read by `mattebench tables` (default: the --runs of the plan)"),
    ("CKPT", "checkpoints", "where trained checkpoints go"),
    ("SPS", "$CKPT/mobilenetv2_human_seg.ckpt", "SPS-pretrained MobileNetV2 (MODNet's Google Drive folder); no download at run time"),
    ("TRAIN_SET", "synthetic", "training dataset (the paper's ~3k-foreground set is private: synthetic, or your own `folder` set)"),
    ("TRAIN_ROOT", "", "--data-root of the training set (empty: none)"),
    ("TRAIN_SIZE", "512", "training crop size"),
    ("SOC_INPUT", "datasets/soc-frames", "unlabelled frames (folder) or a video for SOC; the paper used ~400 private clips, not the test set"),
    ("STEPS", "20000", "training steps per model (the paper: 40 epochs at batch 16)"),
    ("DEVICE", "cuda", "device for training and evaluation"),
    ("ROOT_PPM100", "datasets/ppm100", "PPM-100 (see datasets/ppm100/README.md)"),
    ("ROOT_AMD", "datasets/amd", "Adobe Composition-1k with backgrounds (see datasets/amd/README.md)"),
    ("ROOT_D646", "datasets/d646", "Distinctions-646 (see datasets/d646/README.md)"),
    ("ROOT_CRGNN", "datasets/crgnn-r", "CRGNN-R real video (see datasets/crgnn-r/README.md)"),
)
DATA_ROOT_VAR = {"ppm100": "ROOT_PPM100", "amd": "ROOT_AMD", "d646": "ROOT_D646", "crgnn-r": "ROOT_CRGNN"}


def checkpoint_of(train_name: str) -> str:
    return f"$CKPT/{train_name}/final.ckpt"


def _text(v: Any) -> str:
    return v if isinstance(v, str) else ("true" if v is True else "false" if v is False else str(v))


def _opts(flag: str, options: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for k, v in options.items():
        out += [flag, f"{k}={_text(v)}"]
    return out


def _shell(words: list[str]) -> str:
    """Quote for bash but keep ``$VAR`` placeholders expandable (double quotes)."""
    parts = []
    for w in words:
        if "$" in w:
            parts.append('"' + w.replace('"', '\\"') + '"')
        else:
            parts.append(shlex.quote(w))
    return " ".join(parts)


@dataclass(frozen=True)
class TrainConfig:
    """A model to train (``mattebench train``) or adapt (``mattebench adapt``, SOC) before evaluation."""

    name: str  # the training output folder: $CKPT/<name>/ (final.ckpt inside)
    method: str
    # Options that define the architecture: given at training AND at evaluation (the checkpoint needs them).
    arch_options: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    # Options for training only (backbone initialisation, loss weights).
    train_options: dict[str, Any] = field(default_factory=dict)
    kind: str = "train"  # "train" or "adapt"
    start_from: Optional[str] = None  # adapt: the TrainConfig name whose checkpoint is adapted
    # Options the training/adapt command needs that mattebench does not accept yet (gaps to report).
    expected_options: tuple[str, ...] = ()

    @property
    def out(self) -> str:
        return f"$CKPT/{self.name}"

    @property
    def checkpoint(self) -> str:
        """`mattebench train --out DIR` writes DIR/final.ckpt at the end; `mattebench adapt --out DIR` DIR/soc.ckpt."""
        return f"{self.out}/soc.ckpt" if self.kind == "adapt" else checkpoint_of(self.name)

    def command(self) -> str:
        opts = {**self.arch_options, **self.train_options}
        flags: list[str] = []
        if "backbone_checkpoint" in opts:  # `mattebench train` has a flag for it
            flags += ["--backbone-checkpoint", str(opts.pop("backbone_checkpoint"))]
        if self.kind == "adapt":
            # SOC on unlabelled frames, batch 1, Adam at the command's default lr 1e-5 (the released code's; the
            # paper's 1e-4 diverged at batch 1 in our tests; add --lr 1e-4 to follow the paper).
            words = ["mattebench", "adapt", "--method", self.method, "--checkpoint", checkpoint_of(self.start_from or ""),
                     "--input", "$SOC_INPUT", *flags, *_opts("-m", opts), "--device", "$DEVICE", "--out", self.out, "--quiet"]
            return _shell(words)
        # The paper's recipe: batch 16 (SGD, lr 0.01 x0.1 every quarter: MODNet's defaults in the loop).
        words = ["mattebench", "train", "--method", self.method, "--dataset", "$TRAIN_SET", *flags,
                 *_opts("-m", opts), "--steps", "$STEPS", "--batch", "16", "--size", "$TRAIN_SIZE",
                 "--device", "$DEVICE", "--out", self.out, "--quiet"]
        return _shell(words) + ' ${TRAIN_ROOT:+--data-root "$TRAIN_ROOT"}'


@dataclass(frozen=True)
class RowSpec:
    """How to obtain the measured values of one paper row."""

    key: str  # PaperRow.key
    method: str
    tag: Optional[str]
    train: Optional[str] = None  # name of the TrainConfig that makes the checkpoint
    dataset_options: dict[str, Any] = field(default_factory=dict)
    available: bool = True  # False: mattebench has no implementation (the cell stays the paper's only)
    note: str = ""

    @property
    def run_name(self) -> str:
        return f"{self.method}@{self.tag}" if self.tag else self.method

    @property
    def checkpoint(self) -> Optional[str]:
        return TRAIN_CONFIGS[self.train].checkpoint if self.train else None

    @property
    def method_options(self) -> dict[str, Any]:
        """Evaluation options: the architecture options of the training configuration."""
        return dict(TRAIN_CONFIGS[self.train].arch_options) if self.train else {}

    def run_command(self, dataset: str) -> str:
        words = ["mattebench", "run", "--method", self.method, "--dataset", dataset]
        if dataset in DATA_ROOT_VAR:
            words += ["--data-root", f"${DATA_ROOT_VAR[dataset]}"]
        if self.checkpoint:
            words += ["--checkpoint", self.checkpoint]
        words += _opts("-m", self.method_options) + _opts("-d", self.dataset_options)
        words += ["--device", "$DEVICE", "--out", "$RUNS"]
        if self.tag:
            words += ["--tag", self.tag]
        return _shell(words) + " --quiet"


# -- training configurations ---------------------------------------------------------------------
_SPS = {"backbone_checkpoint": "$SPS"}
# Every † baseline takes MODNet's MobileNetV2 as `backbone=mobilenetv2` (the paper: SPS MobileNetV2 is "the
# backbone of all trimap-free models"); the option defines the architecture, so evaluation passes it too.
_MBV2 = {"backbone": "mobilenetv2"}
_NO_LS = {"lambda_s": 0}
_NO_LD = {"lambda_d": 0}

TRAIN_CONFIGS: dict[str, TrainConfig] = {
    c.name: c
    for c in (
        # Table 3, cumulative rows. L_a (with L_c) is always on.
        TrainConfig("modnet-ablation-la", "modnet", {}, "MODNet, L_a only: no L_s, no L_d, SE block, no SPS",
                    {**_NO_LS, **_NO_LD}, expected_options=("-m lambda_s=0", "-m lambda_d=0")),
        TrainConfig("modnet-ablation-ls", "modnet", {}, "MODNet, L_a + L_s: no L_d, SE block, no SPS",
                    dict(_NO_LD), expected_options=("-m lambda_d=0",)),
        TrainConfig("modnet-ablation-ls-ld", "modnet", {}, "MODNet, L_a + L_s + L_d (eq. 5), SE block, no SPS"),
        TrainConfig("modnet-easpp-scratch", "modnet-easpp", {}, "MODNet with e-ASPP, all losses, no SPS"),
        TrainConfig("modnet-easpp-sps", "modnet-easpp", {}, "MODNet † as in the paper: e-ASPP, all losses, SPS backbone", dict(_SPS)),
        TrainConfig("modnet-easpp-trimap", "modnet-trimap", {},
                    "MODNet (e-ASPP) taking a trimap as a 4th input channel in training and testing (Tables 1-2, trimap rows)",
                    dict(_SPS)),
        TrainConfig("modnet-easpp-sps-soc", "modnet-easpp", {}, "MODNet † adapted by SOC on unlabelled video (Table 4)",
                    kind="adapt", start_from="modnet-easpp-sps"),
        # Baselines, each trained on the same set (the paper: "we train all models on the same dataset").
        TrainConfig("dim-trimap", "dim", {}, "DIM (trimap-based, VGG-16)"),
        TrainConfig("indexnet-trimap", "indexnet", {}, "IndexNet Matting (trimap-based)"),
        TrainConfig("dim-free-scratch", "dim-free", {}, "trimap-free DIM (VGG-16), no SPS pre-training"),
        TrainConfig("dim-free-sps", "dim-free", _MBV2, "trimap-free DIM † (SPS MobileNetV2 replaces VGG-16)", dict(_SPS)),
        TrainConfig("fdmpa-sps", "fdmpa", _MBV2, "FDMPA †: SPS MobileNetV2 backbone", dict(_SPS)),
        TrainConfig("lfm-sps", "lfm", _MBV2, "LFM †: SPS MobileNetV2 backbone", dict(_SPS)),
        TrainConfig("shm-sps", "shm", _MBV2, "SHM †: SPS MobileNetV2 backbone", dict(_SPS)),
        TrainConfig("hatt-sps", "hatt", _MBV2, "HAtt †: SPS MobileNetV2 backbone", dict(_SPS)),
        TrainConfig("bshm-sps", "bshm", _MBV2, "BSHM †: SPS MobileNetV2 backbone", dict(_SPS)),
    )
}

# -- rows ----------------------------------------------------------------------------------------
_ROWS: tuple[RowSpec, ...] = (
    RowSpec("dim-trimap", "dim", "trimap", "dim-trimap"),
    RowSpec("indexnet-trimap", "indexnet", "trimap", "indexnet-trimap"),
    RowSpec("modnet-trimap", "modnet-trimap", "trimap", "modnet-easpp-trimap"),
    RowSpec("dim-free", "dim-free", "scratch", "dim-free-scratch"),
    RowSpec("dim-free-sps", "dim-free", "sps", "dim-free-sps"),
    RowSpec("fdmpa-sps", "fdmpa", "sps", "fdmpa-sps"),
    RowSpec("lfm-sps", "lfm", "sps", "lfm-sps"),
    RowSpec("shm-sps", "shm", "sps", "shm-sps"),
    RowSpec("hatt-sps", "hatt", "sps", "hatt-sps", note="Table 5 prints HAtt without †; the paper's setup gives every trimap-free model the SPS backbone"),
    RowSpec("bshm-sps", "bshm", "sps", "bshm-sps"),
    RowSpec("modnet-sps", "modnet-easpp", "sps", "modnet-easpp-sps"),
    RowSpec("ablation-la", "modnet", "ablation-la", "modnet-ablation-la"),
    RowSpec("ablation-ls", "modnet", "ablation-ls", "modnet-ablation-ls"),
    RowSpec("ablation-ls-ld", "modnet", "ablation-ls-ld", "modnet-ablation-ls-ld"),
    RowSpec("ablation-ls-ld-easpp", "modnet-easpp", "scratch", "modnet-easpp-scratch"),
    RowSpec("modnet-sps-soc", "modnet-easpp", "sps-soc", "modnet-easpp-sps-soc"),
    RowSpec("crgnn-trimap", "crgnn", None, available=False, note="no CRGNN implementation in mattebench; the paper quotes its number"),
)
ROW_SPECS: dict[str, RowSpec] = {r.key: r for r in _ROWS}

# Rows that are not in the paper but that users put beside it: the official v1 release and methods
# that need no training (classical trimap-based, the trimap-midpoint reference).
CLASSICAL = ("closed-form", "knn", "large-kernel", "learning-based", "random-walk", "shared-sampling")
EXTRA_ROWS: tuple[RowSpec, ...] = (
    RowSpec("modnet-official", "modnet", "official", None,
            note="official v1 release (SE block, not e-ASPP); --checkpoint modnet_photographic_portrait_matting.ckpt"),
    *(RowSpec(m, m, None) for m in CLASSICAL),
    RowSpec("trimap-midpoint", "trimap-midpoint", None, note="reference: 0.5 in the unknown band of the trimap"),
)
EXTRA_TRIMAP = set(CLASSICAL) | {"trimap-midpoint"}
# Tables whose paper rows are single images, so the image extras apply.
EXTRAS_FOR_TABLE = {1: EXTRA_ROWS, 2: EXTRA_ROWS, 3: (), 4: (EXTRA_ROWS[0],), 5: EXTRA_ROWS}
OFFICIAL_CHECKPOINT_VAR = ("MODNET_OFFICIAL", "$CKPT/modnet_photographic_portrait_matting.ckpt",
                           "official MODNet v1 checkpoint (Apache-2.0, ZHKKKe/MODNet Google Drive)")


def bench_targets() -> list[tuple[str, dict[str, Any]]]:
    """(method, architecture options) of every method in the tables, for Figure 6 (weights do not change speed)."""
    out: list[tuple[str, dict[str, Any]]] = []
    for spec in (*_ROWS, EXTRA_ROWS[0]):
        if not spec.available:
            continue
        item = (spec.method, spec.method_options)
        if item not in out:
            out.append(item)
    return out


def bench_command(method: str, options: dict[str, Any], size: int = 512) -> str:
    """`mattebench bench --json` into ``$RUNS/bench/`` (where `mattebench tables` looks for Figure 6's data)."""
    stem = "-".join([method, *(f"{k}-{_text(v)}" for k, v in sorted(options.items())), "$DEVICE", str(size)])
    words = ["mattebench", "bench", "--method", method, *_opts("-m", options), "--size", str(size), "--device", "$DEVICE", "--json"]
    return _shell(words) + f' > "$RUNS/bench/{stem}.json"'


def row_spec(key: str) -> RowSpec:
    try:
        return ROW_SPECS[key]
    except KeyError:
        raise KeyError(f"no table spec for paper row {key!r}") from None


def proxy_dataset(table: PaperTable) -> str:
    """The embedded dataset that stands in for the table's set when the real one is absent."""
    return SYNTHETIC_VIDEO if table.dataset == "crgnn-r" else SYNTHETIC


def extra_command(spec: RowSpec, dataset: str) -> str:
    if spec.key == "modnet-official":
        base = RowSpec(spec.key, spec.method, spec.tag)
        return base.run_command(dataset).replace(" --device", ' --checkpoint "$MODNET_OFFICIAL" --device', 1)
    return spec.run_command(dataset)


def required_training(keys: list[str]) -> list[TrainConfig]:
    """The TrainConfigs (adapt after the training it starts from) behind these row keys, in order."""
    out: list[TrainConfig] = []
    seen: set[str] = set()

    def add(name: Optional[str]) -> None:
        if not name or name in seen:
            return
        cfg = TRAIN_CONFIGS[name]
        if cfg.start_from:
            add(cfg.start_from)
        seen.add(name)
        out.append(cfg)

    for k in keys:
        add(ROW_SPECS[k].train if k in ROW_SPECS else None)
    return out


def all_tables() -> tuple[PaperTable, ...]:
    return TABLES
