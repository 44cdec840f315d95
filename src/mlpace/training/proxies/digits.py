"""``digits``: a small CNN on the scikit-learn handwritten digits (the vision proxy).

The data are the real UCI digits that ship inside scikit-learn (1797 images, 8x8 pixels,
16 gray levels), so nothing downloads. The validation set is a fixed split that does not
depend on the run seed (every run, and the inference side, must see the same images): the
last 360 positions of ``numpy.random.default_rng(0).permutation(1797)``. A seeded random split
rather than "the last 360 images" because the file is ordered by writer, and the last writers
are systematically harder; a random split measures the model, not the writer shift.

Model (1,898 parameters, 7.6 KB in fp32):
conv(1->8, 3x3, pad 1) ReLU maxpool2 -> conv(8->16, 3x3, pad 1) ReLU maxpool2 -> flatten(64)
-> linear(64->10). Input pixels are divided by 16.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from mlpace.errors import DatasetError, TrainingError
from mlpace.training.distributed import SINGLE, DistContext
from mlpace.training.proxies.base import BASE_LR, GLOBAL_BATCH_SIZE, Hyperparameters, shard_range

N_IMAGES = 1797
N_VALIDATION = 360
N_TRAIN = N_IMAGES - N_VALIDATION
SPLIT_SEED = 0
PIXEL_SCALE = 16.0
SPLIT_DEFINITION = (
    "sklearn.datasets.load_digits(); perm = numpy.random.default_rng(0).permutation(1797); "
    "validation = sorted(perm[1437:]), train = sorted(perm[:1437])"
)


def split_indices() -> tuple[
    np.ndarray[Any, np.dtype[np.int64]], np.ndarray[Any, np.dtype[np.int64]]
]:
    """(train, validation) image indices of the fixed split, each sorted ascending."""
    perm = np.random.default_rng(SPLIT_SEED).permutation(N_IMAGES).astype(np.int64)
    return np.sort(perm[:N_TRAIN]), np.sort(perm[N_TRAIN:])


def load_digits_arrays() -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """All 1797 images as (N, 8, 8) float pixels 0..16 and their labels. Touches the data."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    images = np.asarray(bunch.images, dtype=np.float32)
    labels = np.asarray(bunch.target, dtype=np.int64)
    if images.shape != (N_IMAGES, 8, 8):
        raise DatasetError(f"scikit-learn digits have shape {images.shape}, expected (1797, 8, 8)")
    return images, labels


def build_model() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(64, 10),
    )


class DigitsTrainer:
    """SGD with momentum; constant learning rate after an optional linear warmup in epochs."""

    def __init__(
        self, hyperparameters: Hyperparameters, *, seed: int, dist: DistContext = SINGLE
    ) -> None:
        self.hp = dict(hyperparameters)
        self.seed = seed
        self.dist = dist
        self.gbs = int(self.hp[GLOBAL_BATCH_SIZE])
        self.model: nn.Sequential | None = None
        self.optimizer: torch.optim.SGD | None = None
        self._data: tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor] | None = None
        self._step = 0

    def build(self) -> None:
        # Import the loader's library now: importing code is initialisation, not data access.
        import sklearn.datasets  # noqa: F401

        torch.manual_seed(self.seed)
        self.model = build_model()
        self.optimizer = torch.optim.SGD(
            self.model.parameters(),
            lr=float(self.hp[BASE_LR]),
            momentum=float(self.hp["opt_sgd_momentum"]),
            weight_decay=float(self.hp["opt_weight_decay"]),
        )

    def load_data(self) -> None:
        images, labels = load_digits_arrays()
        train, val = split_indices()
        x = torch.from_numpy(images / PIXEL_SCALE).unsqueeze(1)
        y = torch.from_numpy(labels)
        self._data = (x[train], y[train], x[val], y[val])

    def _lr(self, epoch: int, step_in_epoch: int, steps_per_epoch: int) -> float:
        base = float(self.hp[BASE_LR])
        warmup = int(self.hp["opt_learning_rate_warmup_epochs"])
        if warmup <= 0 or epoch > warmup:
            return base
        done = (epoch - 1) + (step_in_epoch + 1) / steps_per_epoch
        return base * done / warmup

    def train_epoch(self, epoch: int) -> int:
        if self.model is None or self.optimizer is None or self._data is None:
            raise TrainingError("digits: build() and load_data() must run before training")
        x_tr, y_tr, _, _ = self._data
        # Same permutation on every rank (seeded by run seed and epoch); each rank then takes
        # its contiguous shard of every global batch.
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        perm = torch.randperm(len(x_tr), generator=gen)
        steps = len(x_tr) // self.gbs  # drop the ragged last batch: shards must be equal
        lo, hi = shard_range(self.gbs, self.dist.rank, self.dist.world_size)
        self.model.train()
        for step in range(steps):
            idx = perm[step * self.gbs + lo : step * self.gbs + hi]
            for group in self.optimizer.param_groups:
                group["lr"] = self._lr(epoch, step, steps)
            self.optimizer.zero_grad(set_to_none=True)
            loss = nn.functional.cross_entropy(self.model(x_tr[idx]), y_tr[idx])
            loss.backward()  # type: ignore[no-untyped-call]  # torch stubs leave it untyped
            self.dist.allreduce_gradients(self.model)
            self.optimizer.step()
            self._step += 1
        return steps * self.gbs

    def evaluate(self) -> float:
        if self.model is None or self._data is None:
            raise TrainingError("digits: build() and load_data() must run before evaluation")
        _, _, x_va, y_va = self._data
        lo, hi = shard_range(len(x_va), self.dist.rank, self.dist.world_size)
        self.model.eval()
        with torch.no_grad():
            correct = float((self.model(x_va[lo:hi]).argmax(1) == y_va[lo:hi]).sum().item())
        total_correct, total = self.dist.sum_counts(correct, float(hi - lo))
        return total_correct / total
