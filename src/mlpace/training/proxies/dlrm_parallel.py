"""DLRM's hybrid parallelism on torch.distributed: embedding tables model parallel, MLPs data
parallel, one all-to-all of looked-up embeddings between them (Naumov et al., 2019, §4).

Every rank holds the whole bottom and top MLP and the tables ``t`` with ``t % world == rank``.
A step over a global batch of ``Bg`` samples (every rank has the global batch's indices; its
dense features and labels it needs only for its own contiguous slice):

1. each rank looks its tables up for *all* ``Bg`` samples: ``[Bg, T_rank, D]``;
2. all-to-all: rank r sends each rank q the rows of q's slice and receives, from every rank,
   the lookups of its own slice in that rank's tables, then assembles ``[B_r, T, D]``;
3. the bottom MLP, the interaction and the top MLP run on the local slice (data parallel);
4. backward runs the all-to-all in reverse, so each table receives the gradient of every
   sample that looked it up; the MLP gradients are averaged by one all-reduce.

Each rank's loss is the mean over its slice, so the reverse all-to-all sums ``world`` such
means: its gradient is divided by ``world``, making every update the single-process update on
the global batch (the equality is tested under torchrun).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.distributed as dist
from torch import nn

from mlpace.training.distributed import DistContext
from mlpace.training.proxies.base import shard_range
from mlpace.workloads.models.dlrm_torch import DLRM

__all__ = ["ShardedDLRM", "local_tables"]


def local_tables(n_tables: int, rank: int, world_size: int) -> list[int]:
    """The tables ``rank`` owns: round robin, so sizes spread over the ranks."""
    return [t for t in range(n_tables) if t % world_size == rank]


class _AllToAll(torch.autograd.Function):
    """[Bg, T_local, D] (this rank's tables, every sample) → [B_local, T, D] (every table,
    this rank's samples), and the reverse exchange for the gradient."""

    @staticmethod
    def forward(ctx: Any, local: torch.Tensor, layout: _Layout) -> torch.Tensor:
        ctx.layout = layout
        return layout.exchange(local)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        layout: _Layout = ctx.layout
        return layout.exchange_back(grad.contiguous()) / layout.world, None


class _Layout:
    """Who owns which tables and samples; the two all-to-all exchanges."""

    def __init__(self, n_tables: int, dim: int, global_batch: int, world: int, rank: int) -> None:
        self.world, self.rank, self.dim, self.n_tables = world, rank, dim, n_tables
        self.tables = [local_tables(n_tables, r, world) for r in range(world)]
        self.slices = [shard_range(global_batch, r, world) for r in range(world)]
        self.batch = [hi - lo for lo, hi in self.slices]

    def exchange(self, local: torch.Tensor) -> torch.Tensor:
        d, me = self.dim, self.rank
        mine = len(self.tables[me])
        send = torch.cat([local[lo:hi].reshape(-1) for lo, hi in self.slices])
        send_sizes = [b * mine * d for b in self.batch]
        recv_sizes = [self.batch[me] * len(self.tables[p]) * d for p in range(self.world)]
        recv = torch.empty(sum(recv_sizes), dtype=local.dtype)
        dist.all_to_all_single(recv, send, recv_sizes, send_sizes)
        out = torch.empty(self.batch[me], self.n_tables, d, dtype=local.dtype)
        for p, part in enumerate(torch.split(recv, recv_sizes)):
            out[:, self.tables[p], :] = part.view(self.batch[me], len(self.tables[p]), d)
        return out

    def exchange_back(self, grad: torch.Tensor) -> torch.Tensor:
        d, me = self.dim, self.rank
        mine = len(self.tables[me])
        send = torch.cat([grad[:, self.tables[p], :].reshape(-1) for p in range(self.world)])
        send_sizes = [self.batch[me] * len(self.tables[p]) * d for p in range(self.world)]
        recv_sizes = [b * mine * d for b in self.batch]
        recv = torch.empty(sum(recv_sizes), dtype=grad.dtype)
        dist.all_to_all_single(recv, send, recv_sizes, send_sizes)
        parts = [
            part.view(b, mine, d) for part, b in zip(torch.split(recv, recv_sizes), self.batch)
        ]
        return torch.cat(parts, dim=0)


class ShardedDLRM(nn.Module):
    """A :class:`DLRM` whose tables live on the rank that owns them (see the module doc)."""

    def __init__(self, full: DLRM, dist_ctx: DistContext) -> None:
        super().__init__()
        self.ctx = dist_ctx
        self.n_tables = len(full.table_sizes)
        self.dim = full.embedding_dim
        self.owned = local_tables(self.n_tables, dist_ctx.rank, dist_ctx.world_size)
        # Built whole from the shared seed on every rank, then cut: the shards are exactly the
        # single-process model's tables.
        self.tables = nn.ModuleList(full.tables[t] for t in self.owned)
        self.bottom_mlp = full.bottom_mlp
        self.top_mlp = full.top_mlp
        self._full = [full]  # not a submodule: its other tables are not this rank's parameters

    def dense_parameters(self) -> list[nn.Parameter]:
        return [*self.bottom_mlp.parameters(), *self.top_mlp.parameters()]

    def forward(self, dense_local: torch.Tensor, sparse_global: torch.Tensor) -> torch.Tensor:
        """Logits of this rank's slice: dense [B_local, 13], sparse [Bg, T] (global batch)."""
        world = self.ctx.world_size
        lookups = torch.stack(
            [table(sparse_global[:, t : t + 1]) for t, table in zip(self.owned, self.tables)],
            dim=1,
        )
        layout = _Layout(self.n_tables, self.dim, sparse_global.shape[0], world, self.ctx.rank)
        embedded = _AllToAll.apply(lookups, layout)  # type: ignore[no-untyped-call]
        full = self._full[0]
        out: torch.Tensor = full.interact_top(full.bottom(dense_local), embedded)
        return out

    def allreduce_dense_gradients(self) -> None:
        """Average the MLP gradients over the ranks (the tables' gradients are already whole)."""
        params = [p for p in self.dense_parameters() if p.grad is not None]
        if not params or not self.ctx.active:
            return
        flat = torch.cat([p.grad.reshape(-1) for p in params if p.grad is not None])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        flat /= self.ctx.world_size
        offset = 0
        for p in params:
            assert p.grad is not None
            n = p.grad.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n

    def gather_tables(self) -> dict[int, torch.Tensor]:
        """Every table's weights on every rank (for tests and export)."""
        out: dict[int, torch.Tensor] = {}
        for r in range(self.ctx.world_size):
            for t in local_tables(self.n_tables, r, self.ctx.world_size):
                w = self._full[0].bags()[t].weight.detach().clone()
                dist.broadcast(w, src=r)
                out[t] = w
        return out
