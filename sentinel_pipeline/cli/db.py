"""`sentinel db start|stop|url|migrate|status`: the database Sentinel uses.

Without DATABASE_URL that is the embedded PostgreSQL under SENTINEL_HOME/postgres, which `start` starts
(and migrates) and `stop` stops. `url` prints the libpq URL, so `psql "$(sentinel db url)"` works.
"""

from __future__ import annotations

import argparse

from sentinel_pipeline import database
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    db = subparsers.add_parser("db", help="the PostgreSQL database (embedded unless DATABASE_URL is set)")
    commands = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")

    p = commands.add_parser("start", help="start the embedded PostgreSQL (if not running) and migrate it")
    p.set_defaults(func=cmd_start)
    p = commands.add_parser("stop", help="stop the embedded PostgreSQL")
    p.set_defaults(func=cmd_stop)
    p = commands.add_parser("url", help='print the database URL (psql "$(sentinel db url)")')
    p.set_defaults(func=cmd_url)
    p = commands.add_parser("migrate", help="apply pending migrations (starts the embedded server if needed)")
    p.set_defaults(func=cmd_migrate)
    p = commands.add_parser("status", help="where the database is, whether it is up, and its migrations")
    p.set_defaults(func=cmd_status)


def _migrate(settings: Settings) -> None:
    from sentinel_pipeline.migrations import migrate

    applied = migrate(settings)
    if applied:
        print(f"applied {len(applied)} migration(s): {', '.join(applied)}")
    else:
        print("migrations: up to date")


def cmd_start(args: argparse.Namespace, settings: Settings) -> int:
    if not database.uses_embedded(settings):
        raise SentinelError("DATABASE_URL is set: Sentinel uses that server and has no embedded server to start")
    was_running = database.embedded_running(settings)
    url = database.start_embedded(settings)
    print(f"embedded PostgreSQL {'already running' if was_running else 'started'}: {url}")
    _migrate(settings)
    return 0


def cmd_stop(args: argparse.Namespace, settings: Settings) -> int:
    if not database.uses_embedded(settings):
        raise SentinelError("DATABASE_URL is set: Sentinel does not manage that server")
    if database.stop_embedded(settings):
        print("embedded PostgreSQL stopped")
    else:
        print("embedded PostgreSQL was not running")
    return 0


def cmd_url(args: argparse.Namespace, settings: Settings) -> int:
    print(database.database_url(settings))
    return 0


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    if database.uses_embedded(settings):
        database.start_embedded(settings)
    _migrate(settings)
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    from sentinel_pipeline.migrations import status

    kind = "embedded" if database.uses_embedded(settings) else "DATABASE_URL"
    print(f"database ({kind}): {database.redacted_url(settings)}")
    if database.uses_embedded(settings) and not database.embedded_running(settings):
        print("server: not running (start it with `sentinel db start`)")
        return 1
    try:
        states = status(settings)
    except Exception as exc:  # noqa: BLE001 - report, don't crash: this is a status command
        print(f"server: unreachable: {exc}".rstrip())
        return 1
    print("server: up")
    for state in states:
        print(f"  {state.name:40} {state.state}")
    bad = [s for s in states if s.state != "applied"]
    return 1 if bad else 0
