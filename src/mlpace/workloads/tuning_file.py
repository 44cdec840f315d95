"""The files a sweep writes, and the one ``mlpace run --threads-from FILE`` reads.

``threads.json`` (format ``mlpace-threads/1``) holds the best setting: the ``mlpace run`` options
it maps to (threads, workers, batch size, backend options), the figure that made it best, its
speedups, the CPU layout it was measured on, and a ``system_description`` block in the MLPerf
system-description vocabulary (``sw_notes``, core and socket counts) for the submission's
system file. ``sweep.json`` holds every point and repeat.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlpace.errors import ConfigError, TaskError
from mlpace.workloads.run_types import RunOptions
from mlpace.workloads.tuning import PointResult, SweepResult

__all__ = [
    "THREADS_FORMAT",
    "ThreadSettings",
    "apply_thread_settings",
    "full_system_description",
    "read_thread_settings",
    "sweep_document",
    "threads_document",
    "write_json",
]

THREADS_FORMAT = "mlpace-threads/1"


@dataclass(frozen=True)
class ThreadSettings:
    """What ``--threads-from`` applies to a run (None: leave the run's own value)."""

    path: str
    task: str
    backend: str
    threads: int | None
    workers: int | None
    batch_size: int | None
    backend_options: Mapping[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, object]:
        """For the run's mlpace_sut.json: where the settings came from and what they are."""
        return {
            "threads_from": self.path,
            "tuned_for": f"{self.task} on {self.backend}",
            "threads": self.threads,
            "workers": self.workers,
            "batch_size": self.batch_size,
            "backend_options": dict(self.backend_options),
        }


def _point_doc(r: PointResult) -> dict[str, object]:
    p = r.point
    return {
        "label": p.label,
        "intra_op_threads": p.intra,
        "inter_op_pools": p.pools,
        "workers": p.workers,
        "batch_size": p.batch,
        "total_threads": p.total_threads,
        "values": r.values,
        "seconds": [round(s, 3) for s in r.seconds],
        "median": r.median,
        "error": r.error,
    }


def _settings_of(r: PointResult, backend: str) -> dict[str, object]:
    p = r.point
    return {
        "threads": p.intra,
        "workers": p.workers,
        "batch_size": p.batch,
        "backend_options": p.backend_options(backend),
    }


def sweep_document(sweep: SweepResult) -> dict[str, object]:
    t = sweep.topology
    return {
        "task": sweep.task,
        "backend": sweep.backend,
        "scenario": sweep.scenario,
        "metric": sweep.metric,
        "topology": {
            "logical_cpus": t.logical_cpus,
            "physical_cores": t.physical_cores,
            "sockets": t.sockets,
            "source": t.source,
        },
        "graph_width": sweep.graph_width,
        "repeats": sweep.repeats,
        "budget_s": sweep.budget_s,
        "elapsed_s": round(sweep.elapsed_s, 3),
        "load_average_before_after": list(sweep.load_avg),
        "stopped": sweep.stopped,
        "points": [_point_doc(r) for r in sweep.results],
    }


def threads_document(sweep: SweepResult) -> dict[str, object] | None:
    """The best setting as a ``threads.json`` document (None: nothing was measured)."""
    best = sweep.best
    if best is None:
        return None
    t = sweep.topology
    p = best.point
    settings = _settings_of(best, sweep.backend)
    notes = (
        f"mlpace tune-threads: {sweep.backend} intra-op threads "
        f"{'default' if p.intra is None else p.intra}, inter-op pools "
        f"{'default' if p.pools is None else p.pools}, {p.workers} SUT worker(s), batch {p.batch}"
    )
    return {
        "format": THREADS_FORMAT,
        "task": sweep.task,
        "backend": sweep.backend,
        "scenario": sweep.scenario,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "settings": settings,
        "throughput": {
            "metric": sweep.metric,
            "median": best.median,
            "low": best.low,
            "high": best.high,
            "repeats": len(best.values),
        },
        "speedup": {s.reference: round(s.ratio, 4) for s in sweep.speedups()},
        "speedup_by_round": {
            s.reference: {
                "ratios": [round(r, 4) for r in s.paired],
                "faster_in": s.wins,
                "sign_test_p": round(s.p_value, 4),
                "clear": s.clear,
            }
            for s in sweep.speedups()
        },
        # MLPerf system-description keys (string values, as the system file has them).
        "system_description": {
            "host_processor_core_count": str(t.cores_per_socket),
            "host_processors_per_node": str(t.sockets),
            "sw_notes": notes,
        },
        "stopped_early": sweep.stopped,
    }


def full_system_description(doc: Mapping[str, Any]) -> dict[str, str] | None:
    """The whole MLPerf system description of this machine with the tuned settings in it, when
    ``mlpace.system.describe_system`` is available (None otherwise)."""
    import importlib

    try:
        module = importlib.import_module("mlpace.system")
    except ImportError:
        return None
    describe = getattr(module, "describe_system", None)
    if describe is None:
        return None
    settings = doc.get("settings") or {}
    described = describe(
        dict(doc.get("system_description") or {}),
        backend=doc.get("backend"),
        threads=settings.get("threads"),
        workers=settings.get("workers"),
    )
    return {str(k): str(v) for k, v in dict(described).items()}


def write_json(path: Path, doc: Mapping[str, object]) -> None:
    """Whole or not at all: a stop signal never leaves half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, default=str) + "\n")
    os.replace(tmp, path)


def _count(doc: Mapping[str, Any], key: str, path: str, *, low: int = 1) -> int | None:
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise ConfigError(
            f"settings.{key} must be a whole number >= {low} or null", path=path, value=repr(value)
        )
    return value


def read_thread_settings(path: str | os.PathLike[str]) -> ThreadSettings:
    """Read a ``threads.json``; a missing, malformed or foreign file is a ConfigError naming the
    file (and line, for bad JSON)."""
    name = os.fspath(path)
    try:
        text = Path(name).read_text()
    except FileNotFoundError:
        raise ConfigError("no such file (write one with mlpace tune-threads)", path=name) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a threads.json file", path=name) from None
    except OSError as exc:
        raise ConfigError(f"cannot read it: {exc.strerror or exc}", path=name) from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        detail = f"not JSON: {exc.msg} (column {exc.colno})"
        raise ConfigError(detail, path=name, line=exc.lineno) from None
    if not isinstance(doc, dict) or doc.get("format") != THREADS_FORMAT:
        found = doc.get("format") if isinstance(doc, dict) else type(doc).__name__
        raise ConfigError(
            f"not a thread-settings file: expected format {THREADS_FORMAT!r}, found {found!r}",
            path=name,
        )
    settings = doc.get("settings")
    if not isinstance(settings, dict):
        raise ConfigError("has no 'settings' object", path=name)
    options = settings.get("backend_options") or {}
    if not isinstance(options, dict):
        raise ConfigError("settings.backend_options must be an object", path=name)
    return ThreadSettings(
        path=name,
        task=str(doc.get("task", "")),
        backend=str(doc.get("backend", "")),
        threads=_count(settings, "threads", name),
        workers=_count(settings, "workers", name),
        batch_size=_count(settings, "batch_size", name),
        backend_options=dict(options),
    )


def apply_thread_settings(
    opts: RunOptions, settings: ThreadSettings
) -> tuple[RunOptions, list[str]]:
    """``opts`` with the file's settings where the run gave none (explicit flags win), and
    warnings. A file tuned for another backend is refused: its numbers mean other knobs."""
    import dataclasses

    warnings: list[str] = []
    aliases = {"onnx": "onnxruntime", "ort": "onnxruntime", "pytorch": "torch"}
    asked = aliases.get(opts.backend or "", opts.backend)
    if asked and settings.backend and asked != settings.backend:
        raise TaskError(
            f"--threads-from {settings.path}: tuned for the {settings.backend} backend, this run "
            f"uses --backend {asked}; tune it for {asked} or drop --backend"
        )
    if settings.task and settings.task != opts.task:
        warnings.append(
            f"mlpace: warning: --threads-from {settings.path}: tuned for task {settings.task}, "
            f"applied to {opts.task}"
        )
    return (
        dataclasses.replace(
            opts,
            backend=opts.backend or settings.backend or None,
            # None in the file is the framework's own default: 0 tells the runner so.
            threads=opts.threads if opts.threads is not None else (settings.threads or 0),
            workers=opts.workers if opts.workers is not None else settings.workers,
            batch_size=opts.batch_size if opts.batch_size is not None else settings.batch_size,
            backend_options={**settings.backend_options, **opts.backend_options},
            threads_from=settings.path,
        ),
        warnings,
    )
