"""What the HTTP client saw in one pass, beyond the LoadGen's logs (pure functions).

* failures per kind;
* token accounting: server-reported ``completion_tokens`` against the client's own count, the
  number of requests where they differ;
* TTFO (time to first output: reasoning or content) beside TTFT (first content token), both from
  the client's issue time, and the reasoning tokens;
* inter-token latency with multi-token chunks attributed correctly: a chunk of ``k`` tokens that
  arrives ``gap`` after the previous one contributes ``k`` intervals of ``gap / k``;
* the client's own lag (LoadGen issue call → the client loop picks the request up) and the
  CPU load of its event loop thread, with a warning when the client, not the server, dominates.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from mlpace.serving.client import FAILURE_KINDS, RequestRecord

# The client is called the bottleneck when its event loop is busier than this fraction of the
# wall time, or when its own lag p99 exceeds this fraction of the TTFT p99.
LOOP_BUSY_LIMIT = 0.80
LAG_FRACTION_LIMIT = 0.10
# An absolute lag that is always worth a warning (the peer benchmark's criterion).
LAG_LIMIT_NS = 1_000_000


@dataclass(frozen=True)
class Percentiles:
    count: int = 0
    p50_ns: int = 0
    p90_ns: int = 0
    p99_ns: int = 0
    max_ns: int = 0

    @classmethod
    def of(cls, values: Sequence[int] | np.ndarray) -> Percentiles:  # type: ignore[type-arg]
        a = np.asarray(values, dtype=np.float64)
        if a.size == 0:
            return cls()
        p50, p90, p99 = np.percentile(a, [50, 90, 99])
        return cls(int(a.size), int(p50), int(p90), int(p99), int(a.max()))

    def ms(self) -> str:
        if not self.count:
            return "n/a"
        return (
            f"p50 {self.p50_ns / 1e6:.3f} ms, p90 {self.p90_ns / 1e6:.3f} ms, "
            f"p99 {self.p99_ns / 1e6:.3f} ms (n={self.count})"
        )


@dataclass(frozen=True)
class ClientReport:
    requests: int
    completed: int
    failures: dict[str, int]
    server_tokens: int | None  # None: the server reported no usage
    client_tokens: int
    token_mismatch_requests: int
    tokens_source: str  # "server usage" or the client tokenizer's name
    reasoning_tokens: int
    ttft: Percentiles
    ttfo: Percentiles
    itl: Percentiles
    client_lag: Percentiles
    queue_wait: Percentiles
    loop_busy: float
    multi_token_chunks: int
    concurrency_limit: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def lines(self) -> list[str]:
        out = [
            f"HTTP requests: {self.requests} sent, {self.completed} completed, "
            f"{self.failed} failed",
        ]
        if self.failed:
            kinds = [f"{k} {v}" for k, v in sorted(self.failures.items(), key=_kind_order)]
            out.append("  failures: " + ", ".join(kinds))
        if self.server_tokens is None:
            out.append(
                f"  tokens: {self.client_tokens} counted by the client ({self.tokens_source}); "
                "the server reported no usage"
            )
        else:
            diff = self.server_tokens - self.client_tokens
            out.append(
                f"  tokens: server {self.server_tokens}, client {self.client_tokens} "
                f"({self.tokens_source}); difference {diff:+d}, "
                f"{self.token_mismatch_requests} request(s) disagree"
            )
        if self.multi_token_chunks:
            out.append(f"  chunks carrying several tokens: {self.multi_token_chunks}")
        out.append(f"  TTFT (first content token, from issue): {self.ttft.ms()}")
        out.append(f"  TTFO (first output incl. reasoning):    {self.ttfo.ms()}")
        if self.reasoning_tokens:
            out.append(f"  reasoning tokens: {self.reasoning_tokens}")
        out.append(f"  inter-token latency: {self.itl.ms()}")
        out.append(f"  client lag (LoadGen issue -> request task starts): {self.client_lag.ms()}")
        if self.concurrency_limit:
            out.append(
                f"  wait for one of {self.concurrency_limit} concurrency slots: "
                f"{self.queue_wait.ms()}"
            )
        out.append(f"  client event loop busy: {self.loop_busy:.0%} of the wall time")
        out += [f"  WARNING: {w}" for w in self.warnings]
        return out

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True)


def _load_average() -> str:
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def _kind_order(item: tuple[str, int]) -> int:
    return FAILURE_KINDS.index(item[0]) if item[0] in FAILURE_KINDS else len(FAILURE_KINDS)


def inter_token_latencies(chunk_ns: Sequence[int], chunk_tokens: Sequence[int]) -> list[int]:
    """Per-token intervals of one stream: each chunk's gap spread over its tokens.

    The first chunk's own tokens beyond the first arrive with it (interval 0 each): they were
    generated before it was sent, and attributing TTFT to them would bend ITL.
    """
    out: list[int] = []
    for j in range(len(chunk_ns)):
        k = int(chunk_tokens[j])
        if k <= 0:
            continue
        if j == 0:
            out += [0] * (k - 1)
            continue
        gap = int(chunk_ns[j]) - int(chunk_ns[j - 1])
        out += [gap // k] * k
    return out


def client_report(
    records: Sequence[RequestRecord],
    *,
    tokens_source: str,
    loop_busy: float,
    issue_lag_p99_ns: int = 0,
    concurrency_limit: int = 0,
) -> ClientReport:
    """Summarise one pass's request records (see the module docstring)."""
    failures: dict[str, int] = {}
    ttft: list[int] = []
    ttfo: list[int] = []
    itl: list[int] = []
    lag: list[int] = []
    waits: list[int] = []
    server_total = 0
    any_server = False
    client_total = mismatched = reasoning = multi = completed = 0
    for r in records:
        if r.started_ns >= 0:
            lag.append(r.started_ns - r.issued_ns)
            if r.sent_ns >= 0:
                waits.append(r.sent_ns - r.started_ns)
        if r.failure is not None:
            failures[r.failure] = failures.get(r.failure, 0) + 1
            continue
        if r.done_ns < 0:
            continue
        completed += 1
        client_total += r.client_tokens
        reasoning += r.reasoning_tokens
        if r.server_tokens is not None:
            any_server = True
            server_total += r.server_tokens
            if r.server_tokens != r.client_tokens:
                mismatched += 1
        if r.first_content_ns >= 0:
            ttft.append(r.first_content_ns - r.issued_ns)
        if r.first_output_ns >= 0:
            ttfo.append(r.first_output_ns - r.issued_ns)
        multi += sum(1 for k in r.chunk_tokens if k > 1)
        itl += inter_token_latencies(r.chunk_ns, r.chunk_tokens)
    ttft_p = Percentiles.of(ttft)
    lag_p = Percentiles.of(lag)
    warnings: list[str] = []
    if loop_busy > LOOP_BUSY_LIMIT:
        warnings.append(
            f"the client's event loop was busy {loop_busy:.0%} of the time: the client, not "
            "the server, may limit this run (fewer concurrent streams, or a faster machine)"
        )
    total_lag = lag_p.p99_ns + max(0, issue_lag_p99_ns)
    relative = ttft_p.count > 0 and total_lag > LAG_FRACTION_LIMIT * ttft_p.p99_ns
    if total_lag > LAG_LIMIT_NS or relative:
        cause = (
            "the client is saturated"
            if loop_busy > LOOP_BUSY_LIMIT
            else f"the client was idle, so the machine is short of CPU (load average "
            f"{_load_average()})"
        )
        warnings.append(
            f"client-side lag p99 {total_lag / 1e6:.3f} ms (LoadGen issue lag "
            f"{issue_lag_p99_ns / 1e6:.3f} ms + client loop {lag_p.p99_ns / 1e6:.3f} ms) is "
            f"large against the measured latencies: requests left later than scheduled; {cause}"
        )
    if any_server and mismatched:
        warnings.append(
            f"{mismatched} request(s): the server's completion_tokens differ from the client's "
            f"count ({tokens_source}); the LoadGen used the server's"
        )
    return ClientReport(
        requests=len(records),
        completed=completed,
        failures=failures,
        server_tokens=server_total if any_server else None,
        client_tokens=client_total,
        token_mismatch_requests=mismatched,
        tokens_source=tokens_source,
        reasoning_tokens=reasoning,
        ttft=ttft_p,
        ttfo=Percentiles.of(ttfo),
        itl=Percentiles.of(itl),
        client_lag=lag_p,
        queue_wait=Percentiles.of(waits),
        loop_busy=loop_busy,
        multi_token_chunks=multi,
        concurrency_limit=concurrency_limit,
        warnings=warnings,
    )


__all__ = ["ClientReport", "Percentiles", "client_report", "inter_token_latencies"]
