"""`sentinel alerts list|show|review|watch|suppressions`: working cases from the command line.

Everything here is plain SQL over sentinel.alerts / sentinel.suppressions (docs/analysts.md shows the
same queries for psql), so the CLI and an analyst in psql see and do the same things.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta, timezone

from sentinel_pipeline.cli.common import cell, connect, default_reviewer, dict_cursor, dump, parse_time, print_listing, print_table
from sentinel_pipeline.errors import SentinelError
from sentinel_pipeline.schema import ALERT_STATUSES as STATUSES
from sentinel_pipeline.schema import SEVERITIES
from sentinel_pipeline.settings import Settings

# Which lake column holds a subject of each type (the CDRs "behind" an alert).
SUBJECT_COLUMNS = {"msisdn": "a_number", "trunk": "trunk_in", "imei": "imei", "imsi": "imsi"}
CDR_COLUMNS = ("seizure_time", "duration_s", "a_number", "b_number", "record_type", "trunk_in", "trunk_out",
               "cell_id", "release_cause", "file_id", "line")
LIST_COLUMNS = ("alert_id", "detector", "subject_type", "subject", "severity", "score", "status", "reviewed",
                "first_seen", "last_seen", "reviewed_by")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("alerts", help="list, show, review and follow alerts")
    commands = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")

    c = commands.add_parser("list", help="alerts, most severe first, with filters")
    c.add_argument("--detector", action="append", help="only this detector (repeatable)")
    c.add_argument("--severity", action="append", type=str.upper, choices=SEVERITIES, help="repeatable")
    c.add_argument("--min-severity", type=str.upper, choices=SEVERITIES, help="this severity or worse")
    c.add_argument("--status", action="append", choices=STATUSES + ("active",),
                   help="repeatable; 'active' = open or investigating")
    reviewed = c.add_mutually_exclusive_group()
    reviewed.add_argument("--reviewed", dest="reviewed", action="store_true", default=None)
    reviewed.add_argument("--unreviewed", dest="reviewed", action="store_false")
    c.add_argument("--since", type=parse_time, help="cases active at or after this time (last_seen >= SINCE)")
    c.add_argument("--until", type=parse_time, help="cases active before this time (first_seen < UNTIL)")
    c.add_argument("--subject", help="subject, exactly, or a LIKE pattern with %%")
    c.add_argument("--limit", type=int, default=50)
    c.add_argument("--json", action="store_true", help="one JSON array")
    c.set_defaults(func=cmd_list)

    c = commands.add_parser("show", help="an alert, its evidence and the CDRs behind it")
    c.add_argument("alert_id", type=int)
    c.add_argument("--cdrs", type=int, default=20, help="how many of its CDRs to print (default 20; 0: none)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_show)

    c = commands.add_parser("review", help="set an alert's status and notes (records who and when)")
    c.add_argument("alert_id", type=int)
    c.add_argument("--status", choices=STATUSES, help="new status (false_positive whitelists the subject; "
                   "any other status lifts that)")
    c.add_argument("--notes", help="reviewer notes (replace the previous notes)")
    c.add_argument("--reviewer", help="who reviews (default: $USER)")
    c.add_argument("--unreviewed", action="store_true", help="leave reviewed = false (e.g. a hand-over note)")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_review)

    c = commands.add_parser("watch", help="print new, reopened and escalated alerts as they are made "
                            "(LISTEN sentinel_alerts)")
    c.add_argument("--detector", action="append", help="only this detector (repeatable)")
    c.add_argument("--min-severity", type=str.upper, choices=SEVERITIES)
    c.add_argument("--json", action="store_true", help="print each notification's JSON payload as is")
    c.add_argument("--count", type=int, help="exit after this many notifications")
    c.add_argument("--timeout", type=float, help="exit after this many seconds")
    c.set_defaults(func=cmd_watch)

    c = commands.add_parser("suppressions", help="the whitelist (false positives that no longer alert)")
    c.add_argument("--all", action="store_true", help="also lifted entries")
    c.add_argument("--json", action="store_true")
    c.set_defaults(func=cmd_suppressions)


# ----------------------------------------------------------------------------- list


def list_alerts(conn, args: argparse.Namespace) -> list[dict]:
    where, params = [], {}
    if args.detector:
        where.append("detector = any(%(detectors)s)")
        params["detectors"] = args.detector
    if args.severity:
        where.append("severity = any(%(severities)s::sentinel.severity[])")
        params["severities"] = args.severity
    if args.min_severity:
        where.append("severity >= %(min_severity)s::sentinel.severity")
        params["min_severity"] = args.min_severity
    if args.status:
        statuses = {s for s in args.status if s != "active"}
        if "active" in args.status:
            statuses |= {"open", "investigating"}
        where.append("status = any(%(statuses)s)")
        params["statuses"] = sorted(statuses)
    if args.reviewed is not None:
        where.append("reviewed = %(reviewed)s")
        params["reviewed"] = args.reviewed
    if args.since:
        where.append("last_seen >= %(since)s")
        params["since"] = args.since
    if args.until:
        where.append("first_seen < %(until)s")
        params["until"] = args.until
    if args.subject:
        where.append("subject like %(subject)s" if "%" in args.subject else "subject = %(subject)s")
        params["subject"] = args.subject
    params["limit"] = args.limit
    query = (
        "select alert_id, detector, subject_type, subject, severity::text, score, status, reviewed,"
        " reviewer_notes, reviewed_by, reviewed_at, first_seen, last_seen, detected_at, updated_at,"
        " last_event, last_event_at\n"
        "from sentinel.alerts a\n"
        + ("where " + "\n  and ".join(where) + "\n" if where else "")
        + "order by a.severity desc, score desc, last_seen desc, alert_id\nlimit %(limit)s"
    )
    return dict_cursor(conn).execute(query, params).fetchall()


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        rows = list_alerts(conn, args)
    print_listing(rows, LIST_COLUMNS, "alert", args.limit, args.json)
    return 0


# ----------------------------------------------------------------------------- show


def get_alert(conn, alert_id: int) -> dict:
    row = dict_cursor(conn).execute(
        """
        select a.*, a.severity::text as severity,
               s.suppression_id, s.reason as suppression_reason, s.created_by as suppressed_by,
               s.created_at as suppressed_at
        from sentinel.alerts a
        left join sentinel.suppressions s
               on (s.detector, s.subject_type, s.subject) = (a.detector, a.subject_type, a.subject)
              and s.lifted_at is null
        where a.alert_id = %s
        """,
        [alert_id],
    ).fetchone()
    if row is None:
        raise SentinelError(f"no alert {alert_id}")
    return row


def subject_condition(alert: dict) -> tuple[str, list] | None:
    """The lake rows of an alert's subject: a SQL condition with its parameters (None: no such rows).
    A box's CDRs are its member SIMs' (the evidence's ``msisdns``); a route's, the calls out on its trunk
    to its country code (``<trunk_out>:<country code>``); a range's, those from numbers starting with it."""
    kind, subject = alert["subject_type"], alert["subject"]
    if kind in SUBJECT_COLUMNS:
        return f"{SUBJECT_COLUMNS[kind]} = ?", [subject]
    if kind == "box":
        return "list_contains(?, a_number)", [list((alert.get("evidence") or {}).get("msisdns") or [])]
    if kind == "route":
        trunk, _, country_code = subject.rpartition(":")
        return "trunk_out = ? and starts_with(b_number, ?)", [trunk, "+" + country_code]
    if kind == "range":
        return "starts_with(a_number, ?)", ["+" + subject]
    return None


def alert_cdrs(settings: Settings, alert: dict, limit: int) -> tuple[int, list[dict], str]:
    """(how many, the first ``limit``, a note) of the lake's raw CDRs of the alert's subject between its
    first_seen and last_seen."""
    from sentinel_pipeline.duck import literal
    from sentinel_pipeline import storage
    from sentinel_pipeline.lake import existing_urls

    subject = subject_condition(alert)
    if subject is None:
        return 0, [], f"subject type {alert['subject_type']!r} has no CDR column"
    start = alert["first_seen"].astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    hours = []
    while start <= alert["last_seen"]:
        hours.append(start)
        start += timedelta(hours=1)
    paths = existing_urls(settings.lake, "raw_cdrs", hours)
    if not paths:
        return 0, [], f"no raw_cdrs lake files for {len(hours)} hour(s) under {settings.lake_url}"
    import duckdb

    with duckdb.connect() as con:
        storage.prepare_duckdb(con, settings.lake)
        con.execute("set time zone 'UTC'")
        condition, values = subject
        where = f"{condition} and seizure_time between ? and ?"
        source = f"read_parquet({literal(paths)}, union_by_name = true)"
        bounds = [*values, alert["first_seen"], alert["last_seen"]]
        total, destinations = con.execute(
            f"select count(*), count(distinct b_number) from {source} where {where}", bounds
        ).fetchone()
        cur = con.execute(
            f"select {', '.join(CDR_COLUMNS)} from {source} where {where} order by seizure_time, file_id, line"
            f" limit {int(limit)}",
            bounds,
        )
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
    note = f"{total} CDRs from {len(paths)} hourly lake file(s), {destinations} distinct b_numbers"
    return int(total), rows, note


def cmd_show(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        alert = get_alert(conn, args.alert_id)
    total, cdrs, note = alert_cdrs(settings, alert, max(args.cdrs, 0)) if args.cdrs or args.json else (0, [], "")
    if args.json:
        dump({"alert": alert, "cdrs": {"total": total, "rows": cdrs, "note": note}})
        return 0
    evidence = alert.pop("evidence")
    width = max(len(k) for k in alert)
    for key, value in alert.items():
        if key.startswith("suppress") and value is None:
            continue
        print(f"{key:<{width}}  {cell(value)}")
    print("\nevidence:")
    for line in json.dumps(evidence, indent=2, sort_keys=True).splitlines():
        print(f"  {line}")
    if args.cdrs:
        print(f"\nCDRs behind it ({note}):")
        if cdrs:
            print_table(cdrs, CDR_COLUMNS)
            if total > len(cdrs):
                print(f"... and {total - len(cdrs)} more (--cdrs N)")
    return 0


# ----------------------------------------------------------------------------- review


def review_alert(conn, alert_id: int, *, status: str | None, notes: str | None, reviewer: str,
                 reviewed: bool = True) -> dict:
    """Set the triage fields of one alert as ``reviewer`` (the triage trigger stamps reviewed_by/at and
    keeps the whitelist in step with false_positive)."""
    with conn.transaction():
        cur = dict_cursor(conn)
        cur.execute("select set_config('sentinel.reviewer', %s, true)", [reviewer])
        row = cur.execute(
            """
            update sentinel.alerts
               set status         = coalesce(%(status)s, status),
                   reviewed       = %(reviewed)s,
                   reviewer_notes = coalesce(%(notes)s, reviewer_notes),
                   reviewed_by    = %(reviewer)s
             where alert_id = %(alert_id)s
            returning alert_id, detector, subject_type, subject, severity::text, status, reviewed,
                      reviewer_notes, reviewed_by, reviewed_at
            """,
            {"status": status, "notes": notes, "reviewer": reviewer, "reviewed": reviewed, "alert_id": alert_id},
        ).fetchone()
    if row is None:
        raise SentinelError(f"no alert {alert_id}")
    return row


def cmd_review(args: argparse.Namespace, settings: Settings) -> int:
    reviewer = args.reviewer or default_reviewer()
    with connect(settings, autocommit=True) as conn:
        row = review_alert(conn, args.alert_id, status=args.status, notes=args.notes, reviewer=reviewer,
                           reviewed=not args.unreviewed)
        suppressed = conn.execute(
            "select count(*) from sentinel.active_suppressions where (detector, subject_type, subject) = (%s, %s, %s)",
            [row["detector"], row["subject_type"], row["subject"]],
        ).fetchone()[0]
    row["suppressed"] = bool(suppressed)
    if args.json:
        dump(row)
        return 0
    print(f"alert {row['alert_id']} ({row['detector']} {row['subject']}): status {row['status']}, "
          f"reviewed {'yes' if row['reviewed'] else 'no'} by {row['reviewed_by']} at {cell(row['reviewed_at'])} UTC")
    if row["suppressed"]:
        print(f"{row['subject']} is whitelisted for {row['detector']}: it will not alert again "
              f"(undo: sentinel alerts review {row['alert_id']} --status open)")
    return 0


# ----------------------------------------------------------------------------- watch


def cmd_watch(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from sentinel_pipeline.store import NOTIFY_CHANNEL

    floor = SEVERITIES.index(args.min_severity) if args.min_severity else 0
    deadline = time.monotonic() + args.timeout if args.timeout else None
    seen = 0
    with connect(settings, autocommit=True) as conn:
        conn.execute(f"listen {NOTIFY_CHANNEL}")
        print(f"listening on {NOTIFY_CHANNEL} (Ctrl-C to stop)", file=sys.stderr, flush=True)
        while deadline is None or time.monotonic() < deadline:
            wait = 1.0 if deadline is None else max(0.0, min(1.0, deadline - time.monotonic()))
            for note in conn.notifies(timeout=wait):
                event = json.loads(note.payload)
                if args.detector and event.get("detector") not in args.detector:
                    continue
                if event.get("severity") in SEVERITIES and SEVERITIES.index(event["severity"]) < floor:
                    continue
                if args.json:
                    print(note.payload, flush=True)
                else:
                    change = (f" (was {event['previous_severity']})"
                              if event.get("previous_severity") not in (None, event.get("severity")) else "")
                    print(f"{event.get('event', '?'):<9} #{event.get('alert_id')}  {event.get('detector')}  "
                          f"{event.get('subject_type')} {event.get('subject')}  {event.get('severity')}{change}  "
                          f"score {event.get('score')}  status {event.get('status')}  "
                          f"last seen {event.get('last_seen')}", flush=True)
                seen += 1
                if args.count and seen >= args.count:
                    return 0
    return 0


# ----------------------------------------------------------------------------- suppressions


def cmd_suppressions(args: argparse.Namespace, settings: Settings) -> int:
    with connect(settings) as conn:
        rows = dict_cursor(conn).execute(
            f"""
            select suppression_id, detector, subject_type, subject, alert_id, reason, created_by, created_at,
                   lifted_by, lifted_at
            from sentinel.suppressions
            {'' if args.all else 'where lifted_at is null'}
            order by created_at desc, suppression_id desc
            """
        ).fetchall()
    if args.json:
        dump(rows)
    elif not rows:
        print("no suppressions")
    else:
        columns = ["suppression_id", "detector", "subject_type", "subject", "alert_id", "created_by", "created_at",
                   "reason"] + (["lifted_by", "lifted_at"] if args.all else [])
        print_table(rows, columns)
    return 0
