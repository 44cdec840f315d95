"""One registry of MLLOG key names and constant values (training, ruleset 6.1.0).

The names match ``mlperf_logging.mllog.constants`` so code written against either reads the
same; the values are the strings that appear in logs. Two keys used by the official rule files
have no official constant (``lora_rank``, ``evaluation_frequency``); they live here too so that
every key a rule mentions has one spelling in the project.
"""

from __future__ import annotations

from typing import Final

# Event types (the ``event_type`` field; no checker reads it, but we write it faithfully).
INTERVAL_START: Final = "INTERVAL_START"
INTERVAL_END: Final = "INTERVAL_END"
POINT_IN_TIME: Final = "POINT_IN_TIME"
EVENT_TYPES: Final = (INTERVAL_START, INTERVAL_END, POINT_IN_TIME)

# Divisions.
CLOSED: Final = "closed"
OPEN: Final = "open"
DIVISIONS: Final = (CLOSED, OPEN)

# submission_status values.
ONPREM: Final = "onprem"
CLOUD: Final = "cloud"
RESEARCH: Final = "research"
SUBMISSION_STATUSES: Final = (ONPREM, CLOUD, RESEARCH)

# run_stop metadata status values.
SUCCESS: Final = "success"
ABORTED: Final = "aborted"
RUN_STATUSES: Final = (SUCCESS, ABORTED)

# Optimizer names.
ADAGRAD: Final = "adagrad"
ADAM: Final = "adam"
ADAMW: Final = "adamw"
LARS: Final = "lars"
LAZY_ADAM: Final = "lazy_adam"
SGD: Final = "sgd"
LAMB: Final = "lamb"
OPTIMIZERS: Final = (ADAGRAD, ADAM, ADAMW, LARS, LAZY_ADAM, SGD, LAMB)

# Benchmark names: the seven of ruleset 6.1.0 ...
FLUX1: Final = "flux1"
LLAMA31_8B: Final = "llama31_8b"
LLAMA2_70B_LORA: Final = "llama2_70b_lora"
GPT_OSS_20B: Final = "gpt_oss_20b"
DEEPSEEKV3_671B: Final = "deepseekv3_671b"
QWEN35_397B_GRPO: Final = "qwen35_397b_grpo"
DLRMV4: Final = "dlrmv4"
CURRENT_BENCHMARKS: Final = (
    FLUX1,
    LLAMA31_8B,
    LLAMA2_70B_LORA,
    GPT_OSS_20B,
    DEEPSEEKV3_671B,
    QWEN35_397B_GRPO,
    DLRMV4,
)
# ... the retired ones (still valid names for old logs) ...
DLRM_DCNV2: Final = "dlrm_dcnv2"
LLAMA31_405B: Final = "llama31_405b"
GNMT: Final = "gnmt"
MASKRCNN: Final = "maskrcnn"
MINIGO: Final = "minigo"
NCF: Final = "ncf"
RESNET: Final = "resnet"
SSD: Final = "ssd"
RETINANET: Final = "retinanet"
STABLE_DIFFUSION: Final = "stable_diffusion"
TRANSFORMER: Final = "transformer"
RNNT: Final = "rnnt"
UNET3D: Final = "unet3d"
BERT: Final = "bert"
GPT3: Final = "gpt3"
GNN: Final = "gnn"
RGAT: Final = "rgat"
RETIRED_BENCHMARKS: Final = (
    DLRM_DCNV2,
    LLAMA31_405B,
    GNMT,
    MASKRCNN,
    MINIGO,
    NCF,
    RESNET,
    SSD,
    RETINANET,
    STABLE_DIFFUSION,
    TRANSFORMER,
    RNNT,
    UNET3D,
    BERT,
    GPT3,
    GNN,
    RGAT,
)
# ... and mlpace's own scaled-down proxies (not MLPerf benchmarks; our rules only).
MLPACE_DIGITS: Final = "mlpace_digits"
MLPACE_NCF: Final = "mlpace_ncf"
MLPACE_TRANSLATION: Final = "mlpace_translation"
MLPACE_DLRM: Final = "mlpace_dlrm"
PROXY_BENCHMARKS: Final = (MLPACE_DIGITS, MLPACE_NCF, MLPACE_TRANSLATION, MLPACE_DLRM)

# Submission info.
SUBMISSION_BENCHMARK: Final = "submission_benchmark"
SUBMISSION_DIVISION: Final = "submission_division"
SUBMISSION_ENTRY: Final = "submission_entry"
SUBMISSION_ORG: Final = "submission_org"
SUBMISSION_PLATFORM: Final = "submission_platform"
SUBMISSION_POC_NAME: Final = "submission_poc_name"
SUBMISSION_POC_EMAIL: Final = "submission_poc_email"
SUBMISSION_STATUS: Final = "submission_status"

# Timing.
INIT_START: Final = "init_start"
INIT_STOP: Final = "init_stop"
RUN_START: Final = "run_start"
RUN_STOP: Final = "run_stop"
BLOCK_START: Final = "block_start"
BLOCK_STOP: Final = "block_stop"
EPOCH_START: Final = "epoch_start"
EPOCH_STOP: Final = "epoch_stop"
EVAL_START: Final = "eval_start"
EVAL_STOP: Final = "eval_stop"
STAGING_START: Final = "staging_start"
STAGING_STOP: Final = "staging_stop"

# Common run info.
CACHE_CLEAR: Final = "cache_clear"
EVAL_ACCURACY: Final = "eval_accuracy"
EVAL_SAMPLES: Final = "eval_samples"
SEED: Final = "seed"
TRAIN_SAMPLES: Final = "train_samples"
TRAINED_SAMPLES: Final = "trained_samples"
WEIGHTS_INITIALIZATION: Final = "weights_initialization"

# Hyperparameters.
GLOBAL_BATCH_SIZE: Final = "global_batch_size"
GRADIENT_ACCUMULATION_STEPS: Final = "gradient_accumulation_steps"
MAX_STEPS: Final = "max_steps"
MAX_SAMPLES: Final = "max_samples"
MAX_SEQUENCE_LENGTH: Final = "max_sequence_length"
NUM_WARMUP_STEPS: Final = "num_warmup_steps"
OPT_NAME: Final = "opt_name"
OPT_BASE_LEARNING_RATE: Final = "opt_base_learning_rate"
OPT_END_LEARNING_RATE: Final = "opt_end_learning_rate"
OPT_LEARNING_RATE_WARMUP_STEPS: Final = "opt_learning_rate_warmup_steps"
OPT_LEARNING_RATE_WARMUP_EPOCHS: Final = "opt_learning_rate_warmup_epochs"
OPT_LEARNING_RATE_WARMUP_FACTOR: Final = "opt_learning_rate_warmup_factor"
OPT_LEARNING_RATE_WARMUP_START_LR: Final = "opt_learning_rate_warmup_start_lr"
OPT_LEARNING_RATE_DECAY_STEPS: Final = "opt_learning_rate_decay_steps"
OPT_LEARNING_RATE_DECAY_SCHEDULE: Final = "opt_learning_rate_decay_schedule"
OPT_LEARNING_RATE_DECAY_FACTOR: Final = "opt_learning_rate_decay_factor"
OPT_LEARNING_RATE_DECAY_BOUNDARY_EPOCHS: Final = "opt_learning_rate_decay_boundary_epochs"
OPT_LEARNING_RATE_DECAY_BOUNDARY_STEPS: Final = "opt_learning_rate_decay_boundary_steps"
OPT_LEARNING_RATE_DECAY_INTERVAL: Final = "opt_learning_rate_decay_interval"
OPT_LEARNING_RATE_DECAY_START_STEP: Final = "opt_learning_rate_decay_start_step"
OPT_LEARNING_RATE_REMAIN_STEPS: Final = "opt_learning_rate_remain_steps"
OPT_LEARNING_RATE_TRAINING_STEPS: Final = "opt_learning_rate_training_steps"
OPT_LEARNING_RATE_ALT_DECAY_FUNC: Final = "opt_learning_rate_alt_decay_func"
OPT_LEARNING_RATE_ALT_WARMUP_FUNC: Final = "opt_learning_rate_alt_warmup_func"
OPT_WEIGHT_DECAY: Final = "opt_weight_decay"
OPT_GRADIENT_CLIP_NORM: Final = "opt_gradient_clip_norm"
OPT_ADAM_BETA_1: Final = "opt_adam_beta_1"
OPT_ADAM_BETA_2: Final = "opt_adam_beta_2"
OPT_ADAM_EPSILON: Final = "opt_adam_epsilon"
OPT_ADAMW_BETA_1: Final = "opt_adamw_beta_1"
OPT_ADAMW_BETA_2: Final = "opt_adamw_beta_2"
OPT_ADAMW_EPSILON: Final = "opt_adamw_epsilon"
OPT_ADAMW_WEIGHT_DECAY: Final = "opt_adamw_weight_decay"
OPT_ADAGRAD_EPSILON: Final = "opt_adagrad_epsilon"
OPT_ADAGRAD_INITIAL_ACCUMULATOR_VALUE: Final = "opt_adagrad_initial_accumulator_value"
OPT_ADAGRAD_LEARNING_RATE_DECAY: Final = "opt_adagrad_learning_rate_decay"
OPT_LAMB_LEARNING_RATE_MIN: Final = "opt_lamb_learning_rate_min"
OPT_LAMB_LEARNING_RATE_DECAY_POLY_POWER: Final = "opt_lamb_learning_rate_decay_poly_power"
OPT_LAMB_WEIGHT_DECAY_RATE: Final = "opt_lamb_weight_decay_rate"
OPT_LAMB_BETA_1: Final = "opt_lamb_beta_1"
OPT_LAMB_BETA_2: Final = "opt_lamb_beta_2"
OPT_LAMB_EPSILON: Final = "opt_lamb_epsilon"
OPT_LAMB_LEARNING_RATE_HOLD_EPOCHS: Final = "opt_lamb_learning_rate_hold_epochs"
LARS_EPSILON: Final = "lars_epsilon"
LARS_OPT_BASE_LEARNING_RATE: Final = "lars_opt_base_learning_rate"
LARS_OPT_END_LEARNING_RATE: Final = "lars_opt_end_learning_rate"
LARS_OPT_LEARNING_RATE_WARMUP_EPOCHS: Final = "lars_opt_learning_rate_warmup_epochs"
LARS_OPT_LEARNING_RATE_DECAY_POLY_POWER: Final = "lars_opt_learning_rate_decay_poly_power"
LARS_OPT_LEARNING_RATE_DECAY_STEPS: Final = "lars_opt_learning_rate_decay_steps"
LARS_OPT_MOMENTUM: Final = "lars_opt_momentum"
LARS_OPT_WEIGHT_DECAY: Final = "lars_opt_weight_decay"
LORA_ALPHA: Final = "lora_alpha"
LORA_RANK: Final = "lora_rank"  # no official constant; used by closed_llama2_70b_lora rules
EVALUATION_FREQUENCY: Final = "evaluation_frequency"  # no official constant; flux1 rules
MOE_AUX_LOSS_COEFF: Final = "moe_aux_loss_coeff"
INIT_CHECKPOINT_STEP: Final = "init_checkpoint_step"
START_WARMUP_STEP: Final = "start_warmup_step"
GENERATION_TRAINING_ROLLOUT_TEMPERATURE: Final = "generation_training_rollout_temperature"
GENERATION_TRAINING_ROLLOUT_TOP_P: Final = "generation_training_rollout_top_p"
GENERATION_VALIDATION_ROLLOUT_TEMPERATURE: Final = "generation_validation_rollout_temperature"
GENERATION_VALIDATION_ROLLOUT_TOP_P: Final = "generation_validation_rollout_top_p"
NUM_GENERATIONS_PER_PROMPT: Final = "num_generations_per_prompt"
NUM_PROMPTS_PER_STEP: Final = "num_prompts_per_step"
OPT_SPARSE_NAME: Final = "opt_sparse_name"
OPT_SPARSE_BASE_LEARNING_RATE: Final = "opt_sparse_base_learning_rate"
EVAL_EVERY_DATA_PCT: Final = "eval_every_data_pct"

# Disclosure keys (mandatory, EXACTLY_ONE, from ruleset 6.1.0 in mlperf-logging 4.1.68).
LOWEST_NUMERICAL_PRECISION_IN_LINEAR: Final = "lowest_numerical_precision_in_linear"
LOWEST_NUMERICAL_PRECISION_IN_ATTN: Final = "lowest_numerical_precision_in_attn"
LOWEST_NUMERICAL_PRECISION_IN_COMM: Final = "lowest_numerical_precision_in_comm"
TENSOR_PARALLELISM: Final = "tensor_parallelism"
PIPELINE_PARALLELISM: Final = "pipeline_parallelism"
CONTEXT_PARALLELISM: Final = "context_parallelism"
EXPERT_PARALLELISM: Final = "expert_parallelism"
MICRO_BATCH_SIZE: Final = "micro_batch_size"
CONFIG_FILENAME: Final = "config_filename"
PRECISION_KEYS: Final = (
    LOWEST_NUMERICAL_PRECISION_IN_LINEAR,
    LOWEST_NUMERICAL_PRECISION_IN_ATTN,
    LOWEST_NUMERICAL_PRECISION_IN_COMM,
)
PARALLELISM_KEYS: Final = (
    TENSOR_PARALLELISM,
    PIPELINE_PARALLELISM,
    CONTEXT_PARALLELISM,
    EXPERT_PARALLELISM,
    MICRO_BATCH_SIZE,
)
DISCLOSURE_KEYS: Final = (*PRECISION_KEYS, *PARALLELISM_KEYS, CONFIG_FILENAME)
# The precision names the 6.1.0 rules accept (mxfp6 is new in 6.1).
PRECISIONS: Final = (
    "fp64",
    "fp32",
    "tf32",
    "fp16",
    "fp8",
    "mxfp6",
    "nvfp4",
    "mxfp4",
    "bfloat16",
    "Graphcore FLOAT 16.16",
    "int8",
    "uint8",
    "int4",
    "uint4",
)

# Metadata keys.
EPOCH_COUNT: Final = "epoch_count"
EPOCH_NUM: Final = "epoch_num"
FIRST_EPOCH_NUM: Final = "first_epoch_num"
STATUS: Final = "status"
STEP_NUM: Final = "step_num"
SAMPLES_COUNT: Final = "samples_count"
METRIC: Final = "metric"

# Power.
POWER_MEASUREMENT_START: Final = "power_measurement_start"
POWER_MEASUREMENT_STOP: Final = "power_measurement_stop"
POWER_READING: Final = "power_reading"
CONVERSION_EFF: Final = "conversion_eff"
INTERCONNECT_POWER_EST: Final = "interconnect_power_est"

# Keys that describe how a run was trained (used by "borrowing" hyperparameters from a log):
# every optimizer/schedule key above plus the batch-size and sequence-shape keys.
HYPERPARAMETER_KEYS: Final = (
    GLOBAL_BATCH_SIZE,
    GRADIENT_ACCUMULATION_STEPS,
    MAX_STEPS,
    MAX_SAMPLES,
    MAX_SEQUENCE_LENGTH,
    NUM_WARMUP_STEPS,
    OPT_NAME,
    OPT_BASE_LEARNING_RATE,
    OPT_END_LEARNING_RATE,
    OPT_LEARNING_RATE_WARMUP_STEPS,
    OPT_LEARNING_RATE_WARMUP_EPOCHS,
    OPT_LEARNING_RATE_WARMUP_FACTOR,
    OPT_LEARNING_RATE_WARMUP_START_LR,
    OPT_LEARNING_RATE_DECAY_STEPS,
    OPT_LEARNING_RATE_DECAY_SCHEDULE,
    OPT_LEARNING_RATE_DECAY_FACTOR,
    OPT_LEARNING_RATE_DECAY_BOUNDARY_EPOCHS,
    OPT_LEARNING_RATE_DECAY_BOUNDARY_STEPS,
    OPT_LEARNING_RATE_DECAY_INTERVAL,
    OPT_LEARNING_RATE_DECAY_START_STEP,
    OPT_LEARNING_RATE_REMAIN_STEPS,
    OPT_LEARNING_RATE_TRAINING_STEPS,
    OPT_LEARNING_RATE_ALT_DECAY_FUNC,
    OPT_LEARNING_RATE_ALT_WARMUP_FUNC,
    OPT_WEIGHT_DECAY,
    OPT_GRADIENT_CLIP_NORM,
    OPT_ADAM_BETA_1,
    OPT_ADAM_BETA_2,
    OPT_ADAM_EPSILON,
    OPT_ADAMW_BETA_1,
    OPT_ADAMW_BETA_2,
    OPT_ADAMW_EPSILON,
    OPT_ADAMW_WEIGHT_DECAY,
    OPT_ADAGRAD_EPSILON,
    OPT_ADAGRAD_INITIAL_ACCUMULATOR_VALUE,
    OPT_ADAGRAD_LEARNING_RATE_DECAY,
    OPT_LAMB_LEARNING_RATE_MIN,
    OPT_LAMB_LEARNING_RATE_DECAY_POLY_POWER,
    OPT_LAMB_WEIGHT_DECAY_RATE,
    OPT_LAMB_BETA_1,
    OPT_LAMB_BETA_2,
    OPT_LAMB_EPSILON,
    OPT_LAMB_LEARNING_RATE_HOLD_EPOCHS,
    LARS_EPSILON,
    LARS_OPT_BASE_LEARNING_RATE,
    LARS_OPT_END_LEARNING_RATE,
    LARS_OPT_LEARNING_RATE_WARMUP_EPOCHS,
    LARS_OPT_LEARNING_RATE_DECAY_POLY_POWER,
    LARS_OPT_LEARNING_RATE_DECAY_STEPS,
    LARS_OPT_MOMENTUM,
    LARS_OPT_WEIGHT_DECAY,
    LORA_ALPHA,
    LORA_RANK,
    EVALUATION_FREQUENCY,
    MOE_AUX_LOSS_COEFF,
    INIT_CHECKPOINT_STEP,
    START_WARMUP_STEP,
    GENERATION_TRAINING_ROLLOUT_TEMPERATURE,
    GENERATION_TRAINING_ROLLOUT_TOP_P,
    GENERATION_VALIDATION_ROLLOUT_TEMPERATURE,
    GENERATION_VALIDATION_ROLLOUT_TOP_P,
    NUM_GENERATIONS_PER_PROMPT,
    NUM_PROMPTS_PER_STEP,
    OPT_SPARSE_NAME,
    OPT_SPARSE_BASE_LEARNING_RATE,
    EVAL_EVERY_DATA_PCT,
    TRAIN_SAMPLES,
    EVAL_SAMPLES,
)

# Init (untimed) budget per division, minutes.
INIT_BUDGET_MINUTES: Final = {CLOSED: 30.0, OPEN: 240.0}

DEFAULT_RULESET: Final = "6.1.0"
