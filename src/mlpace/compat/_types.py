"""The official binding's value types: its enums, query samples and responses."""

from __future__ import annotations

import ctypes
import enum
from typing import Any

from mlpace.loadgen import enums as _enums
from mlpace.loadgen import sut as _core_sut

# --------------------------------------------------------------------------------------------
# Enums: the official ones are pybind11 enums with these integer values; ``int(member)`` works,
# ``str(member)`` is ``"TestScenario.Offline"``.
# --------------------------------------------------------------------------------------------


class _IntLikeEnum(enum.Enum):
    def __int__(self) -> int:
        return int(self.value)

    def __index__(self) -> int:
        return int(self.value)

    def __str__(self) -> str:
        return f"{type(self).__name__}.{self.name}"

    @property
    def name_(self) -> str:  # pragma: no cover - convenience only
        return self.name


class TestScenario(_IntLikeEnum):
    __test__ = False
    SingleStream = 0
    MultiStream = 1
    Server = 2
    Offline = 3


class TestMode(_IntLikeEnum):
    __test__ = False
    SubmissionRun = 0
    AccuracyOnly = 1
    PerformanceOnly = 2
    FindPeakPerformance = 3


class LoggingMode(_IntLikeEnum):
    AsyncPoll = 0
    EndOfTestOnly = 1
    Synchronous = 2


def _to_scenario(value: object) -> TestScenario:
    if isinstance(value, TestScenario):
        return value
    if isinstance(value, _enums.TestScenario):
        return TestScenario[value.value]
    if isinstance(value, str):
        return TestScenario[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return TestScenario(value)
    name = getattr(value, "name", None)  # the official binding's enum, say
    if isinstance(name, str) and name in TestScenario.__members__:
        return TestScenario[name]
    raise TypeError(f"scenario must be a TestScenario, not {value!r}")


def _to_mode(value: object) -> TestMode:
    if isinstance(value, TestMode):
        return value
    if isinstance(value, _enums.TestMode):
        return TestMode[value.value]
    if isinstance(value, str):
        return TestMode[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return TestMode(value)
    name = getattr(value, "name", None)
    if isinstance(name, str) and name in TestMode.__members__:
        return TestMode[name]
    raise TypeError(f"mode must be a TestMode, not {value!r}")


def _to_logging_mode(value: object) -> LoggingMode:
    if isinstance(value, LoggingMode):
        return value
    if isinstance(value, str):
        return LoggingMode[value]
    if isinstance(value, int) and not isinstance(value, bool):
        return LoggingMode(value)
    raise TypeError(f"log_mode must be a LoggingMode, not {value!r}")


# --------------------------------------------------------------------------------------------
# Value types
# --------------------------------------------------------------------------------------------


class QuerySample:
    """``QuerySample()`` / ``QuerySample(id, index)``: mutable and picklable, as officially.

    A plain slotted class: the facade builds one per issued sample, and this is about three
    times cheaper to create than a frozen dataclass (and than the official pybind11 object).
    """

    __slots__ = ("id", "index")

    def __init__(self, id: int = 0, index: int = 0) -> None:  # noqa: A002 - official name
        self.id = id
        self.index = index

    def __reduce__(self) -> tuple[Any, tuple[int, int]]:
        return (QuerySample, (self.id, self.index))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (QuerySample, _core_sut.QuerySample)):
            return (self.id, self.index) == (other.id, other.index)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.id, self.index))

    def __repr__(self) -> str:
        return f"QuerySample(id={self.id}, index={self.index})"


class QuerySampleResponse:
    """``QuerySampleResponse()``, ``(id, data, size)`` or ``(id, data, size, n_tokens)``.

    ``data`` is a memory address (``int``) of ``size`` bytes, as in the official binding (the
    ``array.array('B', ...).buffer_info()`` idiom, or a NumPy array's ``.ctypes.data``), or a
    buffer (``bytes``, ``bytearray``, ``memoryview``, NumPy array), in which case ``size`` may be
    left out. The bytes are read inside ``QuerySamplesComplete`` / ``FirstTokenComplete``.
    """

    __slots__ = ("id", "data", "size", "n_tokens")

    def __init__(
        self,
        id: int = 0,  # noqa: A002 - official name
        data: Any = 0,
        size: int | None = None,
        n_tokens: int = 0,
    ) -> None:
        self.id = id
        self.data = data
        if size is None:
            size = 0 if isinstance(data, int) else _buffer_nbytes(data)
        self.size = size
        self.n_tokens = n_tokens

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        data = self.data
        if isinstance(data, (bytearray, memoryview)):
            data = bytes(data)
        return (QuerySampleResponse, (self.id, data, self.size, self.n_tokens))

    def __repr__(self) -> str:
        return (
            f"QuerySampleResponse(id={self.id}, data={self.data!r}, size={self.size}, "
            f"n_tokens={self.n_tokens})"
        )


class VectorQuerySample(list):  # type: ignore[type-arg]
    """The official bound ``std::vector<QuerySample>``; here simply a list."""


class VectorQuerySampleResponse(list):  # type: ignore[type-arg]
    """The official bound ``std::vector<QuerySampleResponse>``; here simply a list."""


def _buffer_nbytes(data: Any) -> int:
    if isinstance(data, (bytes, bytearray)):
        return len(data)
    nbytes = getattr(data, "nbytes", None)
    if isinstance(nbytes, int):
        return nbytes
    return memoryview(data).nbytes


def _payload(response: Any) -> bytes:
    """The response's bytes, copied now (the caller may overwrite its buffer after we return)."""
    data = response.data
    size = response.size
    if type(data) is int:
        if not data or not size:
            return b""
        return ctypes.string_at(data, size)
    if isinstance(data, bytes):
        return data if size is None or size >= len(data) else data[:size]
    if isinstance(data, (bytearray, memoryview)):
        raw = bytes(data)
    elif hasattr(data, "tobytes"):  # NumPy arrays (any layout) and array.array
        raw = data.tobytes()
    elif isinstance(data, int):  # an int subclass (e.g. numpy integer converted)
        return ctypes.string_at(int(data), size) if data and size else b""
    else:
        raw = bytes(memoryview(data))
    return raw if size is None or size >= len(raw) else raw[:size]
