"""Data-parallel training under ``torchrun``: the hooks the shared loop calls.

``torchrun --nproc_per_node N -m mattebench train ...`` starts N processes with ``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT`` set. The loop then:

1. :func:`context_for` joins the process group (NCCL when the model is on a GPU, gloo on CPU)
   and puts each process on its own GPU (``cuda:LOCAL_RANK``);
2. :meth:`DistContext.shard` gives each rank its share of every batch: ``--batch`` stays the
   *global* batch, rank r builds examples ``[r*B/N, (r+1)*B/N)`` of batch ``step``. Batches are
   pure functions of (seed, step), so the N ranks together see exactly the examples of a
   one-process run, and a resumed run the same ones again;
3. :meth:`DistContext.forward_through` routes the method's own ``training_step`` through
   :class:`~torch.nn.parallel.DistributedDataParallel` (it swaps ``method.model`` for the wrapper
   during the step), so gradients are averaged across ranks during backward;
4. only rank 0 writes (``DistContext.writes``): train.json, loss.csv, checkpoints, resume state,
   progress bar. Logged losses are averaged over the ranks first (:meth:`DistContext.mean`).

Why the numbers match one process: DDP averages the ranks' gradients, and the gradient of a loss
that is a mean over the batch equals the average of the gradients of the means over equal
shards. Two usual exceptions, not hidden: a loss normalised by a data-dependent count (a mean over
the unknown pixels of the batch) weighs the shards slightly differently, and BatchNorm sees the
local batch; on GPUs BatchNorm layers are converted to SyncBatchNorm (statistics over the global
batch, as in one process), on CPU (gloo; PyTorch's SyncBatchNorm is GPU-only) they stay local.
Without ``WORLD_SIZE`` > 1 every hook is a no-op and the loop runs exactly as before.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Iterator, Optional

import torch
from torch import nn

from mattebench.methods.train.batches import TrainingError, collate


def env_world() -> tuple[int, int, int]:
    """(rank, local rank, world size) from the torchrun environment; (0, 0, 1) outside it."""
    try:
        world = int(os.environ.get("WORLD_SIZE", "1"))
        rank = int(os.environ.get("RANK", "0"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise TrainingError(f"bad torchrun environment (RANK/LOCAL_RANK/WORLD_SIZE): {exc}") from exc
    return rank, local, world


class ShardedBatches(torch.utils.data.Dataset):
    """Item ``step`` = this rank's contiguous share of global batch ``step`` of a BatchMaker."""

    def __init__(self, maker: Any, rank: int, world: int):
        if maker.batch % world:
            raise TrainingError(
                f"--batch {maker.batch} is the global batch and must be a multiple of the {world} processes "
                f"(each process takes batch/processes examples of every step)"
            )
        self.maker, self.rank, self.world = maker, rank, world
        self.local = maker.batch // world

    def indices(self, step: int) -> range:
        """Global example indices this rank builds for ``step``."""
        first = step * self.maker.batch + self.rank * self.local
        return range(first, first + self.local)

    def __len__(self) -> int:
        return len(self.maker)

    def __getitem__(self, step: int) -> dict[str, torch.Tensor]:
        return collate([self.maker.example(i) for i in self.indices(step)])


@dataclass
class DistContext:
    """What the loop needs to know about the process group (a no-op context for one process)."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    owns_group: bool = False
    ddp: Optional[nn.Module] = None

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def writes(self) -> bool:
        """Only rank 0 writes files and shows progress."""
        return self.rank == 0

    def shard(self, maker: Any) -> Any:
        return ShardedBatches(maker, self.rank, self.world) if self.active else maker

    def wrap(self, model: nn.Module) -> None:
        """Build the DDP wrapper (broadcasts rank 0's weights to every rank)."""
        if not self.active:
            return
        from torch.nn.parallel import DistributedDataParallel

        if self.device.type == "cuda":
            nn.SyncBatchNorm.convert_sync_batchnorm(model)  # in place for the BN layers inside
            ids: Optional[list[int]] = [self.device.index if self.device.index is not None else torch.cuda.current_device()]
        else:
            ids = None
            if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()) and self.writes:
                warnings.warn("DDP on CPU: BatchNorm statistics are per process (SyncBatchNorm needs GPUs)", stacklevel=2)
        # find_unused_parameters: a stage's loss may not reach every branch (MODNet's segmentation
        # stage), which plain DDP would wait for forever.
        self.ddp = DistributedDataParallel(model, device_ids=ids, find_unused_parameters=True)

    @contextlib.contextmanager
    def forward_through(self, method: Any) -> Iterator[None]:
        """During the block ``method.model`` is the DDP wrapper, so ``training_step`` syncs gradients."""
        if self.ddp is None:
            yield
            return
        inner = method.model
        method.model = self.ddp
        try:
            yield
        finally:
            method.model = inner

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average named floats over the ranks (every rank must call it, with the same keys)."""
        if not self.active or not values:
            return values
        import torch.distributed as dist

        keys = sorted(values)
        t = torch.tensor([float(values[k]) for k in keys], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return {k: float(v) / self.world for k, v in zip(keys, t.tolist())}

    def barrier(self) -> None:
        if self.active:
            import torch.distributed as dist

            dist.barrier()

    def close(self) -> None:
        """Leave the process group if this context joined it."""
        if self.owns_group:
            import torch.distributed as dist

            dist.barrier()  # rank 0's final files exist before anyone returns
            dist.destroy_process_group()
            self.owns_group = False


def context_for(model: nn.Module, timeout_s: float = 1800.0) -> DistContext:
    """Join the torchrun process group (if any) and move ``model`` to this rank's device."""
    rank, local, world = env_world()
    p = next(model.parameters(), None)
    device = p.device if p is not None else torch.device("cpu")
    if world <= 1:
        return DistContext(device=device)
    import torch.distributed as dist

    if device.type == "cuda":
        if local >= torch.cuda.device_count():
            raise TrainingError(f"LOCAL_RANK {local} but this node has {torch.cuda.device_count()} GPUs: use --nproc_per_node <= GPUs")
        torch.cuda.set_device(local)  # "cuda" now means this rank's GPU, for the method's own tensors too
        device = torch.device("cuda", local)
        model.to(device)
    owns = False
    if not dist.is_initialized():
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world, timeout=timedelta(seconds=timeout_s))
        owns = True
    return DistContext(rank=rank, local_rank=local, world=world, device=device, owns_group=owns)
