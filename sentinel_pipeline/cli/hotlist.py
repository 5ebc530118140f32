"""`sentinel hotlist list|add|remove`: the subjects whose later activity raises ``hotlist`` alerts.

Plain SQL over sentinel.hotlist (migration 034); who added or removed an entry is stamped by the database.
"""

from __future__ import annotations

import argparse

from sentinel_pipeline.cli.common import connect, default_reviewer, dict_cursor, dump, parse_time, print_table
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings

KINDS = ("msisdn", "imsi", "imei", "tac", "range")
COLUMNS = ("entry_id", "subject_type", "value", "case_id", "since", "added_by", "added_at", "reason")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("hotlist", help="subjects whose later activity raises hotlist alerts")
    commands = p.add_subparsers(dest="hotlist_command", required=True, metavar="ACTION")

    c = commands.add_parser("list", help="the entries in force")
    c.add_argument("--all", action="store_true", help="also removed entries")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_list)

    c = commands.add_parser("add", help="list a subject by hand")
    c.add_argument("subject_type", choices=KINDS, help="range: E.164 digits without +, e.g. 23490777; "
                   "tac: the first 8 digits of an IMEI")
    c.add_argument("value")
    c.add_argument("--since", type=parse_time, help="activity after this time is a hit (default: now)")
    c.add_argument("--case", type=int, dest="case_id", help="the case it belongs to")
    c.add_argument("--reason")
    c.add_argument("--reviewer", help="who lists it (default: $USER)")
    c.set_defaults(func=cmd_add)

    c = commands.add_parser("remove", help="take an entry off (the row is kept)")
    c.add_argument("entry_id", type=int)
    c.add_argument("--reviewer", help="who removes it (default: $USER)")
    c.set_defaults(func=cmd_remove)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        rows = dict_cursor(conn).execute(
            "select * from sentinel.hotlist" + ("" if args.all else " where removed_at is null")
            + " order by entry_id"
        ).fetchall()
    if args.json:
        dump(rows)
    elif not rows:
        print("the hotlist is empty")
    else:
        print_table(rows, COLUMNS + (("removed_by", "removed_at") if args.all else ()))
    return 0


def _as(conn, reviewer: str | None) -> None:
    conn.execute("select set_config('sentinel.reviewer', %s, true)", [reviewer or default_reviewer()])


def cmd_add(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    with connect(settings, autocommit=True) as conn, conn.transaction():
        _as(conn, args.reviewer)
        try:
            (entry_id,) = conn.execute(
                "insert into sentinel.hotlist (subject_type, value, case_id, since, reason)"
                " values (%s, %s, %s, coalesce(%s, now()), %s) returning entry_id",
                [args.subject_type, args.value, args.case_id, args.since, args.reason],
            ).fetchone()
        except psycopg.errors.CheckViolation as exc:
            raise SentinelError(f"{args.subject_type} {args.value!r} refused: {exc.diag.constraint_name}") from None
        except psycopg.errors.UniqueViolation:
            raise SentinelError(f"{args.subject_type} {args.value} is on the hotlist already") from None
    print(f"hotlist entry {entry_id}: {args.subject_type} {args.value}")
    return 0


def cmd_remove(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings, autocommit=True) as conn, conn.transaction():
        _as(conn, args.reviewer)
        row = conn.execute("update sentinel.hotlist set removed_at = now() where entry_id = %s and removed_at is null"
                           " returning subject_type, value", [args.entry_id]).fetchone()
    if row is None:
        raise SentinelError(f"no active hotlist entry {args.entry_id}")
    print(f"hotlist entry {args.entry_id} ({row[0]} {row[1]}) removed")
    return 0
