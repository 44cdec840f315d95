"""MLLOG writer and parser (reference §1)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from mlpace.errors import TrainingError
from mlpace.training import constants as C
from mlpace.training.mllog import (
    TOKEN,
    MLLogger,
    MLLogParseError,
    parse_mllog,
    parse_mllog_lines,
    read_mllog,
)


def _clock() -> object:
    t = iter(range(1000, 10_000))
    return lambda: next(t)


def test_line_format_field_order_and_numpy() -> None:
    buf = io.StringIO()
    log = MLLogger(buf, namespace="w1", clock_ms=_clock())  # type: ignore[arg-type]
    log.event(C.SEED, np.int64(7), {"extra": np.float32(0.5)})
    line = buf.getvalue().splitlines()[0]
    assert line.startswith(TOKEN)
    obj = json.loads(line[len(TOKEN) :])
    assert list(obj) == ["namespace", "time_ms", "event_type", "key", "value", "metadata"]
    assert obj["namespace"] == "w1" and obj["time_ms"] == 1000
    assert obj["event_type"] == C.POINT_IN_TIME and obj["value"] == 7
    assert obj["metadata"]["file"] == __file__
    assert obj["metadata"]["extra"] == 0.5
    assert isinstance(obj["metadata"]["lineno"], int)


def test_start_end_types_and_caller_line(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "log.txt"
    echo = io.StringIO()
    with MLLogger(path, clock_ms=_clock(), echo=echo) as log:  # type: ignore[arg-type]
        log.start(C.RUN_START)
        lineno = __import__("inspect").currentframe().f_lineno + 1  # type: ignore[union-attr]
        log.end(C.RUN_STOP, metadata={C.STATUS: C.SUCCESS})
    recs = parse_mllog(path)
    assert [r.event_type for r in recs] == [C.INTERVAL_START, C.INTERVAL_END]
    assert recs[1].metadata["lineno"] == lineno
    assert echo.getvalue().count(TOKEN) == 2


def test_other_ranks_write_nothing(tmp_path: Path) -> None:
    path = tmp_path / "log.txt"
    log = MLLogger(path, rank=3)
    log.event(C.SEED, 1)
    log.close()
    assert not path.exists()


def test_parser_prefix_index_and_file_line() -> None:
    text = (
        "noise\n"
        f"[1,0]<stdout>:{TOKEN}" + '{"time_ms": "5", "key": "a", "value": 1, "metadata": {}}\n'
        "more noise\n"
        f"{TOKEN}" + "{broken\n"
        f"x {TOKEN}y {TOKEN}" + '{"time_ms": 6, "key": "b", "value": null, "metadata": {}}\n'
    )
    parsed = parse_mllog_lines(text.splitlines(True))
    assert [(r.key, r.index, r.line, r.time_ms) for r in parsed.records] == [
        ("a", 0, 2, 5.0),
        ("b", 2, 5, 6.0),
    ]
    assert [(e.index, e.line) for e in parsed.errors] == [(1, 4)]


def test_missing_field_is_reported_not_raised(tmp_path: Path) -> None:
    # Deliberate difference: the official parser crashes with KeyError here.
    p = tmp_path / "x.txt"
    p.write_text(TOKEN + '{"time_ms": 1, "key": "a", "value": 1}\n' + TOKEN + "[1]\n")
    parsed = read_mllog(p)
    assert not parsed.records
    assert "metadata" in parsed.errors[0].message
    assert "not an object" in parsed.errors[1].message
    errors: list[MLLogParseError] = []
    assert parse_mllog(p, errors=errors) == [] and len(errors) == 2
    with pytest.raises(TrainingError, match="x.txt:1"):
        parse_mllog(p)


def test_latin1_is_read() -> None:
    raw = (TOKEN + '{"time_ms": 1, "key": "a", "value": "\xe9", "metadata": {}}\n').encode(
        "latin-1"
    )
    parsed = parse_mllog_lines(raw.decode("latin-1").splitlines(True))
    assert parsed.records[0].value == "\xe9"
