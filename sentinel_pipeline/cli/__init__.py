"""The `sentinel` command.

Each command group lives in its own module of this package exposing ``register(subparsers)``; this
module only collects them. Heavy imports (Dagster, great-expectations) happen inside the command functions so
that ``sentinel --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.logs import configure_logging
from sentinel_pipeline.settings import Settings

COMMAND_MODULES = [
    "sentinel_pipeline.cli.db",
    "sentinel_pipeline.cli.generate",
    "sentinel_pipeline.cli.pipeline",
    "sentinel_pipeline.cli.files",
    "sentinel_pipeline.cli.evaluate",
    "sentinel_pipeline.cli.alerts",
    "sentinel_pipeline.cli.cases",
    "sentinel_pipeline.cli.hotlist",
    "sentinel_pipeline.cli.actions",
    "sentinel_pipeline.cli.report",
    "sentinel_pipeline.cli.ops",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sentinel", description=__doc__.splitlines()[0])
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a setting that cannot be read: name it, no traceback
        print(f"sentinel: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        return int(args.func(args, settings) or 0)
    except KeyboardInterrupt:
        return 130
    except SentinelError as exc:
        print(f"sentinel: {exc}", file=sys.stderr)
        return 1
