"""The `sentinel` command.

Each command group lives in its own ``cli_*.py`` module exposing ``register(subparsers)``; this module
only collects them. Heavy imports (Dagster, great-expectations) happen inside the command functions so
that ``sentinel --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings

from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.logs import configure_logging
from sentinel_pipeline.settings import Settings

COMMAND_MODULES = [
    "sentinel_pipeline.cli_db",
    "sentinel_pipeline.cli_generate",
    "sentinel_pipeline.cli_pipeline",
    "sentinel_pipeline.cli_evaluate",
    "sentinel_pipeline.cli_alerts",
    "sentinel_pipeline.cli_ops",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentinel", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings.from_env()
    configure_logging(settings)
    # Dagster flags the APIs it still calls beta or preview (backfill policies, observable sources):
    # a note for Sentinel's developers (the test suite shows them), noise for its users.
    warnings.filterwarnings("ignore", message=r".* (is|are) currently in (beta|preview)")
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except SentinelError as exc:
        print(f"sentinel: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
