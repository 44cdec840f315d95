"""A simulated system under test on a :class:`~mlpace.clock.VirtualClock`: a queueing model.

Samples wait in one FIFO queue served by ``servers`` identical servers. A free server takes up
to ``batch_size`` waiting samples at once and holds them for one draw of the service time; then
all of them complete together. Completions are timers on the virtual clock, so a ten-minute run
takes a fraction of a second and every latency is exact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mlpace.clock import VirtualClock
from mlpace.errors import MlpaceError
from mlpace.loadgen.sut import QuerySample, QuerySampleResponse

ServiceTime = Callable[[np.random.RandomState], int]
ServiceSpec = ServiceTime | int | float | tuple[str, float]


def deterministic(service_ns: int) -> ServiceTime:
    """Every service takes exactly ``service_ns``."""
    value = int(service_ns)
    return lambda _rng: value


def exponential(mean_ns: float) -> ServiceTime:
    """Exponentially distributed service times with mean ``mean_ns`` (an M/M/k server)."""
    mean = float(mean_ns)
    return lambda rng: int(rng.exponential(mean))


def service_time(spec: ServiceSpec) -> ServiceTime:
    """A service-time function from a number (ns), ``("exponential", mean_ns)``,
    ``("deterministic", ns)`` or a callable ``rng -> ns``."""
    if callable(spec):
        return spec
    if isinstance(spec, (int, float)):
        return deterministic(int(spec))
    kind, value = spec
    if kind == "deterministic":
        return deterministic(int(value))
    if kind == "exponential":
        return exponential(float(value))
    raise MlpaceError(f"unknown service-time distribution {kind!r}")


class SimulatedSUT:
    """FIFO queue, ``servers`` parallel servers, optional batching, on virtual time.

    ``response(index) -> bytes`` gives each sample's payload (default: none; completions then use
    the sink's fast ``complete_ids`` path). With ``n_tokens > 0`` every response reports that
    many tokens and a first token ``first_token_fraction`` of the way through its service.
    """

    def __init__(
        self,
        clock: VirtualClock,
        service_time_ns: ServiceSpec,
        *,
        servers: int = 1,
        batch_size: int = 1,
        seed: int = 0,
        response: Callable[[int], bytes] | None = None,
        n_tokens: int = 0,
        first_token_fraction: float = 0.5,
        name: str = "SimulatedSUT",
    ) -> None:
        if servers < 1 or batch_size < 1:
            raise MlpaceError("SimulatedSUT needs servers >= 1 and batch_size >= 1")
        self.name = name
        self.clock = clock
        self.servers = servers
        self.batch_size = batch_size
        self._draw = service_time(service_time_ns)
        self._rng = np.random.RandomState(seed & 0xFFFFFFFF)
        self._response = response
        self._n_tokens = n_tokens
        self._first_token_fraction = first_token_fraction
        self._waiting: deque[tuple[int, int]] = deque()
        self._busy = 0
        self._sink: Any = None
        self.issue_calls = 0
        self.max_queue_length = 0

    def bind(self, sink: Any) -> None:
        self._sink = sink

    def issue_query_ids(self, ids: list[int], indices: list[int]) -> None:
        self.issue_calls += 1
        self._waiting.extend(zip(ids, indices))
        if len(self._waiting) > self.max_queue_length:
            self.max_queue_length = len(self._waiting)
        self._dispatch()

    def issue_queries(self, samples: Sequence[QuerySample]) -> None:
        self.issue_query_ids([s.id for s in samples], [s.index for s in samples])

    def flush_queries(self) -> None:
        return None

    def _dispatch(self) -> None:
        waiting = self._waiting
        while self._busy < self.servers and waiting:
            take = min(self.batch_size, len(waiting))
            batch = [waiting.popleft() for _ in range(take)]
            self._busy += 1
            now = self.clock.now_ns()
            service = max(0, int(self._draw(self._rng)))
            if self._n_tokens > 0:
                first = now + int(service * self._first_token_fraction)
                self.clock.call_at(first, lambda b=batch: self._first_token(b))  # type: ignore[misc]
            self.clock.call_at(now + service, lambda b=batch: self._done(b))  # type: ignore[misc]

    def _first_token(self, batch: list[tuple[int, int]]) -> None:
        self._sink.first_token([QuerySampleResponse(i, b"") for i, _ in batch])

    def _done(self, batch: list[tuple[int, int]]) -> None:
        self._busy -= 1
        sink = self._sink
        if self._response is None and self._n_tokens == 0:
            sink.complete_ids([i for i, _ in batch])
        else:
            make = self._response
            sink.complete(
                [
                    QuerySampleResponse(i, make(idx) if make else b"", self._n_tokens)
                    for i, idx in batch
                ]
            )
        self._dispatch()
