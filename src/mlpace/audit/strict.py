"""mlpace's strict checks: what the official rules compare, and what they leave out.

Each check returns a :class:`Finding` (pass / fail / warn / n/a) with what was observed, what was
required, advice on what a failure means, and, when the official rule passed what this check
catches, a sentence that says so (``official_missed``). The strict verdict fails when any finding
fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mlpace.audit.logs import AccuracyEntry, AccuracyLog, DetailLog, RawSamples
from mlpace.audit.official import TEST01_DTYPES
from mlpace.audit.stats import Estimate, SpeedRatio, ratio, scenario_estimate

__all__ = [
    "Finding",
    "audit_config_applied",
    "every_byte",
    "no_loadgen_errors",
    "run_valid",
    "sample_set_bias",
    "speed_check",
    "token_consistency",
]

MAX_LISTED = 20


@dataclass(frozen=True)
class Finding:
    name: str
    title: str
    status: str  # "pass", "fail", "warn" or "n/a"
    observed: str
    required: str = ""
    advice: str = ""
    details: tuple[str, ...] = ()
    official_missed: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "fail"


def _listed(items: list[str]) -> tuple[str, ...]:
    if len(items) <= MAX_LISTED:
        return tuple(items)
    return (*items[:MAX_LISTED], f"... and {len(items) - MAX_LISTED} more")


# ------------------------------------------------------------------------------ run hygiene
def no_loadgen_errors(detail: DetailLog, run: str) -> Finding:
    errors = detail.errors
    count = detail.num_errors
    if count == 0:
        return Finding(f"errors-{run}", f"no LoadGen errors in the {run} run", "pass", "0 errors")
    shown = [f"{detail.path}:{m.line}: {m.key}: {str(m.value)[:240]}" for m in errors]
    return Finding(
        f"errors-{run}",
        f"no LoadGen errors in the {run} run",
        "fail",
        f"{count} error(s)",
        "0 errors",
        "a run that logs errors is not a clean measurement; fix the cause (named below) and "
        "run again",
        _listed(shown),
    )


def run_valid(detail: DetailLog, run: str) -> Finding:
    validity = detail.get("result_validity")
    ok = validity == "VALID"
    reason = detail.get("result_invalid_reason")
    return Finding(
        f"valid-{run}",
        f"the {run} run is VALID",
        "pass" if ok else "fail",
        str(validity),
        "VALID",
        "" if ok else f"LoadGen says: {reason}" if reason else "see its summary log",
    )


# Detail-log keys that show a setting of the run (the requested value, after audit.config).
def _requested_key(field: str) -> str:
    return "requested_test_mode" if field == "mode" else f"requested_{field}"


def _shown(value: Any) -> Any:
    name = getattr(value, "name", None)
    return name if isinstance(name, str) else value


def audit_config_applied(
    detail: DetailLog, expected: dict[str, Any], run: str, *, seeds: dict[str, int] | None = None
) -> Finding:
    """The run used the audit.config: LoadGen announced it and the settings show its values."""
    wrong: list[str] = []
    if not detail.audit_config_found:
        wrong.append("the detail log never says 'Found Audit Config file'")
    for field, value in expected.items():
        key = _requested_key(field)
        if not detail.has(key):
            continue
        logged = detail.get(key)
        want = _shown(value)
        if isinstance(want, bool) or isinstance(logged, bool):
            same = bool(logged) == bool(want)
        else:
            same = logged == want
        if not same:
            wrong.append(f"{key} is {logged!r}, the audit.config sets {want!r}")
    for name, value in (seeds or {}).items():
        logged = detail.get(f"effective_{name}")
        if logged != value:
            wrong.append(f"effective_{name} is {logged!r}, expected {value}")
    if not wrong:
        return Finding(
            f"applied-{run}",
            f"the {run} run used its audit.config",
            "pass",
            "announced in the detail log; settings match",
        )
    return Finding(
        f"applied-{run}",
        f"the {run} run used its audit.config",
        "fail",
        "; ".join(wrong[:3]),
        "LoadGen reads audit.config from the working directory of the run",
        "run the harness from the directory that holds audit.config (mlpace audit does this), "
        "do not pass audit_config_filename, and check that nothing deletes the file",
        _listed(wrong),
    )


# ------------------------------------------------------------------------------ TEST01 bytes
def _first_difference(a: bytes, b: bytes) -> int:
    n = min(len(a), len(b))
    diff = np.flatnonzero(np.frombuffer(a[:n], np.uint8) != np.frombuffer(b[:n], np.uint8))
    return int(diff[0]) if diff.size else n


def every_byte(reference: AccuracyLog, test: AccuracyLog, dtype: str = "byte") -> list[Finding]:
    """Every logged performance response against the accuracy run's, byte for byte.

    ``dtype`` is the official check's element type, to tell which differences it cannot see.
    """
    element = np.dtype(TEST01_DTYPES[dtype]).itemsize
    truth: dict[int, AccuracyEntry] = {}
    nondeterministic: list[str] = []
    for e in reference.entries:
        first = truth.setdefault(e.qsl_idx, e)
        if first is not e and first.data != e.data:
            nondeterministic.append(
                f"qsl_idx {e.qsl_idx}: {reference.where(first)} and {reference.where(e)} differ"
            )
    compared = 0
    missing: list[int] = []
    mismatches: list[str] = []
    element0_only = 0
    for e in test.entries:
        ref = truth.get(e.qsl_idx)
        if ref is None:
            missing.append(e.qsl_idx)
            continue
        compared += 1
        if ref.data.upper() == e.data.upper():
            continue
        a, b = e.payload, ref.payload
        at = _first_difference(a, b)
        if at >= element and len(a) >= element and len(b) >= element:
            element0_only += 1
        mismatches.append(
            f"qsl_idx {e.qsl_idx} (seq_id {e.seq_id}, {test.where(e)}): {len(a)} bytes vs "
            f"{len(b)} in the accuracy run ({reference.where(ref)}), first difference at "
            f"byte {at}"
        )
    findings: list[Finding] = []
    if compared == 0:
        findings.append(
            Finding(
                "every-byte",
                "every byte of every logged response equals the accuracy run's",
                "fail",
                f"nothing to compare: {len(test.entries)} logged performance responses, "
                f"{len(missing)} without an accuracy-run counterpart",
                "at least one logged response of a sample the accuracy run answered",
                "the audit run logged no responses (audit.config not applied?) or the accuracy "
                "log is from another data set",
            )
        )
    elif mismatches:
        missed = ""
        if element0_only:
            missed = (
                f"the official TEST01 rule compares only the first element of each response: "
                f"{element0_only} of these {len(mismatches)} responses agree there and differ "
                "later, which it cannot see"
            )
        findings.append(
            Finding(
                "every-byte",
                "every byte of every logged response equals the accuracy run's",
                "fail",
                f"{len(mismatches)} of {compared} compared responses differ",
                "0 differences",
                "the system answers differently when it is timed than when it is checked for "
                "accuracy (a different code path, precision or batch size in performance "
                "mode); if the outputs are legitimately nondeterministic, score both logs "
                "with the accuracy script and compare the scores instead",
                _listed(mismatches),
                missed,
            )
        )
    else:
        findings.append(
            Finding(
                "every-byte",
                "every byte of every logged response equals the accuracy run's",
                "pass",
                f"{compared} responses identical",
            )
        )
    if missing:
        shown = ", ".join(str(i) for i in sorted(set(missing))[:MAX_LISTED])
        findings.append(
            Finding(
                "uncompared",
                "every logged response has an accuracy-run counterpart",
                "warn",
                f"{len(missing)} logged responses of samples the accuracy log lacks: {shown}",
                advice="normal when the accuracy set is smaller than the performance set; "
                "otherwise the two runs used different data sets",
            )
        )
    if nondeterministic:
        findings.append(
            Finding(
                "accuracy-repeats",
                "the accuracy run answers each sample once, identically",
                "warn",
                f"{len(nondeterministic)} samples logged twice with different responses",
                details=_listed(nondeterministic),
            )
        )
    return findings


# ------------------------------------------------------------------------------ speed
def speed_check(
    name: str,
    title: str,
    reference: Estimate | None,
    test: Estimate | None,
    *,
    lower: float | None,
    upper: float | None,
    confidence: float,
    advice: str,
    official_missed: str = "",
    names: tuple[str, str] = ("reference", "test"),
) -> tuple[Finding, SpeedRatio | None]:
    """The test run's speed relative to the reference must lie within ``[lower, upper]``."""
    if reference is None or test is None:
        missing = "reference" if reference is None else "test"
        return (
            Finding(name, title, "n/a", f"no usable performance figure in the {missing} run"),
            None,
        )
    r = ratio(reference, test, confidence)
    bounds = []
    if lower is not None:
        bounds.append(f">= {(lower - 1) * 100:+.0f}%")
    if upper is not None:
        bounds.append(f"<= {(upper - 1) * 100:+.0f}%")
    required = "speed relative to the reference " + " and ".join(bounds)
    outside = (lower is not None and r.value < lower) or (upper is not None and r.value > upper)
    observed = f"{r.text()}; {names[0]} {reference.text()}; {names[1]} {test.text()}"
    if not outside:
        status = "pass"
        sure = (
            r.low is None
            or r.high is None
            or ((lower is None or r.low >= lower) and (upper is None or r.high <= upper))
        )
        extra = "" if sure else " (the interval crosses the bound: run longer to be sure)"
        return Finding(name, title, status, observed + extra, required), r
    if r.low is not None and r.high is not None:
        certain = (lower is not None and r.high < lower) or (upper is not None and r.low > upper)
        if not certain:
            # Outside the bound, but an identical system could be too: noise, not evidence.
            return (
                Finding(
                    name,
                    title,
                    "warn",
                    f"{observed}; the point estimate lies outside the bound but the "
                    f"{confidence:.0%} interval reaches inside it",
                    required,
                    "inconclusive: run longer (more queries) to tell a real difference from noise",
                ),
                r,
            )
        confidence_text = f"the whole {confidence:.0%} interval lies outside the bound"
    else:
        confidence_text = (
            "the point estimate lies outside the bound (no raw latencies for an interval)"
        )
    return (
        Finding(
            name,
            title,
            "fail",
            f"{observed}; {confidence_text}",
            required,
            advice,
            (),
            official_missed,
        ),
        r,
    )


def sample_set_bias(
    scenario: str,
    samples: RawSamples | None,
    detail: DetailLog,
    performance_set_size: int,
    *,
    threshold: float,
    confidence: float,
) -> Finding:
    """In a run over more than the performance set: samples outside it must not be slower."""
    title = "samples outside the performance set are as fast as those inside"
    if scenario == "Offline":
        return Finding(
            "set-bias",
            title,
            "n/a",
            "Offline answers one query: per-sample service time is "
            "not observable (the every-sample-once comparison covers it)",
        )
    if samples is None:
        return Finding("set-bias", title, "n/a", "no raw latencies (no trace was written)")
    inside = samples.sample_index < performance_set_size
    if inside.all() or not inside.any():
        return Finding(
            "set-bias",
            title,
            "n/a",
            "the run covered only one side of the performance set (the data set is no larger "
            "than the performance set, so there is nothing outside it to tune against)",
        )
    # Medians: queueing inflates the tail of both sides alike; the median shows service time.
    est_in = scenario_estimate(
        scenario, samples, detail, subset=inside, confidence=confidence, percentile=0.5
    )
    est_out = scenario_estimate(
        scenario, samples, detail, subset=~inside, confidence=confidence, percentile=0.5
    )
    finding, _ = speed_check(
        "set-bias",
        title,
        est_in,
        est_out,
        lower=1.0 / (1.0 + threshold),
        upper=None,
        confidence=confidence,
        advice=(
            "the system is faster on the first performance_sample_count samples of the data "
            "set, the only ones a performance run ever issues (LoadGen takes the performance "
            "set from the start of the data set): it is tuned to those samples. If samples "
            "legitimately differ in size (sequence length), compare per token instead"
        ),
        official_missed="no official test looks outside the performance set",
        names=("inside", "outside"),
    )
    return finding


# ------------------------------------------------------------------------------ TEST06 tokens
def _trailing_eos(tokens: np.ndarray, eos: int) -> int:  # type: ignore[type-arg]
    count = 0
    for t in tokens[::-1]:
        if t != eos:
            break
        count += 1
    return count


def _token_problems(e: AccuracyEntry, kind: np.dtype, eos: int, offline: bool) -> list[str]:  # type: ignore[type-arg]
    size = kind.itemsize
    raw = e.payload
    problems: list[str] = []
    if len(raw) % size:
        return [f"{len(raw)} bytes are not whole {kind.name} tokens"]
    tokens = np.frombuffer(raw, dtype=kind)
    if e.token_count is None:
        problems.append("no token_count")
    elif e.token_count != tokens.shape[0]:
        problems.append(f"token_count {e.token_count} but {tokens.shape[0]} tokens in data")
    trailing = _trailing_eos(tokens, eos)
    if trailing > 1:
        problems.append(f"{trailing} EOS tokens at the end")
    inner = np.flatnonzero(tokens[: tokens.shape[0] - trailing] == eos)
    if inner.size:
        problems.append(f"EOS at position {int(inner[0])} before the end of the output")
    if not offline:
        if e.token_data is None:
            problems.append("no token_data (first token never reported)")
        else:
            first_raw = bytes.fromhex(e.token_data)
            if len(first_raw) == 0:
                problems.append("empty token_data: the first-token time has no token behind it")
            elif len(first_raw) % size:
                problems.append(f"token_data of {len(first_raw)} bytes is not whole tokens")
            else:
                first = np.frombuffer(first_raw, dtype=kind)
                if first.shape[0] > tokens.shape[0] or not np.array_equal(
                    tokens[: first.shape[0]], first
                ):
                    problems.append(
                        f"token_data {first[:4].tolist()} is not the start of the output "
                        f"{tokens[:4].tolist()}"
                    )
    return problems


def token_consistency(
    test: AccuracyLog, scenario: str, dtype: str, eos_token_id: int, official_passed: bool
) -> Finding:
    """Every logged entry: whole tokens, count, one EOS at most and only at the end, first token."""
    title = "every logged response is consistent with its tokens"
    if not test.entries:
        return Finding(
            "tokens",
            title,
            "fail",
            "the log has no entries",
            "at least one logged response",
            "the audit run logged nothing: was the audit.config applied?",
            official_missed="the official TEST06 passes an empty log",
        )
    kind = np.dtype(dtype)
    bad: list[str] = []
    for e in test.entries:
        problems = _token_problems(e, kind, eos_token_id, scenario == "Offline")
        if problems:
            bad.append(f"qsl_idx {e.qsl_idx} ({test.where(e)}): " + "; ".join(problems))
    if not bad:
        return Finding("tokens", title, "pass", f"{len(test.entries)} responses consistent")
    return Finding(
        "tokens",
        title,
        "fail",
        f"{len(bad)} of {len(test.entries)} logged responses are inconsistent",
        "whole tokens, token_count = tokens, at most one EOS and only at the end, the first "
        "token reported equals the first token of the output",
        "an empty or wrong first token means TTFT was reported before the token existed; "
        "repeated EOS or a wrong count means the SUT pads or misreports its output length",
        _listed(bad),
        "the official TEST06 rule passed these responses" if official_passed else "",
    )


def relative(path: Path | str, base: Path | None) -> str:
    p = Path(path)
    if base is not None:
        try:
            return str(p.relative_to(base))
        except ValueError:
            pass
    return str(p)
