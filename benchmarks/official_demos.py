"""Run the official LoadGen demos under the official binding and under ``mlpace.compat.loadgen``.

Each demo is copied into a fresh temporary directory twice: once as it is, once with its
``import mlperf_loadgen`` line changed to ``import mlpace.compat.loadgen as mlperf_loadgen`` and
nothing else. Both copies run side by side (each in its own working directory, where it writes
its logs); the verdicts in the two ``mlperf_log_summary.txt`` files are compared.

    python benchmarks/official_demos.py --inference /work/ext/inference [--jobs 4] [--only NAME]

Needs the official binding (``pip install mlcommons-loadgen``) and a checkout of
mlcommons/inference (the demos are not copied into this repository). With the demos' default
arguments the two token Offline demos take about four minutes each (their SUT answers after
~225 s); everything runs in about six minutes with ``--jobs 4``. Exit status 0 when every demo
ends with the official's verdict (or, where the official crashes, with a clean mlpace verdict).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

DEMOS = [
    "py_demo_single_stream.py",
    "py_demo_multi_stream.py",
    "py_demo_server.py",
    "py_demo_offline.py",
    "token_metrics/py_demo_single_stream.py",
    "token_metrics/py_demo_multi_stream.py",
    "token_metrics/py_demo_server.py",
    "token_metrics/py_demo_server_inferred.py",
    "token_metrics/py_demo_offline.py",
    "token_metrics/py_demo_offline_inferred.py",
]
IMPORT_LINE = re.compile(r"^import mlperf_loadgen\s*$", re.MULTILINE)
TIMEOUT_S = 1200


@dataclass(frozen=True)
class Run:
    tool: str
    verdict: str  # VALID, INVALID, "crashed (signal 11)", "no summary (exit 1)"
    seconds: float
    detail: str  # INVALID reasons or the last stderr line


def _verdict(workdir: Path, returncode: int, stderr: str) -> tuple[str, str]:
    """The summary's verdict; a crash is noted beside it (the official binding segfaults at
    exit in some demos after writing a complete summary, mlcommons/inference#1337)."""
    summary = workdir / "mlperf_log_summary.txt"
    text = summary.read_text() if summary.is_file() else ""
    found = re.search(r"^Result is : (\w+)", text, re.MULTILINE)
    crashed = f"crashed (signal {-returncode})" if returncode < 0 else ""
    if found is None:
        return crashed or f"no summary (exit {returncode})", _last_line(stderr)
    reasons = [
        ln.strip()
        for ln in text.splitlines()
        if "NOT met" in ln
        or ln.strip().startswith("* ")
        or ln.rstrip().endswith(": NO")
        or "Recommendations" in ln
    ]
    verdict = found.group(1) + (f", then {crashed}" if crashed else "")
    return verdict, "; ".join(reasons)[:300]


def _last_line(text: str) -> str:
    lines = [ln for ln in text.strip().splitlines() if ln.strip()]
    return lines[-1][:300] if lines else ""


def run_one(source: Path, tool: str) -> Run:
    workdir = Path(tempfile.mkdtemp(prefix=f"demo_{tool}_"))
    script = workdir / source.name
    code = source.read_text()
    if tool == "mlpace":
        code, n = IMPORT_LINE.subn("import mlpace.compat.loadgen as mlperf_loadgen", code)
        if n != 1:
            raise SystemExit(f"{source}: expected one 'import mlperf_loadgen' line, found {n}")
    script.write_text(code)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, script.name],
        cwd=workdir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        env=dict(os.environ),
        check=False,
    )
    seconds = time.monotonic() - start
    verdict, detail = _verdict(workdir, proc.returncode, proc.stderr)
    shutil.rmtree(workdir, ignore_errors=True)
    return Run(tool, verdict, seconds, detail)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--inference", type=Path, default=Path("/work/ext/inference"))
    parser.add_argument("--jobs", type=int, default=4, help="demo runs at once (default 4)")
    parser.add_argument("--only", default="", help="run the demos whose path contains this")
    args = parser.parse_args()
    demo_dir = args.inference / "loadgen" / "demos"
    demos = [d for d in DEMOS if d == args.only] or [d for d in DEMOS if args.only in d]
    tasks = [(demo, tool) for demo in demos for tool in ("official", "mlpace")]
    with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = {task: pool.submit(run_one, demo_dir / task[0], task[1]) for task in tasks}
        results = {task: f.result() for task, f in futures.items()}
    ok = True
    print("| demo | official | mlpace | same verdict |")
    print("|---|---|---|---|")
    for demo in demos:
        theirs, ours = results[(demo, "official")], results[(demo, "mlpace")]
        same = theirs.verdict.split(",")[0] == ours.verdict
        # Where the official crashes before its summary, mlpace must end cleanly with its own
        # verdict.
        clean = theirs.verdict.startswith("crashed") and ours.verdict in ("VALID", "INVALID")
        ok = ok and (same or clean)
        mark = "yes" if same else ("official crashed; mlpace ends cleanly" if clean else "NO")
        print(
            f"| {demo} | {theirs.verdict} ({theirs.seconds:.0f} s) "
            f"| {ours.verdict} ({ours.seconds:.0f} s) | {mark} |"
        )
    for demo in demos:
        for tool in ("official", "mlpace"):
            run = results[(demo, tool)]
            if run.detail:
                print(f"{demo} [{tool}]: {run.detail}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
