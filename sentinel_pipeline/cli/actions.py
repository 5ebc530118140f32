"""`sentinel actions list|propose|approve|reject|withdraw|export`: the bar list and its two-person approval.

Plain SQL over sentinel.actions and its views (migration 035). Sentinel sends nothing to a network
element: ``export`` writes the approved actions in the formats provisioning systems take (CSV, JSON
lines) for them to carry out.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from datetime import datetime

from sentinel_pipeline.cli.common import connect, default_reviewer, dict_cursor, dump, jsonable, parse_time, print_table
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.settings import Settings

ACTIONS = ("bar", "unbar", "block", "unblock", "ticket")
TARGET_TYPES = ("msisdn", "imsi", "imei", "tac", "range", "cli_pattern", "trunk")
ELEMENTS = ("HLR", "EIR", "SBC", "switch", "partner")
STATUSES = ("proposed", "approved", "rejected", "withdrawn")
LIST_COLUMNS = ("action_id", "case_id", "action", "target_type", "target", "element", "status", "proposed_by",
                "decided_by", "reason")
# The columns of an export, in order: what a provisioning system needs to carry an action out and trace it.
EXPORT_COLUMNS = ("action_id", "action", "target_type", "target", "element", "case_id", "reason", "proposed_by",
                  "approved_by", "approved_at")
EXPORT = f"""
select {', '.join(EXPORT_COLUMNS)}
from sentinel.approved_actions
where approved_at >= coalesce(%(since)s::timestamptz, '-infinity') and action_id > coalesce(%(after)s::bigint, 0)
order by approved_at, action_id
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("actions", help="the bar list: propose, approve (a second person) and export actions")
    commands = p.add_subparsers(dest="actions_command", required=True, metavar="ACTION")

    c = commands.add_parser("list", help="actions, newest first")
    c.add_argument("--status", action="append", choices=STATUSES, help="repeatable (default: every status)")
    c.add_argument("--case", type=int, dest="case_id")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_list)

    c = commands.add_parser("propose", help="propose an action for a case (someone else approves it)")
    c.add_argument("case_id", type=int)
    c.add_argument("action", choices=ACTIONS)
    c.add_argument("target_type", choices=TARGET_TYPES)
    c.add_argument("target")
    c.add_argument("--element", choices=ELEMENTS, help="where it is carried out (default: HLR for numbers and "
                   "IMSIs, EIR for IMEIs and TACs, the partner for trunks, else the SBC)")
    c.add_argument("--reason")
    c.add_argument("--reviewer", help="who proposes (default: $USER)")
    c.set_defaults(func=cmd_propose)

    for name, status, text in (("approve", "approved", "approve a proposed action (not your own)"),
                               ("reject", "rejected", "reject a proposed action (not your own)"),
                               ("withdraw", "withdrawn", "withdraw your own proposal")):
        c = commands.add_parser(name, help=text)
        c.add_argument("action_id", type=int, nargs="+")
        c.add_argument("--note", help="why")
        c.add_argument("--reviewer", help="who decides (default: $USER)")
        c.set_defaults(func=cmd_decide, status=status)

    c = commands.add_parser("export", help="the approved actions, in the order they were approved")
    c.add_argument("--format", choices=("csv", "jsonl"), required=True)
    c.add_argument("--since", type=parse_time, help="approved at or after this time")
    c.add_argument("--after", type=int, metavar="ACTION_ID", help="only actions after this one (a consumer's cursor)")
    c.add_argument("--out", help="file to write (default: standard output)")
    c.set_defaults(func=cmd_export)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        rows = dict_cursor(conn).execute(
            "select * from sentinel.actions where (%(statuses)s::text[] is null or status = any(%(statuses)s))"
            " and (%(case_id)s::bigint is null or case_id = %(case_id)s) order by action_id desc",
            {"statuses": args.status, "case_id": args.case_id},
        ).fetchall()
    if args.json:
        dump(rows)
    elif not rows:
        print("no actions")
    else:
        print_table(rows, LIST_COLUMNS)
    return 0


def _as(conn, reviewer: str | None) -> None:
    conn.execute("select set_config('sentinel.reviewer', %s, true)", [reviewer or default_reviewer()])


def _refused(exc) -> SentinelError:
    """The database's reason, without the SQL: a check constraint's name or the trigger's message."""
    return SentinelError(exc.diag.constraint_name or exc.diag.message_primary)


def cmd_propose(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    with connect(settings, autocommit=True) as conn, conn.transaction():
        _as(conn, args.reviewer)
        try:
            (action_id, element) = conn.execute(
                "insert into sentinel.actions (case_id, action, target_type, target, element, reason)"
                " values (%s, %s, %s, %s, %s, %s) returning action_id, element",
                [args.case_id, args.action, args.target_type, args.target, args.element, args.reason],
            ).fetchone()
        except psycopg.errors.ForeignKeyViolation:
            raise SentinelError(f"no case {args.case_id}") from None
    print(f"action {action_id} proposed: {args.action} {args.target_type} {args.target} at the {element}; "
          f"someone else approves it: sentinel actions approve {action_id}")
    return 0


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    import psycopg

    with connect(settings, autocommit=True) as conn, conn.transaction():
        _as(conn, args.reviewer)
        for action_id in args.action_id:
            try:
                row = conn.execute(
                    "update sentinel.actions set status = %s, decision_note = %s where action_id = %s"
                    " returning action, target_type, target, decided_by",
                    [args.status, args.note, action_id],
                ).fetchone()
            except psycopg.errors.CheckViolation as exc:
                raise _refused(exc) from None
            if row is None:
                raise SentinelError(f"no action {action_id}")
            print(f"action {action_id} ({row[0]} {row[1]} {row[2]}) {args.status} by {row[3]}")
    return 0


def export_actions(conn, fmt: str, out, since=None, after=None) -> int:
    """Write the approved actions to ``out`` as CSV (header row) or JSON lines; returns how many."""
    rows = dict_cursor(conn).execute(EXPORT, {"since": since, "after": after}).fetchall()
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: jsonable(v) if isinstance(v, datetime) else v for k, v in r.items()} for r in rows)
    else:
        for r in rows:
            out.write(json.dumps(r, default=jsonable) + "\n")
    return len(rows)


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        if args.out:
            with open(args.out, "w", encoding="utf-8", newline="") as out:
                count = export_actions(conn, args.format, out, args.since, args.after)
            print(f"{count} approved action{'s' if count != 1 else ''} written to {args.out}", file=sys.stderr)
        else:
            export_actions(conn, args.format, sys.stdout, args.since, args.after)
    return 0
