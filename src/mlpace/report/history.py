"""The local run history: one SQLite database of every inference and training run.

Where: ``$MLPACE_HISTORY`` if set (a file path; ``off`` disables recording), else
``$XDG_DATA_HOME/mlpace/history.sqlite`` (``~/.local/share/mlpace/history.sqlite``). Commands
take ``--history PATH`` to override both.

Safety: the database runs in WAL mode and every record is one ``BEGIN IMMEDIATE`` transaction,
so a writer killed mid-record leaves the file consistent (its row is simply absent), readers
never block writers, and concurrent runs queue on the write lock (``busy_timeout``) instead of
failing. ``synchronous=NORMAL`` with WAL survives a crash of the process; only a power loss can
drop the last records.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import sqlite3
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlpace
from mlpace.errors import MlpaceError

ENV_VAR = "MLPACE_HISTORY"
DISABLED_VALUES = ("off", "none", "0", "no", "false")
SCHEMA_VERSION = 1
BUSY_TIMEOUT_MS = 30_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    task TEXT,
    scenario TEXT,
    mode TEXT,
    system TEXT,
    valid INTEGER,
    metric_name TEXT,
    metric_value REAL,
    metric_unit TEXT,
    log_dir TEXT NOT NULL,
    generator TEXT,
    host TEXT,
    mlpace_version TEXT,
    settings_json TEXT NOT NULL DEFAULT '{}',
    system_json TEXT NOT NULL DEFAULT '{}',
    metrics_json TEXT NOT NULL DEFAULT '{}',
    checks_json TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX IF NOT EXISTS runs_by_task ON runs (task, id);
"""

COLUMNS = (
    "kind", "task", "scenario", "mode", "system", "valid", "metric_name", "metric_value",
    "metric_unit", "log_dir", "generator", "settings_json", "system_json", "metrics_json",
    "checks_json",
)  # fmt: skip


class HistoryError(MlpaceError):
    """The history database cannot be opened, read or written (names the file)."""


def default_path() -> Path | None:
    """The database path from the environment (None: recording is switched off)."""
    value = os.environ.get(ENV_VAR)
    if value is not None:
        if value.strip().lower() in DISABLED_VALUES or not value.strip():
            return None
        return Path(value).expanduser()
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "mlpace" / "history.sqlite"


@dataclass(frozen=True)
class HistoryRow:
    id: int
    kind: str
    recorded_at: str
    task: str
    scenario: str
    mode: str
    system: str
    valid: bool | None
    metric_name: str
    metric_value: float | None
    metric_unit: str
    log_dir: str
    generator: str
    settings: dict[str, Any]
    system_description: dict[str, Any]
    metrics: dict[str, Any]
    checks: list[Any]


def _json(value: object) -> str:
    return json.dumps(value, default=str, sort_keys=True)


class History:
    """A connection to the history database (creates it and its folder on first use)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                str(self.path), timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None
            )
        except (OSError, sqlite3.Error) as exc:
            raise HistoryError(f"{self.path}: cannot open the history database ({exc})") from None
        try:
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise HistoryError(f"{self.path}: the database refused WAL mode ({mode})")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self.transaction() as db:
                for stmt in _SCHEMA.split(";"):
                    if stmt.strip():
                        db.execute(stmt)
                found = db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
                if found is None:
                    db.execute(
                        "INSERT INTO meta (key, value) VALUES ('schema', ?)", (str(SCHEMA_VERSION),)
                    )
                elif int(found[0]) > SCHEMA_VERSION:
                    raise HistoryError(
                        f"{self.path}: history schema {found[0]} is newer than this mlpace "
                        f"understands ({SCHEMA_VERSION}); upgrade mlpace"
                    )
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise HistoryError(f"{self.path}: not a usable history database ({exc})") from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction; taken with IMMEDIATE so writers queue instead of deadlocking."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    # ------------------------------------------------------------------ writing
    def add(self, **fields: Any) -> int:
        """Insert one run; returns its id. Unknown field names are an error (a typo)."""
        unknown = set(fields) - set(COLUMNS)
        if unknown:
            raise HistoryError(f"unknown history fields {sorted(unknown)}")
        if "log_dir" not in fields or "kind" not in fields:
            raise HistoryError("a history record needs kind and log_dir")
        row = dict(fields)
        for key in ("settings_json", "system_json", "metrics_json", "checks_json"):
            if key in row and not isinstance(row[key], str):
                row[key] = _json(row[key])
        if isinstance(row.get("valid"), bool):
            row["valid"] = int(row["valid"])
        row["recorded_at"] = _dt.datetime.now().isoformat(timespec="seconds")
        row["host"] = platform.node()
        row["mlpace_version"] = mlpace.__version__
        names = list(row)
        sql = f"INSERT INTO runs ({', '.join(names)}) VALUES ({', '.join('?' for _ in names)})"
        try:
            with self.transaction() as db:
                cur = db.execute(sql, [row[n] for n in names])
                return int(cur.lastrowid or 0)
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot record the run ({exc})") from None

    # ------------------------------------------------------------------ reading
    def rows(
        self, *, task: str | None = None, kind: str | None = None, last: int | None = None
    ) -> list[HistoryRow]:
        """Runs oldest first; ``last`` keeps the newest N."""
        where: list[str] = []
        args: list[object] = []
        if task:
            where.append("(task = ? OR task LIKE ?)")
            args += [task, f"%{task}%"]
        if kind:
            where.append("kind = ?")
            args.append(kind)
        sql = "SELECT * FROM runs" + (f" WHERE {' AND '.join(where)}" if where else "")
        sql += " ORDER BY id DESC"
        if last is not None:
            sql += " LIMIT ?"
            args.append(int(last))
        try:
            self._db.row_factory = sqlite3.Row
            found = self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot read the history ({exc})") from None
        finally:
            self._db.row_factory = None
        return [_row(r) for r in reversed(found)]

    def get(self, run_id: int) -> HistoryRow:
        try:
            self._db.row_factory = sqlite3.Row
            found = self._db.execute("SELECT * FROM runs WHERE id = ?", (int(run_id),)).fetchone()
        except sqlite3.Error as exc:
            raise HistoryError(f"{self.path}: cannot read the history ({exc})") from None
        finally:
            self._db.row_factory = None
        if found is None:
            raise HistoryError(f"{self.path}: no run with id {run_id} in the history")
        return _row(found)

    def count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM runs").fetchone()[0])

    def integrity(self) -> str:
        return str(self._db.execute("PRAGMA integrity_check").fetchone()[0])


def _loads(text: str | None, default: Any) -> Any:
    try:
        return json.loads(text) if text else default
    except ValueError:
        return default


def _row(r: Mapping[str, Any]) -> HistoryRow:
    valid = r["valid"]
    return HistoryRow(
        id=int(r["id"]),
        kind=str(r["kind"]),
        recorded_at=str(r["recorded_at"]),
        task=str(r["task"] or ""),
        scenario=str(r["scenario"] or ""),
        mode=str(r["mode"] or ""),
        system=str(r["system"] or ""),
        valid=None if valid is None else bool(valid),
        metric_name=str(r["metric_name"] or ""),
        metric_value=None if r["metric_value"] is None else float(r["metric_value"]),
        metric_unit=str(r["metric_unit"] or ""),
        log_dir=str(r["log_dir"]),
        generator=str(r["generator"] or ""),
        settings=_loads(r["settings_json"], {}),
        system_description=_loads(r["system_json"], {}),
        metrics=_loads(r["metrics_json"], {}),
        checks=_loads(r["checks_json"], []),
    )


def open_history(path: Path | None = None) -> History:
    """The history at ``path`` or at :func:`default_path`; error if recording is off."""
    chosen = path if path is not None else default_path()
    if chosen is None:
        raise HistoryError(f"the history is switched off ({ENV_VAR}={os.environ.get(ENV_VAR)!r})")
    return History(chosen)


__all__ = [
    "ENV_VAR",
    "History",
    "HistoryError",
    "HistoryRow",
    "default_path",
    "open_history",
]
