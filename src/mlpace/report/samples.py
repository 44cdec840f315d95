"""Per-sample timing of one performance pass: where it comes from and how it is stored.

Two sources, best first:

* ``mlpace_samples.npz``: mlpace's own extra, written beside the official logs by
  :func:`write_samples` from the pass's :class:`~mlpace.loadgen.raw.RawRun`. Every sample, exact
  integer nanoseconds, token times included. Format version 1, one ``int64`` array per sample
  (differences, so they stay small and compress well): ``scheduled_ns`` (from the pass start),
  ``issue_lag_ns`` (issued - scheduled), ``done_after_issue_ns`` (completed - issued, -1: never),
  ``query_of_sample`` (absent when every query holds one sample); token runs add
  ``first_token_after_issue_ns`` (-1: none) and ``n_tokens``; ``meta`` is a JSON string
  ``{"format": 1, "scenario": ..., "mode": ..., "first_sample_id": ..., "start_wall_ns": ...}``.
  Written with fast (level 1) deflate, so a million samples take a fraction of a second.
* ``mlperf_log_trace.json`` (the official LoadGen's and mlpace's): the "Sample" begin events
  carry each sample's latency base (``ts``), its issue delay and its latency. mlpace caps its
  trace at the first 100,000 samples and says so in ``otherData``; a capped trace is marked
  incomplete.

Both become a :class:`SampleTimes`: per sample the latency base (Server: the scheduled time;
SingleStream/MultiStream: the issue time; Offline: the start), the latency, the issue lag.
"""

from __future__ import annotations

import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from mlpace.errors import MlpaceError

if TYPE_CHECKING:
    from mlpace.loadgen.raw import RawRun

I64 = npt.NDArray[np.int64]

SAMPLES_FILE = "mlpace_samples.npz"
SAMPLES_FORMAT = 1

# One "Sample" begin event of the trace (official and mlpace spell it the same way).
_SAMPLE_BEGIN = re.compile(
    rb'"name":"Sample","cat":"default","ph":"b","pid":-?\d+,"id":(\d+),"ts":(-?[\d.]+),'
    rb'"args":\{"sample_seq":\d+,"query_seq":(\d+),"sample_idx":\d+,'
    rb'"issue_start_ns":(-?\d+),"complete_ns":(-?\d+)'
)
_WRITTEN = re.compile(rb'"sample_events_written":(\d+),\s*"sample_count":(\d+)')
_CHUNK = 64 << 20


class SamplesError(MlpaceError):
    """A per-sample timing file exists but cannot be read."""


@dataclass(frozen=True)
class SampleTimes:
    """Per-sample timing of one pass, in issue order; every time in integer ns.

    ``base_ns`` is when the sample's latency starts counting, measured from the first sample's
    base (so it is the time axis of the run); ``latency_ns`` is -1 for a sample that never
    completed; ``issue_lag_ns`` is how late the sample was handed to the SUT against its
    schedule. ``complete`` is False when the source held only part of the run (a capped trace).
    """

    base_ns: I64
    latency_ns: I64
    issue_lag_ns: I64
    query_of_sample: I64
    ttft_ns: I64 | None
    n_tokens: I64 | None
    source: str
    complete: bool = True
    total_samples: int = 0

    @property
    def count(self) -> int:
        return int(self.latency_ns.shape[0])

    @property
    def completed_mask(self) -> npt.NDArray[np.bool_]:
        return self.latency_ns >= 0

    def done_ns(self) -> I64:
        """Completion time of each completed sample on the run's time axis."""
        mask = self.completed_mask
        out: I64 = (self.base_ns + self.latency_ns)[mask]
        return out


def _latency_base(scenario: str, scheduled: I64, issued: I64) -> I64:
    if scenario == "Server":
        return scheduled
    if scenario == "Offline":
        return np.zeros_like(scheduled)
    return issued


def _after(t: I64, issued: I64) -> I64:
    out: I64 = np.where(t >= 0, t - issued, -1).astype(np.int64)
    return out


def write_samples(path: Path, raw: RawRun) -> Path:
    """Write ``raw``'s per-sample timing as a ``mlpace_samples.npz`` (format version 1)."""
    scheduled = np.asarray(raw.scheduled_ns, dtype=np.int64)
    issued = np.asarray(raw.issued_ns, dtype=np.int64)
    arrays: dict[str, npt.NDArray[Any]] = {
        "scheduled_ns": scheduled,
        "issue_lag_ns": issued - scheduled,
        "done_after_issue_ns": _after(np.asarray(raw.completed_ns, dtype=np.int64), issued),
    }
    query = np.asarray(raw.query_of_sample, dtype=np.int64)
    if not np.array_equal(query, np.arange(query.shape[0])):
        arrays["query_of_sample"] = query
    if bool(np.any(raw.first_token_ns >= 0)) or bool(np.any(raw.n_tokens != 0)):
        first = np.asarray(raw.first_token_ns, dtype=np.int64)
        arrays["first_token_after_issue_ns"] = _after(first, issued)
        arrays["n_tokens"] = np.asarray(raw.n_tokens, dtype=np.int64)
    meta = {
        "format": SAMPLES_FORMAT,
        "scenario": raw.scenario.value,
        "mode": raw.mode.value,
        "first_sample_id": int(raw.first_sample_id),
        "start_wall_ns": int(raw.start_wall_ns),
    }
    arrays["meta"] = np.array(json.dumps(meta))
    tmp = path.with_name(path.name + ".tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, array in arrays.items():
            with z.open(f"{name}.npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(
                    f, np.require(array, requirements="C"), allow_pickle=False
                )
    tmp.replace(path)  # a reader never sees half a file
    return path


def read_samples_npz(path: Path) -> SampleTimes:
    """Read a ``mlpace_samples.npz``; :class:`SamplesError` names what is wrong."""
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(np.asarray(data["meta"]).reshape(-1)[0]))
            if int(meta.get("format", 0)) != SAMPLES_FORMAT:
                raise SamplesError(
                    f"{path}: per-sample format {meta.get('format')!r}, this mlpace reads "
                    f"format {SAMPLES_FORMAT}"
                )
            cols = {k: np.asarray(data[k], dtype=np.int64) for k in data.files if k != "meta"}
    except SamplesError:
        raise
    except (OSError, ValueError, KeyError, zipfile.BadZipFile, EOFError) as exc:
        raise SamplesError(f"{path}: not a readable per-sample file ({exc})") from None
    for key in ("scheduled_ns", "issue_lag_ns", "done_after_issue_ns"):
        if key not in cols:
            raise SamplesError(f"{path}: the array {key!r} is missing")
    scenario = str(meta.get("scenario", ""))
    scheduled = cols["scheduled_ns"]
    issued = scheduled + cols["issue_lag_ns"]
    n = int(scheduled.shape[0])
    base = _latency_base(scenario, scheduled, issued)
    after = cols["done_after_issue_ns"]
    latency = np.where(after >= 0, issued + after - base, -1).astype(np.int64)
    ttft = None
    if "first_token_after_issue_ns" in cols:
        first = cols["first_token_after_issue_ns"]
        ttft = np.where(first >= 0, issued + first - base, -1).astype(np.int64)
    origin = int(base.min()) if base.size else 0
    query = cols.get("query_of_sample")
    return SampleTimes(
        base_ns=(base - origin).astype(np.int64),
        latency_ns=latency,
        issue_lag_ns=cols["issue_lag_ns"],
        query_of_sample=np.arange(n, dtype=np.int64) if query is None else query,
        ttft_ns=ttft,
        n_tokens=cols.get("n_tokens"),
        source=path.name,
        complete=True,
        total_samples=n,
    )


def _scan_trace(path: Path) -> tuple[list[tuple[bytes, ...]], tuple[int, int] | None]:
    """All "Sample" begin events (as byte groups) and mlpace's (written, total) note."""
    found: list[tuple[bytes, ...]] = []
    note: tuple[int, int] | None = None
    tail = b""
    with open(path, "rb") as f:
        while True:
            chunk = f.read(_CHUNK)
            if not chunk:
                break
            data = tail + chunk
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # no newline yet: keep reading
                tail = data
                continue
            found.extend(_SAMPLE_BEGIN.findall(data, 0, cut))
            tail = data[cut:]
    if tail:
        found.extend(_SAMPLE_BEGIN.findall(tail))
        m = _WRITTEN.search(tail)
        if m:
            note = (int(m.group(1)), int(m.group(2)))
    if note is None:
        with open(path, "rb") as f:
            f.seek(max(0, path.stat().st_size - 4096))
            m = _WRITTEN.search(f.read())
            if m:
                note = (int(m.group(1)), int(m.group(2)))
    return found, note


def read_trace(path: Path) -> SampleTimes:
    """Per-sample timing from a Chrome-format ``mlperf_log_trace.json`` (official or mlpace).

    Reads the file as bytes with one regular expression (a multi-GB official trace takes
    seconds, not minutes) and tolerates a file cut short by a crash: every complete event
    counts. Samples are put back in issue order by their sequence id.
    """
    try:
        found, note = _scan_trace(path)
    except OSError as exc:
        raise SamplesError(f"{path}: cannot read the trace ({exc})") from None
    if not found:
        raise SamplesError(f"{path}: no 'Sample' events in the trace")
    table = np.array(
        [(int(sid), float(ts), int(q), int(delay), int(done)) for sid, ts, q, delay, done in found],
        dtype=np.float64,
    )
    order = np.argsort(table[:, 0], kind="stable")
    table = table[order]
    base = np.rint(table[:, 1] * 1000.0).astype(np.int64)
    base -= int(base.min())
    query = table[:, 2].astype(np.int64)
    query -= int(query.min())
    complete = True
    total = int(table.shape[0])
    if note is not None and note[0] < note[1]:
        complete, total = False, note[1]
    return SampleTimes(
        base_ns=base,
        latency_ns=table[:, 4].astype(np.int64),
        issue_lag_ns=table[:, 3].astype(np.int64),
        query_of_sample=query,
        ttft_ns=None,
        n_tokens=None,
        source=path.name,
        complete=complete,
        total_samples=total,
    )


__all__ = [
    "SAMPLES_FILE",
    "SampleTimes",
    "SamplesError",
    "read_samples_npz",
    "read_trace",
    "write_samples",
]
