"""``python -m mlpace.training BENCHMARK ...``: ``mlpace train``, launchable by torchrun.

    torchrun --standalone --nproc_per_node 2 -m mlpace.training digits --output mlpace-results

Every rank runs this module; rank 0 writes the logs and prints the table and score.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from mlpace.errors import MlpaceError


def main(argv: Sequence[str] | None = None) -> int:
    from mlpace.cli.train import add_arguments, train_main

    parser = argparse.ArgumentParser(
        prog="python -m mlpace.training",
        description="Timed training runs of an mlpace proxy benchmark (torchrun-aware).",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return train_main(args, out=sys.stdout, err=sys.stderr)
    except MlpaceError as exc:
        print(f"mlpace.training: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
