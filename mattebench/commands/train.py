"""`mattebench train`: train a method on a dataset with the shared loop (engine: :mod:`mattebench.methods.train.registered`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from mattebench.commands._options import parse_options
from mattebench.methods.train.registered import TrainJob, train_registered


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
    mopts = parse_options(args.method_opts)
    for key, value in (("loss", args.loss), ("backbone_checkpoint", args.backbone_checkpoint), ("checkpoint", args.checkpoint)):
        if value is not None:
            mopts[key] = value
    job = TrainJob(method=args.method, dataset=args.dataset, steps=args.steps, epochs=args.epochs, size=args.size,
                   batch=args.batch, lr=args.lr, optimizer=args.optimizer, schedule=args.schedule, method_options=mopts,
                   dataset_options=parse_options(args.dataset_opts), data_root=args.data_root, device=args.device,
                   out=Path(args.out) if args.out else None, seed=args.seed, restart=args.restart, log_every=args.log_every,
                   save_every=args.save_every, workers=args.workers, amp=args.amp, stop_after=args.stop_after,
                   threads=args.threads, progress=not args.quiet)
    outcome = train_registered(job, notify=print)
    if not outcome.reporting_rank:
        return 0  # under torchrun only rank 0 reports (it also wrote the checkpoints and the log)
    result = outcome.result
    print(f"trained {args.method} for {result.steps} steps in {result.seconds:.0f} s; last loss {result.last_loss:.4f}")
    print(f"checkpoint: {result.checkpoint}   loss log: {outcome.out / 'loss.csv'}")
    print(f"evaluate:   mattebench run --method {args.method} --dataset {args.dataset} --checkpoint {result.checkpoint}")
    return 0
