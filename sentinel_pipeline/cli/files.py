"""`sentinel files list|rejects|forget`: the registry of landed files."""

from __future__ import annotations

import argparse

from sentinel_pipeline import database, registry
from sentinel_pipeline.settings import Settings


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("files", help="the registry of landed files")
    files = p.add_subparsers(dest="files_command", required=True, metavar="ACTION")
    f = files.add_parser("list", help="registered and quarantined files, newest first")
    f.add_argument("--limit", type=int, default=50)
    f.add_argument("--status", choices=["registered", "quarantined", "superseded"], help="only files in this state")
    f.set_defaults(func=_files_list)
    f = files.add_parser("rejects", help="a file's rejected rows: line, reason and what the line held")
    f.add_argument("path", help="key relative to the landing zone (directory or bucket prefix), as `sentinel files list` shows it")
    f.add_argument("--limit", type=int, default=50)
    f.set_defaults(func=_files_rejects)
    f = files.add_parser(
        "forget",
        help="drop a file's registration so the next `sentinel process` (or sensor tick) takes it again",
    )
    f.add_argument("path", help="key relative to the landing zone (directory or bucket prefix), as `sentinel files list` shows it")
    f.set_defaults(func=_files_forget)


def _files_list(args, settings: Settings) -> int:
    with database.connect(settings) as conn:
        rows = conn.execute(
            """
            select f.file_id, f.status, f.path, f.rows_read, array_length(f.hours, 1), coalesce(f.reason, ''),
                   f.extra_columns, (select count(*) from sentinel.cdr_rejects r where r.file_id = f.file_id)
            from sentinel.landed_files f
            where %(status)s::text is null or f.status = %(status)s
            order by f.file_id desc limit %(limit)s
            """,
            {"status": args.status, "limit": args.limit},
        ).fetchall()
    print(f"{'file_id':>7}  {'status':<11} {'rows':>8} {'rejected':>8} {'hours':>5}  path / reason")
    for file_id, status, path, rows_read, hours, reason, extra, rejected in rows:
        note = f"  (ignored columns: {', '.join(extra)})" if extra else ""
        print(f"{file_id:>7}  {status:<11} {rows_read or 0:>8} {rejected:>8} {hours or 0:>5}  {path}  {reason}{note}")
    return 0


def _files_rejects(args, settings: Settings) -> int:
    with database.connect(settings) as conn:
        rows = conn.execute(
            """
            select r.line, r.reason, r.raw
            from sentinel.cdr_rejects r join sentinel.landed_files f using (file_id)
            where f.path = %s and f.status = 'registered'
            order by r.line limit %s
            """,
            [args.path, args.limit],
        ).fetchall()
    if not rows:
        print(f"{args.path}: no rejected rows")
    for line, reason, raw in rows:
        print(f"{args.path}:{line}: {reason}\n    {(raw or '')[:200]}")
    return 0


def _files_forget(args, settings: Settings) -> int:
    with database.connect(settings, autocommit=True) as conn:
        hours = registry.forget_file(conn, args.path)
    if not hours:
        print(f"{args.path}: not registered (nothing to forget)")
        return 0
    print(f"{args.path}: forgotten; it covered {len(hours)} hours. Run `sentinel process` to take it again.")
    return 0
