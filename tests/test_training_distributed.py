"""Data-parallel training: two gloo processes launched by torchrun reach the target together."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from mlpace.training.mllog import parse_mllog

pytest.importorskip("torch")

import torch  # noqa: E402


def _torchrun() -> list[str]:
    exe = shutil.which("torchrun")
    if exe is not None:
        return [exe]
    return [sys.executable, "-m", "torch.distributed.run"]


def test_two_ranks_reach_the_target_with_scaled_lr(tmp_path: Path) -> None:
    env = dict(os.environ, OMP_NUM_THREADS="1")
    env.pop("RANK", None)
    env.pop("WORLD_SIZE", None)
    cmd = [
        *_torchrun(),
        "--standalone",
        "--nproc_per_node",
        "2",
        "-m",
        "mlpace.training",
        "digits",
        "--runs",
        "1",
        "--seed",
        "5",
        "--threads",
        "1",
        "--output",
        str(tmp_path),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr  # 1 run: no olympic score
    bench_dir = tmp_path / "results" / "mlpace_cpu" / "mlpace_digits"
    logs = sorted(bench_dir.glob("result_*.txt"))
    assert [p.name for p in logs] == ["result_0.txt"]
    recs = parse_mllog(logs[0])
    logged = {r.key: r.value for r in recs}
    assert logged["world_size"] == 2
    assert logged["global_batch_size"] == 64  # 32 per rank
    assert logged["micro_batch_size"] == 32
    assert logged["opt_base_learning_rate"] == pytest.approx(0.1)  # 0.05 x 64/32
    assert logged["seed"] == 5
    # Only rank 0 logs: one run_start, one run_stop, one line per eval.
    keys = [r.key for r in recs]
    assert keys.count("run_start") == 1 and keys.count("run_stop") == 1
    assert keys.count("eval_accuracy") == keys.count("block_start")
    assert recs[-1].meta("status") == "success"
    assert [r for r in recs if r.key == "eval_accuracy"][-1].value >= 0.97
    assert "world size 2" in proc.stdout
    assert proc.stdout.count("run 0: seed 5") == 1  # printed by rank 0 alone


def test_gradient_allreduce_matches_the_global_batch() -> None:
    """Two ranks with half a batch each take the same step as one process with the whole batch."""
    import torch.multiprocessing as mp

    ctx = mp.get_context("spawn")
    queue = ctx.SimpleQueue()
    port = _free_port()
    procs = [ctx.Process(target=_allreduce_worker, args=(r, port, queue)) for r in range(2)]
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join(timeout=60)
    grads = {rank: (g, sg) for rank, g, sg in results}
    from mlpace.training.proxies.digits import build_model

    torch.manual_seed(0)
    model = build_model()
    x, y = _batch()
    torch.nn.functional.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
    full = torch.cat([_grad(p) for p in model.parameters()])
    assert torch.allclose(grads[0][0], grads[1][0])
    assert torch.allclose(grads[0][0], full, atol=1e-6)
    # Sparse embedding gradients (lazy Adam) are reduced too, and stay sparse.
    sparse_full = _sparse_grads(_ncf_model(), slice(0, 8))
    assert torch.allclose(grads[0][1], grads[1][1])
    assert torch.allclose(grads[0][1], sparse_full, atol=1e-6)


def _ncf_model() -> torch.nn.Module:
    from mlpace.training.proxies.ncf import NeuMF

    torch.manual_seed(0)
    return NeuMF(20, 30, sparse=True)


def _sparse_grads(model: torch.nn.Module, part: slice, ctx: object = None) -> torch.Tensor:
    g = torch.Generator().manual_seed(2)
    users, items = torch.randint(0, 20, (8,), generator=g), torch.randint(0, 30, (8,), generator=g)
    labels = torch.rand(8, generator=g).round()
    out = model(users[part], items[part])
    loss = torch.nn.functional.binary_cross_entropy_with_logits(out, labels[part])
    loss.backward()  # type: ignore[no-untyped-call]
    if ctx is not None:
        ctx.allreduce_gradients(model)  # type: ignore[attr-defined]
    dense = []
    for module in model.modules():
        if isinstance(module, torch.nn.Embedding):
            assert module.weight.grad is not None and module.weight.grad.is_sparse
    for p in model.parameters():
        assert p.grad is not None
        dense.append(p.grad.to_dense().reshape(-1))
    return torch.cat(dense)


def _grad(p: torch.Tensor) -> torch.Tensor:
    assert p.grad is not None
    return p.grad.reshape(-1)


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(1)
    return torch.rand(8, 1, 8, 8, generator=g), torch.randint(0, 10, (8,), generator=g)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _allreduce_worker(rank: int, port: int, queue: object) -> None:
    import torch.distributed as dist

    from mlpace.training.distributed import DistContext
    from mlpace.training.proxies.base import shard_range
    from mlpace.training.proxies.digits import build_model

    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    ctx = DistContext(rank=rank, world_size=2)
    torch.manual_seed(0)
    model = build_model()
    x, y = _batch()
    lo, hi = shard_range(8, rank, 2)
    torch.nn.functional.cross_entropy(model(x[lo:hi]), y[lo:hi]).backward()  # type: ignore[no-untyped-call]
    ctx.allreduce_gradients(model)
    flat = torch.cat([_grad(p) for p in model.parameters()])
    ncf = _ncf_model()
    sparse_flat = _sparse_grads(ncf, slice(lo, hi), ctx)
    queue.put((rank, flat, sparse_flat))  # type: ignore[attr-defined]
    dist.barrier()
    dist.destroy_process_group()
