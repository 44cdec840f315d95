"""What ``mlpace run --audit-conf FILE`` does: one audit run per scenario, never an accuracy run.

An audit.config turns a run into a compliance run (TEST01's makes a performance run that logs
sampled responses). Such a run must not land in ``accuracy/`` nor be scored as accuracy, and
its performance is not the submission's: :func:`plan_audit_run` reads the file, names the test
it belongs to (when it is one of the built-in audit.configs), refuses one that would force an
accuracy or submission pass, and says where the run goes:
``<output>/audit-runs/<system>/<model>/<scenario>/<TEST0X or custom>/``, outside the results
tree the submission checker reads.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mlpace.errors import MlpaceError

__all__ = ["AuditRunPlan", "plan_audit_run"]

_SCENARIOS = ("SingleStream", "MultiStream", "Server", "Offline")


@dataclass(frozen=True)
class AuditRunPlan:
    path: Path
    test: str | None  # the built-in test whose audit.config this is, or None
    flag: str  # one line for the run's table

    @property
    def folder(self) -> str:
        return self.test or "custom"

    def run_dir(self, output: Path, system: str, model: str, scenario: str) -> Path:
        return Path(output) / "audit-runs" / system / model / scenario / self.folder

    def verify_hint(self, output: Path, system: str, model: str, scenario: str) -> str:
        test = self.test or "TEST0X"
        ref = Path(output) / "results" / system / model / scenario
        return (
            f"mlpace audit verify {test} --reference {ref} "
            f"--test {self.run_dir(output, system, model, scenario)}"
        )


def _entries(text: str, path: str) -> frozenset[tuple[str, str]]:
    from mlpace.loadgen.config import ConfType, parse_config

    parsed = parse_config(text, path=path, conf_type=ConfType.AUDIT)
    return frozenset((e.full_key, e.text) for e in parsed.entries)


def _builtin_test(entries: frozenset[tuple[str, str]]) -> str | None:
    data = resources.files("mlpace.audit").joinpath("data")
    for version_dir in sorted(data.iterdir(), key=lambda p: p.name):
        if not version_dir.is_dir():
            continue
        for item in version_dir.iterdir():
            files = list(item.iterdir()) if item.is_dir() else [item]
            for f in files:
                if not f.name.endswith(".audit.conf"):
                    continue
                name = item.name if item.is_dir() else f.name.split(".")[0]
                if _entries(f.read_text("utf-8"), f.name) == entries:
                    return name
    return None


def plan_audit_run(audit_conf: str | Path, requested_mode: str | None = None) -> AuditRunPlan:
    """Check ``audit_conf`` for ``mlpace run`` and say what the run is (see the module doc)."""
    from mlpace.loadgen.config import ConfType, apply_config, read_config
    from mlpace.loadgen.enums import TestMode, TestScenario
    from mlpace.loadgen.settings import TestSettings

    path = Path(audit_conf)
    config = read_config(path, ConfType.AUDIT)
    if requested_mode in ("AccuracyOnly", "SubmissionRun"):
        raise MlpaceError(
            f"--audit-conf {path} with --mode {requested_mode}: an audit run is a performance "
            "run; drop --mode (the accuracy run of a compliance test is a normal run)"
        )
    for scenario in _SCENARIOS:
        settings, _ = apply_config(
            TestSettings(scenario=TestScenario(scenario)), config, model="*", scenario=scenario
        )
        if settings.mode in (TestMode.AccuracyOnly, TestMode.SubmissionRun):
            raise MlpaceError(
                f"{path}: it sets mode {settings.mode.value} for {scenario}; mlpace run treats an "
                "audit.config as an audit (performance) run and never as an accuracy run; use "
                "a user.conf to choose the mode"
            )
    test = _builtin_test(frozenset((e.full_key, e.text) for e in config.entries))
    what = f"the {test} audit.config" if test else f"the audit.config {path.name}"
    flag = (
        f"AUDIT RUN ({what}): a performance run with the audit.config applied, written under "
        "audit-runs/; not an accuracy run, not a submission run"
    )
    return AuditRunPlan(path=path, test=test, flag=flag)
