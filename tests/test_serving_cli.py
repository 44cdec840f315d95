"""``mlpace serve`` and ``mlpace run --sut URL`` as a user runs them: a server process on a free
loopback port, the client CLI against it, bad input refused with exit status 2."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from cli_helpers import check_logs, run_cli

pytest.importorskip("aiohttp", reason="the serve extra (aiohttp) is not installed")
pytest.importorskip("uvicorn", reason="the serve extra (uvicorn) is not installed")
pytest.importorskip("starlette", reason="the serve extra (starlette) is not installed")

SRC = str(Path(__file__).resolve().parents[1] / "src")
START_TIMEOUT_S = 60.0


def _start_server(
    tmp_path: Path, *flags: str, timeout_s: float = START_TIMEOUT_S
) -> tuple[subprocess.Popen[str], str]:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONPATH": SRC}
    cmd = [sys.executable, "-m", "mlpace.cli.main", "serve", "--port", "0"]
    cmd += ["--port-file", str(port_file), *flags]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.PIPE, text=True)
    # The port file appears once the model is ready; wait for it on the server's own stderr
    # line (no polling): "... on http://127.0.0.1:PORT/v1 (Ctrl-C stops)".
    assert proc.stderr is not None
    for line in iter(proc.stderr.readline, ""):
        if "Ctrl-C stops" in line:
            return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"
    proc.wait(timeout=timeout_s)
    raise AssertionError(f"mlpace serve exited with {proc.returncode} before listening")


@pytest.fixture
def echo_server(tmp_path: Path) -> Iterator[str]:
    proc, url = _start_server(tmp_path, "--ttft-ms", "10", "--tpot-ms", "2")
    try:
        yield url
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_run_against_a_served_echo_model_is_valid_with_token_metrics(
    echo_server: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code, text = run_cli(
        ["run", "--sut", echo_server, "--model", "echo", "--scenario", "SingleStream",
         "--min-duration", "0", "--output", str(out), "--quiet"],
        capsys,
    )  # fmt: skip
    assert code == 0, text
    assert "mlpace: SingleStream: VALID" in text
    assert "first token percentile latency" in text
    assert "TTFT (first content token" in text and "0 failed" in text
    check_logs(out)
    assert (out / "system_description.json").is_file()


def test_server_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    proc, _ = _start_server(tmp_path)
    proc.send_signal(signal.SIGTERM)
    assert proc.stderr is not None
    rest = proc.stderr.read()
    assert proc.wait(timeout=30) in (0, 143)
    assert "Traceback" not in rest


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sut", "ftp://127.0.0.1/v1"], "expected 'null' or the http(s):// base URL"),
        (["--sut", "http://127.0.0.1:1/v1"], "needs --model NAME"),
        (["--sut", "http://127.0.0.1:1/v1", "--model", "m", "--backend", "numpy"],
         "--backend applies to task runs"),
        (["--sut", "http://127.0.0.1:1/v1", "--model", "m", "--target-latency-ms", "5",
          "--scenario", "Server"], "--ttft-ms and --tpot-ms"),
        (["--sut", "null", "--api", "chat"], "--api applies to --sut URL runs only"),
        (["digits", "--max-concurrency", "4"], "--max-concurrency applies to --sut URL"),
        (["--sut", "http://127.0.0.1:1/v1", "--model", "m", "--max-concurrency", "-1"],
         "expected a whole number of requests"),
    ],
)  # fmt: skip
def test_bad_http_flags_are_refused(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_cli(["run", *argv], capsys)
    assert code == 2, text
    assert message in text
    assert "Traceback" not in text


def test_a_missing_dataset_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text = run_cli(
        ["run", "--sut", "http://127.0.0.1:1/v1", "--model", "m", "--dataset",
         str(tmp_path / "nope.jsonl"), "--output", str(tmp_path / "o")],
        capsys,
    )  # fmt: skip
    assert code == 2 and "no such file" in text
    assert not (tmp_path / "o").exists()


def test_serve_refuses_a_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        code, text = run_cli(["serve", "--port", str(port)], capsys)
    assert code == 2 and f"cannot listen on 127.0.0.1:{port}" in text


@pytest.mark.slow
def test_translation_server_acceptance(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's acceptance command, shortened: the real Transformer behind the CLI."""
    proc, url = _start_server(
        tmp_path, "--model", "translation", "--train-epochs", "3", timeout_s=600.0
    )
    try:
        out = tmp_path / "run"
        code, text = run_cli(
            ["run", "--sut", url, "--api", "chat", "--model", "translation", "--scenario",
             "Server", "--target-qps", "5", "--output", str(out), "--quiet"],
            capsys,
        )  # fmt: skip
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "mlpace: Server: VALID" in text, text
    assert "first token percentile latency" in text and "Completed tokens per second" in text
    assert code == 0, text
