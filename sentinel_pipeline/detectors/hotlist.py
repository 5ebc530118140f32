"""hotlist: activity of a subject on the hotlist (a confirmed offender, or one listed by hand).

A barred SIM box comes back: the same SIMs after an unbar, new SIMs in the same handset, a new batch of
numbers from the same range. Every active entry of ``sentinel.hotlist`` (migration 034) is matched
against each hour's records made after the entry's ``since``:

- ``msisdn``: calls made by the number (``a_number`` of an originating record);
- ``range``: calls made by numbers starting with the range's digits (subject: the number);
- ``imsi`` / ``imei``: any record of that SIM or handset; ``tac``: any record of a handset of that model
  (the first 8 digits of its IMEI; subject: the IMEI).

At least ``min_calls`` such records in the hour raise a detection (CRITICAL from ``critical_calls``,
else HIGH); its evidence names the entries matched and the case that listed them (``case_id``), so the
alert joins that case (migration 033's links) and a confirmed case is escalated.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline import schema
from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import detection_rows, prefixes_of
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

ACTIVE_ENTRIES = """
select entry_id, subject_type, value, case_id, since
from sentinel.active_hotlist
order by entry_id
"""


class HotlistParams(DetectorParams):
    min_calls: int = 1
    critical_calls: int = 5
    lookback_hours: ClassVar[int] = 0  # each hour on its own


def load_hotlist(duck, pg) -> None:
    """The table ``hotlist`` the SQL reads: the active entries of sentinel.hotlist."""
    duck.execute("create or replace temp table hotlist (entry_id bigint, subject_type varchar, value varchar,"
                 " case_id bigint, since timestamptz)")
    rows = pg.execute(ACTIVE_ENTRIES).fetchall()
    if rows:
        duck.executemany("insert into hotlist values (?, ?, ?, ?, ?)", rows)


def detect_sql(p: HotlistParams, settings: Settings) -> str:
    originating = ", ".join(map(literal, schema.ORIGINATING_RECORD_TYPES))

    def entries(kind: str) -> str:
        return f"(select * from hotlist where subject_type = {literal(kind)})"

    def branch(subject_type: str) -> str:
        return detection_rows(
            subject_type=subject_type, subject="subject", lookback_hours=0,
            severity=[(f"calls >= {literal(p.critical_calls)}", "CRITICAL")] + [("true", "HIGH")],
            score=f"least(1.0, 0.8 + 0.2 * calls / {literal(p.critical_calls)})",
            evidence=("calls", "minutes", "distinct_destinations", "listed_as", "hotlist_entries", "case_id"),
            source=f"(select * from hits_by_subject where subject_type = {literal(subject_type)})",
            rule=[("min_calls", "calls", ">=", p.min_calls)],
        )

    return f"""
with target_cdrs as (
    select c.*, c.record_type in ({originating}) as made_here
    from cdrs c where c.hour in (select hour from targets)
),
range_entries as (select *, value as prefix from hotlist where subject_type = 'range'),
hits as (
    -- one row per record and entry it matches, after the entry's since
    {_hit("'msisdn'", "c.a_number", "target_cdrs", entries("msisdn"), "h.value = c.a_number and c.made_here")}
    union all
    {_hit("'msisdn'", "c.a_number",
          prefixes_of("(select * from target_cdrs where made_here and starts_with(a_number, '+'))", "a_number",
                      "range_entries"),
          "range_entries", "h.prefix = c.prefix")}
    union all
    {_hit("'imsi'", "c.imsi", "target_cdrs", entries("imsi"), "h.value = c.imsi")}
    union all
    {_hit("'imei'", "c.imei", "target_cdrs", entries("imei"), "h.value = c.imei")}
    union all
    {_hit("'imei'", "c.imei", "target_cdrs", entries("tac"), "h.value = substr(c.imei, 1, 8)")}
),
records as (
    -- each record once per subject, with every entry it matched
    select subject_type, subject, hour, file_id, line,
        any_value(seizure_time) as seizure_time, any_value(duration_s) as duration_s, any_value(b_number) as b_number,
        list(listed) as listed, list(entry_id) as entries, min(case_id) as case_id
    from hits
    group by all
),
hits_by_subject as (
    select subject_type, subject, hour as partition_hour,
        count(*) as calls,
        round(sum(duration_s) / 60.0, 1) as minutes,
        count(distinct b_number) as distinct_destinations,
        list_sort(list_distinct(flatten(list(listed)))) as listed_as,
        list_sort(list_distinct(flatten(list(entries)))) as hotlist_entries,
        min(case_id) as case_id,
        min(seizure_time) as first_seen,
        max(seizure_time) as last_seen
    from records
    group by all
)
{branch("msisdn")}
union all
{branch("imsi")}
union all
{branch("imei")}
"""


def _hit(subject_type: str, subject: str, records: str, entries: str, match: str) -> str:
    return (f"select {subject_type} as subject_type, {subject} as subject, c.hour, c.file_id, c.line, c.seizure_time,"
            f" c.duration_s, c.b_number, h.entry_id, h.subject_type || ':' || h.value as listed, h.case_id\n"
            f"    from {records} c join {entries} h on {match}\n"
            f"    where c.seizure_time > h.since")


SPEC = DetectorSpec("hotlist", HotlistParams, detect_sql, subject_types=("msisdn", "imsi", "imei"),
                    summary_columns=("calls", "minutes", "listed_as", "case_id"), from_postgres=load_hotlist)
