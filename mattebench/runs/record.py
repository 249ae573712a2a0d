"""The typed run record: what a run stores in ``summary.json`` and the only thing a report reads.

The runner builds one :class:`RunRecord` at the end of a run (complete or not) and writes
``record.to_json()``; every report (leaderboards, site, paper tables, figures, robustness) loads it back
with :meth:`RunRecord.from_json`. Facts a report needs are recorded here at run time (whether the
network started from a pretrained backbone, the trimap recipe, where the MESSDdt flow came from, the
hashes of every option that names a file), so no report ever guesses them from names or tags.

Versions (``schema_version``):

* 1: every ``summary.json`` written before the field existed (no ``schema_version`` key). It is read
  by :func:`upgrade_v1`: keys it lacks get the values a run of that time implied, and the one fact a
  v1 record did not hold, ``provenance.pretrained_backbone``, is derived once, here, by the rule the
  v1 reports used (a ``backbone_checkpoint`` option, or a tag ``sps``/``*-sps-*``/``official``).
* 2: every ``summary.json`` before the breakdowns; read as it is (its ``schema_version`` stays 2).
* 3: this module: adds ``groups`` (the dataset's sample groups: column -> id -> group, their order and source)
  and ``breakdowns`` (the unranked breakdown columns of the rows and whose foreground they scored). Both are
  absent from a record without them, so a version-2 file reads and writes back unchanged.
  A record of a later version is refused with a message to upgrade mattebench, since reading it as
  version 3 could drop a field that changes what its numbers mean.

Unknown keys of a record are kept (``extra``) and written back unchanged, so a file round-trips through
``from_json(...).to_json()`` to the same JSON.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields, replace
from typing import Any, Mapping, Optional

from mattebench.errors import MattebenchError, RecordError
from mattebench.types import DatasetCard, MethodCard

SCHEMA_VERSION = 3
V1_UPGRADED_TO = 2  # upgrade_v1 writes the version-2 layout (it predates groups and breakdowns)


# -- small parts ---------------------------------------------------------------------------------------
def _whole(v: Any, where: str) -> int:
    if isinstance(v, bool) or not isinstance(v, int):
        raise RecordError(f"{where} is not a whole number ({v!r})")
    return v


def _number(v: Any, where: str) -> Optional[float]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise RecordError(f"{where} is not a number ({v!r})")
    return float(v)


def _text(v: Any, where: str, *, optional: bool = True) -> Optional[str]:
    if v is None and optional:
        return None
    if not isinstance(v, str):
        raise RecordError(f"{where} is not a string ({type(v).__name__})")
    return v


def _object(v: Any, where: str) -> dict[str, Any]:
    if v is None:
        return {}
    if not isinstance(v, dict):
        raise RecordError(f"{where!r} is not an object")
    return v


@dataclass(frozen=True)
class Counts:
    """Samples asked for, scored, failed, and not reached (an interrupted run)."""

    total: int
    ok: int
    error: int
    pending: int

    @classmethod
    def from_json(cls, d: Any) -> "Counts":
        d = _object(d, "counts")
        return cls(**{f.name: _whole(d.get(f.name, 0), f"counts.{f.name}") for f in fields(cls)})

    def to_json(self) -> dict[str, int]:
        return {"total": self.total, "ok": self.ok, "error": self.error, "pending": self.pending}


@dataclass(frozen=True)
class FailedSample:
    """One error row, as the summary lists it: the sample id and the reason."""

    id: str
    error: str

    def to_json(self) -> dict[str, str]:
        return {"id": self.id, "error": self.error}


@dataclass(frozen=True)
class Timing:
    """Per-sample ``predict`` wall time over the ok rows, in milliseconds."""

    median: Optional[float] = None
    mean: Optional[float] = None

    @classmethod
    def from_json(cls, d: Any) -> "Timing":
        d = _object(d, "predict_ms")
        return cls(median=_number(d.get("median"), "predict_ms.median"), mean=_number(d.get("mean"), "predict_ms.mean"))

    def to_json(self) -> dict[str, Optional[float]]:
        return {"median": self.median, "mean": self.mean}


@dataclass(frozen=True)
class Settings:
    """What the user asked for: options, data root, ``--limit``, device, toolkit conventions."""

    method_options: Mapping[str, Any] = field(default_factory=dict)
    dataset_options: Mapping[str, Any] = field(default_factory=dict)
    data_root: Optional[str] = None
    limit: Optional[int] = None
    device: str = "cpu"
    conventions: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, d: Any) -> "Settings":
        d = _object(d, "settings")
        limit = d.get("limit")
        return cls(method_options=dict(_object(d.get("method_options"), "settings.method_options")),
                   dataset_options=dict(_object(d.get("dataset_options"), "settings.dataset_options")),
                   data_root=_text(d.get("data_root"), "settings.data_root"),
                   limit=None if limit is None else _whole(limit, "settings.limit"),
                   device=str(d.get("device") or "cpu"),
                   conventions=tuple(str(c) for c in (d.get("conventions") or ())))

    def to_json(self) -> dict[str, Any]:
        return {"method_options": dict(self.method_options), "dataset_options": dict(self.dataset_options),
                "data_root": self.data_root, "limit": self.limit, "device": self.device,
                "conventions": list(self.conventions)}


@dataclass(frozen=True)
class Provenance:
    """Where the numbers came from: code, environment, inputs and their hashes, and how the run went.

    Method-specific entries (e.g. MODNet's ``input_rule``) and environment entries this version does not
    name (a GPU's driver) are kept in ``extra`` and written back beside the named ones.
    """

    mattebench: Optional[str] = None
    commit: Optional[str] = None
    dirty: Optional[bool] = None
    python: Optional[str] = None
    platform: Optional[str] = None
    numpy: Optional[str] = None
    cpu_count: Optional[int] = None
    torch: Optional[str] = None
    threads: Optional[int] = None
    cuda_available: Optional[bool] = None
    device: Optional[str] = None
    device_name: Optional[str] = None
    dataset_fingerprint: Optional[str] = None
    checkpoint: Optional[str] = None
    checkpoint_sha256: Optional[str] = None
    checkpoint_shipped: Optional[Mapping[str, Any]] = None
    # True when the network started from a pretrained backbone (the paper's † mark), False when it did
    # not, None when nothing says (a classical method, or a checkpoint without that fact).
    pretrained_backbone: Optional[bool] = None
    method_code: Optional[Mapping[str, Any]] = None
    option_files: Optional[Mapping[str, Any]] = None  # sha256 of every option that names a file
    dataset_problems: Optional[Mapping[str, Any]] = None
    trimap_recipe: Optional[Mapping[str, Any]] = None
    flow_source: Optional[str] = None  # where MESSDdt's optical flow came from (video datasets), else None
    quantisation: Optional[str] = None
    notes: tuple[str, ...] = ()
    sample_notes: Optional[Mapping[str, Any]] = None
    input: Optional[Mapping[str, Any]] = None  # the user's file behind the method (saved predictions, ONNX, TFLite)
    saved_alphas: Optional[Mapping[str, Any]] = None  # run --save-alphas: where the 16-bit PNGs are
    executor: Optional[str] = None
    workers: Optional[int] = None
    started: Optional[str] = None
    finished: Optional[str] = None
    command: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, d: Any) -> "Provenance":
        d = dict(_object(d, "provenance"))
        names = [f.name for f in fields(cls) if f.name != "extra"]
        notes = d.get("notes")
        if notes is not None and not (isinstance(notes, list) and all(isinstance(n, str) for n in notes)):
            raise RecordError("provenance.notes is not a list of strings")
        values: dict[str, Any] = {n: d.pop(n) for n in names if n in d}
        values["notes"] = tuple(notes or ())
        for key in ("checkpoint_shipped", "method_code", "option_files", "dataset_problems", "trimap_recipe",
                    "sample_notes", "input", "saved_alphas"):
            if values.get(key) is not None and not isinstance(values[key], dict):
                raise RecordError(f"provenance.{key} is not an object")
        return cls(**values, extra=d)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        out["notes"] = list(self.notes)
        out.update(self.extra)
        return out


# -- the record ----------------------------------------------------------------------------------------
def _card(cls: Any, d: Any, where: str, default_name: str) -> Any:
    """A card from its JSON; keys this version's card does not have are dropped (they are descriptive).
    A card without a name is the card of the record's method (or dataset)."""
    d = _object(d, where)
    known = {f.name for f in fields(cls)}
    values = {k: v for k, v in d.items() if k in known}
    values.setdefault("name", default_name)
    if not isinstance(values.get("name"), str):
        raise RecordError(f"{where}.name is missing or not a string")
    for f in fields(cls):
        if f.type in ("str", str) and f.name in values and not isinstance(values[f.name], str):
            raise RecordError(f"{where}.{f.name} is not a string")
    if "protocols" in values:
        p = values["protocols"]
        if not (isinstance(p, list) and all(isinstance(x, str) for x in p)):
            raise RecordError(f"{where}.protocols is not a list of strings")
        values["protocols"] = tuple(p)
    return cls(**values)


@dataclass(frozen=True)
class RunRecord:
    """One run of one method on one dataset (a ``<runs>/<dataset>/<method>[@tag]/`` folder)."""

    dataset: str
    method: str
    tag: Optional[str]
    complete: bool
    subset: bool
    subset_reason: Optional[str]
    n_dataset: int
    counts: Counts
    means: Mapping[str, Optional[float]]
    ci: Mapping[str, Optional[tuple[float, float]]]
    ci_method: Optional[Mapping[str, Any]]
    excluded: Mapping[str, int]
    errors: tuple[FailedSample, ...]
    predict_ms: Timing
    method_card: MethodCard
    dataset_card: DatasetCard
    settings: Settings
    provenance: Provenance
    dataset_variant: Optional[Mapping[str, Any]] = None  # corrupt= / trimap_radius= / trimap_adjust= runs
    run_dir: Optional[str] = None  # where the record was read from (set by the loader) or written to
    # True: the method ran without the trained weights its card names (run --allow-untrained); never ranked.
    # None: not recorded (every file written before the key existed), read as trained.
    untrained: Optional[bool] = None
    # version 3: the dataset's sample groups (mattebench.data.groups.GroupMapping.as_json) and the breakdown
    # columns' facts (mattebench.scoring.breakdowns); None when the run has none (every version-2 file).
    groups: Optional[Mapping[str, Any]] = None
    breakdowns: Optional[Mapping[str, Any]] = None
    schema_version: int = SCHEMA_VERSION
    extra: Mapping[str, Any] = field(default_factory=dict)

    # -- reading ---------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        """``method`` or ``method@tag``: the run folder's name."""
        return self.method + (f"@{self.tag}" if self.tag else "")

    @property
    def is_untrained(self) -> bool:
        """The run scored a network without trained weights (``run --allow-untrained``): never a result."""
        return self.untrained is True

    @property
    def is_variant(self) -> bool:
        """A robustness-track run (corrupted input or changed trimap): kept out of the clean tables."""
        return bool(self.dataset_variant)

    def mean(self, metric: str) -> Optional[float]:
        """The mean of ``metric`` over the ok rows; None when absent or not finite."""
        v = self.means.get(metric)
        return v if v is not None and math.isfinite(v) else None

    # -- JSON ------------------------------------------------------------------------------------------
    @classmethod
    def from_json(cls, d: Any) -> "RunRecord":
        """The record a ``summary.json`` holds; an old file is upgraded, a newer or malformed one refused."""
        if not isinstance(d, dict):
            raise RecordError(f"not a JSON object (a {type(d).__name__})")
        version = d.get("schema_version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise RecordError(f"schema_version {version!r} is not a version number")
        if version > SCHEMA_VERSION:
            raise RecordError(f"written by a newer mattebench (record schema {version}; this one reads up to "
                              f"{SCHEMA_VERSION}): upgrade mattebench to report it")
        if version == 1:
            d = upgrade_v1(d)
        return cls._from_v2(d)  # versions 2 and 3 share the reader: 3 only adds optional keys

    @classmethod
    def _from_v2(cls, d: dict[str, Any]) -> "RunRecord":
        d = dict(d)
        for key in ("dataset", "method"):
            if not isinstance(d.get(key), str) or not d[key].strip():
                raise RecordError(f"{key!r} is missing or not a non-empty string")
        means = _object(d.pop("means", None), "means")
        ci = _object(d.pop("ci", None), "ci")
        excluded = _object(d.pop("excluded", None), "excluded")
        errors = d.pop("errors", None) or []
        if not (isinstance(errors, list) and all(isinstance(e, dict) for e in errors)):
            raise RecordError("'errors' is not a list of objects")
        variant = d.pop("dataset_variant", None)
        untrained = d.pop("untrained", None)
        if untrained is not None and not isinstance(untrained, bool):
            raise RecordError(f"'untrained' is not true or false ({untrained!r})")
        dataset, method = d.pop("dataset"), d.pop("method")
        groups, broken_down = d.pop("groups", None), d.pop("breakdowns", None)
        record = cls(
            dataset=dataset, method=method,
            tag=_text(d.pop("tag", None), "tag"),
            complete=bool(d.pop("complete", False)), subset=bool(d.pop("subset", False)),
            subset_reason=_text(d.pop("subset_reason", None), "subset_reason"),
            n_dataset=_whole(d.pop("n_dataset", 0), "n_dataset"),
            counts=Counts.from_json(d.pop("counts", None)),
            means={str(k): _number(v, f"means.{k}") for k, v in means.items()},
            ci={str(k): _interval(v, f"ci.{k}") for k, v in ci.items()},
            ci_method=_object(d.pop("ci_method", None), "ci_method") or None,
            excluded={str(k): _whole(v, f"excluded.{k}") for k, v in excluded.items()},
            errors=tuple(FailedSample(str(e.get("id", "")), str(e.get("error", ""))) for e in errors),
            predict_ms=Timing.from_json(d.pop("predict_ms", None)),
            method_card=_card(MethodCard, d.pop("method_card", None), "method_card", method),
            dataset_card=_card(DatasetCard, d.pop("dataset_card", None), "dataset_card", dataset),
            settings=Settings.from_json(d.pop("settings", None)),
            provenance=Provenance.from_json(d.pop("provenance", None)),
            dataset_variant=_object(variant, "dataset_variant") if variant is not None else None,
            run_dir=_text(d.pop("run_dir", None), "run_dir"),
            untrained=untrained,
            groups=_object(groups, "groups") if groups is not None else None,
            breakdowns=_object(broken_down, "breakdowns") if broken_down is not None else None,
            schema_version=d.pop("schema_version", SCHEMA_VERSION),  # a version-2 file stays version 2
        )
        return replace(record, extra=d) if d else record

    def to_json(self) -> dict[str, Any]:
        """The ``summary.json`` object (keys as in every version-2 file)."""
        out: dict[str, Any] = {
            "schema_version": self.schema_version,
            "dataset": self.dataset, "method": self.method, "tag": self.tag,
            "complete": self.complete, "subset": self.subset, "subset_reason": self.subset_reason,
            "n_dataset": self.n_dataset,
            "counts": self.counts.to_json(),
            "means": dict(self.means),
            "ci": {k: (list(v) if v is not None else None) for k, v in self.ci.items()},
            "ci_method": dict(self.ci_method) if self.ci_method is not None else None,
            "excluded": dict(self.excluded),
            "errors": [e.to_json() for e in self.errors],
            "predict_ms": self.predict_ms.to_json(),
            "method_card": self.method_card.as_dict(),
            "dataset_card": self.dataset_card.as_dict(),
            "settings": self.settings.to_json(),
            "provenance": self.provenance.to_json(),
        }
        if self.dataset_variant is not None:
            out["dataset_variant"] = dict(self.dataset_variant)
        if self.run_dir is not None:
            out["run_dir"] = self.run_dir
        if self.untrained is not None:  # absent in files written before the key: they read back unchanged
            out["untrained"] = self.untrained
        if self.groups is not None:
            out["groups"] = dict(self.groups)
        if self.breakdowns is not None:
            out["breakdowns"] = dict(self.breakdowns)
        out.update(self.extra)
        return out


def _interval(v: Any, where: str) -> Optional[tuple[float, float]]:
    if v is None:
        return None
    if not (isinstance(v, (list, tuple)) and len(v) == 2):
        raise RecordError(f"{where} is not a [low, high] pair")
    lo, hi = _number(v[0], where), _number(v[1], where)
    if lo is None or hi is None:
        return None
    return (lo, hi)


# -- older files -----------------------------------------------------------------------------------------
def pretrained_by_v1_rule(method_options: Mapping[str, Any], tag: Optional[str]) -> bool:
    """The rule v1 reports applied at render time: a backbone checkpoint was given, or the tag says so."""
    t = str(tag or "")
    return bool(method_options.get("backbone_checkpoint")) or "sps" in t.split("-") or t == "official"


def upgrade_v1(d: dict[str, Any]) -> dict[str, Any]:
    """A version-1 summary as a version-2 object: missing keys as a v1 run implied them."""
    out = dict(d)
    out["schema_version"] = V1_UPGRADED_TO
    out.setdefault("ci", {})
    out.setdefault("ci_method", None)
    out.setdefault("subset_reason", None)
    settings = dict(_object(out.get("settings"), "settings"))
    settings.setdefault("conventions", [])
    out["settings"] = settings
    prov = dict(_object(out.get("provenance"), "provenance"))
    if "pretrained_backbone" not in prov:
        prov["pretrained_backbone"] = pretrained_by_v1_rule(_object(settings.get("method_options"), "settings.method_options"),
                                                            out.get("tag") if isinstance(out.get("tag"), str) else None)
    # v1 kept the MESSDdt flow note only among the notes; it is the one note that begins so.
    if "flow_source" not in prov:
        flow = [n for n in (prov.get("notes") or []) if isinstance(n, str) and n.startswith("MESSDdt")]
        prov["flow_source"] = flow[0] if flow else None
    out["provenance"] = prov
    card = out.get("method_card")
    if isinstance(card, dict) and "reference_floor" not in card:
        # v1 cards had no such field; v1 reports marked the one floor mattebench shipped by its name
        out["method_card"] = {**card, "reference_floor": card.get("name", out.get("method")) == "trimap-midpoint"}
    if not out.get("dataset_variant"):
        variant = _v1_variant(_object(settings.get("dataset_options"), "settings.dataset_options"))
        if variant:
            out["dataset_variant"] = variant
    return out


def _v1_variant(opts: Mapping[str, Any]) -> Optional[dict[str, Any]]:
    """Early robustness runs kept their variant only in the dataset options: rebuilt from them."""
    keys = ("corrupt", "trimap_radius", "trimap_adjust")
    if not any(opts.get(k) is not None for k in keys):
        return None
    from mattebench.data.variant import VariantSpec

    try:
        return VariantSpec.from_options(dict(opts)).as_dict()
    except MattebenchError:
        return {"unparsed": {k: opts.get(k) for k in keys}}


def as_record(x: "RunRecord | Mapping[str, Any]") -> RunRecord:
    """A record from a record or from its JSON object (a report's public functions take either)."""
    if isinstance(x, RunRecord):
        return x
    return RunRecord.from_json(dict(x))
