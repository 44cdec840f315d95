"""``mlpace serve``: an OpenAI-compatible streaming server for a model (flags only; the server is
:mod:`mlpace.serving.server`).

Exit status 0 after a clean stop (Ctrl-C / SIGTERM end it with 130 / 143 like every command),
2 for bad input (a flag, a port in use, a missing extra).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from mlpace.cli import _flags as F
from mlpace.errors import MlpaceError


class ServeError(MlpaceError):
    """The server cannot start (a port in use, an address that is not local)."""


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="serve a model over an OpenAI-compatible streaming API (for mlpace run --sut URL)",
        description=(
            "Serve a model over an OpenAI-compatible API (POST /v1/chat/completions and "
            "/v1/completions, streaming over server-sent events; GET /v1/models, /health) on "
            "uvicorn. --model echo answers with the prompt's words on a schedule you set "
            "(--ttft-ms, --tpot-ms, ...); --model translation serves the training harness's "
            "small Transformer with real greedy decoding and request batching. Needs the "
            "'serve' extra (and 'train' for translation)."
        ),
    )
    p.add_argument("--model", choices=("echo", "translation"), default="echo")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument(
        "--port",
        type=F.count("port", 0, 65535),
        default=8000,
        help="TCP port (default 8000; 0 picks a free one and prints it)",
    )
    p.add_argument(
        "--port-file", default=None, metavar="FILE", help="write the port here once listening"
    )
    echo = p.add_argument_group("echo model")
    echo.add_argument(
        "--ttft-ms",
        type=F.milliseconds(allow_zero=True, high=600_000.0),
        default=20.0,
        metavar="MS",
        help="time to the first token (default 20)",
    )
    echo.add_argument(
        "--tpot-ms",
        type=F.milliseconds(allow_zero=True, high=600_000.0),
        default=5.0,
        metavar="MS",
        help="time per further token (default 5)",
    )
    echo.add_argument(
        "--output-tokens",
        type=F.count("tokens", 1, 1_000_000),
        default=16,
        metavar="N",
        help="tokens per answer unless max_tokens asks fewer (default 16)",
    )
    echo.add_argument(
        "--tokens-per-chunk",
        type=F.count("tokens", 1, 1_000_000),
        default=1,
        metavar="N",
        help="tokens per SSE chunk (default 1)",
    )
    echo.add_argument(
        "--reasoning-tokens",
        type=F.count("tokens", 0, 1_000_000),
        default=0,
        metavar="N",
        help="reasoning tokens before the answer, in delta.reasoning_content (default 0)",
    )
    tr = p.add_argument_group("translation model")
    tr.add_argument("--weights", default=None, metavar="FILE", help="load (or save) the weights")
    tr.add_argument(
        "--train-epochs",
        type=F.count("epochs", 1, 1000),
        default=3,
        metavar="N",
        help="epochs to train at start-up when --weights is absent (default 3)",
    )
    tr.add_argument(
        "--max-batch",
        type=F.count("requests", 1, 4096),
        default=32,
        metavar="N",
        help="most requests decoded together (default 32)",
    )
    tr.add_argument(
        "--max-wait-ms",
        type=F.milliseconds(allow_zero=True, high=10_000.0),
        default=2.0,
        metavar="MS",
        help="longest wait for a batch to fill (default 2)",
    )
    tr.add_argument(
        "--threads", type=F.count("threads", 1, 4096), default=None, help="torch threads"
    )
    faults = p.add_argument_group("fault injection (to test clients)")
    faults.add_argument(
        "--fault",
        choices=("none", "http500", "http429", "malformed", "stall", "drop", "hang"),
        default="none",
        help="make every --fault-every-th request misbehave this way",
    )
    faults.add_argument(
        "--fault-every", type=F.count("requests", 1), default=1, metavar="N", help="default 1"
    )
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.serving.models import EchoConfig, EchoModel, ServedModel
    from mlpace.serving.server import FaultPlan, bind_socket, create_app, serve_forever

    def say(line: str) -> None:
        print(f"mlpace serve: {line}", file=sys.stderr, flush=True)

    try:
        sock = bind_socket(args.host, args.port)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise ServeError(f"cannot listen on {args.host}:{args.port}: {reason}") from None
    model: ServedModel
    if args.model == "echo":
        model = EchoModel(
            EchoConfig(
                ttft_s=args.ttft_ms / 1000.0,
                tpot_s=args.tpot_ms / 1000.0,
                output_tokens=args.output_tokens,
                tokens_per_chunk=args.tokens_per_chunk,
                reasoning_tokens=args.reasoning_tokens,
            )
        )
        detail = (
            f"TTFT {args.ttft_ms:g} ms, TPOT {args.tpot_ms:g} ms, {args.output_tokens} tokens, "
            f"{args.tokens_per_chunk} per chunk"
        )
    else:
        from mlpace.serving.translation import TranslationModel

        tm = TranslationModel(
            weights=args.weights,
            train_epochs=args.train_epochs,
            max_batch=args.max_batch,
            max_wait_s=args.max_wait_ms / 1000.0,
            threads=args.threads,
            say=say,
        )
        model = tm
        detail = f"{tm.trained}, batches up to {args.max_batch}"
    app = create_app(model, faults=FaultPlan(args.fault, args.fault_every))
    port = sock.getsockname()[1]
    if args.port_file:
        with open(args.port_file, "w", encoding="utf-8") as f:
            f.write(f"{port}\n")
    say(f"model {model.name} ({detail}) on http://{args.host}:{port}/v1 (Ctrl-C stops)")
    try:
        serve_forever(app, sock)
    finally:
        model.close()
        sock.close()
    return 0


__all__ = ["register"]
