"""The shared training loop: any trainable method on any image dataset.

A trainable method is a :class:`mattebench.contract.Trainable` (``.model``, ``.training_step(batch,
stage) -> (loss, parts)``, ``.save_checkpoint(path)``); it may choose each stage's parameters
(:class:`~mattebench.contract.StagedTraining`) and declare defaults (``train_stages``,
``default_optimizer``, ``default_schedule``, ``input_multiple``: :func:`~mattebench.contract.training_defaults`).

What lands in ``out``:
- ``train.json``: the settings (a resume must match them) and provenance;
- ``loss.csv``: step, epoch, stage, lr, loss and the method's named parts (window means), samples/s;
- ``last.ckpt`` (rewritten every ``save_every`` steps) and ``final.ckpt``: the method's own checkpoints,
  loadable by ``checkpoint=`` / ``--checkpoint``;
- ``resume.pt``: model, optimisers and step, to continue an interrupted run (rerun the same command).
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import (
    Any,
    Callable,
    Iterable,
    Iterator,
    Optional,
    Protocol,
    runtime_checkable,
)

import torch
from torch import nn

from mattebench.contract import DEFAULT_OPTIMIZER as _DEFAULT_OPTIMIZER
from mattebench.contract import DEFAULT_SCHEDULE as _DEFAULT_SCHEDULE
from mattebench.contract import Trainable, stage_parameters, training_defaults
from mattebench.files import atomic_write, atomic_write_text, check_not_link
from mattebench.methods.train.batches import (
    TRIMAP_RECIPE,
    BatchMaker,
    TrainingError,
    is_stream,
)
from mattebench.methods.train.distributed import context_for
from mattebench.types import DatasetCard

DEFAULT_OPTIMIZER = dict(_DEFAULT_OPTIMIZER)  # mattebench.contract.training_defaults fills these in
DEFAULT_SCHEDULE = dict(_DEFAULT_SCHEDULE)


# -- optimiser and schedule -----------------------------------------------------------------------------
def make_optimizer(params: Iterable[nn.Parameter], spec: dict[str, Any]) -> torch.optim.Optimizer:
    spec = dict(spec)
    name = str(spec.pop("name", "sgd")).lower()
    params = [p for p in params if p.requires_grad]
    if not params:
        raise TrainingError("no trainable parameters for this stage")
    if name == "sgd":
        return torch.optim.SGD(params, lr=spec.pop("lr"), momentum=spec.pop("momentum", 0.9), **spec)
    if name == "adam":
        return torch.optim.Adam(params, lr=spec.pop("lr"), **{k: tuple(v) if k == "betas" else v for k, v in spec.items()})
    if name == "adamw":
        return torch.optim.AdamW(params, lr=spec.pop("lr"), **{k: tuple(v) if k == "betas" else v for k, v in spec.items()})
    raise TrainingError(f"unknown optimiser {name!r}: sgd, adam or adamw")


def schedule_factor(spec: dict[str, Any], fraction: float) -> float:
    """Learning-rate multiplier at ``fraction`` (0..1) of a stage.

    - ``constant``;
    - ``step``: x ``gamma`` after every ``every`` of the stage (MODNet: x0.1 every 10 of 40 epochs = 0.25);
    - ``poly``: (1 - fraction) ** ``power`` (DeepLab style);
    - ``cosine``: half a cosine down to 0.
    """
    name = spec.get("name", "constant")
    f = min(max(fraction, 0.0), 1.0)
    if name == "constant":
        return 1.0
    if name == "step":
        return float(spec.get("gamma", 0.1)) ** math.floor(f / float(spec.get("every", 0.25)) + 1e-9)
    if name == "poly":
        return (1.0 - f) ** float(spec.get("power", 0.9))
    if name == "cosine":
        return 0.5 * (1.0 + math.cos(math.pi * f))
    raise TrainingError(f"unknown schedule {name!r}: constant, step, poly or cosine")


def stage_plan(stages: list[tuple[str, float]], total: int) -> list[tuple[str, int, int]]:
    """(stage, first step, end step) covering [0, total); fractions are normalised to sum to 1."""
    weights = [max(0.0, float(f)) for _, f in stages]
    s = sum(weights)
    if s <= 0:
        raise TrainingError(f"train_stages {stages} has no positive fraction")
    plan, start, acc = [], 0, 0.0
    for (name, _), wgt in zip(stages, weights):
        acc += wgt / s
        end = total if acc >= 1 - 1e-9 else int(round(acc * total))
        plan.append((name, start, end))
        start = end
    return [p for p in plan if p[2] > p[1]]


# -- results -------------------------------------------------------------------------------------------
@dataclass
class TrainResult:
    steps: int
    out: Path
    checkpoint: Path
    seconds: float
    last_loss: float
    history: list[dict[str, Any]] = field(default_factory=list)


class _CsvLog:
    """loss.csv with a header that grows when a later stage reports new parts (the file is rewritten)."""

    def __init__(self, path: Path):
        self.path = path
        self.columns: list[str] = []
        self.rows: list[dict[str, Any]] = []
        if path.exists():
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)

    def truncate_after(self, step: int) -> None:
        keep = [r for r in self.rows if int(r["step"]) <= step]
        if len(keep) != len(self.rows):
            self.rows = keep
            self._rewrite()

    def _rewrite(self) -> None:
        def fill(f: Any) -> None:
            w = csv.DictWriter(f, fieldnames=self.columns)
            w.writeheader()
            w.writerows(self.rows)

        atomic_write(self.path, fill)  # a fresh temporary renamed over it: never through a planted link

    def add(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new or not self.path.exists():
            self.columns += new
            self._rewrite()
            return
        check_not_link(self.path)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns).writerow(row)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _settings_conflict(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = ("method", "dataset", "size", "batch", "steps", "seed", "optimizer", "schedule", "stages")
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


# -- the loop ------------------------------------------------------------------------------------------
def _total_steps(dataset: Any, steps: Optional[int], epochs: Optional[float], batch: int, stream: bool) -> int:
    if steps is None:
        if epochs is None:
            raise TrainingError("give --steps N or --epochs E")
        if stream:
            raise TrainingError("this dataset is an unbounded training stream: give --steps, not --epochs")
        steps = max(1, math.ceil(float(epochs) * len(dataset.ids()) / batch))
    return int(steps)


@runtime_checkable
class _Carded(Protocol):
    card: Any


def _dataset_name(dataset: Any) -> str:
    card = dataset.card if isinstance(dataset, _Carded) else None
    return card.name if isinstance(card, DatasetCard) else type(dataset).__name__


@dataclass(frozen=True)
class _Plan:
    """What the run does, fixed before the first step: the settings train.json records and a resume must match."""

    settings: dict[str, Any]
    opt_spec: dict[str, Any]
    sched_spec: dict[str, Any]
    plan: list[tuple[str, int, int]]
    steps: int


def _make_plan(method: Trainable, dataset: Any, *, steps: Optional[int], epochs: Optional[float], size: int, batch: int,
               lr: Optional[float], optimizer: Optional[dict[str, Any]], schedule: Optional[dict[str, Any]], seed: int,
               info: Optional[dict[str, Any]]) -> _Plan:
    """Check the size and batch, resolve the step count, and merge the method's defaults with the overrides."""
    defaults = training_defaults(method)
    multiple = defaults.input_multiple
    if size % multiple:
        raise TrainingError(f"--size {size} must be a multiple of {multiple} for this method")
    if batch < 1:
        raise TrainingError("--batch must be at least 1")
    stream = is_stream(dataset)
    steps = _total_steps(dataset, steps, epochs, batch, stream)
    opt_spec = dict(optimizer or defaults.optimizer)
    if lr is not None:
        opt_spec["lr"] = float(lr)
    sched_spec = dict(schedule or defaults.schedule)
    stages = list(defaults.stages)
    plan = stage_plan(stages, steps)
    info = dict(info or {})
    settings = {
        "method": info.pop("method", type(method).__name__),
        "dataset": info.pop("dataset", _dataset_name(dataset)),
        "size": size, "batch": batch, "steps": steps, "seed": seed,
        "optimizer": opt_spec, "schedule": sched_spec, "stages": [list(s) for s in stages],
        "trimap_recipe": TRIMAP_RECIPE, "stream": stream, "torch": torch.__version__, **info,
    }
    return _Plan(settings, opt_spec, sched_spec, plan, steps)


def _resume_state(out: Path, settings: dict[str, Any], resume: bool, model: nn.Module,
                  device: torch.device) -> tuple[int, dict[str, Any]]:
    """(first step, optimiser states): from resume.pt when it exists and the settings match, else (0, {})."""
    state_path, settings_path = out / "resume.pt", out / "train.json"
    if not (resume and state_path.exists()):
        return 0, {}
    old = json.loads(settings_path.read_text(encoding="utf-8")) if settings_path.exists() else {}
    conflict = _settings_conflict(old, settings)
    if conflict:
        raise TrainingError(f"{out} holds a different training run ({'; '.join(conflict)}); use another --out or --restart")
    saved = torch.load(state_path, map_location=device, weights_only=True)
    model.load_state_dict(saved["model"])
    return int(saved["step"]), saved["optimizers"]


class _Stages:
    """Per stage: which parameters take gradients, and its optimiser (created on first use, resumed state loaded)."""

    def __init__(self, method: Trainable, opt_spec: dict[str, Any], optim_states: dict[str, Any]):
        self.method, self.model = method, method.model
        self.opt_spec, self.optim_states = opt_spec, optim_states
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        self.base_lrs: dict[str, float] = {}
        self.trainable = {id(p): p.requires_grad for p in self.model.parameters()}  # the method's own freezing is kept
        self.params: dict[str, list[nn.Parameter]] = {}

    def enter(self, stage: str) -> None:
        """Only the stage's parameters take gradients (saves the backward pass through frozen parts)."""
        if stage not in self.params:
            self.params[stage] = stage_parameters(self.method, stage)
        ids = {id(p) for p in self.params[stage]}
        for p in self.model.parameters():
            p.requires_grad_(self.trainable.get(id(p), True) and id(p) in ids)

    def optimizer(self, stage: str) -> torch.optim.Optimizer:
        if stage not in self.optimizers:
            opt = make_optimizer([p for p in self.params[stage] if self.trainable.get(id(p), True)], self.opt_spec)
            if stage in self.optim_states:
                opt.load_state_dict(self.optim_states[stage])
            self.optimizers[stage] = opt
            self.base_lrs[stage] = float(self.opt_spec["lr"])
        return self.optimizers[stage]

    def restore_flags(self) -> None:
        for p in self.model.parameters():
            p.requires_grad_(self.trainable.get(id(p), True))


def _save_state(method: Trainable, out: Path, step: int, optimizers: dict[str, torch.optim.Optimizer], writes: bool) -> Path:
    """last.ckpt (the method's own format) and resume.pt (model, optimisers, step); only the writing rank writes."""
    ck = out / "last.ckpt"
    if not writes:
        return ck
    method.save_checkpoint(ck)
    state_path = out / "resume.pt"
    state = {"step": step, "model": method.model.state_dict(), "optimizers": {k: o.state_dict() for k, o in optimizers.items()}}
    atomic_write(state_path, lambda f: torch.save(state, f), binary=True)
    return ck


def _batches(source: Any, indices: list[int], workers: int) -> Iterator[dict[str, torch.Tensor]]:
    if workers > 0:
        return iter(torch.utils.data.DataLoader(torch.utils.data.Subset(source, indices), batch_size=None, num_workers=workers, persistent_workers=False))
    return (source[i] for i in indices)


def _progress_bar(show: bool, steps: int, start: int, name: str) -> Any:
    if not show:
        return None
    try:
        from tqdm import tqdm

        return tqdm(total=steps, initial=start, unit="step", desc=f"train {name}", dynamic_ncols=True)
    except ImportError:
        return None


def _one_step(method: Trainable, opt: torch.optim.Optimizer, batch_t: dict[str, torch.Tensor], stage: str, step: int, lr_now: float,
              device: torch.device, amp: bool, max_grad_norm: Optional[float], dist_ctx: Any) -> tuple[float, dict[str, float]]:
    """One optimiser step at ``lr_now``; a non-finite loss stops the run (TrainingError naming step and lr)."""
    model = method.model
    for g in opt.param_groups:
        g["lr"] = lr_now
    model.zero_grad(set_to_none=True)
    with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"), dist_ctx.forward_through(method):
        loss, parts = method.training_step(batch_t, stage)
    if not torch.isfinite(loss):
        raise TrainingError(f"the loss became {float(loss.detach())} at step {step} (stage {stage}, lr {lr_now:g}); lower --lr or check the data")
    loss.backward()
    if max_grad_norm:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
    opt.step()
    return float(loss.detach()), parts


def _log_row(window: list[dict[str, Any]], done: int, batch: int, n_ids: int, stage: str, lr_now: float,
             window_t0: float, t0: float, now: float, dist_ctx: Any) -> dict[str, Any]:
    """One loss.csv row: the window's means (over ranks too), throughput and elapsed time."""
    keys = list(dict.fromkeys(k for w in window for k in w))
    row = {"step": done, "epoch": round(done * batch / n_ids, 3) if n_ids else "", "stage": stage, "lr": f"{lr_now:.6g}"}
    means = dist_ctx.mean({k: sum(w.get(k, 0.0) for w in window) / len(window) for k in keys})  # over ranks
    row.update({k: f"{means[k]:.6g}" for k in keys})
    row["samples_per_s"] = f"{len(window) * batch / max(now - window_t0, 1e-9):.3f}"
    row["elapsed_s"] = f"{now - t0:.1f}"
    return row


@dataclass(frozen=True)
class _StepOptions:
    """How each step runs and reports (the train() arguments the step loop reads)."""

    batch: int
    amp: bool
    max_grad_norm: Optional[float]
    log_every: int
    save_every: int
    on_log: Optional[Callable[[dict[str, Any]], None]]


def _run_steps(method: Trainable, p: _Plan, stages: _Stages, loader: Iterator[dict[str, torch.Tensor]], indices: list[int],
               n_ids: int, o: _StepOptions, out: Path, log: _CsvLog, bar: Any, dist_ctx: Any) -> tuple[float, list[dict[str, Any]]]:
    """The optimiser steps ``indices``: stage changes, the schedule, logging every ``log_every``, saving every
    ``save_every``. Returns (last loss, logged rows)."""
    model, device, steps = method.model, _device_of(method.model), p.steps
    t0, window, history, last_loss = time.perf_counter(), [], [], float("nan")
    window_t0 = t0
    current_stage: Optional[str] = None
    dist_ctx.wrap(model)
    model.train()
    for step in indices:
        stage, s0, s1 = next(x for x in p.plan if x[1] <= step < x[2])
        if stage != current_stage:
            stages.enter(stage)
            current_stage = stage
        opt = stages.optimizer(stage)
        lr_now = stages.base_lrs[stage] * schedule_factor(p.sched_spec, (step - s0) / max(1, s1 - s0))
        batch_t = {k: v.to(device, non_blocking=True) for k, v in next(loader).items()}
        last_loss, parts = _one_step(method, opt, batch_t, stage, step, lr_now, device, o.amp, o.max_grad_norm, dist_ctx)
        window.append({"loss": last_loss, **parts})
        done = step + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr_now:.2g}")
        if done % o.log_every == 0 or done == steps:
            now = time.perf_counter()
            row = _log_row(window, done, o.batch, n_ids, stage, lr_now, window_t0, t0, now, dist_ctx)
            if dist_ctx.active:
                last_loss = dist_ctx.mean({"loss": last_loss})["loss"]
            if dist_ctx.writes:
                log.add(row)
            history.append(row)
            if o.on_log and dist_ctx.writes:
                o.on_log(row)
            window, window_t0 = [], now
        if o.save_every and done % o.save_every == 0 and done < steps:
            _save_state(method, out, done, stages.optimizers, dist_ctx.writes)
    return last_loss, history


def train(
    method: Trainable,
    dataset: Any,
    *,
    steps: Optional[int] = None,
    epochs: Optional[float] = None,
    size: int = 256,
    batch: int = 8,
    lr: Optional[float] = None,
    optimizer: Optional[dict[str, Any]] = None,
    schedule: Optional[dict[str, Any]] = None,
    out: str | os.PathLike[str] = "train-out",
    seed: int = 0,
    resume: bool = True,
    log_every: int = 10,
    save_every: int = 500,
    workers: int = 0,
    amp: bool = False,
    max_grad_norm: Optional[float] = None,
    stop_after: Optional[int] = None,
    progress: bool = True,
    info: Optional[dict[str, Any]] = None,
    on_log: Optional[Callable[[dict[str, Any]], None]] = None,
) -> TrainResult:
    """Train ``method`` on ``dataset`` for ``steps`` optimiser steps (or ``epochs`` passes over a finite dataset).

    ``lr`` overrides the optimiser's learning rate; ``optimizer``/``schedule`` override the method's defaults.
    ``stop_after``: end after that many steps of the ``steps``-long schedule (last.ckpt and resume.pt are
    written, no final.ckpt; rerun without it to go on). ``info`` (method and dataset names, options) goes into train.json. An existing ``out`` with resume.pt
    continues where it stopped when the settings match (TrainingError otherwise; pass ``resume=False`` or
    another ``out`` to start over).
    """
    model: nn.Module = method.model
    p = _make_plan(method, dataset, steps=steps, epochs=epochs, size=size, batch=batch, lr=lr, optimizer=optimizer,
                   schedule=schedule, seed=seed, info=info)
    steps = p.steps
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dist_ctx = context_for(model)  # torchrun: join the group, this rank's GPU (a no-op in one process)
    device = _device_of(model)
    start, optim_states = _resume_state(out, p.settings, resume, model, device)
    if dist_ctx.writes:
        atomic_write_text(out / "train.json", json.dumps(p.settings, indent=2, default=str))
    log = _CsvLog(out / "loss.csv")
    if dist_ctx.writes:
        log.truncate_after(start)  # rows logged after the last saved state are recomputed

    maker = BatchMaker(dataset, size, batch, seed, steps)
    torch.manual_seed(seed + start)
    stages = _Stages(method, p.opt_spec, optim_states)
    end = steps if stop_after is None else max(start, min(steps, int(stop_after)))
    indices = list(range(start, end))
    loader = _batches(dist_ctx.shard(maker), indices, workers)  # DDP: this rank's share of each global batch
    bar = _progress_bar(progress and bool(indices) and dist_ctx.writes, steps, start, p.settings["method"])

    t0 = time.perf_counter()
    options = _StepOptions(batch, amp, max_grad_norm, log_every, save_every, on_log)
    last_loss, history = _run_steps(method, p, stages, loader, indices, len(maker.ids), options, out, log, bar, dist_ctx)
    if bar is not None:
        bar.close()
    stages.restore_flags()
    model.eval()
    last = _save_state(method, out, end, stages.optimizers, dist_ctx.writes)
    final = out / "final.ckpt"
    if end < steps:  # stopped early on purpose: the schedule is not finished, so no final.ckpt
        final = last
    elif dist_ctx.writes:
        method.save_checkpoint(final)
    dist_ctx.close()
    return TrainResult(steps=end, out=out, checkpoint=final, seconds=time.perf_counter() - t0, last_loss=last_loss, history=history)
