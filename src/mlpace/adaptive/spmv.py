"""The adaptive data compression engine on tiled matrix-vector multiplication.

A program in phases: phase ``p`` multiplies ``A_p x_p`` where ``A_p`` is the Graph500
Kronecker matrix, overlaid in every odd phase with dense tiles (a fraction ``overlay`` of all
tiles). Per tile the program emits a transfer (a COMM task on one of ``links`` links) and a
multiply (a COMPUTE task on any of ``workers`` processors) into a partial result; a last
task of the phase sums the partials into ``y_p``, which is checked against NumPy's ``A_p @ x_p``.

Four variants differ only in how a tile travels:

- ``dense``: every tile dense (8 bytes per element), dense multiply.
- ``sparse``: the whole matrix is held in CSR (the data is produced sparse: no conversion
  cost); every tile travels and is multiplied in CSR, dense overlay tiles included.
- ``static``: one analysis pass over the first phase's tiles picks a format per tile (CSR
  when it has fewer than ``threshold`` non-zeros), kept for the whole run.
- ``adaptive``: data is held dense; the compression engine is an optimisation registered
  with the hysteresis domain (on below ``alpha``, off above ``beta``). While it is on, every
  tile passes through a COMPRESS task that counts its non-zeros and, for a candidate, builds
  the CSR form; while it is off tiles go dense with no analysis at all.

Declared estimates: a multiply declares its useful work (2 flops per non-zero; the producer
counts the non-zeros it writes), a transfer the bytes it will move. The ratio thus tracks the
program's phase; the transfer estimate depends on the engine's state, which is why the two
thresholds must differ.
"""

from __future__ import annotations

import gc
import math
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from mlpace.adaptive import costs
from mlpace.adaptive.costs import CpuModel, LinkModel
from mlpace.adaptive.matrix import (
    CsrTile,
    FloatArray,
    apply_overlay,
    check_geometry,
    compress,
    csr_nbytes,
    graph500_matrix,
    overlay_tiles,
)
from mlpace.adaptive.runtime import (
    COMM,
    COMPRESS,
    COMPUTE,
    OFF,
    ON,
    AdaptiveError,
    ModeTracker,
    Optimisations,
    Task,
    Toggle,
    check_thresholds,
    hysteresis,
)
from mlpace.adaptive.scheduler import RunStats, ThreadScheduler, VirtualScheduler

VARIANTS = ("dense", "sparse", "static", "adaptive")
ENGINE = "compression"


@dataclass(frozen=True)
class SpmvConfig:
    order: int = 2048
    tile: int = 128
    threshold: int = 128  # a tile is a compression candidate below this many non-zeros
    workers: int = 4
    links: int = 0  # 0: one link per worker
    alpha: float = 0.05
    beta: float = 0.3
    phases: int = 8
    overlay: float = 0.75  # fraction of tiles made dense in the odd phases
    edge_factor: int = 16
    seed: int = 1
    window: int = 64
    link: LinkModel = field(default_factory=LinkModel)
    cpu_model: CpuModel | None = None  # None: charge measured thread CPU time
    permute: bool = False

    def validate(self) -> None:
        check_geometry(self.order, self.tile, self.threshold)
        if self.order & (self.order - 1) or self.order < 2:
            raise AdaptiveError(
                "the Graph500 generator needs a power-of-two order (2048 = 2**11)",
                field="order",
                value=self.order,
            )
        check_thresholds(self.alpha, self.beta)
        for name, value, low in (
            ("workers", self.workers, 1),
            ("phases", self.phases, 1),
            ("window", self.window, 1),
            ("edge_factor", self.edge_factor, 1),
            ("links", self.links, 0),
        ):
            if value < low:
                raise AdaptiveError(f"{name} must be at least {low}", field=name, value=value)
        if not 0.0 <= self.overlay <= 1.0:
            raise AdaptiveError(
                "the overlay fraction must be in [0, 1]", field="overlay", value=self.overlay
            )

    @property
    def tiles_per_side(self) -> int:
        return self.order // self.tile

    @property
    def n_links(self) -> int:
        return self.links or self.workers


@dataclass
class Phase:
    """One phase's data in every representation a variant holds, prepared before timing."""

    index: int
    x: FloatArray
    reference: FloatArray  # NumPy's matrix @ x
    tiles: FloatArray  # (T, T, tile, tile), contiguous: the dense tiled array
    nnz: np.ndarray  # (T, T) non-zeros per tile, as the producer counts them
    csr: list[list[CsrTile]]
    dense_tiles: int  # overlay tiles in this phase


def make_phases(cfg: SpmvConfig) -> list[Phase]:
    cfg.validate()
    t, n = cfg.tiles_per_side, cfg.tile
    base = graph500_matrix(cfg.order, cfg.edge_factor, seed=cfg.seed, permute=cfg.permute)
    phases = []
    for p in range(cfg.phases):
        blocks = overlay_tiles(t, cfg.overlay, seed=cfg.seed, phase=p) if p % 2 else []
        matrix = apply_overlay(base, n, blocks, seed=cfg.seed, phase=p) if blocks else base
        tiles = np.ascontiguousarray(matrix.reshape(t, n, t, n).transpose(0, 2, 1, 3))
        x = np.random.default_rng([cfg.seed, p, 3]).uniform(-1.0, 1.0, cfg.order)
        csr = [[compress(tiles[i, j]) for j in range(t)] for i in range(t)]
        phases.append(
            Phase(p, x, matrix @ x, tiles, np.count_nonzero(tiles, axis=(2, 3)), csr, len(blocks))
        )
    return phases


@dataclass
class VariantResult:
    name: str
    time_ns: int  # makespan on the modelled machine
    bytes_moved: int
    switches: int
    max_error: float
    validated: bool
    cpu_ns: int  # measured CPU time of all task functions
    compressed_tiles: int  # tile transfers that went as CSR
    busy_ns: dict[str, int]
    toggles: list[Toggle] = field(default_factory=list)


class _Program:
    """Emits one variant's task stream and collects what it computes."""

    def __init__(
        self,
        variant: str,
        cfg: SpmvConfig,
        phases: Sequence[Phase],
        engine_state: Callable[[], str],
    ) -> None:
        self.variant = variant
        self.cfg = cfg
        self.phases = phases
        self.engine_state = engine_state
        # by phase: with measured durations a later phase's reduction can finish first
        self.results: dict[int, FloatArray] = {}
        self.bytes_moved = 0
        self.compressed = 0
        self.static_csr: np.ndarray | None = None
        self.elements = cfg.tile * cfg.tile

    def stream(self) -> Iterator[Task]:
        if self.variant == "static":
            yield from self._analyse(self.phases[0])
        for phase in self.phases:
            yield from self._phase(phase)

    def _analyse(self, phase: Phase) -> Iterator[Task]:
        t = self.cfg.tiles_per_side
        choice = np.zeros((t, t), dtype=bool)
        self.static_csr = choice

        def scan(i: int, j: int, task: Task) -> None:
            task.work["scan"] = self.elements
            choice[i, j] = np.count_nonzero(phase.tiles[i, j]) < self.cfg.threshold

        for i in range(t):
            for j in range(t):
                task = Task(
                    f"analyse {i},{j}",
                    COMPRESS,
                    self.elements * costs.EST_NS_PER_SCANNED_ELEMENT,
                    tag="scan",
                )
                task.fn = _bind(scan, i, j, task)
                yield task

    def _phase(self, phase: Phase) -> Iterator[Task]:
        cfg, t, n = self.cfg, self.cfg.tiles_per_side, self.cfg.tile
        partial = np.zeros((t, t, n))
        dense_bytes = self.elements * 8
        multiplies: list[Task] = []
        for i in range(t):
            for j in range(t):
                k = i * t + j
                meta_nnz = int(phase.nnz[i, j])
                link = f"link:{k % cfg.n_links}"
                source, est_bytes, prep = self._source(phase, i, j, meta_nnz, dense_bytes)
                if prep is not None:
                    yield prep
                send = Task(
                    f"p{phase.index} send {i},{j}",
                    COMM,
                    cfg.link.estimate_ns(est_bytes),
                    deps=(prep,) if prep else (),
                    resource=link,
                    tag="send",
                )
                send.fn = _bind(self._send, source, send)
                yield send
                mult = Task(
                    f"p{phase.index} multiply {i},{j}",
                    COMPUTE,
                    2 * meta_nnz * costs.EST_NS_PER_USEFUL_FLOP,
                    deps=(send,),
                    tag="multiply",
                )
                mult.fn = _bind(
                    self._multiply, send, phase.x[j * n : (j + 1) * n], partial, i, j, mult
                )
                multiplies.append(mult)
                yield mult
        reduce = Task(f"p{phase.index} reduce", COMPUTE, 0.0, deps=tuple(multiplies), tag="reduce")
        reduce.fn = _bind(self._reduce, phase.index, partial, reduce)
        yield reduce

    def _source(
        self, phase: Phase, i: int, j: int, meta_nnz: int, dense_bytes: int
    ) -> tuple[Callable[[], FloatArray | CsrTile], int, Task | None]:
        """Where the send task takes its payload from, the bytes it declares, and the
        compression task in front of it (adaptive engine on)."""
        csr_bytes = csr_nbytes(self.cfg.tile, meta_nnz)
        dense = phase.tiles[i, j]
        if self.variant == "dense":
            return (lambda: dense), dense_bytes, None
        if self.variant == "sparse":
            held = phase.csr[i][j]
            return (lambda: held), csr_bytes, None
        if self.variant == "static":
            assert self.static_csr is not None
            if self.static_csr[i, j]:
                held = phase.csr[i][j]
                return (lambda: held), csr_bytes, None
            return (lambda: dense), dense_bytes, None
        if self.engine_state() != ON:
            return (lambda: dense), dense_bytes, None
        prep = Task(
            f"p{phase.index} compress {i},{j}",
            COMPRESS,
            self.elements * costs.EST_NS_PER_SCANNED_ELEMENT,
            tag="compress",
        )
        prep.fn = _bind(self._engine, dense, prep)
        candidate = meta_nnz < self.cfg.threshold
        return (lambda: prep.result), csr_bytes if candidate else dense_bytes, prep

    def _engine(self, block: FloatArray, task: Task) -> FloatArray | CsrTile:
        """The compression engine: analyse the tile, compress a candidate."""
        task.work["scan"] = self.elements
        nnz = int(np.count_nonzero(block))
        if nnz < self.cfg.threshold:
            task.work["compress_nnz"] = nnz
            return compress(block)
        return block

    def _send(self, source: Callable[[], FloatArray | CsrTile], task: Task) -> FloatArray | CsrTile:
        payload = source()
        received = payload.copy()  # the bytes really travel into the receiver's buffer
        nbytes = received.nbytes
        task.work["bytes"] = nbytes
        self.bytes_moved += nbytes
        if isinstance(received, CsrTile):
            self.compressed += 1
        return received

    def _multiply(
        self, send: Task, x: FloatArray, partial: FloatArray, i: int, j: int, task: Task
    ) -> None:
        payload = send.result
        send.result = None  # the received copy is consumed: free it now
        if isinstance(payload, CsrTile):
            task.work["csr_nnz"] = payload.nnz
            partial[i, j] = payload.matvec(x)
        else:
            task.work["dense"] = payload.size
            partial[i, j] = payload @ x

    def _reduce(self, phase: int, partial: FloatArray, task: Task) -> None:
        task.work["reduce"] = partial.size
        self.results[phase] = partial.sum(axis=1).reshape(-1)


def _bind(fn: Callable[..., object], *args: object) -> Callable[[], object]:
    return lambda: fn(*args)


def _policy(cfg: SpmvConfig) -> Callable[[Task, int], int]:
    model = cfg.cpu_model

    def charge(task: Task, cpu_ns: int) -> int:
        if task.tag == "send":
            return cfg.link.charge_ns(int(task.work.get("bytes", 0)), cpu_ns)
        if model is None:
            return cpu_ns
        w = task.work
        total = 0.0
        if "scan" in w:
            total += model.scan(int(w["scan"]))
        if "compress_nnz" in w:
            total += model.compress(cfg.tile * cfg.tile, int(w["compress_nnz"]))
        if "dense" in w:
            total += model.dense_mv(int(w["dense"]))
        if "csr_nnz" in w:
            total += model.csr_mv(int(w["csr_nnz"]))
        if "reduce" in w:
            total += model.reduce(int(w["reduce"]))
        return int(round(total))

    return charge


def run_variant(
    variant: str, cfg: SpmvConfig, phases: Sequence[Phase], *, threads: bool = False
) -> VariantResult:
    """Run one variant over all phases and check every phase's result against NumPy."""
    if variant not in VARIANTS:
        raise AdaptiveError(
            f"unknown variant; choose from {', '.join(VARIANTS)}", field="variant", value=variant
        )
    opts = Optimisations()
    opts.register(ENGINE, hysteresis(cfg.alpha, cfg.beta), initial=OFF)
    program = _Program(variant, cfg, phases, lambda: opts.state(ENGINE))
    use_opts = opts if variant == "adaptive" else None
    tracker = ModeTracker(compute_types=(COMPUTE,), comm_types=(COMM,))
    stats: RunStats
    # The cyclic collector would charge its pauses to whichever task allocates; tasks drop
    # their closures when done, so reference counting frees them without it.
    gc.collect()
    gc_was_on = gc.isenabled()
    gc.disable()
    try:
        stats = _schedule(cfg, program, use_opts, tracker, threads)
    finally:
        if gc_was_on:
            gc.enable()
    max_err, ok = _check([program.results.get(p.index) for p in phases], phases)
    return VariantResult(
        variant,
        stats.makespan_ns,
        program.bytes_moved,
        len(stats.toggles),
        max_err,
        ok,
        stats.cpu_ns,
        program.compressed,
        dict(stats.busy_ns),
        list(stats.toggles),
    )


def _schedule(
    cfg: SpmvConfig,
    program: _Program,
    opts: Optimisations | None,
    tracker: ModeTracker,
    threads: bool,
) -> RunStats:
    kind = ThreadScheduler if threads else VirtualScheduler
    return kind(
        processors=cfg.workers,
        window=cfg.window,
        optimisations=opts,
        tracker=tracker,
        durations=_policy(cfg),
    ).run(program.stream())


def _check(results: Sequence[FloatArray | None], phases: Sequence[Phase]) -> tuple[float, bool]:
    if len(results) != len(phases) or any(y is None for y in results):
        return math.inf, False
    worst = 0.0
    ok = True
    for y, phase in zip(results, phases):
        assert y is not None
        err = float(np.max(np.abs(y - phase.reference)))
        scale = float(np.max(np.abs(phase.reference))) or 1.0
        worst = max(worst, err)
        ok = ok and err <= 1e-9 * scale * phase.reference.size
    return worst, ok


@dataclass
class SpmvReport:
    config: SpmvConfig
    results: dict[str, list[VariantResult]]  # every repetition, per variant
    setup_s: float

    def median(self, variant: str) -> VariantResult:
        runs = sorted(self.results[variant], key=lambda r: r.time_ns)
        return runs[len(runs) // 2]

    @property
    def validated(self) -> bool:
        return all(r.validated for runs in self.results.values() for r in runs)


def run_spmv(
    cfg: SpmvConfig,
    *,
    variants: Sequence[str] = VARIANTS,
    reps: int = 1,
    threads: bool = False,
    phases: Sequence[Phase] | None = None,
) -> SpmvReport:
    """All variants, alternating, ``reps`` times; the median repetition is the one reported."""
    cfg.validate()
    if reps < 1:
        raise AdaptiveError("repetitions must be at least 1", field="reps", value=reps)
    t0 = time.perf_counter()
    data = list(phases) if phases is not None else make_phases(cfg)
    setup = time.perf_counter() - t0
    results: dict[str, list[VariantResult]] = {v: [] for v in variants}
    for _ in range(reps):
        for v in variants:
            results[v].append(run_variant(v, cfg, data, threads=threads))
    return SpmvReport(cfg, results, setup)


def speedup(other_ns: int, adaptive_ns: int) -> tuple[float, float]:
    """(ratio other / adaptive, time reduction 1 - adaptive / other)."""
    if adaptive_ns <= 0 or other_ns <= 0:
        return math.nan, math.nan
    return other_ns / adaptive_ns, 1.0 - adaptive_ns / other_ns
