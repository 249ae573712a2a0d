"""Evaluate a method on a dataset: ids -> executor -> scorer rows -> store -> run record (summary.json).

The executor is a seam: :class:`LocalExecutor` scores in this process; a distributed executor
(Ray) builds one :class:`~mattebench.scoring.scorer.Scorer` per worker from a picklable
:class:`ScorerSpec` and streams rows back. Either way the driver is the only writer of the run
folder, so resume, provenance and leaderboards do not depend on the executor.
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import warnings
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any, Iterator, Optional, Protocol, Sequence, Union

from mattebench import environment
from mattebench import environment as provenance
from mattebench.contract import MattingMethod, method_provenance
from mattebench.data import sample_inputs, sample_notes
from mattebench.data import trimap as trimap_recipe
from mattebench.data.check import index_problems
from mattebench.data.groups import dataset_groups
from mattebench.data.variant import variant_of, variant_tag
from mattebench.environment import check_environment
from mattebench.errors import (
    CheckpointError,
    MattebenchError,
    SampleFailed,
    StoreError,
    UntrainedWeights,
    UsageError,
)
from mattebench.methods import host, shipped
from mattebench.methods.host import MethodRecipe
from mattebench.methods.registry import (
    create_method,
    load_dataset,
    method_card,
    method_entry,
    validate_method_options,
)
from mattebench.metrics import stats
from mattebench.runs import identity as code_identity
from mattebench.runs.alphas import AlphaSelection, AlphaSink
from mattebench.runs.record import (
    Counts,
    FailedSample,
    Provenance,
    RunRecord,
    Settings,
    Timing,
    pretrained_by_v1_rule,
)
from mattebench.runs.store import RunStore, check_ids, path_component, run_dir
from mattebench.scoring import breakdowns
from mattebench.scoring.scorer import (
    QUANTISATION,
    Scorer,
    metric_columns,
    scorer_columns,
)
from mattebench.types import ExternalInput, MethodCard


@dataclass
class ScorerSpec:
    """A picklable recipe for building the same Scorer in another process."""

    method: str
    method_options: dict[str, Any] = field(default_factory=dict)
    dataset: str = ""
    data_root: Optional[str] = None
    dataset_options: dict[str, Any] = field(default_factory=dict)
    debug: bool = False
    conventions: tuple[str, ...] = ()
    estimate_foreground: bool = False
    with_breakdowns: bool = True

    def build(self) -> Scorer:
        m = create_method(self.method, **self.method_options)
        d = load_dataset(self.dataset, root=self.data_root, **self.dataset_options)
        return Scorer(m, d, _card_of(m, self.method), debug=self.debug, conventions=self.conventions,
                      estimate_foreground=self.estimate_foreground, with_breakdowns=self.with_breakdowns)

    def build_hosted(self, recipe: Any, card: MethodCard, columns: list[str]) -> Scorer:
        """The driver's Scorer for a method that predicts in a host (no method here): the dataset and the
        scoring settings from the spec, the card and columns as the driver resolved them."""
        d = load_dataset(self.dataset, root=self.data_root, **self.dataset_options)
        return Scorer(None, d, card, columns=list(columns), debug=self.debug, conventions=self.conventions, hosted=recipe,
                      estimate_foreground=self.estimate_foreground, with_breakdowns=self.with_breakdowns)


class Executor(Protocol):
    name: str
    workers: int

    def run(self, scorer: Scorer, spec: Optional[ScorerSpec], ids: list[str]) -> Iterator[dict[str, Any]]:
        """Yield one row per id (any order); the driver writes them."""
        ...


class LocalExecutor:
    """Serial: in this process for the methods that may predict here, else through one method host."""

    name = "local"
    workers = 1

    def __init__(self) -> None:
        self.stats: dict[str, Any] = {}
        self.notes: list[str] = []

    def run(self, scorer: Scorer, spec: Optional[ScorerSpec], ids: list[str]) -> Iterator[dict[str, Any]]:
        if scorer.hosted is not None:
            from mattebench.runs.executors.hosts import HostPool

            pool = HostPool(scorer.hosted, 1, preload=host.preload_modules(scorer.hosted))
            self.stats = pool.stats
            yield from pool.rows(scorer, ids)
            return
        for i in ids:
            yield scorer.score(i)

    def worker_method_provenance(self) -> dict[str, Any]:
        """What the host's method adds to the run's provenance (:mod:`mattebench.contract`)."""
        return dict(self.stats.get("method_provenance") or {})


def _card_of(method: Any, name: str) -> MethodCard:
    if isinstance(method, MattingMethod) and isinstance(method.card, MethodCard):
        return method.card
    try:
        return method_card(name)
    except MattebenchError:
        return MethodCard(name=name)


def _method_code(method: Union[str, Any], method_obj: Any) -> dict[str, Any]:
    """The code part of the run identity (see :mod:`mattebench.runs.identity`)."""
    if isinstance(method, str):
        e = method_entry(method)
        return code_identity.method_code(e.factory, origin=e.origin, distribution=e.distribution,
                                         version=e.version, replaces=e.replaces)
    return code_identity.method_code(type(method_obj), origin="object passed to evaluate()")


def _checkpoint_hash(options: dict[str, Any]) -> Optional[str]:
    ck = options.get("checkpoint")
    if shipped.is_shipped_name(ck):  # mattebench:<name>: the installed file (CheckpointError for an unknown name)
        ck = shipped.resolve(ck)
    if ck and os.path.isfile(str(ck)):
        return provenance.sha256_file(str(ck))
    return None


def _untrained_message(name: str, card: MethodCard) -> str:
    """Where trained weights for ``name`` come from: the shipped checkpoints, the user's file, training."""
    opt = str(card.weights_option)
    flag = "--checkpoint" if opt == "checkpoint" else f"-m {opt}="
    ships = [c.spec for c in shipped.shipped_checkpoints().values() if c.method == name]
    where = []
    if ships:
        where.append(f"a checkpoint shipped with mattebench ({flag} {' or '.join(ships)}; its card: mattebench/weights/CARD.md)")
    where.append(f"a weights file of your own ({flag} PATH; see the method's card, `mattebench list --json`: "
                 f"weights {card.weights_licence})")
    if card.trainable:
        where.append(f"train it (`mattebench train --method {name}`)")
    return (f"{name} was asked to run without trained weights (no {opt} option): its network would be randomly "
            f"initialised and its numbers would be no result. Give trained weights: {'; or '.join(where)}. "
            f"To score the untrained network anyway (a smoke test, never ranked), pass --allow-untrained "
            f"(Python: evaluate(..., allow_untrained=True)).")


def untrained_run(method: Union[str, Any], method_options: dict[str, Any], allow_untrained: bool) -> bool:
    """Whether this run scores untrained weights (then only with ``allow_untrained``; else UntrainedWeights, exit 2).

    Decided from the registered card (:attr:`MethodCard.weights_option`) and the options, before anything is
    built or written, so it holds wherever the method is built (this process or workers). A method passed as
    an object was built by the caller: its weights are the caller's business, as are a card's that says nothing.
    """
    if not isinstance(method, str) or method in USER_INPUT_METHODS:
        return False
    try:
        card = method_card(method)
    except MattebenchError:
        return False  # an unknown name is reported where the method is built, after the dataset is checked
    validate_method_options(method, method_options)  # a misspelt option (-m checkpont=) is named as such first
    if not card.untrained_with(method_options):
        return False
    if allow_untrained:
        return True
    raise UntrainedWeights(_untrained_message(method, card))


def check_weight_files(method: Union[str, Any], method_options: dict[str, Any]) -> None:
    """A weights option naming no file is reported first, before a run folder's settings are compared (a
    conflict would otherwise hide it) and before workers are started (which would fail only once there).
    Checked for the options a card declares as weights files (its ``weights_option``, and ``backbone_checkpoint``
    beside it); a card that declares none keeps its options' meaning to itself."""
    try:
        declared = method_card(method).weights_option if isinstance(method, str) else None
    except MattebenchError:
        declared = None  # an unknown name is reported where the method is built
    if not declared:
        return
    for key in sorted({declared, "backbone_checkpoint"}):
        value = method_options.get(key)
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            continue
        if shipped.is_shipped_name(value):
            shipped.resolve(str(value))  # CheckpointError: unknown name, or the file missing from the install
        elif not os.path.exists(value):
            raise CheckpointError(f"{key}={os.fspath(value)}: no such file. Give the path of the weights file "
                                  "(nothing is downloaded), or a shipped name (`mattebench list` shows them).")


def _jsonable(options: dict[str, Any]) -> dict[str, Any]:
    return {k: (v if isinstance(v, (int, float, str, bool, type(None), list, dict)) else repr(v)) for k, v in sorted(options.items())}


def summarise(rows: list[dict[str, Any]], columns: list[str], ids: list[str]) -> dict[str, Any]:
    """The fields of the :class:`~mattebench.runs.record.RunRecord` that its rows determine (counts, means,
    intervals, exclusions, errors, time), by the record's field names: means over ok rows (a metric's NaN
    values are excluded and counted), counts, errors."""
    by_id = {r["id"]: r for r in rows}
    mine = [by_id[i] for i in ids if i in by_id]
    ok = [r for r in mine if r.get("status") == "ok"]
    errs = [r for r in mine if r.get("status") != "ok"]
    means: dict[str, Optional[float]] = {}
    excluded: dict[str, int] = {}
    finite_by_column: dict[str, list[float]] = {}
    for c in columns:
        vals = [r.get(c) for r in ok]
        finite = [float(v) for v in vals if isinstance(v, (int, float)) and not math.isnan(float(v))]
        means[c] = float(statistics.fmean(finite)) if finite else None
        excluded[c] = len(ok) - len(finite)
        finite_by_column[c] = finite
    # Every mean carries its bootstrap interval over the same values (one row = one sample, or one clip).
    ci, ci_method = stats.record_intervals(finite_by_column, unit="clip" if any("frames" in r for r in ok) else "sample")
    times = [float(r["predict_ms"]) for r in ok if isinstance(r.get("predict_ms"), (int, float))]
    return dict(
        counts=Counts(total=len(ids), ok=len(ok), error=len(errs), pending=len(ids) - len(mine)),
        means=means,
        ci={k: ((v[0], v[1]) if v is not None else None) for k, v in ci.items()},
        ci_method=ci_method,
        excluded=excluded,
        errors=tuple(FailedSample(str(r["id"]), str(r.get("error", ""))) for r in errs),
        predict_ms=Timing(median=statistics.median(times) if times else None, mean=statistics.fmean(times) if times else None),
    )


@dataclass(frozen=True)
class _Resolved:
    """The dataset and method a run scores, resolved from names or objects (before any sample runs)."""

    ds: Any
    dname: str
    method_obj: Any  # None: a remote executor builds the method on its workers
    mname: str
    card: MethodCard
    spec: Optional[ScorerSpec]
    remote: bool
    recipe: Optional[MethodRecipe] = None  # set when the method predicts in its own process (mattebench.methods.host)
    isolation_note: Optional[str] = None  # why a method that should predict in a host does not


@dataclass(frozen=True)
class _Identity:
    """What a run is (the identity its run.json keeps and a resume must match) and the facts behind it."""

    ids: list[str]
    tag: Optional[str]
    variant: dict[str, Any]
    values: dict[str, Any]
    fingerprint: str
    checkpoint_sha256: Optional[str]
    problem_counts: Any


def _check_arguments(limit: Optional[int], tag: Optional[str]) -> Optional[str]:
    check_environment()  # $MATTEBENCH_MAX_PIXELS=abc is one usage error now, not an error row per sample
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise UsageError(f"--limit must be a whole number of at least 1, got {limit!r}")
    tag = tag or None  # --tag "" (an empty variable in a script) means no tag
    if tag is not None:
        path_component(tag, "--tag")
    return tag


def _resolve(method: Union[str, Any], dataset: Union[str, Any], method_options: dict[str, Any],
             dataset_options: dict[str, Any], data_root: Optional[str], out: Any, tag: Optional[str],
             executor: Optional[Executor], method_name: Optional[str], dataset_name: Optional[str], debug: bool,
             conv: tuple[str, ...]) -> _Resolved:
    """Dataset first (a missing data root fails before a model is built), then the method and its card."""
    if isinstance(dataset, str):
        dname = dataset_name or dataset
        ds = load_dataset(dataset, root=data_root, **dataset_options)
    else:
        ds = dataset
        dname = dataset_name or ds.card.name
    remote = bool(getattr(executor, "remote", False))
    if out is not None:  # a name that cannot be a folder is refused before a model is built
        early_name = method_name or (method if isinstance(method, str) else None)
        if early_name is not None:
            run_dir(out, dname, early_name, tag)
        if os.path.exists(out) and not os.path.isdir(out):
            raise UsageError(f"--out {out} is a file, not a folder: pass --out to a folder (it is created if missing)")
    recipe: Optional[MethodRecipe] = None
    note: Optional[str] = None
    if isinstance(method, str):
        mname = method_name or method
        locate_user_input(method, method_options, ds.ids())  # --predictions D: the mattes may sit in D/alpha
        validate_method_options(method, method_options)
        recipe, note = host.recipe_for_name(method, method_options, debug)
        # Inputs the user brings are built here too: their card (name) and file hashes are the run's identity.
        # A method that predicts in a host is built only there; so is any method a remote executor builds itself.
        here = method in USER_INPUT_METHODS or (recipe is None and not remote)
        method_obj = create_method(method, **method_options) if here else None
    else:
        method_obj = method
        mname = method_name or getattr(getattr(method, "card", None), "name", None) or getattr(method, "name", None) or type(method).__name__
    spec = None
    if isinstance(method, str) and isinstance(dataset, str):
        spec = ScorerSpec(method, method_options, dataset, data_root, dataset_options, debug, conv)
    if method_name is None and isinstance(method_obj, ExternalInput):
        mname = method_obj.card.name
    card = method_card(method) if method_obj is None else _card_of(method_obj, mname)
    if method_obj is None and spec is None and recipe is None:
        raise MattebenchError("a remote executor needs the method and the dataset given by registered name")
    return _Resolved(ds, dname, method_obj, mname, card, spec, remote, recipe, note)


def _identity(r: _Resolved, method: Union[str, Any], method_options: dict[str, Any], dataset_options: dict[str, Any],
              limit: Optional[int], tag: Optional[str], conv: tuple[str, ...], estimate_foreground: bool = False,
              with_breakdowns: bool = True) -> _Identity:
    """The ids to score and the run identity: options, code, every file an option names, data, metrics."""
    all_ids = check_ids(list(r.ds.ids()), r.dname)
    if not all_ids:
        raise UsageError(f"dataset {r.dname!r} has no samples{f' under {r.ds.root}' if getattr(r.ds, 'root', None) else ''}: "
                         f"check --data-root and the -d options (`mattebench data check {r.dname}` shows what was found)")
    ids = all_ids[:limit] if limit is not None else all_ids
    problem_counts, problem_line = index_problems(r.ds)
    if problem_line:
        warnings.warn(problem_line, stacklevel=3)
    fingerprint = r.ds.fingerprint()
    ck_hash = _checkpoint_hash(method_options)
    variant = variant_of(r.ds)  # corrupt= / trimap_radius= / trimap_adjust= (robustness track)
    tag = tag if tag is not None else variant_tag(variant)  # a variant run never lands in the clean folder
    values = {
        "method": r.mname,
        "method_options": _jsonable({k: v for k, v in method_options.items() if k not in ("device",)}),
        "checkpoint_sha256": ck_hash,
        "method_code": _method_code(method, r.method_obj),
        # sha256 of every option naming a file (checkpoint, backbone_checkpoint, a teacher, ...): a changed
        # file is a changed run, whatever the option is called.
        "option_files": code_identity.option_files(method_options),
        "dataset": r.dname,
        "dataset_options": _jsonable(dataset_options),
        "dataset_fingerprint": fingerprint,
        "metrics": metric_columns(r.ds.card),
        **({"dataset_variant": variant} if variant else {}),
    }
    if conv:  # absent without conventions, so earlier runs keep their identity and resume
        values["conventions"] = list(conv)
    if with_breakdowns and breakdowns.breakdown_columns(r.ds.card):  # rows with them are not those of an older run
        values["breakdowns"] = breakdowns.BREAKDOWN_VERSION
    if estimate_foreground:
        values["foreground"] = breakdowns.ESTIMATOR
    values.update(external_identity(r.method_obj, ids))
    return _Identity(ids, tag, variant, values, fingerprint, ck_hash, problem_counts)


def _score(executor: Executor, scorer: Scorer, spec: Optional[ScorerSpec], todo: list[str], store: Optional[RunStore],
           bar: Any, fail_fast: bool, rows_now: list[dict[str, Any]]) -> None:
    """Score ``todo`` through the executor; each row is written (when stored) before the next is asked for."""
    for row in executor.run(scorer, spec, todo):
        if store is not None:
            store.write(row)
        rows_now.append(row)
        if bar is not None:
            bar.update(1)
            n_err = sum(r["status"] != "ok" for r in rows_now)
            if n_err:
                bar.set_postfix(errors=n_err)
        if fail_fast and row["status"] != "ok":
            raise SampleFailed(f"--fail-fast: sample {row['id']} failed: {row['error']}")


def _progress_bar(progress: bool, ids: list[str], todo: list[str], label: str) -> Any:
    if not (progress and todo):
        return None
    from tqdm import tqdm

    return tqdm(total=len(ids), initial=len(ids) - len(todo), desc=label, unit="sample", file=sys.stderr, dynamic_ncols=True)


def pretrained_backbone(method_options: dict[str, Any], tag: Optional[str], method_facts: dict[str, Any]) -> bool:
    """The † fact, recorded at run time: a ``backbone_checkpoint`` option was given, the method's own provenance
    says its weights start from a pretrained backbone, or the user declared it by tag (``sps``, ``*-sps-*``,
    ``official``: :func:`mattebench.runs.record.pretrained_by_v1_rule`)."""
    return bool(method_facts.get("pretrained_backbone")) or pretrained_by_v1_rule(method_options, tag)


def _provenance(r: _Resolved, ident: _Identity, scorer: Scorer, executor: Executor, rows: list[dict[str, Any]],
                method_options: dict[str, Any], limit: Optional[int], started: str, command: Optional[str]) -> Provenance:
    """Where the numbers came from, as facts known now (never guessed later by a report)."""
    method_facts = method_provenance(r.method_obj, executor)
    note_counts = sample_notes.count_kinds(rows)
    flow = sample_notes.flow_source(rows)  # carried by the rows, so every executor keeps it
    subset = subset_reason(r.ds, limit, len(r.ds.ids()), len(ident.ids))
    values: dict[str, Any] = {
        **provenance.environment(method_options.get("device")),
        "dataset_fingerprint": ident.fingerprint,
        "checkpoint": str(method_options["checkpoint"]) if method_options.get("checkpoint") else None,
        "checkpoint_sha256": ident.checkpoint_sha256,
        "method_code": ident.values["method_code"],
        "option_files": ident.values["option_files"],
        "dataset_problems": ident.problem_counts,
        "checkpoint_shipped": shipped.describe(method_options.get("checkpoint")),
        **method_facts,
        "pretrained_backbone": pretrained_backbone(method_options, ident.tag, method_facts),
        "trimap_recipe": _trimap_recipe(scorer, ident),
        "flow_source": flow,
        "quantisation": QUANTISATION,
        # The flow note stays first among the notes, where the reports have always shown it.
        "notes": tuple(n for n in [flow, *getattr(executor, "notes", ()), r.isolation_note, subset] if n)
        + tuple(sample_notes.provenance_lines(note_counts)),
        "sample_notes": note_counts,
        "input": {k: v for k, v in ident.values.items() if k.startswith(("source", "predictions_", "model_"))} or None,
        "saved_alphas": scorer.alpha_sink.record() if scorer.alpha_sink is not None else None,
        "method_isolation": host.isolation_of(r.recipe, r.isolation_note, r.method_obj),
        "executor": executor.name,
        "workers": executor.workers,
        "started": started,
        "finished": provenance.now(),
        "command": command,
    }
    named = {f.name for f in fields(Provenance)} - {"extra"}
    return Provenance(**{k: v for k, v in values.items() if k in named},
                      extra={k: v for k, v in values.items() if k not in named})


def _parsed_conventions(conventions: Union[None, str, tuple[str, ...], list[str]]) -> tuple[str, ...]:
    """The toolkit conventions asked for; the module is loaded only for a run that asks (0.3 s of start-up)."""
    if conventions is None or (isinstance(conventions, (tuple, list)) and not conventions):
        return ()
    from mattebench.metrics.conventions import parse as parse_conventions

    return parse_conventions(conventions)


def _trimap_recipe(scorer: Scorer, ident: _Identity) -> Optional[dict[str, str]]:
    """The generated-trimap recipe, recorded only for a run that reads trimaps (the method's input or a
    requested protocol): no provenance for a trimap nobody generated (issue 23)."""
    return trimap_recipe.describe(ident.variant.get("trimap_radius")) if scorer.reads_trimaps() else None


def build_record(r: _Resolved, ident: _Identity, scorer: Scorer, executor: Executor, rows: list[dict[str, Any]],
                 complete: bool, *, columns: list[str], method_options: dict[str, Any], data_root: Optional[str],
                 limit: Optional[int], conv: tuple[str, ...], started: str, command: Optional[str],
                 run_path: Optional[Path], untrained: bool = False, groups: Any = None) -> RunRecord:
    """The run record of the rows stored so far (complete or not); ``groups``: the dataset's sample groups
    (:func:`mattebench.data.groups.dataset_groups`), kept for the report's per-group tables."""
    wanted = set(ident.ids)
    mine = [row for row in rows if row.get("id") in wanted]
    s = summarise(mine, [c for c in columns if c not in ("frames", "annotated")], ident.ids)
    reason = subset_reason(r.ds, limit, len(r.ds.ids()), len(ident.ids))
    return RunRecord(
        dataset=r.dname, method=r.mname, tag=ident.tag,
        complete=complete and s["counts"].pending == 0,
        subset=reason is not None, subset_reason=reason,
        n_dataset=len(r.ds.ids()),
        **s,
        method_card=r.card,
        dataset_card=r.ds.card,
        settings=Settings(method_options=ident.values["method_options"], dataset_options=ident.values["dataset_options"],
                          data_root=str(data_root) if data_root else None, limit=limit,
                          device=method_options.get("device", "cpu"), conventions=tuple(conv)),
        provenance=_provenance(r, ident, scorer, executor, mine, method_options, limit, started, command),
        dataset_variant=ident.variant or None,
        run_dir=str(run_path) if run_path is not None else None,
        untrained=untrained,
        groups=groups.as_json() if groups is not None else None,
        breakdowns=_breakdowns_facts(scorer),
    )


def _breakdowns_facts(scorer: Scorer) -> Optional[dict[str, Any]]:
    """What the breakdown columns are and whose foreground they scored (None: a run without them)."""
    cols = [c for c in scorer.columns if c in breakdowns.breakdown_columns(scorer.dataset.card, True)]
    if not cols:
        return None
    return {"version": breakdowns.BREAKDOWN_VERSION, "columns": cols,
            "foreground": scorer.foreground_source()}


def evaluate(
    method: Union[str, Any],
    dataset: Union[str, Any],
    *,
    method_options: Optional[dict[str, Any]] = None,
    dataset_options: Optional[dict[str, Any]] = None,
    data_root: Optional[str] = None,
    out: Optional[Union[str, os.PathLike[str]]] = None,
    tag: Optional[str] = None,
    limit: Optional[int] = None,
    fresh: bool = False,
    fail_fast: bool = False,
    progress: bool = False,
    executor: Optional[Executor] = None,
    method_name: Optional[str] = None,
    dataset_name: Optional[str] = None,
    debug: bool = False,
    command: Optional[str] = None,
    conventions: Union[None, str, tuple[str, ...], list[str]] = None,
    save_alphas: Union[str, list[str], None] = None,
    allow_untrained: bool = False,
    estimate_foreground: bool = False,
    breakdowns: bool = True,
) -> tuple[list[dict[str, Any]], RunRecord]:
    """Score ``method`` on ``dataset``; returns (rows, the run's :class:`~mattebench.runs.record.RunRecord`).

    ``method``/``dataset`` are registered names or objects. With ``out`` the run is stored under
    ``<out>/<dataset>/<method>[@tag]/`` (``summary.json`` is ``record.to_json()``) and resumes there;
    without, nothing is written.
    ``conventions`` (e.g. ``"gca,rvm"``) adds the toolkit-convention columns of
    :mod:`mattebench.metrics.conventions`; the set is part of the run's identity.
    ``estimate_foreground``: where the method predicts no foreground colour, score one estimated from its alpha
    (pymatting, labelled estimated) on samples with the true foreground (:mod:`mattebench.scoring.breakdowns`).
    ``breakdowns=False`` scores the ranked columns only, without the breakdown columns (regions, boundaries,
    whole-image SAD/Grad/Conn, foreground), and so without generating a trimap for sets that ship none.
    ``save_alphas`` ("all" or ids) stores predictions as 16-bit PNGs there (mattebench.runs.alphas).
    A registered method without the trained weights its card names (``MethodCard.weights_option``) raises
    :class:`~mattebench.errors.UntrainedWeights` unless ``allow_untrained``; such a run records
    ``untrained: true`` and is never ranked.
    A method built from the user's file (ExternalInput: saved predictions, ONNX, TFLite) names the run
    by its card (``name=``) and adds the file's hashes to the run identity.
    """
    conv = _parsed_conventions(conventions)
    method_options = dict(method_options or {})
    dataset_options = dict(dataset_options or {})
    tag = _check_arguments(limit, tag)
    untrained = untrained_run(method, method_options, allow_untrained)
    check_weight_files(method, method_options)
    r = _resolve(method, dataset, method_options, dataset_options, data_root, out, tag, executor, method_name,
                 dataset_name, debug, conv)
    groups = dataset_groups(r.ds)  # a broken groups.csv stops here, before any sample runs
    scorer = Scorer(None if r.recipe is not None else r.method_obj, r.ds, r.card, debug=debug, conventions=conv,
                    hosted=r.recipe, estimate_foreground=estimate_foreground, with_breakdowns=breakdowns)
    if r.spec is not None:
        r.spec.estimate_foreground = estimate_foreground
        r.spec.with_breakdowns = breakdowns
    columns = scorer_columns(scorer)
    executor = executor or LocalExecutor()
    if r.recipe is not None:  # an executor that calls scorer.score() asks the method through one host
        from mattebench.runs.executors.hosts import HostSession

        scorer.remote = session = HostSession(scorer, r.recipe, preload=host.preload_modules(r.recipe))
    ident = _identity(r, method, method_options, dataset_options, limit, tag, conv, estimate_foreground, breakdowns)
    identity, ids = ident.values, ident.ids
    selection = AlphaSelection.parse(save_alphas)
    if selection is not None:
        if out is None or r.remote:
            raise MattebenchError("--save-alphas needs a run folder (--out) and the local executor (the driver writes the files)")
        identity["prediction_rounding"] = "16-bit (--save-alphas)"
        scorer.alpha_sink = AlphaSink(run_dir(out, r.dname, r.mname, ident.tag), selection)
    started = provenance.now()
    store: Optional[RunStore] = None
    if out is not None:
        store = RunStore(run_dir(out, r.dname, r.mname, ident.tag), columns, identity, fresh=fresh, ids=ids, command=command,
                         row_check=_inputs_check(r.ds, ids))
        environment.attach_log(store.path)  # what the libraries said (and say from now on) goes to <run>/run.log in full
        todo = [i for i in ids if i not in store.done_ids()]
    else:
        todo = list(ids)
    rows_now: list[dict[str, Any]] = []
    bar = _progress_bar(progress, ids, todo, f"{r.mname} on {r.dname}")
    complete = False
    try:
        _score(executor, scorer, r.spec, todo, store, bar, fail_fast, rows_now)
        complete = True
    finally:
        if r.recipe is not None:
            session.close()
        if bar is not None:
            bar.close()
        all_rows = store.all_rows() if store is not None else rows_now
        stopped = stop_reason(sys.exc_info()[1])
        record = build_record(r, ident, scorer, executor, all_rows, complete, columns=columns, method_options=method_options,
                              data_root=data_root, limit=limit, conv=conv, started=started, command=command,
                              run_path=store.path if store is not None else None, untrained=untrained, groups=groups)
        if stopped:
            record = replace(record, provenance=replace(record.provenance, extra={**record.provenance.extra, "stopped": stopped}))
        if store is not None:
            _write_record(store, record, complete)
    rows = all_rows if store is None else [row for row in store.all_rows() if row["id"] in set(ids)]
    return rows, record


def stop_reason(exc: Optional[BaseException]) -> Optional[str]:
    """What stopped a run, kept in its record (``provenance.stopped``): a board lists a run that stopped before
    scoring a sample as "not run" with this reason. None when the run was not stopped by an exception."""
    if exc is None:
        return None
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (Ctrl-C)"
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= 500 else text[:497] + "..."


def _inputs_check(ds: Any, ids: list[str]) -> Any:
    """A stored row of this run's ids is kept only while its sample's files are the ones it was scored from
    (mattebench.data.sample_inputs); rows of other ids are not this run's and are left as they are."""
    wanted = set(ids)
    return lambda row: sample_inputs.why_changed(ds, row) if row.get("id") in wanted else None


def _write_record(store: RunStore, record: RunRecord, complete: bool) -> None:
    """summary.json, then the lock released; a write failure of an interrupted run is a warning, not a second error."""
    try:
        store.write_summary(record.to_json())
    except StoreError as exc:
        if complete:
            raise
        # The first failure (usually the same full disk) is the one to report.
        warnings.warn(f"summary.json not written: {exc}", stacklevel=3)
    finally:
        store.close()


# ----------------------------------------------------------------------------------------------------
# What the runner records about inputs a user brings and about partial datasets.
#
# - :func:`external_identity`: for a method built from the user's file (saved predictions, an ONNX or
#   TFLite model; :class:`mattebench.types.ExternalInput`), the hashes that enter the run identity,
#   and a warning naming the inputs that match no sample id.
# - :func:`locate_user_input`: a ``--predictions`` folder whose mattes sit one level down (``predict --out D``
#   writes ``D/alpha/``) is scored from that sub-folder, and the run says so.
# - :func:`subset_reason`: why a run covers fewer samples than the dataset has (``--limit``, or a
#   partial tree such as 41 of PPM-100's 100 pairs), so that leaderboards mark the row.
# ----------------------------------------------------------------------------------------------------

SHOW_NAMES = 10
# Registered names of the methods built from a user's file (mattebench_baselines.saved_predictions, mattebench_baselines.exported).
USER_INPUT_METHODS = ("predictions", "onnx", "tflite")


class UnmatchedPredictions(UserWarning):
    """Files in a predictions folder (or other user input) that match no sample id."""


class PredictionsFound(UserWarning):
    """The mattes of a --predictions folder were found in one of its sub-folders (which one is named)."""


def locate_user_input(method: str, options: dict[str, Any], ids: Sequence[str]) -> None:
    """Point ``options["dir"]`` of saved predictions at the folder that holds the mattes (in place).

    Done once, in the driver, before the method is built: workers and the run identity then see the
    same folder, and a run given ``D`` resumes a run given ``D/alpha``.
    """
    if method != "predictions" or not options.get("dir"):
        return
    from mattebench_baselines.saved_predictions import locate_predictions

    given = Path(options["dir"])
    found = locate_predictions(given, ids)
    if found != given:
        options["dir"] = str(found)
        warnings.warn(f"--predictions {given}: no matte at its top level; scoring the files in {found} "
                      f"(pass --predictions {found} to say so yourself)", PredictionsFound, stacklevel=3)


def external_identity(method: Any, ids: Sequence[str]) -> dict[str, Any]:
    """Identity entries of a user-brought input ({} for registered methods); warns about unmatched files."""
    if method is None or not isinstance(method, ExternalInput):
        return {}
    extra = method.unmatched(list(ids))
    if extra:
        shown = ", ".join(extra[:SHOW_NAMES]) + (f" and {len(extra) - SHOW_NAMES} more" if len(extra) > SHOW_NAMES else "")
        warnings.warn(f"{len(extra)} file(s) match no sample id of this dataset and are not scored: {shown}",
                      UnmatchedPredictions, stacklevel=3)
    return dict(method.input_identity())


def subset_reason(dataset: Any, limit: Optional[int], n_ids: int, n_run: int) -> Optional[str]:
    partial = getattr(dataset, "partial", None)
    if partial:
        found, expected = partial
        return f"partial tree: {found} of the dataset's {expected} samples are present"
    if limit is not None and n_run < n_ids:
        return f"--limit {limit}: {n_run} of {n_ids} samples"
    return None
