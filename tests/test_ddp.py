"""Data-parallel training (torch.distributed, gloo on CPU) against one process with the full batch."""

from __future__ import annotations

import csv
import os
import socket
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.multiprocessing as mp
from conftest import TinyDataset
from torch import nn

from mattebench.methods.train import BatchMaker, TrainingError, train
from mattebench.methods.train.distributed import ShardedBatches, env_world

STEPS, SIZE, BATCH = 4, 16, 4


class TinyTrainable:
    """A two-layer conv net predicting alpha; its loss is a mean over the batch (DDP-exact)."""

    default_optimizer = {"name": "sgd", "lr": 0.5, "momentum": 0.9}

    def __init__(self) -> None:
        torch.manual_seed(1234)  # same initial weights in every process
        self.model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Tanh(), nn.Conv2d(4, 1, 1), nn.Sigmoid())

    def training_step(self, batch: dict[str, torch.Tensor], stage: str) -> tuple[torch.Tensor, dict[str, float]]:
        pred = self.model(batch["image"])
        l2 = ((pred - batch["alpha"]) ** 2).mean()
        l1 = (pred - batch["alpha"]).abs().mean()
        return l2 + l1, {"l2": float(l2.detach()), "l1": float(l1.detach())}

    def save_checkpoint(self, path: Any) -> None:
        torch.save(self.model.state_dict(), path)
        with open(Path(path).parent / "writers.log", "a") as f:  # who wrote: must be rank 0 only
            f.write(f"{os.environ.get('RANK', 'single')}\n")


class CountingDataset(TinyDataset):
    """Records which process loaded each sample (to check that each rank builds only its shard)."""

    def __init__(self, log: str, n: int = 6):
        super().__init__(n=n)
        self.log = log

    def load(self, id: str):  # type: ignore[override]
        with open(self.log, "a") as f:
            f.write(f"{os.environ.get('RANK', 'single')} {id}\n")
        return super().load(id)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rank_main(rank: int, world: int, port: int, out: str, results: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), WORLD_SIZE=str(world), RANK=str(rank), LOCAL_RANK=str(rank))
    torch.set_num_threads(1)
    method = TinyTrainable()
    res = train(method, CountingDataset(str(Path(results) / "loads.log")), steps=STEPS, size=SIZE, batch=BATCH, out=out, progress=False, log_every=1)
    torch.save({"params": method.model.state_dict(), "last_loss": res.last_loss}, Path(results) / f"rank{rank}.pt")


def _loss_rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_shards_partition_every_global_batch_exactly():
    maker = BatchMaker(TinyDataset(n=6), SIZE, BATCH, seed=3, total_steps=STEPS)
    for step in range(STEPS):
        shards = [ShardedBatches(maker, r, 2) for r in range(2)]
        got = [i for s in shards for i in s.indices(step)]
        assert got == list(range(step * BATCH, (step + 1) * BATCH))  # disjoint, complete, in order
        full = maker[step]
        parts = [s[step] for s in shards]
        for k in full:
            assert torch.equal(torch.cat([p[k] for p in parts]), full[k]), k  # same examples as one process


def test_global_batch_must_split_evenly():
    maker = BatchMaker(TinyDataset(n=6), SIZE, 3, total_steps=1)
    with pytest.raises(TrainingError, match="multiple of the 2 processes"):
        ShardedBatches(maker, 0, 2)


def test_outside_torchrun_is_one_process(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(k, raising=False)
    assert env_world() == (0, 0, 1)


def test_two_process_ddp_matches_one_process_with_the_full_batch(tmp_path):
    torch.set_num_threads(1)
    single = TinyTrainable()
    res1 = train(single, TinyDataset(n=6), steps=STEPS, size=SIZE, batch=BATCH, out=tmp_path / "single", progress=False, log_every=1)

    results = tmp_path / "results"
    results.mkdir()
    mp.spawn(_rank_main, args=(2, _free_port(), str(tmp_path / "ddp"), str(results)), nprocs=2, join=True)
    r0 = torch.load(results / "rank0.pt", weights_only=True)
    r1 = torch.load(results / "rank1.pt", weights_only=True)

    for name, p in single.model.state_dict().items():
        assert torch.equal(r0["params"][name], r1["params"][name]), name  # DDP keeps the replicas identical
        # Same parameters as one process: gradients are averaged in another order (float32 sums).
        torch.testing.assert_close(r0["params"][name], p, rtol=1e-5, atol=1e-6)
    assert not torch.equal(single.model.state_dict()["0.weight"], TinyTrainable().model.state_dict()["0.weight"])  # it trained

    # Logged losses are the mean over the ranks = the full-batch loss of one process.
    one, two = _loss_rows(tmp_path / "single" / "loss.csv"), _loss_rows(tmp_path / "ddp" / "loss.csv")
    assert [r["step"] for r in two] == [str(s) for s in range(1, STEPS + 1)]  # one row per step: one writer
    for a, b in zip(one, two):
        for k in ("loss", "l1", "l2"):
            assert float(b[k]) == pytest.approx(float(a[k]), rel=1e-5), (a["step"], k)
    assert r0["last_loss"] == pytest.approx(res1.last_loss, rel=1e-5) and r1["last_loss"] == r0["last_loss"]

    # Each rank built only its half of every batch.
    loads = [line.split()[0] for line in (results / "loads.log").read_text().splitlines()]
    assert loads.count("0") == loads.count("1") == STEPS * BATCH // 2

    # Only rank 0 wrote checkpoints (last.ckpt at the end and final.ckpt, as in one process).
    assert (tmp_path / "ddp" / "writers.log").read_text().split() == ["0", "0"]
    assert (tmp_path / "single" / "writers.log").read_text().split() == ["single", "single"]
    final = torch.load(tmp_path / "ddp" / "final.ckpt", weights_only=True)
    assert all(torch.equal(final[k], r0["params"][k]) for k in final)
