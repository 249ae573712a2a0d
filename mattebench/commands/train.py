"""`mattebench train`: train a method on a dataset with the shared loop (mattebench.train)."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path

from ..contract import Trainable
from ..registry import create_method, load_dataset
from ..train import TrainingError, train
from ..train.distributed import env_world
from ._options import parse_options


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "train",
        help="train a method (MODNet and the trainable baselines) on a dataset",
        description="Train METHOD on DATASET. Writes loss.csv, last.ckpt, final.ckpt (load them with --checkpoint) "
        "and resume.pt to --out; rerunning the same command resumes an interrupted run.",
    )
    p.add_argument("--method", required=True, help="registered trainable method, e.g. modnet")
    p.add_argument("--dataset", required=True, help="registered dataset, e.g. synthetic")
    p.add_argument("--data-root", default=None, help="folder holding the dataset")
    g = p.add_mutually_exclusive_group(required=True)
    g.add_argument("--steps", type=int, help="optimiser steps")
    g.add_argument("--epochs", type=float, help="passes over a finite dataset")
    p.add_argument("--size", type=int, default=256, help="training crop size in pixels (default 256; MODNet: multiple of 32)")
    p.add_argument("--batch", type=int, default=8, help="batch size (default 8; the paper uses 16)")
    p.add_argument("--lr", type=float, default=None, help="learning rate (default: the method's, MODNet 0.01)")
    p.add_argument("--optimizer", choices=("sgd", "adam", "adamw"), default=None, help="override the method's optimiser")
    p.add_argument("--schedule", choices=("step", "constant", "poly", "cosine"), default=None, help="override the method's lr schedule")
    p.add_argument("--loss", default=None, help="loss variant where the method has several (MODNet: paper | official)")
    p.add_argument("--backbone-checkpoint", default=None, help="backbone initialisation, e.g. mobilenetv2_human_seg.ckpt")
    p.add_argument("--checkpoint", default=None, help="start from these weights (fine-tuning)")
    p.add_argument("--out", default=None, help="output folder (default runs/train/<method>-<dataset>)")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=0, help="batch-building worker processes (default 0: in the main process)")
    p.add_argument("--threads", type=int, default=None, help="torch CPU threads")
    p.add_argument("--amp", action="store_true", help="bfloat16 autocast on CUDA")
    p.add_argument("--log-every", type=int, default=10, help="steps per loss.csv row (window means)")
    p.add_argument("--save-every", type=int, default=500, help="steps between last.ckpt/resume.pt saves")
    p.add_argument("--restart", action="store_true", help="start over even if --out holds a run")
    p.add_argument("--stop-after", type=int, default=None, metavar="N",
                   help="stop after step N of the --steps schedule (writes last.ckpt and resume.pt; rerun without it to go on)")
    p.add_argument("-m", dest="method_opts", action="append", default=[], metavar="KEY=VALUE", help="method option (repeatable)")
    p.add_argument("-d", dest="dataset_opts", action="append", default=[], metavar="KEY=VALUE", help="dataset option (repeatable)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    mopts = parse_options(args.method_opts)
    for key, value in (("loss", args.loss), ("backbone_checkpoint", args.backbone_checkpoint), ("checkpoint", args.checkpoint)):
        if value is not None:
            mopts[key] = value
    mopts["device"] = args.device or ("cuda" if torch.cuda.is_available() else "cpu")
    out = Path(args.out or Path("runs") / "train" / f"{args.method}-{args.dataset}")
    if (out / "resume.pt").exists() and not args.restart and env_world()[0] == 0:
        print(f"resuming the run in {out}")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*UNTRAINED.*")  # training an untrained model is the point
        method = create_method(args.method, **mopts)
    if not isinstance(method, Trainable):
        raise TrainingError(f"method {args.method!r} is not trainable (it has no training_step, save_checkpoint and model: "
                            f"see mattebench.contract.Trainable)")
    dataset = load_dataset(args.dataset, root=args.data_root, **parse_options(args.dataset_opts))
    optimizer = None
    if args.optimizer:
        optimizer = {"name": args.optimizer, "lr": args.lr or (0.01 if args.optimizer == "sgd" else 1e-4)}
    result = train(
        method,
        dataset,
        steps=args.steps,
        epochs=args.epochs,
        size=args.size,
        batch=args.batch,
        lr=args.lr,
        optimizer=optimizer,
        schedule={"name": args.schedule} if args.schedule else None,
        out=out,
        seed=args.seed,
        resume=not args.restart,
        log_every=args.log_every,
        save_every=args.save_every,
        workers=args.workers,
        amp=args.amp,
        stop_after=args.stop_after,
        progress=not args.quiet,
        info={"method": args.method, "dataset": args.dataset, "method_options": {k: str(v) for k, v in mopts.items()},
              "dataset_options": parse_options(args.dataset_opts)},
    )
    if env_world()[0] != 0:
        return 0  # under torchrun only rank 0 reports (it also wrote the checkpoints and the log)
    print(f"trained {args.method} for {result.steps} steps in {result.seconds:.0f} s; last loss {result.last_loss:.4f}")
    print(f"checkpoint: {result.checkpoint}   loss log: {out / 'loss.csv'}")
    print(f"evaluate:   mattebench run --method {args.method} --dataset {args.dataset} --checkpoint {result.checkpoint}")
    return 0
