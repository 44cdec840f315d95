"""The DLRM training proxy: definition, a learning step, sharded = unsharded under torchrun,
and (slow) a run reaching its AUC target."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import TrainingError
from mlpace.training.proxies import DLRM, get_benchmark

torch = pytest.importorskip("torch")

from mlpace.training.distributed import SINGLE  # noqa: E402
from mlpace.training.proxies.dlrm import DlrmTrainer, load_split  # noqa: E402
from mlpace.training.proxies.dlrm_parallel import local_tables  # noqa: E402

WORKER = Path(__file__).resolve().parent / "dlrm_sharded_worker.py"


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_definition_and_closed_rules() -> None:
    assert get_benchmark("mlpace_dlrm") is DLRM and DLRM.metric == "auc"
    hp = DLRM.resolve()
    assert hp["global_batch_size"] == 2048 and hp["opt_name"] == "adagrad"
    # Square-root scaling: 4x the batch, 2x the learning rate.
    assert DLRM.resolve({"global_batch_size": 8192})["opt_base_learning_rate"] == pytest.approx(
        2 * 0.015
    )
    assert DLRM.resolve(world_size=2)["global_batch_size"] == 4096
    with pytest.raises(TrainingError, match="closed division does not allow changing"):
        DLRM.resolve({"opt_adagrad_epsilon": 1e-6})
    with pytest.raises(TrainingError, match="opt_name must be one of adagrad"):
        DLRM.resolve({"opt_name": "sgd"}, division="open")


def test_round_robin_shards_cover_every_table_once() -> None:
    shards = [local_tables(26, r, 3) for r in range(3)]
    assert sorted(t for s in shards for t in s) == list(range(26))
    assert [len(s) for s in shards] == [9, 9, 8]


def test_steps_lower_the_loss_and_touch_only_looked_up_rows() -> None:
    hp = DLRM.resolve({"global_batch_size": 256})
    trainer = DlrmTrainer(hp, seed=1, dist=SINGLE)
    trainer.build()
    assert trainer.model is not None
    y, d, s = (torch.from_numpy(a) for a in load_split("train", 256))
    before = trainer.model.tables[2].weight.detach().clone()
    losses = [trainer.step(d, s, y) for _ in range(8)]
    assert losses[-1] < losses[0] - 0.02
    changed = (trainer.model.tables[2].weight.detach() != before).any(dim=1)
    looked_up = torch.zeros(before.shape[0], dtype=torch.bool)
    looked_up[s[:, 2]] = True
    assert torch.equal(changed, looked_up)  # row-sparse Adagrad: untouched rows stay put


def _torchrun() -> list[str]:
    exe = shutil.which("torchrun")
    return [exe] if exe is not None else [sys.executable, "-m", "torch.distributed.run"]


def test_sharded_tables_train_exactly_like_one_process(tmp_path: Path) -> None:
    """Two ranks (tables sharded, MLPs data parallel, all-to-all) = the single-process model."""
    out = tmp_path / "sharded.npz"
    env = dict(os.environ, OMP_NUM_THREADS="1")
    for var in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        env.pop(var, None)
    cmd = [*_torchrun(), "--standalone", "--nproc_per_node", "2", str(WORKER), str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    sharded = np.load(out)
    assert sharded["owned"].tolist() == list(range(0, 26, 2))  # rank 0's tables

    # The same steps in one process on the plain model.
    hp = DLRM.resolve({"global_batch_size": 64})
    trainer = DlrmTrainer(hp, seed=7, dist=SINGLE)
    trainer.build()
    assert trainer.model is not None
    y, d, s = (torch.from_numpy(a) for a in load_split("train", 256))
    initial = trainer.model.to_arrays()
    for k in range(4):
        trainer.step(d[k * 64 : (k + 1) * 64], s[k * 64 : (k + 1) * 64], y[k * 64 : (k + 1) * 64])
    single = trainer.model.to_arrays()
    for name, value in single.items():
        np.testing.assert_allclose(sharded[name], value, atol=2e-6, err_msg=name)
    # ... and the steps did move every part of the model (the equality is not vacuous).
    assert all(not np.array_equal(initial[n], single[n]) for n in ("emb_1", "emb_2", "top_w0"))
    _, ed, es = load_split("eval", 100)
    np.testing.assert_allclose(
        sharded["scores"], trainer.scores(torch.from_numpy(ed), torch.from_numpy(es)), atol=2e-6
    )


@pytest.mark.slow
def test_a_run_reaches_the_auc_target(tmp_path: Path) -> None:
    from mlpace.training.harness import run_benchmark
    from mlpace.training.mllog import parse_mllog

    record = run_benchmark("dlrm", seed=11, log_path=tmp_path / "r.txt", threads=1)
    assert record.success and record.final_metric >= 0.745
    assert record.epochs <= 8
    keys = [r.key for r in parse_mllog(tmp_path / "r.txt")]
    # Data generation is on the clock: run_start comes before the first block.
    assert keys.index("run_start") < keys.index("block_start")
