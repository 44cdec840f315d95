"""What a proxy benchmark is (torch-free), and what its trainer must do (the harness contract).

A *definition* (:class:`BenchmarkDefinition`) is pure data: name, quality target, eval cadence,
runs required, default hyperparameters, the ones a closed-division run may change, and the
learning-rate scaling rule. It imports nothing heavy, so the CLI can list benchmarks and check
hyperparameters without torch.

A *trainer* (:class:`Trainer`) is the torch side of one run. The harness calls its methods in
the order the timing rules need:

1. ``build()`` — construct the model and optimizer (untimed: before ``init_stop``);
2. ``load_data()`` — first touch of training or validation data (timed: after ``run_start``);
3. ``train_epoch(epoch)`` / ``evaluate()`` alternately until the target is reached.

Trainers never log; the harness owns the MLLOG stream.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from mlpace.errors import TrainingError

if TYPE_CHECKING:
    from mlpace.training.distributed import DistContext

# The harness's fixed seed: used by `export_digits` and as the documented default of tests. Runs
# of `mlpace train` derive their own distinct seeds from a base seed.
DEFAULT_SEED = 0

HyperValue = int | float | str | bool
Hyperparameters = Mapping[str, HyperValue]

GLOBAL_BATCH_SIZE = "global_batch_size"
BASE_LR = "opt_base_learning_rate"


@dataclass(frozen=True)
class BenchmarkDefinition:
    """One proxy benchmark, as the rules see it."""

    name: str  # CLI name: "digits"
    log_name: str  # submission_benchmark value and results folder name: "mlpace_digits"
    description: str
    metric: str  # what eval_accuracy holds: "top1", "hr@10", "bleu"
    quality_target: float
    higher_is_better: bool
    eval_cadence: str  # human wording, for the README and --help
    runs_required: int
    max_epochs: int  # a run that has not converged after this many epochs is aborted
    max_time_s: float  # ... or after this much wall time on the clock
    train_samples: int  # size of one training epoch (logged as train_samples)
    eval_samples: int  # size of the validation set (logged as eval_samples)
    reference_batch_size: int  # the global batch size the default learning rate belongs to
    defaults: Mapping[str, HyperValue]  # every logged hyperparameter, at the reference batch
    closed_modifiable: frozenset[str]  # keys a closed-division run may change
    choices: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # allowed str values
    lr_scaling: str = "linear"  # how the default LR follows the global batch size
    trainer: str = ""  # "module:Class", imported only when a run starts (it needs torch)

    def target_reached(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.higher_is_better:
            return value >= self.quality_target
        return value <= self.quality_target

    def scaled_learning_rate(self, global_batch_size: int, base_lr: float | None = None) -> float:
        """The default learning rate for ``global_batch_size``, by this benchmark's rule.

        Linear scaling (Goyal et al.): the gradient of a k-times larger batch averages k times
        as many samples, so one step may move k times as far.
        """
        lr = float(self.defaults[BASE_LR]) if base_lr is None else base_lr
        ratio = global_batch_size / self.reference_batch_size
        if self.lr_scaling == "linear":
            return lr * ratio
        if self.lr_scaling == "sqrt":
            return lr * math.sqrt(ratio)
        if self.lr_scaling == "none":
            return lr
        raise TrainingError(f"{self.name}: unknown learning-rate scaling rule {self.lr_scaling!r}")

    def resolve(
        self,
        overrides: Hyperparameters | None = None,
        *,
        division: str = "closed",
        world_size: int = 1,
    ) -> dict[str, HyperValue]:
        """The hyperparameters a run uses: defaults, the data-parallel rule, then overrides.

        Without an explicit ``global_batch_size`` each rank keeps the reference batch, so the
        global batch grows with the world size and the learning rate follows by the scaling
        rule (unless the learning rate is given too). In the closed division only
        ``closed_modifiable`` keys may differ from these defaults.
        """
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise TrainingError(
                f"{self.name}: unknown hyperparameter(s) {', '.join(unknown)}; "
                f"known: {', '.join(sorted(self.defaults))}"
            )
        hp: dict[str, HyperValue] = dict(self.defaults)
        gbs = self.reference_batch_size * world_size
        hp[GLOBAL_BATCH_SIZE] = gbs
        hp[BASE_LR] = self.scaled_learning_rate(gbs)
        if GLOBAL_BATCH_SIZE in overrides:
            gbs_value = overrides[GLOBAL_BATCH_SIZE]
            if isinstance(gbs_value, bool) or not isinstance(gbs_value, int | float):
                raise TrainingError(f"{self.name}: global_batch_size must be an integer")
            if int(gbs_value) != gbs_value or gbs_value < 1:
                raise TrainingError(f"{self.name}: global_batch_size must be a positive integer")
            hp[GLOBAL_BATCH_SIZE] = int(gbs_value)
            hp[BASE_LR] = self.scaled_learning_rate(int(gbs_value))
        for key, value in overrides.items():
            if key == GLOBAL_BATCH_SIZE:
                continue
            default = self.defaults[key]
            hp[key] = _coerce(self.name, key, value, default)
            allowed = self.choices.get(key)
            if allowed is not None and hp[key] not in allowed:
                raise TrainingError(
                    f"{self.name}: {key} must be one of {', '.join(allowed)}, not {value!r}"
                )
        if division == "closed":
            fixed = sorted(
                k
                for k in overrides
                if k not in self.closed_modifiable and hp[k] != self.defaults[k]
            )
            if fixed:
                raise TrainingError(
                    f"{self.name}: the closed division does not allow changing "
                    f"{', '.join(fixed)} (closed runs may change only "
                    f"{', '.join(sorted(self.closed_modifiable))}; use --division open)"
                )
        elif division != "open":
            raise TrainingError(f"division must be 'closed' or 'open', not {division!r}")
        if int(hp.get("gradient_accumulation_steps", 1)) != 1:
            # Logged because the closed rules require the key; the proxies do not implement
            # accumulation, so refuse rather than silently train with a different schedule.
            raise TrainingError(f"{self.name}: gradient_accumulation_steps must be 1")
        final_gbs = int(hp[GLOBAL_BATCH_SIZE])
        if final_gbs % world_size:
            raise TrainingError(
                f"{self.name}: global_batch_size {final_gbs} does not split evenly over "
                f"{world_size} ranks"
            )
        if final_gbs > self.train_samples:
            raise TrainingError(
                f"{self.name}: global_batch_size {final_gbs} exceeds the {self.train_samples} "
                "training samples"
            )
        return hp

    def load_trainer_class(self) -> type[Trainer]:
        module_name, _, cls_name = self.trainer.partition(":")
        module = importlib.import_module(module_name)
        cls: type[Trainer] = getattr(module, cls_name)
        return cls


def _coerce(bench: str, key: str, value: HyperValue, default: HyperValue) -> HyperValue:
    """Give an override the type of its default (JSON files and logs blur int/float)."""
    try:
        if isinstance(default, bool):
            if not isinstance(value, bool):
                raise TypeError
            return value
        if isinstance(default, int):
            if isinstance(value, bool) or float(value) != int(float(value)):
                raise TypeError
            return int(float(value))
        if isinstance(default, float):
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        return str(value)
    except (TypeError, ValueError):
        raise TrainingError(
            f"{bench}: hyperparameter {key} must be a {type(default).__name__}, not {value!r}"
        ) from None


class Trainer(Protocol):
    """The torch side of one run (see the module docstring for the call order)."""

    def __init__(
        self, hyperparameters: Hyperparameters, *, seed: int, dist: DistContext
    ) -> None: ...

    def build(self) -> None:
        """Construct model and optimizer. Must not touch training or validation data."""

    def load_data(self) -> None:
        """Load (or generate) the training and validation data: the timed part begins here."""

    def train_epoch(self, epoch: int) -> int:
        """Train one epoch (epochs count from 1); return the global samples it trained on."""
        ...

    def evaluate(self) -> float:
        """The quality metric on the whole validation set, the same value on every rank."""
        ...


def shard_range(n: int, rank: int, world_size: int) -> tuple[int, int]:
    """The contiguous slice [lo, hi) of ``n`` items that ``rank`` owns (sizes differ by <= 1)."""
    base, extra = divmod(n, world_size)
    lo = rank * base + min(rank, extra)
    return lo, lo + base + (1 if rank < extra else 0)
