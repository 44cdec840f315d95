"""Running a user's harness for each run an audit needs, the way the official procedure does.

The official procedure is manual: copy the test's audit.config into the directory the benchmark
runs from, run it, verify, delete the file. :class:`CommandHarness` does exactly that for a
command line: each run gets a fresh working directory holding (for an audit run) the
audit.config; the command runs there (``{mode}`` replaced by ``accuracy`` or ``performance``,
``{scenario}`` by the scenario when one is given, ``{workdir}`` by the directory, ``{origin}`` by
the directory ``mlpace audit`` was started from), and its output goes to ``harness.log`` beside
the logs. Because the command runs in another directory, the words of a plain command that name
existing files relative to where ``mlpace audit`` was started (the harness script, a data path)
are made absolute; ``MLPACE_AUDIT_ORIGIN`` holds that directory too.

:class:`CallableHarness` runs a Python callable ``(mode, scenario) -> exit status`` in-process
with the working directory changed (for tests and notebooks).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

from mlpace.audit.logs import ACCURACY_LOG, DETAIL_LOG, RAW_SAMPLES, SUMMARY_LOG, TRACE_LOG
from mlpace.errors import MlpaceError

__all__ = ["CallableHarness", "CommandHarness", "HarnessError", "prepare_command"]

PLACEHOLDERS = ("{mode}", "{scenario}", "{workdir}")
LOG_FILES = (SUMMARY_LOG, DETAIL_LOG, ACCURACY_LOG, TRACE_LOG, RAW_SAMPLES)
AUDIT_CONFIG = "audit.config"
TAIL_LINES = 15
STOP_GRACE_S = 10.0


class HarnessError(MlpaceError):
    """The harness failed a run (non-zero exit, timeout, no logs): the audit cannot go on."""


# Words that make a command more than "program and arguments": such a command is run as given.
_SHELL_SYNTAX = set("$`|&;<>()*?![]~\\\"'")


def prepare_command(template: str, origin: Path) -> str:
    """Make words that name existing files (relative to ``origin``) absolute.

    Only for a plain command (a program and its arguments); one with shell syntax (pipes,
    ``&&``, variables, quotes) is left as given: use absolute paths or ``{origin}`` there.
    """
    if not template.strip():
        raise MlpaceError("--harness: the command is empty")
    template = template.replace("{origin}", shlex.quote(str(origin)))
    if any(ch in _SHELL_SYNTAX for ch in template):
        return template
    out = []
    for word in template.split():
        if any(p in word for p in PLACEHOLDERS) or os.path.isabs(word):
            out.append(word)
            continue
        candidate = origin / word
        if candidate.is_file() or (os.sep in word and candidate.exists()):
            out.append(shlex.quote(str(candidate.resolve())))
        else:
            out.append(word)
    return " ".join(out)


def _fresh(workdir: Path, config: str | None) -> None:
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    if config is not None:
        (workdir / AUDIT_CONFIG).write_text(config)


def _collect(workdir: Path, logs_from: str | None, run: str) -> None:
    """Bring the logs to the working directory; fail with a clear message if there are none."""
    src = workdir / logs_from if logs_from else workdir
    if logs_from:
        if not src.is_dir():
            raise HarnessError(
                f"{src}: the harness run {run!r} created no {logs_from!r} directory "
                "(--logs-from names where the harness writes its logs, relative to its "
                "working directory)"
            )
        for name in LOG_FILES:
            if (src / name).is_file():
                shutil.copy2(src / name, workdir / name)
    if not (workdir / DETAIL_LOG).is_file() and not (workdir / ACCURACY_LOG).is_file():
        hint = (
            "" if logs_from else "; if it writes them elsewhere, name the folder with --logs-from"
        )
        raise HarnessError(
            f"{src}: the harness run {run!r} wrote no {DETAIL_LOG} or {ACCURACY_LOG} in its "
            f"working directory{hint}"
        )


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Signal the harness's process group, then kill it if it does not end within 10 s."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)
    try:
        proc.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _tail(path: Path) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return ""
    return "\n".join("    " + line for line in lines[-TAIL_LINES:])


class CommandHarness:
    """A shell command run once per audit run, in that run's working directory."""

    def __init__(
        self,
        template: str,
        *,
        logs_from: str | None = None,
        timeout_s: float | None = None,
        origin: Path | None = None,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        self.origin = (origin or Path.cwd()).resolve()
        self.template = prepare_command(template, self.origin)
        self.logs_from = logs_from
        self.timeout_s = timeout_s
        self.progress = progress

    def command_for(self, mode: str, scenario: str | None, workdir: Path) -> str:
        cmd = self.template.replace("{mode}", mode).replace("{workdir}", shlex.quote(str(workdir)))
        if "{scenario}" in cmd:
            if scenario is None:
                raise MlpaceError(
                    "--harness uses {scenario}: say which with --scenario (repeatable)"
                )
            cmd = cmd.replace("{scenario}", scenario)
        return cmd

    def run(
        self,
        label: str,
        scenario: str | None,
        run: str,
        mode: str,
        workdir: Path,
        config: str | None,
    ) -> None:
        _fresh(workdir, config)
        cmd = self.command_for(mode, scenario, workdir)
        if self.progress is not None:
            self.progress(f"mlpace audit:   $ {cmd}")
        log = workdir / "harness.log"
        env = dict(os.environ, MLPACE_AUDIT_ORIGIN=str(self.origin))
        with open(log, "w") as out:
            # Its own process group, so a timeout or Ctrl-C ends the harness and its children.
            proc = subprocess.Popen(
                cmd,
                shell=True,
                cwd=workdir,
                stdout=out,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
            try:
                status = proc.wait(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                _stop(proc, signal.SIGTERM)
                raise HarnessError(
                    f"the harness run {run!r} did not finish within {self.timeout_s:g} s "
                    f"(--timeout); its output is in {log}:\n{_tail(log)}"
                ) from None
            except KeyboardInterrupt:
                _stop(proc, signal.SIGINT)
                raise
        if status != 0:
            raise HarnessError(
                f"the harness run {run!r} exited with status {status}; its output is "
                f"in {log}:\n{_tail(log)}"
            )
        _collect(workdir, self.logs_from, run)


@contextlib.contextmanager
def _cwd(path: Path) -> Iterator[None]:
    before = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


class CallableHarness:
    """A Python callable ``(mode, scenario) -> exit status``, run in the working directory."""

    def __init__(
        self, fn: Callable[[str, str | None], int], *, logs_from: str | None = None
    ) -> None:
        self.fn = fn
        self.logs_from = logs_from

    def run(
        self,
        label: str,
        scenario: str | None,
        run: str,
        mode: str,
        workdir: Path,
        config: str | None,
    ) -> None:
        _fresh(workdir, config)
        with _cwd(workdir):
            status = self.fn(mode, scenario)
        if status:
            raise HarnessError(f"the harness run {run!r} returned status {status}")
        _collect(workdir, self.logs_from, run)


def python_command(script: str | Path, *args: str) -> str:
    """A command line running ``script`` with this interpreter; placeholders stay unquoted."""
    words = [sys.executable, str(script), *args]
    return " ".join(w if w in PLACEHOLDERS else shlex.quote(w) for w in words)
