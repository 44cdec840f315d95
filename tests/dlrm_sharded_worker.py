"""Run by torchrun from tests/test_dlrm_training.py: a few sharded DLRM steps, weights saved.

Every rank trains with its tables sharded and the MLPs data parallel; rank 0 gathers every
table and writes the weights and the evaluation scores to the .npz named on the command line.
"""

from __future__ import annotations

import sys

import numpy as np
import torch

from mlpace.training.distributed import init_from_env, shutdown
from mlpace.training.proxies import DLRM
from mlpace.training.proxies.dlrm import DlrmTrainer, load_split

BATCH = 64
STEPS = 4


def main(out: str) -> None:
    torch.set_num_threads(1)
    ctx = init_from_env()
    hp = DLRM.resolve({"global_batch_size": BATCH}, world_size=ctx.world_size)
    trainer = DlrmTrainer(hp, seed=7, dist=ctx)
    trainer.build()
    y, d, s = (torch.from_numpy(a) for a in load_split("train", BATCH * STEPS))
    losses = [
        trainer.step(d[k * BATCH : (k + 1) * BATCH], s[k * BATCH : (k + 1) * BATCH],
                     y[k * BATCH : (k + 1) * BATCH])
        for k in range(STEPS)
    ]  # fmt: skip
    _, ed, es = load_split("eval", 100)
    scores = trainer.scores(torch.from_numpy(ed), torch.from_numpy(es))
    tables = trainer.sharded.gather_tables()
    assert trainer.model is not None
    if ctx.is_main:
        arrays = {f"emb_{t}": w.numpy() for t, w in tables.items()}
        mlp = {k: v for k, v in trainer.model.to_arrays().items() if not k.startswith("emb_")}
        np.savez(out, scores=scores, losses=np.asarray(losses), owned=np.asarray(
            trainer.sharded.owned), **arrays, **mlp)  # fmt: skip
    shutdown(ctx)


if __name__ == "__main__":
    main(sys.argv[1])
