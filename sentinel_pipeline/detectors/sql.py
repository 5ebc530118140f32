"""SQL pieces the detectors share: the window join, evidence conditions, CLI classes, high-risk ranges,
the per-trunk CLI aggregation and the output block every detector ends with.

The detectors run in a DuckDB session prepared by ``run.py``: the view ``cdrs`` (raw_cdrs rows with their
partition ``hour``) or ``features`` (caller_features rows), the table ``targets(hour)`` and the reference
tables ``ref_trunks``, ``ref_ranges``, ``ref_high_risk`` and ``ref_whitelist``.
``python -m sentinel_pipeline.detectors NAME HOUR`` prints a detector's whole session, runnable by hand.
"""

from __future__ import annotations

from typing import Any

import phonenumbers

from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

# Presentation-restricted calls are legitimate: a CLI like this is withheld, not invalid.
WITHHELD_CLI_PATTERN = r"(?i)^(anonymous|private|restricted|unknown|unavailable|withheld)$"
# What a number of some line looks like once normalised; withheld and garbled CLIs do not.
E164_SHAPE = r"\+[1-9][0-9]{6,14}"


def in_lookback(lookback_hours: int, alias: str = "c") -> str:
    """Join condition: the record's hour is the target hour ``t.hour`` or one of the ``lookback_hours``
    hours before it."""
    return f"{alias}.hour between t.hour - interval {lookback_hours} hours and t.hour"


def covered_targets_sql(lookback_hours: int, min_hours_with_data: int) -> str:
    """The target hours whose window (the hour and the ``lookback_hours`` before it) holds traffic, of
    anyone, in at least ``min_hours_with_data`` hours: a rule saying "receives nothing" means nothing over
    a window holding an hour or two of data (the first hours after start-up, a feed outage)."""
    return f"""
    select t.hour
    from targets t join (select distinct hour from cdrs) d on {in_lookback(lookback_hours, 'd')}
    group by t.hour
    having count(*) >= {min_hours_with_data}
"""


# An evidence condition: (name, value as SQL, operator, threshold as a number or SQL).
Condition = tuple[str, str, str, Any]


def _threshold(threshold) -> str:
    return threshold if isinstance(threshold, str) else literal(threshold)


def condition_json(name: str, value: str, op: str, threshold) -> str:
    """A JSON member for evidence: ``"name": {"value": .., "op": "..", "threshold": .., "tripped": ..}``."""
    limit = _threshold(threshold)
    return (
        f"{literal(name)}, json_object('value', {value}, 'op', {literal(op)}, 'threshold', {limit}, "
        f"'tripped', ({value}) {op} ({limit}))"
    )


def severity_case(tiers: list[tuple[str, str]]) -> str:
    """``case when <condition> then <severity> ... else 'LOW' end`` for tiers from the worst down."""
    whens = "\n        ".join(f"when {cond} then {literal(level)}" for cond, level in tiers)
    return f"case\n        {whens}\n        else 'LOW'\n    end"


def detection_rows(
    *,
    subject_type: str,
    subject: str,
    lookback_hours: int,
    severity: list[tuple[str, str]],
    score: str,
    evidence: tuple[str, ...],
    source: str,
    rule: list[Condition] = (),
    signals: list[Condition] = (),
    where: str | None = None,
    partition_hour: str = "partition_hour",
    first_seen: str = "first_seen",
    last_seen: str = "last_seen",
) -> str:
    """The select every detector ends with: the columns of ``sentinel.detections``, for the rows of
    ``source`` that meet ``where`` and every condition of the ``rule``.

    ``metrics`` holds the ``evidence`` columns of ``source``, the window's length, and (when there are
    any) ``conditions``: each rule and signal condition with its value, threshold and whether it tripped.
    ``score`` is rounded to 4 places. The window is the partition hour and the ``lookback_hours`` before it.
    """
    members = [f"{literal(column)}, {column}" for column in evidence]
    members.append(f"'window_hours', {lookback_hours + 1}")
    conditions = [condition_json(*c) for c in (*rule, *signals)]
    if conditions:
        members.append("'conditions', json_object(\n            " + ",\n            ".join(conditions) + "\n        )")
    filters = ([where] if where else []) + [f"({value}) {op} ({_threshold(t)})" for _, value, op, t in rule]
    where_sql = "\nwhere " + "\n  and ".join(filters) if filters else ""
    return f"""
select
    {literal(subject_type)} as subject_type,
    {subject} as subject,
    {partition_hour} as partition_hour,
    {partition_hour} - interval {lookback_hours} hours as window_start,
    {partition_hour} + interval 1 hour as window_end,
    {severity_case(severity)} as severity,
    round({score}, 4) as score,
    {first_seen} as first_seen,
    {last_seen} as last_seen,
    json_object(
        {(","+chr(10)+"        ").join(members)}
    ) as metrics
from {source}{where_sql}
"""


def cli_class_sql(clis: str, settings: Settings) -> str:
    """SQL classifying each distinct CLI of the relation ``clis`` (a_number, a_number_raw, a_valid,
    a_region: the lake's reading of the number, ``sentinel_pipeline.numbers``).

    Yields a_number, a_number_raw, range_kind and cli_class, one of:
    ``withheld`` (presentation restricted), ``malformed`` (not a plausible E.164 number), ``foreign`` (a valid number of another country), ``invalid_foreign`` (another country's
    code, but no valid number of it), ``unallocated`` (home number in no range of ``number_ranges.csv``, or
    in a range marked unallocated), ``invalid_home`` (home number in an allocated range that is not a valid
    number: wrong length, or a pattern the numbering plan does not have) and ``national`` (a valid,
    allocated home number).
    """
    home = literal("+" + settings.country_code)
    home_region = literal(home_region_code(settings))
    is_home = f"starts_with(c.a_number, {home}) and coalesce(c.a_region = {home_region}, true)"
    return f"""
select c.a_number, c.a_number_raw, m.range_kind,
    case
        when regexp_matches(coalesce(c.a_number_raw, ''), {literal(WITHHELD_CLI_PATTERN)}) then 'withheld'
        when not regexp_full_match(c.a_number, {literal(E164_SHAPE)}) then 'malformed'
        when not ({is_home}) then case when c.a_valid then 'foreign' else 'invalid_foreign' end
        when m.range_kind is null or not m.allocated then 'unallocated'
        when not c.a_valid then 'invalid_home'
        else 'national'
    end as cli_class
from {clis} c
left join (
    -- longest matching prefix of the numbering plan
    select x.a_number,
           arg_max(r.kind, length(r.prefix)) as range_kind,
           arg_max(r.allocated, length(r.prefix)) as allocated
    from {prefixes_of(f"(select distinct a_number from {clis} where starts_with(a_number, {home}))",
                      "a_number", "ref_ranges")} x
    join ref_ranges r using (prefix)
    group by x.a_number
) m using (a_number)
"""


def country_code_sql(number: str) -> str:
    """SQL: the country calling code (digits) of the E.164 number ``number`` (``+44…`` -> ``44``). ITU
    country codes are prefix-free, so the one of 1, 2 or 3 digits in libphonenumber's list is the code."""
    codes = [str(c) for c in sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)]
    by_length = {n: ", ".join(literal(c) for c in codes if len(c) == n) for n in (1, 2)}
    return (f"case when substr({number}, 2, 1) in ({by_length[1]}) then substr({number}, 2, 1)"
            f" when substr({number}, 2, 2) in ({by_length[2]}) then substr({number}, 2, 2)"
            f" else substr({number}, 2, 3) end")


def home_region_code(settings: Settings) -> str:
    """The ISO 3166 code of the home country (its main region, for a shared code such as +1)."""
    return phonenumbers.region_code_for_country_code(int(settings.country_code))


def trunk_cli_ctes(calls: str, *, kind: str, flagged: str, distinct_cli: str, lookback_hours: int,
                   settings: Settings, call_flags: dict[str, str] | None = None,
                   flagged_counts: dict[str, str] | None = None, by_reason: tuple[str, ...] = (),
                   before: str = "") -> str:
    """The CTEs of a per-trunk CLI detector, ending with ``shares``: per partition hour and trunk
    (``trunk_in``), of the calls selected by the SQL condition ``calls`` (over ``cdrs c``) in the hour and
    the ``lookback_hours`` before it, those whose CLI satisfies ``flagged`` (a condition on ``a.cli_class``,
    the class from ``cli_class_sql``, and on the ``call_flags``).

    - ``entered``: every selected call once, with ``call_flags`` (name -> SQL over ``c``), and
      ``classified``: each distinct CLI's class (both cover every hour the session holds);
    - ``shares``: ``calls``, ``<kind>_cli_calls``, ``distinct_<kind>_clis`` (distinct by ``distinct_cli``:
      ``a_number`` or ``a_number_raw``), ``<kind>_cli_share``, ``example_clis`` (five raw CLIs),
      ``active_in_hour`` (a flagged call fell in the partition hour), the ``flagged_counts`` (name ->
      an aggregate over the flagged calls' distinct CLIs, where ``{flagged}`` stands for the condition) and,
      with ``by_reason``, a count per class.

    A window's counts are sums of hourly counts (``hourly``), and its distinct counts are taken over the
    distinct flagged CLIs of each hour (``flagged_clis``, few): no call is read once per target hour.

    ``before`` holds CTEs the flags use (ending with a comma).
    """
    flag_names = list(call_flags or {})
    flags = "".join(f",\n           {expr} as {name}" for name, expr in (call_flags or {}).items())
    flagged_calls, distinct, share = f"{kind}_cli_calls", f"distinct_{kind}_clis", f"{kind}_cli_share"
    hourly_extra = "".join(f"        count(*) filter (where a.cli_class = {literal(r)}) as {r},\n" for r in by_reason)
    window_extra = "".join(f"        sum(h.{r}) as {r},\n" for r in by_reason)
    distinct_extra = "".join(f"        {agg.format(flagged='true')} as {name},\n"
                             for name, agg in (flagged_counts or {}).items())
    flag_columns = "".join(f", a.{name}" for name in flag_names)
    by_reason_json = ", ".join(f"{literal(r)}, {r}" for r in by_reason)
    return f"""
with {before}
entered as (
    select c.hour, coalesce(c.trunk_in, '(none)') as trunk, c.a_number, c.a_number_raw, c.a_valid, c.a_region,
           c.seizure_time{flags}
    from cdrs c
    where {calls}
),
clis as (select distinct a_number, a_number_raw, a_valid, a_region from entered),
classified as ({cli_class_sql("clis", settings)}),
marked as (
    -- every call with its CLI's class, and whether it is flagged
    select a.*, {flagged} as flagged
    from (select e.*, k.cli_class from entered e join classified k using (a_number, a_number_raw)) a
),
hourly as (
    -- per trunk and hour: the calls, and those flagged
    select a.hour, a.trunk,
        count(*) as calls,
        count(*) filter (where a.flagged) as flagged_calls,
{hourly_extra}        min(a.seizure_time) filter (where a.flagged) as first_seen,
        max(a.seizure_time) filter (where a.flagged) as last_seen
    from marked a
    group by all
),
flagged_clis as (
    select distinct a.hour, a.trunk, a.a_number, a.a_number_raw{flag_columns}
    from marked a
    where a.flagged
),
trunks as (
    select t.hour as partition_hour, h.trunk,
        sum(h.calls) as calls,
        sum(h.flagged_calls) as {flagged_calls},
{window_extra}        bool_or(h.hour = t.hour and h.flagged_calls > 0) as active_in_hour,
        min(h.first_seen) as first_seen,
        max(h.last_seen) as last_seen
    from hourly h join targets t on {in_lookback(lookback_hours, "h")}
    group by all
),
distinct_flagged as (
    select t.hour as partition_hour, a.trunk,
        count(distinct a.{distinct_cli}) as {distinct},
{distinct_extra}        (list(distinct a.a_number_raw order by a.a_number_raw))[1:5] as example_clis
    from flagged_clis a join targets t on {in_lookback(lookback_hours, "a")}
    group by all
),
shares as (
    select t.*, coalesce(d.{distinct}, 0) as {distinct},
        {"".join(f"coalesce(d.{name}, 0) as {name}, " for name in (flagged_counts or {}))}d.example_clis,
        round({flagged_calls} / calls, 4) as {share}{f", json_object({by_reason_json}) as by_reason" if by_reason else ""}
    from trunks t left join distinct_flagged d using (partition_hour, trunk)
)"""


# Calls arriving from abroad, over ``cdrs c`` (their MTC legs are the same calls).
FROM_ABROAD = ("c.record_type <> 'MTC' and (c.record_type = 'IGW_IN'"
               " or c.trunk_in in (select trunk_id from ref_trunks where kind = 'international'))")


def trunk_baseline_ctes(flagged: str, *, window: int, lookback_hours: int) -> str:
    """Two CTEs after ``trunk_cli_ctes``: ``arrived_hours``, per trunk and hour, every call of ``entered``
    and those satisfying ``flagged`` (a condition on the CLI's class ``k.cli_class`` and the call flags
    ``c.*``); and ``baseline``, per partition hour and trunk, the flagged share over the hours from
    ``lookback_hours`` to ``window`` before it (``baseline_share``) and how many whole days of data that
    covers (``baseline_days_available``: the days the lake had). Starts with a comma."""
    return f""",
arrived_hours as (
    -- per trunk and hour, every call and the flagged ones: the baseline's parts
    select c.hour, c.trunk, count(*) as calls, count(*) filter (where {flagged}) as flagged
    from entered c join classified k using (a_number, a_number_raw)
    group by all
),
baseline as (
    select t.hour as partition_hour, b.trunk,
           round(sum(b.flagged) / sum(b.calls), 4) as baseline_share,
           count(distinct b.hour) // 24 as baseline_days_available
    from targets t join arrived_hours b
      on b.hour between t.hour - interval {lookback_hours} hours and t.hour - interval {window} hours
    group by all
)"""


def trunk_cli_detection(calls: str, *, kind: str, flagged: str, distinct_cli: str, lookback_hours: int,
                        settings: Settings, severity: list[tuple[str, str]],
                        score: str, rule: list[Condition], by_reason: tuple[str, ...] = ()) -> str:
    """A whole per-trunk CLI detector over ``trunk_cli_ctes``: the trunks whose flagged calls (one of them
    in the partition hour itself) meet the ``rule``."""
    evidence = (("calls", f"{kind}_cli_calls", f"distinct_{kind}_clis", f"{kind}_cli_share")
                + (("by_reason",) if by_reason else ()) + ("example_clis",))
    return trunk_cli_ctes(calls, kind=kind, flagged=flagged, distinct_cli=distinct_cli, lookback_hours=lookback_hours,
                          settings=settings, by_reason=by_reason) + detection_rows(
        subject_type="trunk", subject="trunk", lookback_hours=lookback_hours, severity=severity, score=score,
        evidence=evidence, source="shares", rule=rule, where="active_in_hour")


def prefixes_of(relation: str, column: str, table: str) -> str:
    """The rows of ``relation`` once per prefix length of ``table`` (a reference table whose ``prefix`` is
    E.164 digits without '+'), with ``prefix``: that many digits of ``column`` (an E.164 number), so that
    ``join {table} using (prefix)`` finds every range a number falls in by equality (a hash join)
    rather than by testing every prefix against every number."""
    return (f"(select n.*, substr(n.{column}, 2, l.length) as prefix from {relation} n, "
            f"(select distinct length(prefix) as length from {table}) l)")


def high_risk_sql(numbers: str, column: str) -> str:
    """SQL: for each distinct value of ``column`` in ``numbers`` that falls in a high-risk range, its
    longest matching prefix and reason."""
    return f"""
select n.{column} as number, arg_max(h.prefix, length(h.prefix)) as hr_prefix,
       arg_max(h.reason, length(h.prefix)) as hr_reason
from {prefixes_of(f"(select distinct {column} from {numbers} where starts_with({column}, '+'))", column, "ref_high_risk")} n
join ref_high_risk h using (prefix)
group by n.{column}
"""
