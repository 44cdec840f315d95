"""``ncf``: NeuMF (He et al., 2017) on a seeded synthetic implicit-feedback data set.

MLPerf's NCF ran on MovieLens-20M, and the dissertation notes that the working group moved to
a synthetic data set "retaining the characteristics of the original data". Ours is generated
from a fixed data seed (never the run seed: every run sees the same data) with the statistics
that make MovieLens hard for a recommender:

* item popularity follows a power law (Zipf exponent 0.8 over a random item order), so a
  popularity ranker already gets HR@10 ~ 0.35 and the model must beat it;
* user activity is skewed (log-normal interaction counts, at least 20 per user, as
  MovieLens-20M guarantees);
* preferences come from a hidden 8-factor user/item model, so there is something to learn.

Evaluation is leave-one-out as in the paper and the MLPerf reference: each user's last
interaction is held out and ranked among 99 items that user never interacted with (fixed by
the data seed); the metric is HR@10 over all users. Training samples each epoch are the
training positives plus ``train_negative_samples`` uniformly drawn negatives per positive
(drawn from the run seed and the epoch, as the reference does; an occasional false negative is
part of the method).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from mlpace.errors import TrainingError
from mlpace.training.distributed import SINGLE, DistContext
from mlpace.training.proxies.base import BASE_LR, GLOBAL_BATCH_SIZE, Hyperparameters, shard_range

N_USERS = 2000
N_ITEMS = 1000
N_FACTORS_HIDDEN = 8
DATA_SEED = 20_170_403  # the data set's own seed (NCF paper's arXiv date), independent of runs
N_EVAL_NEGATIVES = 99
TOP_K = 10
GMF_FACTORS = 8
MLP_LAYERS = (32, 16, 8)


class NcfData:
    """Training positives, held-out positives and the fixed evaluation negatives."""

    def __init__(
        self,
        train_users: np.ndarray[Any, np.dtype[np.int64]],
        train_items: np.ndarray[Any, np.dtype[np.int64]],
        test_items: np.ndarray[Any, np.dtype[np.int64]],
        eval_negatives: np.ndarray[Any, np.dtype[np.int64]],
    ) -> None:
        self.train_users = train_users
        self.train_items = train_items
        self.test_items = test_items
        self.eval_negatives = eval_negatives


def generate_data(n_users: int = N_USERS, n_items: int = N_ITEMS, seed: int = DATA_SEED) -> NcfData:
    """The synthetic data set (deterministic in its arguments)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, n_items + 1) ** 0.8
    popularity = popularity[rng.permutation(n_items)]
    user_f = rng.normal(size=(n_users, N_FACTORS_HIDDEN))
    item_f = rng.normal(size=(n_items, N_FACTORS_HIDDEN))
    counts = np.clip(
        rng.lognormal(mean=3.0, sigma=0.7, size=n_users).astype(np.int64), 20, n_items // 4
    )
    affinity = 2.0 * (user_f @ item_f.T) / np.sqrt(N_FACTORS_HIDDEN)
    users: list[np.ndarray[Any, Any]] = []
    items: list[np.ndarray[Any, Any]] = []
    test = np.empty(n_users, dtype=np.int64)
    negatives = np.empty((n_users, N_EVAL_NEGATIVES), dtype=np.int64)
    for u in range(n_users):
        weights = popularity * np.exp(affinity[u] - affinity[u].max())
        weights /= weights.sum()
        chosen = rng.choice(n_items, size=int(counts[u]), replace=False, p=weights)
        # The order drawn stands for time: the last draw is the held-out "latest" interaction.
        test[u] = chosen[-1]
        users.append(np.full(len(chosen) - 1, u, dtype=np.int64))
        items.append(chosen[:-1].astype(np.int64))
        unseen = np.ones(n_items, dtype=bool)
        unseen[chosen] = False
        negatives[u] = rng.choice(np.flatnonzero(unseen), size=N_EVAL_NEGATIVES, replace=False)
    return NcfData(np.concatenate(users), np.concatenate(items), test, negatives)


class NeuMF(nn.Module):
    """GMF and MLP towers over separate embeddings, fused by one linear layer."""

    def __init__(self, n_users: int, n_items: int, *, sparse: bool = False) -> None:
        super().__init__()
        half = MLP_LAYERS[0] // 2
        self.user_gmf = nn.Embedding(n_users, GMF_FACTORS, sparse=sparse)
        self.item_gmf = nn.Embedding(n_items, GMF_FACTORS, sparse=sparse)
        self.user_mlp = nn.Embedding(n_users, half, sparse=sparse)
        self.item_mlp = nn.Embedding(n_items, half, sparse=sparse)
        layers: list[nn.Module] = []
        for a, b in zip(MLP_LAYERS[:-1], MLP_LAYERS[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.mlp = nn.Sequential(*layers)
        self.head = nn.Linear(GMF_FACTORS + MLP_LAYERS[-1], 1)
        for emb in (self.user_gmf, self.item_gmf, self.user_mlp, self.item_mlp):
            nn.init.normal_(emb.weight, std=0.01)

    def forward(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        gmf = self.user_gmf(users) * self.item_gmf(items)
        mlp = self.mlp(torch.cat([self.user_mlp(users), self.item_mlp(items)], dim=1))
        out: torch.Tensor = self.head(torch.cat([gmf, mlp], dim=1)).squeeze(1)
        return out


class AdamFamily:
    """``adam``: one Adam over everything. ``lazy_adam``: SparseAdam over the (sparse)
    embedding tables, so rows absent from a batch keep their moments untouched, plus Adam for
    the dense layers: the two optimizers MLPerf allows for NCF and the Transformer."""

    def __init__(
        self,
        model: nn.Module,
        *,
        name: str,
        lr: float,
        betas: tuple[float, float],
        eps: float,
    ) -> None:
        sparse_params: list[torch.Tensor] = []
        if name == "lazy_adam":
            for module in model.modules():
                if isinstance(module, nn.Embedding) and module.sparse:
                    sparse_params.append(module.weight)
        elif name != "adam":
            raise TrainingError(f"optimizer must be adam or lazy_adam, not {name!r}")
        sparse_ids = {id(p) for p in sparse_params}
        dense = [p for p in model.parameters() if id(p) not in sparse_ids]
        self.optimizers: list[torch.optim.Optimizer] = [
            torch.optim.Adam(dense, lr=lr, betas=betas, eps=eps)
        ]
        if sparse_params:
            self.optimizers.append(
                torch.optim.SparseAdam(sparse_params, lr=lr, betas=betas, eps=eps)
            )

    def param_groups(self) -> Iterator[dict[str, Any]]:
        for opt in self.optimizers:
            yield from opt.param_groups

    def set_lr(self, lr: float) -> None:
        for group in self.param_groups():
            group["lr"] = lr

    def zero_grad(self) -> None:
        for opt in self.optimizers:
            opt.zero_grad(set_to_none=True)

    def step(self) -> None:
        for opt in self.optimizers:
            opt.step()


class NcfTrainer:
    def __init__(
        self, hyperparameters: Hyperparameters, *, seed: int, dist: DistContext = SINGLE
    ) -> None:
        self.hp = dict(hyperparameters)
        self.seed = seed
        self.dist = dist
        self.gbs = int(self.hp[GLOBAL_BATCH_SIZE])
        self.model: NeuMF | None = None
        self.optimizer: AdamFamily | None = None
        self.data: NcfData | None = None

    def build(self) -> None:
        torch.manual_seed(self.seed)
        name = str(self.hp["opt_name"])
        self.model = NeuMF(N_USERS, N_ITEMS, sparse=name == "lazy_adam")
        self.optimizer = AdamFamily(
            self.model,
            name=name,
            lr=float(self.hp[BASE_LR]),
            betas=(float(self.hp["opt_adam_beta_1"]), float(self.hp["opt_adam_beta_2"])),
            eps=float(self.hp["opt_adam_epsilon"]),
        )

    def load_data(self) -> None:
        self.data = generate_data()

    def train_epoch(self, epoch: int) -> int:
        if self.model is None or self.optimizer is None or self.data is None:
            raise TrainingError("ncf: build() and load_data() must run before training")
        data = self.data
        n_neg = int(self.hp["train_negative_samples"])
        # Identical on every rank: negatives and order come from the run seed and the epoch.
        rng = np.random.default_rng([self.seed, epoch])
        pos = len(data.train_users)
        users = np.concatenate([data.train_users, np.tile(data.train_users, n_neg)])
        items = np.concatenate([data.train_items, rng.integers(0, N_ITEMS, size=pos * n_neg)])
        labels = np.concatenate([np.ones(pos, np.float32), np.zeros(pos * n_neg, np.float32)])
        order = rng.permutation(len(users))
        u_t = torch.from_numpy(users[order])
        i_t = torch.from_numpy(items[order])
        y_t = torch.from_numpy(labels[order])
        steps = len(users) // self.gbs
        lo, hi = shard_range(self.gbs, self.dist.rank, self.dist.world_size)
        self.model.train()
        for step in range(steps):
            a, b = step * self.gbs + lo, step * self.gbs + hi
            self.optimizer.zero_grad()
            loss = nn.functional.binary_cross_entropy_with_logits(
                self.model(u_t[a:b], i_t[a:b]), y_t[a:b]
            )
            loss.backward()  # type: ignore[no-untyped-call]  # torch stubs leave it untyped
            self.dist.allreduce_gradients(self.model)
            self.optimizer.step()
        return steps * self.gbs

    def evaluate(self) -> float:
        if self.model is None or self.data is None:
            raise TrainingError("ncf: build() and load_data() must run before evaluation")
        data = self.data
        lo, hi = shard_range(N_USERS, self.dist.rank, self.dist.world_size)
        cand = np.concatenate([data.test_items[lo:hi, None], data.eval_negatives[lo:hi]], axis=1)
        users = np.repeat(np.arange(lo, hi, dtype=np.int64), cand.shape[1])
        self.model.eval()
        with torch.no_grad():
            scores = self.model(torch.from_numpy(users), torch.from_numpy(cand.reshape(-1)))
        scores = scores.view(hi - lo, cand.shape[1])
        # Rank of the held-out item = how many negatives score strictly higher (ties favour
        # the positive, as in the reference's top-k on the positive-first candidate list).
        rank = (scores[:, 1:] > scores[:, :1]).sum(dim=1)
        hits = float((rank < TOP_K).sum().item())
        total_hits, total = self.dist.sum_counts(hits, float(hi - lo))
        return total_hits / total
