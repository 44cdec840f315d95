"""``dlrm``: DLRM on generated Criteo-like click logs, trained to an AUC target.

Data: :mod:`mlpace.workloads.datasets.criteo_synthetic` from its fixed data seed (every run
sees the same data; the run seed drives initialisation and order): ``TRAIN_SAMPLES`` training
rows, and an evaluation split of ``EVAL_SAMPLES`` rows scored by ROC AUC, as MLPerf's DLRM is.
Generation happens after ``run_start`` (on the clock), as reading Criteo would.

Model: :class:`mlpace.workloads.models.dlrm_torch.DLRM`; optimizer Adagrad over everything
(the embedding tables with row-sparse gradients, so a step touches only the rows its batch
looked up), MLPerf's ``dlrm_dcnv2`` choice, with its logged keys.

Parallelism: one process trains the plain model; under ``torchrun`` with world size > 1 the
tables are sharded across ranks and the MLPs run data parallel
(:mod:`mlpace.training.proxies.dlrm_parallel`); the updates equal the single-process ones.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mlpace.errors import TrainingError
from mlpace.training.distributed import SINGLE, DistContext
from mlpace.training.proxies.base import BASE_LR, GLOBAL_BATCH_SIZE, Hyperparameters, shard_range
from mlpace.workloads.models.dlrm_torch import DLRM

TRAIN_SAMPLES = 262_144
EVAL_SAMPLES = 32_768
# Evaluate every quarter pass over the data: like MLPerf's DLRM (which evaluates at fractions of
# its single epoch), the model peaks within about one pass and then overfits the long tail.
BLOCK_SAMPLES = 65_536
EVAL_CHUNK = 8192


def load_split(split: str, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels float32, dense float32 [n, 13], sparse int64 [n, 26]) of a generated split."""
    from mlpace.workloads.datasets.criteo_synthetic import generate, preprocess

    labels, dense, sparse = preprocess(generate(n, split=split))
    return labels.astype(np.float32), dense, sparse


def build_dlrm(seed: int, *, sparse_grad: bool = True) -> DLRM:
    from mlpace.workloads.datasets.criteo_synthetic import TABLE_SIZES

    return DLRM(TABLE_SIZES, sparse_grad=sparse_grad, seed=seed)


def make_optimizer(params: Any, hp: Hyperparameters) -> torch.optim.Optimizer:
    name = str(hp["opt_name"])
    if name != "adagrad":
        raise TrainingError(f"dlrm: opt_name must be adagrad, not {name!r}")
    return torch.optim.Adagrad(
        params,
        lr=float(hp[BASE_LR]),
        initial_accumulator_value=float(hp["opt_adagrad_initial_accumulator_value"]),
        eps=float(hp["opt_adagrad_epsilon"]),
        lr_decay=float(hp["opt_adagrad_learning_rate_decay"]),
        weight_decay=float(hp["opt_weight_decay"]),
    )


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    from mlpace.workloads.accuracy.criteo import roc_auc

    return roc_auc(labels, scores)


class DlrmTrainer:
    def __init__(
        self, hyperparameters: Hyperparameters, *, seed: int, dist: DistContext = SINGLE
    ) -> None:
        self.hp = dict(hyperparameters)
        self.seed = seed
        self.dist = dist
        self.gbs = int(self.hp[GLOBAL_BATCH_SIZE])
        self.model: DLRM | None = None
        self.sharded: Any = None  # ShardedDLRM under torchrun
        self.optimizer: torch.optim.Optimizer | None = None
        self.train: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self.eval: tuple[np.ndarray, torch.Tensor, torch.Tensor] | None = None

    def build(self) -> None:
        # Adagrad builds row-sparse tensors from our own gradients; say so explicitly (torch
        # warns once per process otherwise).
        torch.sparse.check_sparse_tensor_invariants.disable()  # type: ignore[no-untyped-call]
        self.model = build_dlrm(self.seed)
        if self.dist.active:
            from mlpace.training.proxies.dlrm_parallel import ShardedDLRM

            self.sharded = ShardedDLRM(self.model, self.dist)
            self.optimizer = make_optimizer(self.sharded.parameters(), self.hp)
        else:
            self.optimizer = make_optimizer(self.model.parameters(), self.hp)

    def load_data(self) -> None:
        y, d, s = load_split("train", TRAIN_SAMPLES)
        self.train = (torch.from_numpy(y), torch.from_numpy(d), torch.from_numpy(s))
        ey, ed, es = load_split("eval", EVAL_SAMPLES)
        self.eval = (ey, torch.from_numpy(ed), torch.from_numpy(es))

    def step(self, dense: torch.Tensor, sparse: torch.Tensor, labels: torch.Tensor) -> float:
        """One update on a global batch (every rank passes the whole batch; each uses its slice)."""
        if self.model is None or self.optimizer is None:
            raise TrainingError("dlrm: build() must run before training")
        self.optimizer.zero_grad(set_to_none=True)
        if self.sharded is not None:
            lo, hi = shard_range(labels.shape[0], self.dist.rank, self.dist.world_size)
            logits = self.sharded(dense[lo:hi], sparse)
            loss = nn.functional.binary_cross_entropy_with_logits(logits, labels[lo:hi])
            loss.backward()  # type: ignore[no-untyped-call]  # torch stubs leave it untyped
            self.sharded.allreduce_dense_gradients()
        else:
            loss = nn.functional.binary_cross_entropy_with_logits(self.model(dense, sparse), labels)
            loss.backward()  # type: ignore[no-untyped-call]
        self.optimizer.step()
        return float(loss.item())

    def train_epoch(self, epoch: int) -> int:
        """Train block ``epoch`` (``BLOCK_SAMPLES`` rows; blocks walk through passes over the
        data, each pass in its own order)."""
        if self.train is None:
            raise TrainingError("dlrm: load_data() must run before training")
        labels, dense, sparse = self.train
        per_pass = len(labels) // BLOCK_SAMPLES
        pass_no, block = divmod(epoch - 1, per_pass)
        # The same order on every rank: from the run seed and the pass.
        order = np.random.default_rng([self.seed, pass_no]).permutation(len(labels))
        rows = torch.from_numpy(order[block * BLOCK_SAMPLES : (block + 1) * BLOCK_SAMPLES])
        steps = BLOCK_SAMPLES // self.gbs
        assert self.model is not None
        (self.sharded or self.model).train()
        for step in range(steps):
            idx = rows[step * self.gbs : (step + 1) * self.gbs]
            self.step(dense[idx], sparse[idx], labels[idx])
        return steps * self.gbs

    def scores(self, dense: torch.Tensor, sparse: torch.Tensor) -> np.ndarray:
        """Click probabilities of a batch (every rank gets them all when sharded)."""
        assert self.model is not None
        with torch.no_grad():
            if self.sharded is None:
                return torch.sigmoid(self.model(dense, sparse)).numpy()
            lo, hi = shard_range(dense.shape[0], self.dist.rank, self.dist.world_size)
            mine = torch.sigmoid(self.sharded(dense[lo:hi], sparse))
            import torch.distributed as tdist

            parts = [
                torch.empty(b - a)
                for a, b in (
                    shard_range(dense.shape[0], r, self.dist.world_size)
                    for r in range(self.dist.world_size)
                )
            ]
            tdist.all_gather(parts, mine.contiguous())
            return torch.cat(parts).numpy()

    def evaluate(self) -> float:
        if self.eval is None or self.model is None:
            raise TrainingError("dlrm: build() and load_data() must run before evaluation")
        labels, dense, sparse = self.eval
        (self.sharded or self.model).eval()
        out = [
            self.scores(dense[a : a + EVAL_CHUNK], sparse[a : a + EVAL_CHUNK])
            for a in range(0, len(labels), EVAL_CHUNK)
        ]
        return auc(labels, np.concatenate(out))
