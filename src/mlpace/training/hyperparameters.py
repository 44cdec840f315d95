"""Closed-division hyperparameter rules and hyperparameter "borrowing".

Which hyperparameters a closed-division run may change:

* the classic benchmarks of MLPerf v0.5 (dissertation Fig. 3.5): every SGD model may change the
  batch size and the learning-rate schedule parameters; SSD also the maximum samples per
  training patch, Mask R-CNN the number of image candidates; GNMT the learning-rate decay
  function, learning rate, decay start and interval, warmup function and steps; Transformer the
  optimizer (Adam or Lazy Adam), learning rate and warmup steps; NCF the optimizer (Adam or
  Lazy Adam), learning rate and the two Adam betas; MiniGo nothing;
* the 6.1.0 benchmarks: the keys their closed rule files require without pinning a value
  (values pinned or derived by formula are checked by the rule engine itself);
* mlpace's proxies: their registry (``closed_modifiable``).

Borrowing (review-period practice): a submitter may adopt another run's hyperparameters and
re-run; :func:`borrow` extracts them from that run's MLLOG file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.checker.findings import ERROR, Finding
from mlpace.training.mllog import TOKEN, MLLogRecord, ParsedLog, read_mllog

_SGD_SCHEDULE = frozenset(
    {
        C.GLOBAL_BATCH_SIZE,
        C.OPT_BASE_LEARNING_RATE,
        C.OPT_END_LEARNING_RATE,
        C.OPT_LEARNING_RATE_WARMUP_EPOCHS,
        C.OPT_LEARNING_RATE_WARMUP_STEPS,
        C.OPT_LEARNING_RATE_WARMUP_FACTOR,
        C.OPT_LEARNING_RATE_DECAY_BOUNDARY_EPOCHS,
        C.OPT_LEARNING_RATE_DECAY_BOUNDARY_STEPS,
        C.OPT_LEARNING_RATE_DECAY_FACTOR,
        C.OPT_LEARNING_RATE_DECAY_STEPS,
    }
)

# Closed-division modifiable hyperparameters, by log name.
CLOSED_MODIFIABLE: dict[str, frozenset[str]] = {
    # Fig. 3.5 (MLPerf v0.5).
    C.RESNET: _SGD_SCHEDULE,
    C.SSD: _SGD_SCHEDULE | {C.MAX_SAMPLES},
    C.MASKRCNN: _SGD_SCHEDULE | {"num_image_candidates"},
    C.GNMT: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_LEARNING_RATE_ALT_DECAY_FUNC,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_LEARNING_RATE_DECAY_START_STEP,
            C.OPT_LEARNING_RATE_DECAY_INTERVAL,
            C.OPT_LEARNING_RATE_ALT_WARMUP_FUNC,
            C.OPT_LEARNING_RATE_WARMUP_STEPS,
        }
    ),
    C.TRANSFORMER: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_NAME,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_LEARNING_RATE_WARMUP_STEPS,
        }
    ),
    C.NCF: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_NAME,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_ADAM_BETA_1,
            C.OPT_ADAM_BETA_2,
        }
    ),
    C.MINIGO: frozenset(),
    # Ruleset 6.1.0 closed rule files: required but not pinned.
    C.LLAMA2_70B_LORA: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_LEARNING_RATE_TRAINING_STEPS,
            C.OPT_GRADIENT_CLIP_NORM,
            C.OPT_ADAMW_WEIGHT_DECAY,
            C.GRADIENT_ACCUMULATION_STEPS,
            C.LORA_ALPHA,
        }
    ),
    C.LLAMA31_8B: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_END_LEARNING_RATE,
            C.OPT_LEARNING_RATE_WARMUP_STEPS,
            C.GRADIENT_ACCUMULATION_STEPS,
        }
    ),
    C.GPT_OSS_20B: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_END_LEARNING_RATE,
            C.OPT_LEARNING_RATE_WARMUP_STEPS,
            C.GRADIENT_ACCUMULATION_STEPS,
        }
    ),
    C.DEEPSEEKV3_671B: frozenset({C.GLOBAL_BATCH_SIZE, C.MAX_STEPS, C.GRADIENT_ACCUMULATION_STEPS}),
    C.FLUX1: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_LEARNING_RATE_WARMUP_STEPS,
            C.GRADIENT_ACCUMULATION_STEPS,
        }
    ),
    C.QWEN35_397B_GRPO: frozenset(
        {C.GLOBAL_BATCH_SIZE, C.NUM_PROMPTS_PER_STEP, C.MAX_STEPS, C.GRADIENT_ACCUMULATION_STEPS}
    ),
    C.DLRMV4: frozenset(
        {
            C.GLOBAL_BATCH_SIZE,
            C.OPT_BASE_LEARNING_RATE,
            C.OPT_SPARSE_BASE_LEARNING_RATE,
            C.GRADIENT_ACCUMULATION_STEPS,
        }
    ),
}

# Allowed values of string hyperparameters where the rules name them.
CLOSED_CHOICES: dict[str, dict[str, tuple[str, ...]]] = {
    C.TRANSFORMER: {C.OPT_NAME: (C.ADAM, C.LAZY_ADAM)},
    C.NCF: {C.OPT_NAME: (C.ADAM, C.LAZY_ADAM)},
}

# A closed-compliant hyperparameter set per 6.1.0 benchmark (global_batch_size first), used by
# the synthetic-log generator and as the reference for "not modifiable" comparisons.
REFERENCE_CLOSED: dict[str, dict[str, Any]] = {
    C.LLAMA2_70B_LORA: {
        C.GLOBAL_BATCH_SIZE: 8,
        C.GRADIENT_ACCUMULATION_STEPS: 1,
        C.OPT_BASE_LEARNING_RATE: 4e-4,
        C.OPT_LEARNING_RATE_TRAINING_STEPS: 1024,
        C.OPT_GRADIENT_CLIP_NORM: 0.3,
        C.OPT_ADAMW_WEIGHT_DECAY: 1e-4,
        C.LORA_ALPHA: 32,
        C.LORA_RANK: 16,
    },
    C.LLAMA31_8B: {
        C.GLOBAL_BATCH_SIZE: 32,
        C.MAX_SEQUENCE_LENGTH: 8192,
        C.OPT_NAME: C.ADAMW,
        C.OPT_BASE_LEARNING_RATE: 1e-3,
        C.OPT_END_LEARNING_RATE: 1e-4,
        C.OPT_LEARNING_RATE_WARMUP_STEPS: 256,
        C.OPT_LEARNING_RATE_DECAY_STEPS: 1_200_000 - 256,
        C.OPT_LEARNING_RATE_DECAY_SCHEDULE: "cosine with linear warmup",
        C.OPT_ADAMW_BETA_1: 0.9,
        C.OPT_ADAMW_BETA_2: 0.95,
        C.OPT_ADAMW_EPSILON: 1e-5,
        C.OPT_ADAMW_WEIGHT_DECAY: 0.1,
        C.OPT_GRADIENT_CLIP_NORM: 1.0,
        C.GRADIENT_ACCUMULATION_STEPS: 1,
        C.EVAL_SAMPLES: 1024,
        C.MAX_STEPS: 1_200_000,
    },
    C.DEEPSEEKV3_671B: {
        C.GLOBAL_BATCH_SIZE: 16384,
        C.MAX_SEQUENCE_LENGTH: 4096,
        C.OPT_NAME: C.ADAMW,
        C.OPT_BASE_LEARNING_RATE: 2.4e-5,
        C.MAX_STEPS: 12000,
        C.OPT_LEARNING_RATE_WARMUP_STEPS: 4,
        C.OPT_LEARNING_RATE_DECAY_STEPS: 11996,
        C.OPT_LEARNING_RATE_DECAY_SCHEDULE: "cosine with linear warmup",
        C.OPT_ADAMW_BETA_1: 0.9,
        C.OPT_ADAMW_BETA_2: 0.95,
        C.OPT_ADAMW_EPSILON: 1e-8,
        C.OPT_ADAMW_WEIGHT_DECAY: 0.1,
        C.OPT_GRADIENT_CLIP_NORM: 1.0,
        C.MOE_AUX_LOSS_COEFF: 0.01,
        C.GRADIENT_ACCUMULATION_STEPS: 1,
        C.EVAL_SAMPLES: 1024,
    },
    C.FLUX1: {
        C.GLOBAL_BATCH_SIZE: 1024,
        C.EVALUATION_FREQUENCY: 262144,
        C.OPT_NAME: C.ADAMW,
        C.OPT_ADAMW_BETA_1: 0.9,
        C.OPT_ADAMW_BETA_2: 0.95,
        C.OPT_ADAMW_EPSILON: 1e-8,
        C.OPT_ADAMW_WEIGHT_DECAY: 0.1,
        C.OPT_BASE_LEARNING_RATE: 1e-4,
        C.OPT_LEARNING_RATE_WARMUP_STEPS: 0,
        C.OPT_GRADIENT_CLIP_NORM: 1.0,
    },
    C.QWEN35_397B_GRPO: {
        C.GLOBAL_BATCH_SIZE: 256,
        C.MAX_SEQUENCE_LENGTH: 65536,
        C.EVAL_SAMPLES: 251,
        C.INIT_CHECKPOINT_STEP: 0,
        C.MAX_STEPS: 100,
        C.OPT_NAME: C.ADAMW,
        C.OPT_BASE_LEARNING_RATE: 1e-6,
        C.OPT_ADAMW_BETA_1: 0.9,
        C.OPT_ADAMW_BETA_2: 0.999,
        C.OPT_ADAMW_EPSILON: 1e-8,
        C.OPT_ADAMW_WEIGHT_DECAY: 0.0,
        C.OPT_GRADIENT_CLIP_NORM: 0.125,
        C.OPT_LEARNING_RATE_WARMUP_STEPS: 0,
        C.OPT_LEARNING_RATE_DECAY_SCHEDULE: "constant",
        C.GENERATION_TRAINING_ROLLOUT_TEMPERATURE: 1.0,
        C.GENERATION_TRAINING_ROLLOUT_TOP_P: 1.0,
        C.GENERATION_VALIDATION_ROLLOUT_TEMPERATURE: 0.1,
        C.GENERATION_VALIDATION_ROLLOUT_TOP_P: 0.95,
        C.NUM_PROMPTS_PER_STEP: 16,
        C.NUM_GENERATIONS_PER_PROMPT: 16,
    },
    C.DLRMV4: {
        C.GLOBAL_BATCH_SIZE: 8192,
        C.TRAIN_SAMPLES: 2_290_835_423,
        C.EVAL_SAMPLES: 2_058_204,
        C.MAX_SEQUENCE_LENGTH: 4096,
        C.OPT_NAME: "Adam",
        C.OPT_BASE_LEARNING_RATE: 1e-6,
        C.OPT_ADAM_BETA_1: 0.95,
        C.OPT_ADAM_BETA_2: 0.999,
        C.OPT_ADAM_EPSILON: 1e-8,
        C.OPT_WEIGHT_DECAY: 0.0,
        C.OPT_GRADIENT_CLIP_NORM: 1.0,
        C.OPT_SPARSE_NAME: "RowWiseAdagrad",
        C.OPT_SPARSE_BASE_LEARNING_RATE: 1e-6,
        C.OPT_LEARNING_RATE_WARMUP_STEPS: 24000,
        C.OPT_LEARNING_RATE_WARMUP_START_LR: 0.0,
        C.EVAL_EVERY_DATA_PCT: 0.001,
    },
}
REFERENCE_CLOSED[C.GPT_OSS_20B] = dict(REFERENCE_CLOSED[C.LLAMA31_8B])

# Keys that are run bookkeeping rather than training choices: never borrowed.
_NOT_BORROWED = frozenset(
    {
        C.CACHE_CLEAR,
        C.SEED,
        C.INIT_START,
        C.INIT_STOP,
        C.RUN_START,
        C.TRAIN_SAMPLES,
        C.EVAL_SAMPLES,
        C.WEIGHTS_INITIALIZATION,
        *C.DISCLOSURE_KEYS,
        "world_size",
    }
)


def _proxy(name: str) -> Any:
    from mlpace.training.proxies import BENCHMARKS

    for bench in BENCHMARKS.values():
        if name in (bench.name, bench.log_name):
            return bench
    return None


def reference_hyperparameters(benchmark: str) -> dict[str, Any]:
    """A closed-compliant hyperparameter set for ``benchmark`` (empty if we know none)."""
    if benchmark in REFERENCE_CLOSED:
        return dict(REFERENCE_CLOSED[benchmark])
    bench = _proxy(benchmark)
    return dict(bench.defaults) if bench is not None else {}


def closed_modifiable(benchmark: str) -> frozenset[str]:
    """The hyperparameters a closed-division run of ``benchmark`` may change."""
    if benchmark in CLOSED_MODIFIABLE:
        return CLOSED_MODIFIABLE[benchmark]
    bench = _proxy(benchmark)
    if bench is None:
        raise TrainingError(f"no closed-division hyperparameter rules for {benchmark!r}")
    return frozenset(bench.closed_modifiable)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return abs(float(a) - float(b)) <= 1e-9 * max(1.0, abs(float(a)), abs(float(b)))
    return bool(a == b)


def check_closed_hyperparameters(
    benchmark: str,
    hparams: Mapping[str, Any],
    *,
    reference: Mapping[str, Any] | None = None,
    ruleset: str = C.DEFAULT_RULESET,
) -> list[Finding]:
    """Findings for a closed-division hyperparameter set (empty when it is allowed).

    Three layers: the benchmark's closed rule file (exact values, bounds and formulas, with
    ``global_batch_size`` applied first so formulas see it); allowed string choices; and every
    key outside :func:`closed_modifiable` must equal ``reference`` (default: the known
    reference set of the benchmark, if any).
    """
    from mlpace.training.checker.engine import _FileRun
    from mlpace.training.checker.rules import load_ruleset

    findings: list[Finding] = []
    modifiable = closed_modifiable(benchmark)
    ref = dict(reference) if reference is not None else reference_hyperparameters(benchmark)

    rs = load_ruleset(ruleset)
    rule_file = rs.file(f"{C.CLOSED}_{benchmark}")
    if rule_file is not None:
        ordered = sorted(hparams.items(), key=lambda kv: kv[0] != C.GLOBAL_BATCH_SIZE)
        records = tuple(
            MLLogRecord(index=i, line=i + 1, key=k, value=v, metadata={}, time_ms=0.0)
            for i, (k, v) in enumerate(ordered)
        )
        run = _FileRun(rule_file, ParsedLog(path="<hyperparameters>", records=records), {})
        run.run()
        for f in run.findings:
            if f.rule_id.endswith(".req") or f.key == C.EVAL_ACCURACY:
                continue  # presence and the quality target are log matters, not hparams
            findings.append(Finding(f.rule_id, f.severity, f.message, path="", key=f.key))

    choices = dict(CLOSED_CHOICES.get(benchmark, {}))
    bench = _proxy(benchmark)
    if bench is not None:
        choices.update({k: tuple(v) for k, v in bench.choices.items()})
    for key, allowed in choices.items():
        if key in hparams and hparams[key] not in allowed:
            findings.append(
                Finding(
                    f"hyperparameters.{benchmark}.{key}.choice",
                    ERROR,
                    f"{key} = {hparams[key]!r} is not allowed in the closed division; "
                    f"choose one of {', '.join(allowed)}",
                    key=key,
                )
            )
    allowed_text = ", ".join(sorted(modifiable)) or "nothing"
    for key, value in hparams.items():
        if key in modifiable or key not in ref or any(f.key == key for f in findings):
            continue
        if not _same(value, ref[key]):
            findings.append(
                Finding(
                    f"hyperparameters.{benchmark}.{key}.fixed",
                    ERROR,
                    f"{key} = {value!r} differs from the reference {ref[key]!r}, and the closed "
                    f"division of {benchmark} may only change {allowed_text}",
                    key=key,
                )
            )
    return findings


def _hyperparameters_from_records(records: tuple[MLLogRecord, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for rec in records:
        if rec.key == C.RUN_START:
            break  # anything after the clock starts is run output, not configuration
        if rec.key in _NOT_BORROWED or rec.key.startswith("submission_"):
            continue
        if rec.metadata and set(rec.metadata) - {"file", "lineno"}:
            continue  # interval markers and evals carry run metadata
        if isinstance(rec.value, (int, float, str, bool)) and rec.value is not None:
            out[rec.key] = rec.value
    return out


def borrow(from_log: str | Path) -> dict[str, Any]:
    """The hyperparameters another run logged (every scalar key before ``run_start`` that is
    not submission info, seed, cache_clear, dataset sizes or a disclosure key)."""
    parsed = read_mllog(from_log)
    if not parsed.records:
        raise TrainingError(f"{from_log}: no MLLOG lines to borrow hyperparameters from")
    hp = _hyperparameters_from_records(parsed.records)
    if not hp:
        raise TrainingError(f"{from_log}: no hyperparameters logged before run_start")
    return hp


def load_hyperparameters(path: str | Path) -> dict[str, Any]:
    """Hyperparameters from a JSON object file (``{"key": value}``) or from an MLLOG file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="latin-1")
    except OSError as exc:
        raise TrainingError(f"cannot read hyperparameters from {p}: {exc}") from exc
    if TOKEN in text:
        return borrow(p)
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise TrainingError(f"{p}: not JSON and not an MLLOG file ({exc})") from exc
    if not isinstance(data, dict):
        raise TrainingError(f"{p}: expected a JSON object of hyperparameters")
    for key, value in data.items():
        if not isinstance(value, (int, float, str, bool)):
            raise TrainingError(f"{p}: hyperparameter {key!r} must be a scalar, got {value!r}")
    return dict(data)
