"""The output folder of a run: checked before any expensive work, never mixed with an earlier run.

:func:`check_output_folder` refuses a path that is a file, lies under a file, or cannot be written,
before a model is loaded. :func:`prepare_output` then looks for the files of an earlier run in the
folders this run will write and, by policy:

* ``"refuse"`` (a folder the user named): stop with a message that says how to go on;
* ``"replace"`` (``--force``): delete the earlier run's files;
* ``"move-aside"`` (the default folder): move them to ``<root>/previous/`` (replacing what an
  earlier move put there), so ``mlpace run`` can be repeated and the last run is kept.

Only files a run writes are touched (the four ``mlperf_log_*`` files, ``accuracy.txt``, the
``mlpace_*`` and ``system_description.json`` side files); anything else in the folder stays.
A ``--no-trace`` rerun therefore never sits beside an old run's trace.
"""

from __future__ import annotations

import fnmatch
import os
import time
from collections.abc import Sequence
from pathlib import Path

from mlpace.errors import MlpaceError

__all__ = [
    "POLICIES",
    "RUN_FILE_PATTERNS",
    "OutputError",
    "check_output_folder",
    "earlier_run_files",
    "prepare_output",
]

RUN_FILE_PATTERNS = (
    "mlperf_log_*",
    "accuracy.txt",
    "mlpace_*.json",
    "mlpace_*.jsonl",
    "mlpace_*.txt",
    "mlpace_*.npz",
    "report.html",
    "system_description.json",
)
POLICIES = ("refuse", "replace", "move-aside")
PREVIOUS = "previous"


class OutputError(MlpaceError):
    """The output folder cannot be used (a file, no permission, an earlier run)."""


def check_output_folder(root: str | os.PathLike[str], flag: str = "--output") -> None:
    """Refuse a folder that cannot be created or written, naming the flag and the culprit."""
    path = Path(root)
    if path.exists() and not path.is_dir():
        raise OutputError(f"{flag} {path}: is a file, not a folder")
    ancestor = path
    while not ancestor.exists():
        parent = ancestor.parent
        if parent == ancestor:
            break
        ancestor = parent
    if ancestor.exists() and not ancestor.is_dir():
        raise OutputError(f"{flag} {path}: {ancestor} is a file, so no folder can be made under it")
    if ancestor.exists() and not os.access(ancestor, os.W_OK | os.X_OK):
        raise OutputError(f"{flag} {path}: no permission to write in {ancestor}")


def _is_run_file(name: str) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in RUN_FILE_PATTERNS)


def earlier_run_files(folder: Path, *, recursive: bool) -> list[Path]:
    """The files of an earlier run in ``folder`` (sorted; empty when there is none)."""
    if not folder.is_dir():
        return []
    if recursive:
        found = [Path(d) / f for d, _, files in os.walk(folder) for f in files if _is_run_file(f)]
    else:
        found = [p for p in folder.iterdir() if p.is_file() and _is_run_file(p.name)]
    return sorted(found)


def _remove_empty_dirs(top: Path, stop: Path) -> None:
    """Remove the empty folders left in ``top`` (deepest first), never ``stop`` itself."""
    for d, _, _ in sorted(os.walk(top), key=lambda item: -len(item[0])):
        path = Path(d)
        if path != stop and not any(path.iterdir()):
            path.rmdir()


def prepare_output(
    root: str | os.PathLike[str],
    targets: Sequence[Path],
    *,
    policy: str,
    recursive: bool = True,
    flag: str = "--output",
) -> list[str]:
    """Make sure no earlier run's files sit in ``targets`` (folders under ``root``).

    Returns lines for the console (what was moved or deleted). Raises :class:`OutputError` for
    ``policy="refuse"`` when an earlier run is there.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {POLICIES}, not {policy!r}")
    base = Path(root)
    check_output_folder(base, flag)
    found = {t: earlier_run_files(t, recursive=recursive) for t in targets}
    files = [f for fs in found.values() for f in fs]
    if not files:
        return []
    if policy == "refuse":
        first = files[0]
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(first.stat().st_mtime))
        raise OutputError(
            f"{flag} {base} already holds a run ({first}, written {when}); add --force to "
            "replace it, or choose another folder"
        )
    try:
        if policy == "replace":
            for f in files:
                f.unlink()
            for t in targets:
                if recursive and t.is_dir():
                    _remove_empty_dirs(t, base)
            return [f"mlpace: --force: deleted the earlier run in {base} ({len(files)} files)"]
        for target, target_files in found.items():
            if not target_files:
                continue
            rel = target.relative_to(base) if target != base else Path()
            dest = base / PREVIOUS / rel
            for old in earlier_run_files(dest, recursive=recursive):
                old.unlink()
            for f in target_files:
                moved = dest / f.relative_to(target)
                moved.parent.mkdir(parents=True, exist_ok=True)
                os.replace(f, moved)
            if recursive:
                _remove_empty_dirs(target, base)
    except OSError as exc:
        raise OutputError(
            f"{flag} {base}: cannot clear the earlier run: {exc.strerror} ({exc.filename})"
        ) from None
    return [
        f"mlpace: moved the earlier run in {base} ({len(files)} files) to "
        f"{base / PREVIOUS} (replacing the one kept there)"
    ]
