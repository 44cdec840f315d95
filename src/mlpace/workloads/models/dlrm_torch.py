"""The DLRM in PyTorch (imports torch): the module training and the torch backend share.

Split into the three stages model parallelism needs apart: :meth:`DLRM.embed` (the embedding
bags: the memory-bound part that is sharded across ranks), :meth:`DLRM.bottom` and
:meth:`DLRM.interact_top` (the compute-bound MLPs, data parallel). The array names are those of
the model file (:mod:`mlpace.workloads.models.dlrm`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import nn

from mlpace.workloads.models.dlrm import (
    BOTTOM_MLP,
    EMBEDDING_DIM,
    TOP_MLP,
    interaction_pairs,
    random_arrays,
)

__all__ = ["DLRM", "DlrmPredictor", "interact", "make_tables"]


def make_tables(table_sizes: Sequence[int], embedding_dim: int, *, sparse: bool) -> nn.ModuleList:
    """One sum-pooled embedding bag per categorical feature."""
    return nn.ModuleList(
        nn.EmbeddingBag(rows, embedding_dim, mode="sum", sparse=sparse) for rows in table_sizes
    )


def interact(bottom_out: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
    """[B, D] and [B, T, D] → [B, D + (T+1)T/2]: the bottom output, then every pairwise dot
    product of the T+1 vectors (strictly lower triangle, row-major)."""
    t = torch.cat([bottom_out.unsqueeze(1), embedded], dim=1)
    z = torch.bmm(t, t.transpose(1, 2))
    rows, cols = interaction_pairs(t.shape[1])
    return torch.cat([bottom_out, z[:, torch.from_numpy(rows), torch.from_numpy(cols)]], dim=1)


def _mlp(sizes: Sequence[int], *, relu_last: bool) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if relu_last or i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class DLRM(nn.Module):
    """Bottom MLP, embedding bags, dot interaction, top MLP; ``forward`` returns the logit."""

    def __init__(
        self,
        table_sizes: Sequence[int],
        *,
        embedding_dim: int = EMBEDDING_DIM,
        dense_features: int = 13,
        bottom_mlp: Sequence[int] = BOTTOM_MLP,
        top_mlp: Sequence[int] = TOP_MLP,
        sparse_grad: bool = False,
        seed: int | None = None,
    ) -> None:
        super().__init__()
        self.table_sizes = tuple(int(s) for s in table_sizes)
        self.embedding_dim = embedding_dim
        f = len(self.table_sizes) + 1
        self.tables = make_tables(self.table_sizes, embedding_dim, sparse=sparse_grad)
        self.bottom_mlp = _mlp([dense_features, *bottom_mlp], relu_last=True)
        self.top_mlp = _mlp([embedding_dim + f * (f - 1) // 2, *top_mlp], relu_last=False)
        # The reference initialisation, from NumPy: the same seed gives the same model on
        # every rank and in every process layout (what the sharding equality test relies on).
        self.load_arrays(
            random_arrays(
                self.table_sizes,
                seed=0 if seed is None else seed,
                embedding_dim=embedding_dim,
                dense_features=dense_features,
                bottom_mlp=bottom_mlp,
                top_mlp=top_mlp,
            )
        )

    # -------------------------------------------------------------- stages
    def embed(self, sparse: torch.Tensor) -> torch.Tensor:
        """[B, T] indices → [B, T, D] pooled embeddings (one index per bag)."""
        return torch.stack(
            [table(sparse[:, t : t + 1]) for t, table in enumerate(self.tables)], dim=1
        )

    def bottom(self, dense: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.bottom_mlp(dense)
        return out

    def interact_top(self, bottom_out: torch.Tensor, embedded: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.top_mlp(interact(bottom_out, embedded)).squeeze(1)
        return out

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        return self.interact_top(self.bottom(dense), self.embed(sparse))

    # -------------------------------------------------------------- arrays
    def bags(self) -> list[nn.EmbeddingBag]:
        return [m for m in self.tables if isinstance(m, nn.EmbeddingBag)]

    def _linears(self, prefix: str) -> list[nn.Linear]:
        seq = self.bottom_mlp if prefix == "bottom" else self.top_mlp
        return [m for m in seq if isinstance(m, nn.Linear)]

    def load_arrays(self, arrays: Mapping[str, np.ndarray]) -> None:
        with torch.no_grad():
            for t, table in enumerate(self.bags()):
                table.weight.copy_(torch.from_numpy(np.asarray(arrays[f"emb_{t}"], np.float32)))
            for prefix in ("bottom", "top"):
                for i, lin in enumerate(self._linears(prefix)):
                    lin.weight.copy_(torch.from_numpy(np.asarray(arrays[f"{prefix}_w{i}"])))
                    lin.bias.copy_(torch.from_numpy(np.asarray(arrays[f"{prefix}_b{i}"])))

    def to_arrays(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for t, table in enumerate(self.bags()):
            out[f"emb_{t}"] = table.weight.detach().numpy().copy()
        for prefix in ("bottom", "top"):
            for i, lin in enumerate(self._linears(prefix)):
                out[f"{prefix}_w{i}"] = lin.weight.detach().numpy().copy()
                out[f"{prefix}_b{i}"] = lin.bias.detach().numpy().copy()
        return out

    def as_predictor(self) -> DlrmPredictor:
        return DlrmPredictor(self)


class DlrmPredictor(nn.Module):
    """``forward(dense=..., sparse=...)`` → click probability [B] (what the torch backend calls)."""

    def __init__(self, model: DLRM) -> None:
        super().__init__()
        self.model = model

    def forward(self, dense: torch.Tensor, sparse: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.model(dense, sparse))
