"""Train the DLRM proxy with the harness's fixed seed and write the shipped inference model file.

    python -m mlpace.training.export_dlrm [--out PATH] [--blocks N] [--seed S]

Trains :class:`mlpace.training.proxies.dlrm.DlrmTrainer` with the default hyperparameters for
``N`` evaluation blocks and keeps the weights of the block with the best evaluation AUC (the
model overfits after about one pass). The file (:mod:`mlpace.workloads.models.dlrm`) records
the FP32 reference AUC on the inference data set (the generated ``test`` split the inference
task scores), measured by the NumPy forward pass read back from the written file; the torch
model must agree with it, so a file that would mislead the inference side is never left
behind.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.errors import TrainingError

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "workloads" / "models" / "dlrm_small.npz"
DEFAULT_BLOCKS = 6
#: Rows of the generated test split the inference task runs on (and the reference AUC uses).
INFERENCE_SAMPLES = 16_384


def export(
    out: Path = DEFAULT_OUT, *, seed: int | None = None, blocks: int = DEFAULT_BLOCKS
) -> dict[str, Any]:
    """Train, write ``out``, verify it with NumPy; return the file's metadata."""
    import torch

    from mlpace.training.distributed import SINGLE
    from mlpace.training.proxies import DEFAULT_SEED, DLRM
    from mlpace.training.proxies.dlrm import DlrmTrainer
    from mlpace.workloads.datasets.criteo_synthetic import DATA_SEED, TABLE_SIZES, GeneratedCriteo
    from mlpace.workloads.models.dlrm import DlrmSpec, load_spec, numpy_forward, save_spec

    seed = DEFAULT_SEED if seed is None else seed
    torch.set_num_threads(1)
    hp = DLRM.resolve()
    trainer = DlrmTrainer(hp, seed=seed, dist=SINGLE)
    trainer.build()
    trainer.load_data()
    assert trainer.model is not None
    best_auc, best_block, best = -1.0, 0, trainer.model.to_arrays()
    for block in range(1, blocks + 1):
        trainer.train_epoch(block)
        value = trainer.evaluate()
        print(f"block {block}: eval AUC {value:.4f}", file=sys.stderr)
        if value > best_auc:
            best_auc, best_block, best = value, block, trainer.model.to_arrays()
    test = GeneratedCriteo(INFERENCE_SAMPLES, split="test")
    model = trainer.model
    bottom = [m.out_features for m in model.bottom_mlp if isinstance(m, torch.nn.Linear)]
    top = [m.out_features for m in model.top_mlp if isinstance(m, torch.nn.Linear)]
    meta: dict[str, Any] = {
        "name": "dlrm_small",
        "trained_by": "python -m mlpace.training.export_dlrm",
        "seed": seed,
        "data_seed": DATA_SEED,
        "hyperparameters": dict(hp),
        "samples_trained": best_block * 65_536,
        "eval_auc": round(best_auc, 6),
        "inference_split": "test",
        "inference_samples": INFERENCE_SAMPLES,
    }
    spec = DlrmSpec(
        table_sizes=TABLE_SIZES,
        embedding_dim=model.embedding_dim,
        dense_features=13,
        bottom_mlp=tuple(bottom),
        top_mlp=tuple(top),
        arrays=best,
        metadata=meta,
    )
    save_spec(spec, out)
    # Read back and score with NumPy: the reference AUC is the file's, not the trainer's.
    forward = numpy_forward(load_spec(out))
    scores = forward({"dense": test.dense, "sparse": test.sparse})
    from mlpace.workloads.accuracy.criteo import roc_auc

    ref = roc_auc(test.labels, scores)
    model.load_arrays(best)
    with torch.no_grad():
        t_scores = torch.sigmoid(
            model(torch.from_numpy(test.dense), torch.from_numpy(test.sparse))
        ).numpy()
    if not np.allclose(scores, t_scores, atol=1e-5):
        raise TrainingError("the NumPy forward pass disagrees with the torch model")
    meta["fp32_reference_accuracy"] = round(ref, 6)
    save_spec(spec, out)
    return meta


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mlpace.training.export_dlrm")
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--blocks", type=int, default=DEFAULT_BLOCKS)
    ap.add_argument("--seed", type=int, default=None)
    args = ap.parse_args(argv)
    meta = export(args.out, seed=args.seed, blocks=args.blocks)
    print(
        f"wrote {args.out}: eval AUC {meta['eval_auc']}, reference AUC on the "
        f"{meta['inference_samples']}-sample test split {meta['fp32_reference_accuracy']}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
