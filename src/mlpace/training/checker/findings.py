"""What a checker reports: one :class:`Finding` per broken rule."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

Severity = Literal["error", "warning"]
ERROR: Severity = "error"
WARNING: Severity = "warning"


@dataclass(frozen=True)
class Finding:
    """One rule result that needs attention.

    ``line`` is the real 1-based line of the file and ``index`` the 0-based MLLOG-line index
    the official checker prints; both are ``None`` for findings about the whole log (a missing
    key) or a whole folder.
    """

    rule_id: str
    severity: Severity
    message: str
    path: str = ""
    line: int | None = None
    index: int | None = None
    key: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def location(self) -> str:
        if self.line is None:
            return self.path or "-"
        return f"{self.path}:{self.line} (MLLOG line {self.index})"

    def format(self) -> str:
        return f"{self.location()}: {self.severity.upper()} [{self.rule_id}] {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
