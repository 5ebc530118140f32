"""What each case's fraud carried and cost: ``sentinel.case_traffic`` (migration 036), and the first
activity of every alert's subject (``sentinel.alerts.first_activity``, for the time to detect).

For the hours of a run and the 23 before them (the windows its detections judged), read once from the
raw_cdrs lake, every call of a case's subject within the period of its alerts (first_seen .. last_seen):

- a number (``msisdn``): the calls it made; a SIM (``imsi``) or handset (``imei``): the calls made with it
  (``MOC``); a call made by a SIM of a box through its handset counts once for the case;
- a ``trunk``: the calls arriving on it (not ``MTC``) that present a home-country CLI or one that is no
  valid number: ``masked_calls`` (a valid home CLI) and ``invalid_cli_calls``.

The same scan gives each subject's first activity (its earliest record read) and, for a number whose
calls all came from one cell, that cell (``alerts.cell_id``): a link that puts SIMs of one box without a
common handset into one case (``sentinel.refresh_cases`` runs again in the same transaction).

Each call's estimated loss is its minutes x (international rate - local rate) from ``rates.csv``
(``sentinel_pipeline/reference.py``): the partner's rate for a trunk's calls, else the called number's
destination rate (longest prefix), else the default. It is an estimate: the rates are a reference table,
not the bills. A run replaces the rows of the hours it read, so re-runs and back-fills give the same rows.

``python -m sentinel_pipeline.case_traffic`` prints the DuckDB SQL.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import psycopg

from sentinel_pipeline import duck, lake, reference, schema, store
from sentinel_pipeline.detectors.run import cdrs_view_sql
from sentinel_pipeline.detectors.sql import prefixes_of
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

LOOKBACK_HOURS = 23

# The subjects whose calls may fall in [start, end): of every alert in a case active then.
SUBJECTS = """
select case_id, subject_type, subject, min(first_seen) as first_seen, max(last_seen) as last_seen
from sentinel.alerts
where case_id is not null and subject_type in ('msisdn', 'imsi', 'imei', 'trunk')
  and last_seen >= %(start)s and first_seen < %(end)s
group by case_id, subject_type, subject
"""

DELETE_HOURS = "delete from sentinel.case_traffic where hour = any(%(hours)s::timestamptz[])"
COPY_TRAFFIC = ("copy sentinel.case_traffic (case_id, hour, calls, minutes, masked_calls, invalid_cli_calls,"
                " estimated_loss, currency, rates_version) from stdin")

# A new cell is a changed fact (updated_at), so that refresh_cases regroups the alert.
UPDATE_ACTIVITY = """
update sentinel.alerts a
   set first_activity = least(a.first_activity, v.first_activity, a.first_seen),
       cell_id = coalesce(v.cell_id, a.cell_id),
       updated_at = case when v.cell_id is distinct from a.cell_id and v.cell_id is not null then now()
                         else a.updated_at end
  from unnest(%(types)s::text[], %(subjects)s::text[], %(times)s::timestamptz[], %(cells)s::text[])
       v (subject_type, subject, first_activity, cell_id)
 where (a.subject_type, a.subject) = (v.subject_type, v.subject)
   and (a.first_activity is distinct from least(a.first_activity, v.first_activity, a.first_seen)
        or (v.cell_id is not null and v.cell_id is distinct from a.cell_id))
"""


def subject_calls_sql(settings: Settings) -> str:
    """Every record of a subject of ``case_subjects`` in ``cdrs``, once per case and subject."""
    originating = ", ".join(map(literal, schema.ORIGINATING_RECORD_TYPES))
    home = literal("+" + settings.country_code)
    columns = ("s.case_id, s.subject_type, s.subject, s.first_seen, s.last_seen, c.file_id, c.line, c.hour,"
               " c.seizure_time, c.duration_s, c.a_number, c.a_valid, c.b_number, c.trunk_in, c.cell_id")

    def matching(subject_type: str, column: str, condition: str) -> str:
        return (f"select {columns} from case_subjects s join cdrs c on c.{column} = s.subject\n"
                f"where s.subject_type = {literal(subject_type)} and {condition}")

    return "\nunion all\n".join([
        matching("msisdn", "a_number", f"c.record_type in ({originating})"),
        matching("imsi", "imsi", "c.record_type = 'MOC'"),
        matching("imei", "imei", "c.record_type = 'MOC'"),
        matching("trunk", "trunk_in", f"c.record_type <> 'MTC' and (starts_with(c.a_number, {home}) or not c.a_valid)"),
    ])


def traffic_sql(settings: Settings) -> str:
    """Per case and hour: calls, minutes, masked and invalid-CLI calls and estimated loss, from the table
    ``subject_calls`` and the reference tables ``ref_trunks`` and ``ref_rates``."""
    home = literal("+" + settings.country_code)
    return f"""
with case_calls as (
    -- each call once per case, within the period of the case's alerts of the subject it matched
    select case_id, file_id, line, any_value(hour) as hour, any_value(duration_s) as duration_s,
           any_value(a_number) as a_number, any_value(a_valid) as a_valid, any_value(b_number) as b_number,
           any_value(trunk_in) as trunk_in, bool_or(subject_type = 'trunk') as via_trunk
    from subject_calls
    where seizure_time between first_seen and last_seen
    group by case_id, file_id, line
),
rate_prefixes as (
    select key as prefix, international_rate - local_rate as difference from ref_rates where scope = 'destination'
),
destination_rates as (
    select n.b_number, arg_max(r.difference, length(r.prefix)) as difference
    from {prefixes_of("(select distinct b_number from case_calls where starts_with(b_number, '+'))",
                      "b_number", "rate_prefixes")} n
    join rate_prefixes r using (prefix)
    group by n.b_number
),
priced as (
    select k.*,
           coalesce(case when k.via_trunk then p.international_rate - p.local_rate end, d.difference,
                    (select international_rate - local_rate from ref_rates where scope = 'default')) as difference
    from case_calls k
    left join ref_trunks t on k.via_trunk and t.trunk_id = k.trunk_in
    left join ref_rates p on p.scope = 'partner' and p.key = t.partner
    left join destination_rates d on d.b_number = k.b_number
)
select case_id, hour,
       count(*) as calls,
       round(sum(duration_s) / 60.0, 2) as minutes,
       count(*) filter (where via_trunk and a_valid and starts_with(a_number, {home})) as masked_calls,
       count(*) filter (where via_trunk and not a_valid) as invalid_cli_calls,
       round(sum(duration_s / 60.0 * difference), 4) as estimated_loss
from priced
group by case_id, hour
order by case_id, hour
"""


# Per subject: its earliest record, and its cell when every record with a cell has the same one.
ACTIVITY = """
select subject_type, subject, min(seizure_time) as first_activity,
       case when count(distinct cell_id) = 1 then min(cell_id) end as cell_id
from subject_calls
group by all
"""


def _hours_read(settings: Settings, hours: list[datetime]) -> list[datetime]:
    """The hours of ``hours`` and the LOOKBACK_HOURS before them that have a raw_cdrs lake file."""
    existing = set(lake.existing_keys(settings.lake, "raw_cdrs", hours, LOOKBACK_HOURS))
    hour, last, found = min(hours) - timedelta(hours=LOOKBACK_HOURS), max(hours), []
    while hour <= last:
        if lake.hour_key("raw_cdrs", hour) in existing:
            found.append(hour)
        hour += timedelta(hours=1)
    return found


def refresh_case_traffic(settings: Settings, conn: psycopg.Connection, hours: list[datetime],
                         ref: reference.ReferenceData | None = None) -> dict:
    """Recompute ``sentinel.case_traffic`` for ``hours`` and the 23 before them, in one transaction, and
    move each subject's ``first_activity`` back to the earliest record read. Returns counts for the UI."""
    read = _hours_read(settings, hours)
    if not read:
        return {"hours_read": 0, "cases": 0, "estimated_loss": 0.0}
    ref = ref or reference.load(settings.reference_dir)
    subjects = conn.execute(SUBJECTS, {"start": read[0], "end": read[-1] + timedelta(hours=1)}).fetchall()
    traffic, activity = [], []
    if subjects:
        with duck.connect(settings) as con:
            con.execute("set TimeZone = 'UTC'")
            reference.register_duckdb(con, ref)
            con.execute(cdrs_view_sql(settings, [settings.lake.url(lake.hour_key("raw_cdrs", h)) for h in read]))
            con.execute("create temp table case_subjects (case_id bigint, subject_type varchar, subject varchar,"
                        " first_seen timestamptz, last_seen timestamptz)")
            con.executemany("insert into case_subjects values (?, ?, ?, ?, ?)", subjects)
            con.execute(f"create temp table subject_calls as {subject_calls_sql(settings)}")
            traffic = con.execute(traffic_sql(settings)).fetchall()
            activity = con.execute(ACTIVITY).fetchall()
    currency = ref.currency if ref.rates else None
    version = reference.file_versions(settings.reference_dir).get("rates.csv")
    with conn.transaction():
        conn.execute(store.SET_PIPELINE_ACTOR)
        conn.execute(DELETE_HOURS, {"hours": read})
        with conn.cursor().copy(COPY_TRAFFIC) as copy:
            for row in traffic:
                copy.write_row((*row, currency, version))
        if activity:
            types, subjects_, times, cells = (list(column) for column in zip(*activity))
            conn.execute(UPDATE_ACTIVITY, {"types": types, "subjects": subjects_, "times": times, "cells": cells})
            conn.execute(store.REFRESH_CASES)
        conn.execute("select set_config('sentinel.actor', '', true)")
    return {"hours_read": len(read), "cases": len({r[0] for r in traffic}),
            "estimated_loss": round(sum(r[6] or 0 for r in traffic), 2)}


if __name__ == "__main__":
    settings = Settings.from_env()
    print(f"create temp table subject_calls as\n{subject_calls_sql(settings)};\n{traffic_sql(settings)};")
