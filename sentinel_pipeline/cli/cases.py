"""`sentinel cases list|show|assign|review`: working cases (groups of alerts) from the command line.

Plain SQL over sentinel.case_overview, sentinel.case_members and sentinel.case_history (migration 033):
what an analyst does here is what an UPDATE of sentinel.cases in psql does, and the database's triggers
record who changed what in both cases.
"""

from __future__ import annotations

import argparse

from sentinel_pipeline.cli.common import cell, connect, default_reviewer, dict_cursor, dump, print_listing, print_table
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.schema import ALERT_STATUSES as STATUSES
from sentinel_pipeline.settings import Settings

LIST_COLUMNS = ("case_id", "kind", "label", "status", "priority", "assignee", "severity", "alert_count",
                "msisdns", "imeis", "first_seen", "last_seen")
MEMBER_COLUMNS = ("alert_id", "detector", "subject_type", "subject", "severity", "score", "status", "first_seen",
                  "last_seen")
HISTORY_COLUMNS = ("changed_at", "changed_by", "actor", "field", "old_value", "new_value")
KINDS = ("simbox", "trunk", "number")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("cases", help="list, show, assign and review cases (alerts grouped per box, trunk, number)")
    commands = p.add_subparsers(dest="cases_command", required=True, metavar="ACTION")

    c = commands.add_parser("list", help="cases, most urgent first")
    c.add_argument("--status", action="append", choices=STATUSES + ("active",),
                   help="repeatable; 'active' = open or investigating (default: every status)")
    c.add_argument("--kind", action="append", choices=KINDS, help="repeatable")
    c.add_argument("--assignee", help="only cases assigned to this person ('-': unassigned)")
    c.add_argument("--limit", type=int, default=50)
    c.add_argument("--json", action="store_true", help="one JSON array")
    c.set_defaults(func=cmd_list)

    c = commands.add_parser("show", help="a case, its alerts and its history")
    c.add_argument("case_id", type=int)
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_show)

    c = commands.add_parser("assign", help="give a case to someone (records who and when)")
    c.add_argument("case_id", type=int)
    c.add_argument("assignee", help="who works it ('-': nobody)")
    c.add_argument("--reviewer", help="who assigns (default: $USER)")
    c.set_defaults(func=cmd_assign)

    c = commands.add_parser("review", help="set a case's status, priority and notes; the status goes to each of "
                            "its alerts (records who and when)")
    c.add_argument("case_id", type=int)
    c.add_argument("--status", choices=STATUSES, help="new status (false_positive whitelists its subjects; "
                   "confirmed puts them on the hotlist and proposes actions)")
    c.add_argument("--priority", type=int, choices=(1, 2, 3, 4), help="1 = most urgent")
    c.add_argument("--notes", help="notes (replace the previous notes)")
    c.add_argument("--reviewer", help="who reviews (default: $USER)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_review)


def list_cases(conn, args: argparse.Namespace) -> list[dict]:
    where, params = [], {"limit": args.limit}
    if args.status:
        statuses = {s for s in args.status if s != "active"}
        if "active" in args.status:
            statuses |= {"open", "investigating"}
        where.append("status = any(%(statuses)s)")
        params["statuses"] = sorted(statuses)
    if args.kind:
        where.append("kind = any(%(kinds)s)")
        params["kinds"] = args.kind
    if args.assignee == "-":
        where.append("assignee is null")
    elif args.assignee:
        where.append("assignee = %(assignee)s")
        params["assignee"] = args.assignee
    query = (
        "select case_id, kind, label, status, priority, assignee, severity::text, score, alert_count, msisdns,"
        " imeis, trunks, open_alerts, detectors, first_seen, last_seen, opened_at, reviewed, reviewed_by,"
        " reviewed_at, last_event, last_event_at\n"
        "from sentinel.case_overview\n"
        + ("where " + "\n  and ".join(where) + "\n" if where else "")
        + "order by priority, severity desc, score desc, last_seen desc, case_id\nlimit %(limit)s"
    )
    return dict_cursor(conn).execute(query, params).fetchall()


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        rows = list_cases(conn, args)
    print_listing(rows, LIST_COLUMNS, "case", args.limit, args.json)
    return 0


def get_case(conn, case_id: int) -> dict:
    """The case (followed to the case it was merged into), its alerts and its history."""
    cur = dict_cursor(conn)
    row = cur.execute("select case_id, merged_into from sentinel.cases where case_id = %s", [case_id]).fetchone()
    if row is None:
        raise SentinelError(f"no case {case_id}")
    merged_from = None
    if row["merged_into"] is not None:
        merged_from, case_id = case_id, row["merged_into"]
    case = cur.execute("select *, severity::text as severity from sentinel.case_overview where case_id = %s",
                       [case_id]).fetchone()
    case["merged_from"] = merged_from
    case["alerts"] = cur.execute(
        "select alert_id, detector, subject_type, subject, severity::text as severity, score, status, first_seen,"
        " last_seen from sentinel.case_members where case_id = %s order by severity desc, score desc, alert_id",
        [case_id],
    ).fetchall()
    case["history"] = cur.execute(
        "select changed_at, changed_by, actor, field, old_value, new_value from sentinel.case_history"
        " where case_id = %s order by change_id", [case_id]
    ).fetchall()
    return case


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        case = get_case(conn, args.case_id)
    if args.json:
        dump(case)
        return 0
    alerts, history = case.pop("alerts"), case.pop("history")
    if case["merged_from"] is not None:
        print(f"case {case['merged_from']} was merged into case {case['case_id']}\n")
    case.pop("merged_from")
    width = max(len(k) for k in case)
    for key, value in case.items():
        print(f"{key:<{width}}  {cell(value)}")
    print(f"\nalerts ({len(alerts)}):")
    print_table(alerts, MEMBER_COLUMNS)
    print(f"\nhistory ({len(history)}):")
    print_table(history, HISTORY_COLUMNS)
    return 0


def update_case(conn, case_id: int, reviewer: str, **fields) -> dict:
    """Set ``fields`` (status, priority, assignee, notes, reviewed; None: unchanged, except assignee) of one
    case as ``reviewer``; the triggers stamp and record the change and pass the status to the alerts."""
    columns = {k: v for k, v in fields.items() if v is not None or k == "assignee"}
    if not columns:
        raise SentinelError("nothing to change: give --status, --priority or --notes")
    with conn.transaction():
        cur = dict_cursor(conn)
        cur.execute("select set_config('sentinel.reviewer', %s, true)", [reviewer])
        assignments = ", ".join(f"{name} = %({name})s" for name in columns)
        row = cur.execute(
            f"update sentinel.cases set {assignments} where case_id = %(case_id)s and merged_into is null"
            " returning case_id, label, status, priority, assignee, reviewed_by, reviewed_at",
            {**columns, "case_id": case_id},
        ).fetchone()
    if row is None:
        raise SentinelError(f"no case {case_id} (or it was merged into another: sentinel cases show {case_id})")
    return row


def cmd_assign(args: argparse.Namespace, settings: Settings) -> int:
    assignee = None if args.assignee == "-" else args.assignee
    with connect(settings, autocommit=True) as conn:
        row = update_case(conn, args.case_id, args.reviewer or default_reviewer(), assignee=assignee)
    print(f"case {row['case_id']} ({row['label']}): assigned to {row['assignee'] or 'nobody'} by {row['reviewed_by']}")
    return 0


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings, autocommit=True) as conn:
        row = update_case(conn, args.case_id, args.reviewer or default_reviewer(), status=args.status,
                          priority=args.priority, notes=args.notes, reviewed=True)
    if args.json:
        dump(row)
        return 0
    print(f"case {row['case_id']} ({row['label']}): status {row['status']}, priority {row['priority']}, "
          f"reviewed by {row['reviewed_by']} at {cell(row['reviewed_at'])} UTC")
    return 0
