"""Data parallelism over torch.distributed (gloo on CPU), launched by ``torchrun``.

Every rank builds the same model from the same seed, takes its own contiguous shard of each
global batch, and after ``backward()`` the gradients are summed across ranks and divided by
the world size. Because each rank's loss is the mean over an equal-sized shard, the result is
exactly the mean gradient of the global batch, so every rank takes the same optimizer step and
the replicas stay identical (gloo's all-reduce hands every rank the same sum). One flat
all-reduce per step, rather than DistributedDataParallel's bucketed hooks, keeps the logic
visible and avoids DDP's unused-parameter pitfalls on the tiny proxy models; on two CPU
processes the difference in speed is noise.

``torchrun`` sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and
``MASTER_PORT``; :func:`init_from_env` reads them. Without them (or with ``WORLD_SIZE=1``) the
context is a no-op single process, so the same harness code serves both.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from mlpace.errors import TrainingError


@dataclass(frozen=True)
class DistContext:
    """Where this process sits in the job; every collective is a no-op for one process."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.world_size > 1

    def barrier(self) -> None:
        if self.active:
            dist.barrier()

    def allreduce_gradients(self, model: torch.nn.Module) -> None:
        """Replace every gradient by its mean over the ranks (one flat all-reduce).

        Sparse gradients (embeddings trained by lazy Adam) are densified for the reduction and
        made row-sparse again, so rows no rank touched stay absent and keep their moments.
        """
        if not self.active:
            return
        params = [p for p in model.parameters() if p.grad is not None]
        if not params:
            return
        dense = [
            p.grad.to_dense() if p.grad.is_sparse else p.grad for p in params if p.grad is not None
        ]
        flat = torch.cat([g.reshape(-1) for g in dense])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.world_size
        offset = 0
        for p in params:
            grad = p.grad
            assert grad is not None
            n = grad.numel()
            chunk = flat[offset : offset + n].view(grad.shape)
            offset += n
            if grad.is_sparse:
                p.grad = chunk.to_sparse(sparse_dim=1)
            else:
                grad.copy_(chunk)

    def sum_counts(self, *values: float) -> tuple[float, ...]:
        """Sum a few numbers over the ranks (e.g. correct / total of a sharded evaluation)."""
        if not self.active:
            return tuple(float(v) for v in values)
        t = torch.tensor(values, dtype=torch.float64)
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        return tuple(float(v) for v in t.tolist())

    def broadcast_float(self, value: float) -> float:
        """Rank 0's value on every rank (so decisions such as 'target reached' agree)."""
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.float64)
        dist.broadcast(t, src=0)
        return float(t.item())

    def all_agree(self, flag: bool) -> bool:
        """True on every rank iff ``flag`` is true on every rank."""
        if not self.active:
            return flag
        t = torch.tensor([1 if flag else 0], dtype=torch.int64)
        dist.all_reduce(t, op=dist.ReduceOp.MIN)
        return bool(t.item())

    def gather_strings(self, items: list[str]) -> list[str]:
        """Every rank's ``items`` concatenated in rank order, on every rank."""
        if not self.active:
            return list(items)
        parts: list[object] = [None] * self.world_size
        dist.all_gather_object(parts, list(items))
        out: list[str] = []
        for part in parts:
            if not isinstance(part, list):
                raise TrainingError("gather_strings: a rank sent no list")
            out.extend(str(x) for x in part)
        return out

    def broadcast_int(self, value: int) -> int:
        if not self.active:
            return value
        t = torch.tensor([value], dtype=torch.int64)
        dist.broadcast(t, src=0)
        return int(t.item())


SINGLE = DistContext()


def env_world() -> tuple[int, int, int]:
    """(rank, world_size, local_rank) from the torchrun environment (0, 1, 0 without it)."""
    try:
        rank = int(os.environ.get("RANK", "0"))
        world = int(os.environ.get("WORLD_SIZE", "1"))
        local = int(os.environ.get("LOCAL_RANK", str(rank)))
    except ValueError as exc:
        raise TrainingError(f"malformed torchrun environment: {exc}") from None
    if world < 1 or not 0 <= rank < world:
        raise TrainingError(f"bad torchrun environment: RANK={rank} WORLD_SIZE={world}")
    return rank, world, local


def init_from_env() -> DistContext:
    """Join the process group torchrun describes (gloo: CPU only), or stay single-process."""
    rank, world, local = env_world()
    if world == 1:
        return SINGLE
    if not dist.is_available():
        raise TrainingError("this torch build has no torch.distributed support")
    if not dist.is_initialized():
        for var in ("MASTER_ADDR", "MASTER_PORT"):
            if var not in os.environ:
                raise TrainingError(
                    f"WORLD_SIZE={world} but {var} is not set (launch with torchrun)"
                )
        dist.init_process_group(backend="gloo", rank=rank, world_size=world)
    return DistContext(rank=rank, world_size=world, local_rank=local)


def shutdown(ctx: DistContext) -> None:
    if ctx.active and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()
