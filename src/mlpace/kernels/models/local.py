"""Single-node models without MPI: serial NumPy, threads, and shared-memory processes.

* numpy   — one worker in this process.
* threads — P threads on the same arrays; NumPy releases the GIL inside its loops, so threads
  overlap on the arithmetic; each thread owns a block of the split dimension.
* shm     — P processes whose arrays live in ``multiprocessing.shared_memory`` blocks (the
  dissertation's MPISHM analogue without MPI); barriers and point-to-point signals are
  ``multiprocessing`` barriers and semaphores.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing import shared_memory
from typing import Any

import numpy as np

from mlpace.kernels import shared
from mlpace.kernels.errors import ModelUnavailableError
from mlpace.kernels.spec import KernelParams, verdict
from mlpace.kernels.timing import RunResult, TimingStats, timed_loop

__all__ = ["run_numpy", "run_shm", "run_threads"]

Clock = Callable[[], float]


def _alloc(p: KernelParams) -> dict[str, np.ndarray]:  # type: ignore[type-arg]
    return {
        name: np.empty(shape, dtype=dtype) for name, (shape, dtype) in shared.array_specs(p).items()
    }


def run_numpy(p: KernelParams, clock: Clock | None = None) -> RunResult:
    arrays = _alloc(p)
    shared.init_arrays(p, arrays)
    step = shared.make_step(p, arrays, 0, 1, shared.NullSync())
    elapsed = (
        timed_loop(step, p.iterations, clock=clock) if clock else timed_loop(step, p.iterations)
    )
    return RunResult(
        p, "numpy", 1, TimingStats.of([elapsed]), verdict(p, shared.check_value(p, arrays))
    )


class _ThreadSync:
    def __init__(self, workers: int, me: int, sems: list[list[Any]], barrier: Any) -> None:
        self._sems = sems
        self._barrier = barrier
        self._me = me

    def barrier(self) -> None:
        self._barrier.wait()

    def signal(self, dst: int, tag: int) -> None:
        self._sems[tag][dst].release()

    def wait(self, src: int, tag: int) -> None:
        self._sems[tag][self._me].acquire()


@contextlib.contextmanager
def _one_blas_thread() -> Iterator[None]:
    """Each worker gets one BLAS thread, so P workers use P cores, not P x BLAS threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1):
        yield


def run_threads(p: KernelParams, workers: int, clock: Clock | None = None) -> RunResult:
    shared.check_workers(p, workers)
    arrays = _alloc(p)
    shared.init_arrays(p, arrays)
    sems = [[threading.Semaphore(0) for _ in range(workers)] for _ in range(2)]
    barrier = threading.Barrier(workers)
    elapsed: list[float] = [0.0] * workers
    errors: list[BaseException] = []

    def body(me: int) -> None:
        try:
            sync = _ThreadSync(workers, me, sems, barrier)
            step = shared.make_step(p, arrays, me, workers, sync)
            loop_clock = {"clock": clock} if clock else {}
            elapsed[me] = timed_loop(step, p.iterations, sync.barrier, **loop_clock)
        except BaseException as exc:  # a worker must not leave the others waiting forever
            errors.append(exc)
            barrier.abort()

    with _one_blas_thread():
        threads = [threading.Thread(target=body, args=(w,), daemon=True) for w in range(workers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if errors:
        raise errors[0]
    value = shared.check_value(p, arrays)
    return RunResult(p, "threads", workers, TimingStats.of(elapsed), verdict(p, value))


def _shm_worker(
    p: KernelParams,
    names: dict[str, tuple[str, tuple[int, ...], str]],
    me: int,
    workers: int,
    sems: list[list[Any]],
    barrier: Any,
    times_name: str,
) -> None:
    with _one_blas_thread():
        blocks = {k: shared_memory.SharedMemory(name=v[0]) for k, v in names.items()}
        tblock = shared_memory.SharedMemory(name=times_name)
        try:
            arrays = {
                k: np.ndarray(shape, dtype=dtype, buffer=blocks[k].buf)
                for k, (_, shape, dtype) in names.items()
            }
            times = np.ndarray((workers,), dtype=np.float64, buffer=tblock.buf)
            sync = _ThreadSync(workers, me, sems, barrier)
            step = shared.make_step(p, arrays, me, workers, sync)
            times[me] = timed_loop(step, p.iterations, sync.barrier)
            del arrays, times, step
        except BaseException:
            barrier.abort()
            raise
        finally:
            for b in (*blocks.values(), tblock):
                b.close()


def _join_or_stop(procs: list[Any]) -> None:
    """Wait for all workers; if one dies, stop the rest (they may wait on it forever)."""
    while any(proc.is_alive() for proc in procs):
        for proc in procs:
            proc.join(0.05)
        if any(proc.exitcode not in (None, 0) for proc in procs):
            for proc in procs:
                if proc.is_alive():
                    proc.terminate()
            for proc in procs:
                proc.join()
            return


def _context() -> Any:
    # fork starts workers in milliseconds and they inherit the imports; elsewhere spawn is safe
    return mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")


def run_shm(p: KernelParams, workers: int) -> RunResult:
    shared.check_workers(p, workers)
    ctx = _context()
    specs = shared.array_specs(p)
    blocks: dict[str, shared_memory.SharedMemory] = {}
    try:
        for name, (shape, dtype) in specs.items():
            size = max(1, int(np.prod(shape)) * np.dtype(dtype).itemsize)
            blocks[name] = shared_memory.SharedMemory(create=True, size=size)
        times_block = shared_memory.SharedMemory(create=True, size=8 * workers)
        blocks["__times__"] = times_block
        arrays = {
            k: np.ndarray(shape, dtype=dtype, buffer=blocks[k].buf)
            for k, (shape, dtype) in specs.items()
        }
        shared.init_arrays(p, arrays)
        names = {k: (blocks[k].name, shape, dtype) for k, (shape, dtype) in specs.items()}
        sems = [[ctx.Semaphore(0) for _ in range(workers)] for _ in range(2)]
        barrier = ctx.Barrier(workers)
        procs = [
            ctx.Process(
                target=_shm_worker,
                args=(p, names, w, workers, sems, barrier, times_block.name),
                daemon=True,
            )
            for w in range(workers)
        ]
        for proc in procs:
            proc.start()
        _join_or_stop(procs)
        failed = [w for w, proc in enumerate(procs) if proc.exitcode != 0]
        if failed:
            codes = [procs[w].exitcode for w in failed]
            raise ModelUnavailableError(f"shm workers {failed} failed (exit codes {codes})")
        times = np.ndarray((workers,), dtype=np.float64, buffer=times_block.buf).tolist()
        value = shared.check_value(p, arrays)
        del arrays
        return RunResult(p, "shm", workers, TimingStats.of(times), verdict(p, value))
    finally:
        for b in blocks.values():
            with contextlib.suppress(BufferError):
                b.close()
            with contextlib.suppress(FileNotFoundError):
                b.unlink()
