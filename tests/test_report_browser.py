"""The HTML report in a real browser: headless Chromium (Debian's ``chromium`` package) driven
over its DevTools protocol on a pipe (standard library only, no browser download).

The page must load with no console error or uncaught exception, every plot must be present
with drawn, non-empty series, the hover script must react to the pointer, and a screenshot is
taken (``MLPACE_SCREENSHOT_DIR`` keeps a copy). Run with ``python -m pytest -m browser``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import pytest

import mlpace.loadgen as mlg
from mlpace.clock import VirtualClock
from mlpace.report.html import write_report
from mlpace.report.record import RunRecorder
from mlpace.report.run import read_runs

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason="headless Chromium is not installed (apt-get install -y chromium)",
    ),
]
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--remote-debugging-pipe", "--enable-logging=stderr", "--v=1",
)  # fmt: skip
TIMEOUT_S = 60.0


class DevTools:
    """A minimal Chrome DevTools Protocol client over ``--remote-debugging-pipe``.

    Chromium reads NUL-terminated JSON commands on its fd 3 and writes replies and events on
    its fd 4.
    """

    def __init__(self, profile: Path) -> None:
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()
        # park the child's ends above 4, then put them at 3 and 4 in the child
        hi_r, hi_w = os.dup(to_chrome_r) + 100, os.dup(from_chrome_w) + 100
        os.dup2(to_chrome_r, hi_r)
        os.dup2(from_chrome_w, hi_w)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child_fds() -> None:
            os.dup2(hi_r, 3)
            os.dup2(hi_w, 4)

        self.log = open(profile / "chromium.log", "wb")  # noqa: SIM115 - closed in close()
        self.proc = subprocess.Popen(
            [CHROMIUM, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(3, 4, hi_r, hi_w),
            preexec_fn=child_fds,
            stdout=self.log,
            stderr=self.log,
        )
        os.close(hi_r)
        os.close(hi_w)
        self._buf = b""
        self._next = 0
        self.events: list[dict[str, Any]] = []
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if self.session is not None and not method.startswith(("Target.", "Browser.")):
            msg["sessionId"] = self.session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                result: dict[str, Any] = reply.get("result", {})
                return result
            self.events.append(reply)

    def wait_event(self, method: str) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        while True:
            e = self._read()
            self.events.append(e)
            if e.get("method") == method:
                return e

    def _read(self) -> dict[str, Any]:
        deadline = time.monotonic() + TIMEOUT_S
        while b"\0" not in self._buf:
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("Chromium stopped answering on the DevTools pipe")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise RuntimeError("Chromium closed the DevTools pipe")
            self._buf += chunk
        raw, _, self._buf = self._buf.partition(b"\0")
        message: dict[str, Any] = json.loads(raw)
        return message

    def evaluate(self, expression: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return reply["result"].get("value")

    def close(self) -> None:
        try:
            if self.proc.poll() is None:
                self.send("Browser.close")
        except RuntimeError:
            pass
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self.log.close()


def _runs(tmp: Path) -> list[Any]:
    """Three Server runs overlaid (one a token run), a SingleStream and an Offline run."""
    specs = [
        ("base", "Server", 200_000, 0),
        ("slower", "Server", 300_000, 0),
        ("llm", "Server", 250_000, 64),
        ("base", "SingleStream", 200_000, 0),
        ("base", "Offline", 200_000, 0),
    ]
    for name, scenario, service, tokens in specs:
        clock = VirtualClock()
        sut = mlg.SimulatedSUT(clock, ("exponential", service), servers=2, seed=len(name),
                               n_tokens=tokens)  # fmt: skip
        settings = mlg.TestSettings(
            scenario=mlg.TestScenario(scenario),
            mode=mlg.TestMode.PerformanceOnly,
            min_duration_ms=3000,
            min_query_count=500,
            server_target_qps=2000,
            single_stream_expected_latency_ns=service,
            offline_expected_qps=5000,
            use_token_latencies=tokens > 0,
            ttft_latency=2_000_000,
            tpot_latency=200_000,
        )
        out = tmp / name / scenario
        out.mkdir(parents=True)
        log = mlg.LogSettings(mlg.LogOutputSettings(outdir=str(out)))
        outcome = mlg.run_test(sut, mlg.NullQSL(256), settings, log, clock=clock)
        RunRecorder(history=None).pass_done(outcome, out)
    return read_runs([tmp / "base", tmp / "slower", tmp / "llm"])


PROBE = """
(() => {
  const plots = [...document.querySelectorAll("svg.plot")].map(svg => {
    const box = svg.getBoundingClientRect();
    const drawn = [...svg.querySelectorAll("path.series")]
      .filter(p => (p.getAttribute("d") || "").length > 10 && p.getTotalLength() > 0).length;
    return {id: svg.id, width: box.width, height: box.height, drawn,
            series: +svg.getAttribute("data-series-count"),
            x: box.left + box.width / 2, y: box.top + box.height / 2};
  });
  return JSON.stringify({ready: document.body.getAttribute("data-plots-ready"), plots});
})()
"""


def test_report_in_headless_chromium(tmp_path: Path) -> None:
    runs = _runs(tmp_path / "runs")
    page = write_report(runs, tmp_path / "report.html", "mlpace report (browser test)")
    profile = Path(tempfile.mkdtemp(prefix="chromium-", dir=tmp_path))
    dt = DevTools(profile)
    try:
        target = dt.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        dt.session = dt.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log"):
            dt.send(f"{domain}.enable")
        viewport = {"width": 1360, "height": 900, "deviceScaleFactor": 1, "mobile": False}
        dt.send("Emulation.setDeviceMetricsOverride", viewport)
        dt.send("Page.navigate", {"url": page.resolve().as_uri()})
        dt.wait_event("Page.loadEventFired")
        probe = json.loads(dt.evaluate(PROBE))
        plots = {p["id"]: p for p in probe["plots"]}
        expected = {f"{kind}-{sc}" for kind in ("cdf", "latency", "qps", "lag")
                    for sc in ("Server", "SingleStream")}  # fmt: skip
        expected |= {"ttft-Server", "cdf-Offline", "qps-Offline"}
        assert expected <= set(plots), sorted(expected - set(plots))
        assert probe["ready"] == str(len(plots))
        for pid, p in plots.items():
            assert p["width"] > 100 and p["height"] > 100, pid
            assert p["drawn"] >= 1 and p["drawn"] == p["series"], pid
        assert plots["cdf-Server"]["drawn"] == 3  # three runs overlaid
        # the hover read-out: move the pointer over a plot, circles appear
        svg = "document.getElementById('cdf-Server')"
        dt.evaluate(f"{svg}.scrollIntoView()")
        box = json.loads(dt.evaluate(f"JSON.stringify({svg}.getBoundingClientRect())"))
        x, y = box["left"] + box["width"] / 2, box["top"] + box["height"] / 2
        dt.send("Input.dispatchMouseEvent", {"type": "mouseMoved", "x": x, "y": y})
        circles = dt.evaluate("document.querySelectorAll('#cdf-Server g.hover circle').length")
        assert circles == plots["cdf-Server"]["drawn"]
        dt.evaluate("window.scrollTo(0, 0)")
        shot = dt.send("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        png = base64.b64decode(shot["data"])
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000
        (tmp_path / "report.png").write_bytes(png)
        keep = os.environ.get("MLPACE_SCREENSHOT_DIR")
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(tmp_path / "report.png", Path(keep) / "report.png")
            shutil.copy(page, Path(keep) / "report.html")
        problems = [
            e for e in dt.events
            if e.get("method") == "Runtime.exceptionThrown"
            or (e.get("method") == "Runtime.consoleAPICalled"
                and e["params"].get("type") in ("error", "assert"))
            or (e.get("method") == "Log.entryAdded"
                and e["params"]["entry"].get("level") == "error")
        ]  # fmt: skip
        assert problems == [], problems
    finally:
        dt.close()
    log = (profile / "chromium.log").read_text(errors="replace")
    assert "Uncaught" not in log, [ln for ln in log.splitlines() if "CONSOLE" in ln]
