"""Training a registered method on a registered dataset, both by name (the engine of `mattebench train`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

from mattebench.contract import Trainable
from mattebench.methods.registry import create_method, load_dataset
from mattebench.methods.train.batches import TrainingError
from mattebench.methods.train.distributed import env_world
from mattebench.methods.train.loop import TrainResult, train


@dataclass(frozen=True)
class TrainJob:
    """The arguments of `mattebench train`: names, options and the loop's settings."""

    method: str
    dataset: str
    steps: Optional[int] = None
    epochs: Optional[float] = None
    size: int = 256
    batch: int = 8
    lr: Optional[float] = None
    optimizer: Optional[str] = None  # sgd, adam, adamw: overrides the method's optimiser
    schedule: Optional[str] = None  # step, constant, poly, cosine: overrides the method's lr schedule
    method_options: dict[str, Any] = field(default_factory=dict)
    dataset_options: dict[str, Any] = field(default_factory=dict)
    data_root: Optional[str] = None
    device: Optional[str] = None  # default: cuda when available
    out: Optional[Path] = None  # default: runs/train/<method>-<dataset>
    seed: int = 0
    restart: bool = False
    log_every: int = 10
    save_every: int = 500
    workers: int = 0
    amp: bool = False
    stop_after: Optional[int] = None
    threads: Optional[int] = None
    progress: bool = True


@dataclass(frozen=True)
class TrainOutcome:
    """The loop's result, where it wrote, and whether this process reports (rank 0; under torchrun only it does)."""

    result: TrainResult
    out: Path
    reporting_rank: bool


def train_out(job: TrainJob) -> Path:
    """Where ``job`` writes its log and checkpoints."""
    return Path(job.out or Path("runs") / "train" / f"{job.method}-{job.dataset}")


def _optimizer(job: TrainJob) -> Optional[dict[str, Any]]:
    """The optimiser override; without --lr: 0.01 for SGD (MODNet's), 1e-4 for the Adam family."""
    if not job.optimizer:
        return None
    return {"name": job.optimizer, "lr": job.lr or (0.01 if job.optimizer == "sgd" else 1e-4)}


def train_registered(job: TrainJob, notify: Callable[[str], None] = lambda line: None) -> TrainOutcome:
    """Create the method and the dataset by name and run the shared loop (:func:`mattebench.methods.train.train`).

    ``notify`` hears the one note given before the model is built (resuming a run in ``out``).
    """
    import torch

    if job.threads:
        torch.set_num_threads(job.threads)
    mopts = dict(job.method_options)
    mopts["device"] = job.device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = train_out(job)
    if (out / "resume.pt").exists() and not job.restart and env_world()[0] == 0:
        notify(f"resuming the run in {out}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*UNTRAINED.*")  # training an untrained model is the point
        method = create_method(job.method, **mopts)
    if not isinstance(method, Trainable):
        raise TrainingError(f"method {job.method!r} is not trainable (it has no training_step, save_checkpoint and model: "
                            f"see mattebench.contract.Trainable)")
    dataset = load_dataset(job.dataset, root=job.data_root, **job.dataset_options)
    result = train(
        method,
        dataset,
        steps=job.steps,
        epochs=job.epochs,
        size=job.size,
        batch=job.batch,
        lr=job.lr,
        optimizer=_optimizer(job),
        schedule={"name": job.schedule} if job.schedule else None,
        out=out,
        seed=job.seed,
        resume=not job.restart,
        log_every=job.log_every,
        save_every=job.save_every,
        workers=job.workers,
        amp=job.amp,
        stop_after=job.stop_after,
        progress=job.progress,
        info={"method": job.method, "dataset": job.dataset, "method_options": {k: str(v) for k, v in mopts.items()},
              "dataset_options": dict(job.dataset_options)},
    )
    return TrainOutcome(result, out, env_world()[0] == 0)
