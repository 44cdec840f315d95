"""``mlpace describe-system``: the system description JSON the submission checker requires.

Exit status: 0 written (keys still needing a person are listed on stderr), 2 bad input (a
malformed --set, an unreadable --from file, a value outside its allowed set).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

__all__ = ["handle", "register"]


def register(sub: Any) -> None:
    p: argparse.ArgumentParser = sub.add_parser(
        "describe-system",
        help="write the system description JSON a submission needs",
        description=(
            "Describe this machine in the submission checker's system JSON: every key the "
            "machine can tell (CPU model, sockets, cores, frequency, caches, memory, storage, "
            "network, OS, Python and framework versions, accelerators) is filled in; the keys "
            "only you know (submitter, division, status, system_type, system_name, cooling, "
            "...) are listed for --set. Exit status: 0 written, 2 bad input."
        ),
    )
    p.add_argument(
        "--set",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="set one key (repeatable), e.g. --set cooling=air --set status=rdi",
    )
    p.add_argument(
        "--from", dest="from_file", default=None, metavar="FILE", help="start from this JSON"
    )
    p.add_argument(
        "--output", default=None, metavar="FILE", help="write here (default: standard output)"
    )
    p.add_argument("--version", default="v6.1", help="checker rules version (default v6.1)")
    p.add_argument("--backend", default=None, help="framework to name (numpy, onnxruntime, torch)")
    p.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    from mlpace.system import (
        SystemDescriptionError,
        describe_system,
        load_description,
        needs_user,
        parse_assignments,
        validate_description,
        write_description,
    )

    base = load_description(args.from_file) if args.from_file else {}
    base.update(parse_assignments(args.set))
    desc = describe_system(base, version=args.version, backend=args.backend)
    problems = validate_description(desc, args.version)
    if problems:
        raise SystemDescriptionError("; ".join(p.format() for p in problems))
    if args.output:
        write_description(desc, args.output)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(json.dumps(desc, indent=2))
    missing = needs_user(desc, args.version)
    if missing:
        sets = " ".join(f"--set {k}=..." for k in missing)
        print(
            f"needs you: {', '.join(missing)} (the checker requires them non-empty); give {sets}",
            file=sys.stderr,
        )
    return 0
