"""`sentinel health` and `sentinel metrics`: what operations watch (docs/operations.md)."""

from __future__ import annotations

import argparse
import json
import signal
import sys

from sentinel_pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    from sentinel_pipeline.health import CHECKS

    p = subparsers.add_parser(
        "health",
        help="check database, migrations, lake, landing directory and Dagster instance; exit 1 if any fails",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON (as /health/detailed does)")
    p.add_argument("--check", action="append", choices=list(CHECKS), help="run only this check (repeatable)")
    p.set_defaults(func=cmd_health)

    p = subparsers.add_parser(
        "metrics",
        help="serve Prometheus metrics (computed from PostgreSQL) and /health, /health/detailed over HTTP",
    )
    p.add_argument("--host", default="0.0.0.0", help="address to listen on (default 0.0.0.0)")
    p.add_argument("--port", type=int, default=9108, help="port (default 9108)")
    p.add_argument("--once", action="store_true", help="print one scrape to stdout and exit")
    p.set_defaults(func=cmd_metrics)


def cmd_health(args: argparse.Namespace, settings: Settings) -> int:
    from sentinel_pipeline import health

    results = health.run_checks(settings, args.check)
    if args.json:
        print(json.dumps(health.report(results), indent=2))
    else:
        for r in results:
            print(f"{'ok  ' if r.ok else 'FAIL'}  {r.name:<11} {r.detail}")
        print("healthy" if health.healthy(results) else "UNHEALTHY")
    return 0 if health.healthy(results) else 1


def cmd_metrics(args: argparse.Namespace, settings: Settings) -> int:
    from prometheus_client import generate_latest

    from sentinel_pipeline.metrics import MetricsServer, build_registry

    if args.once:
        sys.stdout.write(generate_latest(build_registry(settings)).decode())
        return 0
    server = MetricsServer(settings, args.host, args.port)
    host, port = server.server_address[:2]
    # Stop on SIGTERM as on Ctrl-C (Kubernetes stops a pod with it), even where it was inherited ignored.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"serving http://{host}:{port}/metrics /health /health/detailed (Ctrl-C to stop)", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0
