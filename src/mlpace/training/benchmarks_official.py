"""The MLPerf Training benchmarks of ruleset 6.1.0 as frozen data (reference §5), plus the run
counts of retired benchmarks (still needed to score old result folders)."""

from __future__ import annotations

from dataclasses import dataclass

from mlpace.errors import TrainingError
from mlpace.training import constants as C


@dataclass(frozen=True)
class OfficialBenchmark:
    name: str  # the log name (submission_benchmark, results folder)
    model: str
    dataset: str
    metric: str
    quality_target: float
    higher_is_better: bool
    eval_cadence: str
    runs_required: int
    max_dropped: int = 1  # runs dropped at each end by olympic scoring
    convergence_key: str = "samples to converge"  # the RCP list name

    def target_reached(self, value: float) -> bool:
        if value != value:  # NaN never reaches a target
            return False
        if self.higher_is_better:
            # qwen's rule is a strict '>' (pass@4 > 0.69); AUC and others are '>='.
            if self.name == C.QWEN35_397B_GRPO:
                return value > self.quality_target
            return value >= self.quality_target
        return 0.0 < value <= self.quality_target

    @property
    def target_text(self) -> str:
        op = ">" if self.name == C.QWEN35_397B_GRPO else (">=" if self.higher_is_better else "<=")
        return f"{self.metric} {op} {self.quality_target}"


BENCHMARKS_6_1_0: tuple[OfficialBenchmark, ...] = (
    OfficialBenchmark(
        C.FLUX1,
        "FLUX.1 text-to-image (11.9B)",
        "CC12M subset (train), COCO-2014 30k subset (validation)",
        "validation loss",
        0.586,
        False,
        "every 262,144 samples, rounded up to a multiple of the global batch size",
        10,
    ),
    OfficialBenchmark(
        C.LLAMA31_8B,
        "Llama 3.1 8B pretraining (NeMo)",
        "C4 en 3.0.1, sequence length 8192",
        "log perplexity",
        3.3,
        False,
        "every 12,288 sequences; 1024 evaluation sequences",
        10,
        convergence_key="Epochs to converge",
    ),
    OfficialBenchmark(
        C.LLAMA2_70B_LORA,
        "Llama 2 70B LoRA fine-tuning",
        "SCROLLS GovReport",
        "eval loss",
        0.925,
        False,
        "every 384 sequences; the first floor(0.125*GBS+2) evaluations are skipped",
        10,
    ),
    OfficialBenchmark(
        C.GPT_OSS_20B,
        "GPT-OSS 20B MoE pretraining (Primus)",
        "C4, sequence length 8192",
        "log perplexity",
        3.34,
        False,
        "every 12,288 sequences",
        10,
        convergence_key="Epochs to converge",
    ),
    OfficialBenchmark(
        C.DEEPSEEKV3_671B,
        "DeepSeek-V3 671B MoE pretraining (NeMo)",
        "C4, sequence length 4096",
        "log perplexity",
        3.6,
        False,
        "every step after a first-evaluation offset of GBS*floor(42 + 24576/GBS) samples",
        3,
        convergence_key="Epochs to converge",
    ),
    OfficialBenchmark(
        C.QWEN35_397B_GRPO,
        "Qwen3.5-397B-A17B RLVR/GRPO post-training (NeMo-RL)",
        "R2E-Gym SWE tasks (685 train / 256 validation)",
        "pass@4",
        0.69,
        True,
        "every step after the first validation at GBS*ceil(2.5 + 3840/GBS) samples",
        3,
        convergence_key="Epochs to converge",
    ),
    OfficialBenchmark(
        C.DLRMV4,
        "HSTU sequential recommender",
        "Yambda-5b",
        "AUC",
        0.75,
        True,
        "every 0.1% of the 2,290,835,423 training samples",
        10,
        convergence_key="Epochs to converge",
    ),
)

BY_NAME: dict[str, OfficialBenchmark] = {b.name: b for b in BENCHMARKS_6_1_0}

# Runs required (and max_dropped where it is not 1) of retired benchmarks.
RETIRED_RUNS: dict[str, int] = {
    C.LLAMA31_405B: 3,
    C.GPT3: 3,
    C.BERT: 10,
    C.DLRM_DCNV2: 10,
    C.RESNET: 5,
    C.SSD: 5,
    C.RETINANET: 5,
    C.MASKRCNN: 5,
    C.UNET3D: 40,
    C.STABLE_DIFFUSION: 10,
    C.RGAT: 10,
    C.GNN: 10,
    C.RNNT: 10,
    C.MINIGO: 10,
    C.NCF: 10,
    C.GNMT: 10,
    C.TRANSFORMER: 10,
}
RETIRED_MAX_DROPPED: dict[str, int] = {C.UNET3D: 4}


def get_official(name: str) -> OfficialBenchmark:
    try:
        return BY_NAME[name]
    except KeyError:
        raise TrainingError(
            f"{name!r} is not a benchmark of training 6.1.0; choose one of {', '.join(BY_NAME)}"
        ) from None


def runs_required(name: str) -> int:
    """How many result files a benchmark folder must hold (official, retired or proxy)."""
    if name in BY_NAME:
        return BY_NAME[name].runs_required
    if name in RETIRED_RUNS:
        return RETIRED_RUNS[name]
    from mlpace.training.proxies import get_benchmark

    return get_benchmark(name).runs_required


def max_dropped(name: str) -> int:
    """Runs dropped at each end of the olympic mean (1; 4 for unet3d)."""
    if name in BY_NAME:
        return BY_NAME[name].max_dropped
    return RETIRED_MAX_DROPPED.get(name, 1)
