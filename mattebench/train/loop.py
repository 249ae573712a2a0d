"""The shared training loop: any trainable method on any image dataset.

A trainable method exposes ``.model`` (nn.Module), ``.training_step(batch, stage) -> (loss, parts)``,
``.save_checkpoint(path)`` and optionally ``.train_stages``, ``.stage_parameters(stage)``,
``.default_optimizer``, ``.default_schedule``, ``.input_multiple`` (see DESIGN / the helper brief).

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
from typing import Any, Callable, Iterable, Iterator, Optional

import torch
from torch import nn

from .batches import TRIMAP_RECIPE, BatchMaker, TrainingError, is_stream
from .distributed import context_for

DEFAULT_OPTIMIZER = {"name": "adam", "lr": 1e-4}
DEFAULT_SCHEDULE = {"name": "constant"}


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
            with open(path, newline="") as f:
                reader = csv.DictReader(f)
                self.columns = list(reader.fieldnames or [])
                self.rows = list(reader)

    def truncate_after(self, step: int) -> None:
        keep = [r for r in self.rows if int(r["step"]) <= step]
        if len(keep) != len(self.rows):
            self.rows = keep
            self._rewrite()

    def _rewrite(self) -> None:
        tmp = self.path.with_suffix(".tmp")
        with open(tmp, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self.columns)
            w.writeheader()
            w.writerows(self.rows)
        os.replace(tmp, self.path)

    def add(self, row: dict[str, Any]) -> None:
        new = [k for k in row if k not in self.columns]
        self.rows.append(row)
        if new or not self.path.exists():
            self.columns += new
            self._rewrite()
            return
        with open(self.path, "a", newline="") as f:
            csv.DictWriter(f, fieldnames=self.columns).writerow(row)


def _device_of(model: nn.Module) -> torch.device:
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


def _settings_conflict(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    keys = ("method", "dataset", "size", "batch", "steps", "seed", "optimizer", "schedule", "stages")
    return [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in keys if old.get(k) != new.get(k)]


# -- the loop ------------------------------------------------------------------------------------------
def train(
    method: Any,
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
    multiple = int(getattr(method, "input_multiple", 1) or 1)
    if size % multiple:
        raise TrainingError(f"--size {size} must be a multiple of {multiple} for this method")
    if batch < 1:
        raise TrainingError("--batch must be at least 1")
    stream = is_stream(dataset)
    if steps is None:
        if epochs is None:
            raise TrainingError("give --steps N or --epochs E")
        if stream:
            raise TrainingError("this dataset is an unbounded training stream: give --steps, not --epochs")
        steps = max(1, math.ceil(float(epochs) * len(dataset.ids()) / batch))
    steps = int(steps)
    opt_spec = dict(optimizer or getattr(method, "default_optimizer", None) or DEFAULT_OPTIMIZER)
    if lr is not None:
        opt_spec["lr"] = float(lr)
    sched_spec = dict(schedule or getattr(method, "default_schedule", None) or DEFAULT_SCHEDULE)
    stages = [tuple(s) for s in (getattr(method, "train_stages", None) or [("joint", 1.0)])]
    plan = stage_plan(stages, steps)  # type: ignore[arg-type]
    info = dict(info or {})
    settings = {
        "method": info.pop("method", type(method).__name__),
        "dataset": info.pop("dataset", getattr(getattr(dataset, "card", None), "name", type(dataset).__name__)),
        "size": size, "batch": batch, "steps": steps, "seed": seed,
        "optimizer": opt_spec, "schedule": sched_spec, "stages": [list(s) for s in stages],
        "trimap_recipe": TRIMAP_RECIPE, "stream": stream, "torch": torch.__version__, **info,
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    dist_ctx = context_for(model)  # torchrun: join the group, this rank's GPU (a no-op in one process)
    device = _device_of(model)
    state_path, settings_path = out / "resume.pt", out / "train.json"

    start, optim_states = 0, {}
    if resume and state_path.exists():
        old = json.loads(settings_path.read_text()) if settings_path.exists() else {}
        conflict = _settings_conflict(old, settings)
        if conflict:
            raise TrainingError(f"{out} holds a different training run ({'; '.join(conflict)}); use another --out or --restart")
        saved = torch.load(state_path, map_location=device, weights_only=True)
        model.load_state_dict(saved["model"])
        start, optim_states = int(saved["step"]), saved["optimizers"]
    if dist_ctx.writes:
        settings_path.write_text(json.dumps(settings, indent=2, default=str))
    log = _CsvLog(out / "loss.csv")
    if dist_ctx.writes:
        log.truncate_after(start)  # rows logged after the last saved state are recomputed

    maker = BatchMaker(dataset, size, batch, seed, steps)
    torch.manual_seed(seed + start)
    optimizers: dict[str, torch.optim.Optimizer] = {}
    base_lrs: dict[str, float] = {}

    trainable = {id(p): p.requires_grad for p in model.parameters()}  # the method's own freezing is kept
    stage_params: dict[str, list[nn.Parameter]] = {}

    def enter_stage(stage: str) -> None:
        """Only the stage's parameters take gradients (saves the backward pass through frozen parts)."""
        if stage not in stage_params:
            chooser = getattr(method, "stage_parameters", None)
            stage_params[stage] = list(chooser(stage)) if callable(chooser) else list(model.parameters())
        ids = {id(p) for p in stage_params[stage]}
        for p in model.parameters():
            p.requires_grad_(trainable.get(id(p), True) and id(p) in ids)

    def optimizer_for(stage: str) -> torch.optim.Optimizer:
        if stage not in optimizers:
            opt = make_optimizer([p for p in stage_params[stage] if trainable.get(id(p), True)], opt_spec)
            if stage in optim_states:
                opt.load_state_dict(optim_states[stage])
            optimizers[stage] = opt
            base_lrs[stage] = float(opt_spec["lr"])
        return optimizers[stage]

    def save_state(step: int) -> Path:
        ck = out / "last.ckpt"
        if not dist_ctx.writes:
            return ck
        method.save_checkpoint(ck)
        tmp = state_path.with_suffix(".tmp")
        torch.save({"step": step, "model": model.state_dict(), "optimizers": {k: o.state_dict() for k, o in optimizers.items()}}, tmp)
        os.replace(tmp, state_path)
        return ck

    loader: Iterator[dict[str, torch.Tensor]]
    end = steps if stop_after is None else max(start, min(steps, int(stop_after)))
    indices = list(range(start, end))
    source = dist_ctx.shard(maker)  # DDP: this rank's share of each global batch
    if workers > 0:
        loader = iter(torch.utils.data.DataLoader(torch.utils.data.Subset(source, indices), batch_size=None, num_workers=workers, persistent_workers=False))
    else:
        loader = (source[i] for i in indices)
    bar = None
    if progress and indices and dist_ctx.writes:
        try:
            from tqdm import tqdm

            bar = tqdm(total=steps, initial=start, unit="step", desc=f"train {settings['method']}", dynamic_ncols=True)
        except ImportError:
            bar = None

    t0, window, history, last_loss = time.perf_counter(), [], [], float("nan")
    window_t0 = t0
    current_stage: Optional[str] = None
    dist_ctx.wrap(model)
    model.train()
    for step in indices:
        stage, s0, s1 = next(p for p in plan if p[1] <= step < p[2])
        if stage != current_stage:
            enter_stage(stage)
            current_stage = stage
        opt = optimizer_for(stage)
        lr_now = base_lrs[stage] * schedule_factor(sched_spec, (step - s0) / max(1, s1 - s0))
        for g in opt.param_groups:
            g["lr"] = lr_now
        batch_t = {k: v.to(device, non_blocking=True) for k, v in next(loader).items()}
        model.zero_grad(set_to_none=True)
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=amp and device.type == "cuda"), dist_ctx.forward_through(method):
            loss, parts = method.training_step(batch_t, stage)
        if not torch.isfinite(loss):
            raise TrainingError(f"the loss became {float(loss.detach())} at step {step} (stage {stage}, lr {lr_now:g}); lower --lr or check the data")
        loss.backward()
        if max_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        opt.step()
        last_loss = float(loss.detach())
        window.append({"loss": last_loss, **parts})
        done = step + 1
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{last_loss:.4f}", lr=f"{lr_now:.2g}")
        if done % log_every == 0 or done == steps:
            now = time.perf_counter()
            keys = list(dict.fromkeys(k for w in window for k in w))
            row = {"step": done, "epoch": round(done * batch / len(maker.ids), 3) if maker.ids else "", "stage": stage, "lr": f"{lr_now:.6g}"}
            means = dist_ctx.mean({k: sum(w.get(k, 0.0) for w in window) / len(window) for k in keys})  # over ranks
            row.update({k: f"{means[k]:.6g}" for k in keys})
            row["samples_per_s"] = f"{len(window) * batch / max(now - window_t0, 1e-9):.3f}"
            row["elapsed_s"] = f"{now - t0:.1f}"
            if dist_ctx.active:
                last_loss = dist_ctx.mean({"loss": last_loss})["loss"]
            if dist_ctx.writes:
                log.add(row)
            history.append(row)
            if on_log and dist_ctx.writes:
                on_log(row)
            window, window_t0 = [], now
        if save_every and done % save_every == 0 and done < steps:
            save_state(done)
    if bar is not None:
        bar.close()
    for p in model.parameters():
        p.requires_grad_(trainable.get(id(p), True))
    model.eval()
    last = save_state(end)
    final = out / "final.ckpt"
    if end < steps:  # stopped early on purpose: the schedule is not finished, so no final.ckpt
        final = last
    elif dist_ctx.writes:
        method.save_checkpoint(final)
    dist_ctx.close()
    return TrainResult(steps=end, out=out, checkpoint=final, seconds=time.perf_counter() - t0, last_loss=last_loss, history=history)
