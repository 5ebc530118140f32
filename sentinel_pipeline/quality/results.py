"""What a suite returns (``Outcome``: one per hour or per run), how it is kept (``sentinel.dq_results``)
and how its failures are shown in the UI."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
from psycopg.types.json import Jsonb

@dataclass
class Outcome:
    asset: str
    check: str
    hour: datetime | None  # None: the outcome covers every hour of the run
    passed: bool
    summary: str
    expectations: list[dict] = field(default_factory=list)

    def failures(self) -> list[dict]:
        return [e for e in self.expectations if not e["success"]]

    @classmethod
    def of(cls, asset: str, check: str, hour, expectations: list[dict], rows: int | None = None) -> "Outcome":
        """The outcome of ``expectations``, with a one-line summary naming the failed ones."""
        failed = [e for e in expectations if not e["success"]]
        where = f"{hour:%Y-%m-%d %H:%M} UTC" if hour else "the run's hours"
        counted = f", {rows} rows" if rows is not None else ""
        if failed:
            names = ", ".join(label(e) for e in failed[:5])
            summary = f"{where}: {len(failed)} of {len(expectations)} expectations failed{counted}: {names}"
        else:
            summary = f"{where}: all {len(expectations)} expectations met{counted}"
        return cls(asset, check, hour, not failed, summary, expectations)


def label(e: dict) -> str:
    column = e["kwargs"].get("column") or e["kwargs"].get("column_A") or ""
    return f"{e['expectation']}({column})" if column else e["expectation"]


def save_results(conn: psycopg.Connection, outcomes: list[Outcome], *, severity: str, blocking: bool,
                 run_id: str | None) -> None:
    """One sentinel.dq_results row per outcome."""
    with conn.transaction():
        conn.cursor().executemany(
            """
            insert into sentinel.dq_results
                (run_id, asset, check_name, partition_hour, passed, severity, blocking, summary, details)
            values (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            """,
            [
                (run_id, o.asset, o.check, o.hour, o.passed, severity, blocking, o.summary,
                 Jsonb({"expectations": o.expectations}))
                for o in outcomes
            ],
        )


def failures_markdown(outcomes: list[Outcome], limit: int = 30) -> str:
    """A table of the failed expectations with their observed and failing values, for the UI."""
    lines = ["| hour | expectation | observed | failing values |", "|---|---|---|---|"]
    for o in outcomes:
        for e in o.failures():
            hour = f"{o.hour:%Y-%m-%d %H:%M}" if o.hour else "all"
            observed = e.get("observed_value", e.get("unexpected_count", ""))
            if "unexpected_percent" in e:
                observed = f"{e.get('unexpected_count')} rows ({e['unexpected_percent']:.3g} %)"
            values = ", ".join(json.dumps(v) for v in e.get("failing_values", []))[:300]
            lines.append(f"| {hour} | {label(e)} | {json.dumps(observed)[:200]} | {values} |".replace("\n", " "))
            if len(lines) - 2 >= limit:
                return "\n".join(lines + ["| … | | | |"])
    return "\n".join(lines)


