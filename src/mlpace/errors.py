"""The one exception tree of mlpace.

Every error a user can cause names the problem precisely: the file, line, key and value for a
configuration mistake; the sample ids for a system under test that never answers. Only the CLI
turns these into exit codes.

    MlpaceError
    ├── ConfigError            a config file line is wrong (file, line, key, value)
    ├── SettingsError          a settings field has a wrong value (field, value)
    ├── SutError               the system under test misbehaved
    │   ├── SutTimeoutError    samples never completed (missing sample ids)
    │   └── SutCallbackError   issue_queries / flush / load raised
    ├── RunInterrupted         Ctrl-C, SIGTERM or SIGHUP ended a run early
    ├── DatasetError           a data set is missing or malformed
    ├── BackendError           a backend could not load or run a model
    ├── MissingDependencyError an optional package is needed (names the pip extra)
    ├── TaskError              unknown task / scenario combination
    ├── TrainingError          the training harness or a checker cannot proceed
    └── LogFormatError         a log given to a verifier is missing or malformed (file, line)
"""

from __future__ import annotations

from collections.abc import Sequence


class MlpaceError(Exception):
    """Base class for every error mlpace raises on purpose."""


class ConfigError(MlpaceError):
    """A line of a config file (mlperf.conf, user.conf, audit.config) is wrong."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        line: int | None = None,
        key: str | None = None,
        value: str | None = None,
    ) -> None:
        self.path = path
        self.line = line
        self.key = key
        self.value = value
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        detail = []
        if key is not None:
            detail.append(f"key {key!r}")
        if value is not None:
            detail.append(f"value {value!r}")
        suffix = f" ({', '.join(detail)})" if detail else ""
        super().__init__(f"{where}{message}{suffix}")


class SettingsError(MlpaceError):
    """A settings field holds a value the rules do not allow."""

    def __init__(self, message: str, *, field: str | None = None, value: object = None) -> None:
        self.field = field
        self.value = value
        suffix = f" (field {field!r}, value {value!r})" if field is not None else ""
        super().__init__(f"{message}{suffix}")


class SutError(MlpaceError):
    """The system under test broke the LoadGen contract."""


class SutTimeoutError(SutError):
    """Issued samples never completed within the configured timeout."""

    def __init__(self, message: str, *, missing_ids: Sequence[int] = ()) -> None:
        self.missing_ids = list(missing_ids)
        shown = ", ".join(str(i) for i in self.missing_ids[:20])
        more = f" and {len(self.missing_ids) - 20} more" if len(self.missing_ids) > 20 else ""
        super().__init__(f"{message}: missing sample ids [{shown}{more}]")


class SutCallbackError(SutError):
    """A callback of the system under test or sample library raised an exception."""


class RunInterrupted(MlpaceError):
    """The run was stopped before its end (Ctrl-C, SIGTERM, SIGHUP); logs written so far stay
    readable. ``exit_code`` follows the shell convention: 128 + the signal number."""

    def __init__(self, message: str, *, exit_code: int = 130) -> None:
        self.exit_code = exit_code
        super().__init__(message)


class StopRequested(KeyboardInterrupt):
    """Raised in the main thread by a signal handler (SIGTERM, SIGHUP) so that a run ends the way
    Ctrl-C ends it, with its own reason and exit code. A ``KeyboardInterrupt`` so that every
    place that already finishes the logs on Ctrl-C does the same for these signals."""

    def __init__(self, reason: str, exit_code: int) -> None:
        self.reason = reason
        self.exit_code = exit_code
        super().__init__(reason)


def interrupt_reason(exc: BaseException) -> tuple[str, int]:
    """Reason text and exit code of a ``KeyboardInterrupt`` (plain Ctrl-C or a StopRequested)."""
    if isinstance(exc, StopRequested):
        return exc.reason, exc.exit_code
    return "interrupted by the user (Ctrl-C)", 130


class DatasetError(MlpaceError):
    """A data set is missing, malformed or not allowed in this mode."""


class BackendError(MlpaceError):
    """A backend could not load or run a model."""


class MissingDependencyError(MlpaceError):
    """An optional dependency is not installed; the message names the pip extra."""

    def __init__(self, package: str, extra: str) -> None:
        self.package = package
        self.extra = extra
        super().__init__(
            f"this needs the optional package {package!r}: pip install 'mlpace[{extra}]'"
        )


class TaskError(MlpaceError):
    """An unknown task, or a task / scenario / backend combination that does not exist."""


class TrainingError(MlpaceError):
    """The training harness or one of its checkers cannot proceed."""


class LogFormatError(MlpaceError):
    """A log file given to a verifier (``mlpace audit verify``) is missing or malformed."""

    def __init__(self, message: str, *, path: str, line: int | None = None) -> None:
        self.path = path
        self.line = line
        where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(f"{where}{message}")
