"""The figures of a report for a period, each one query over Sentinel's tables and views.

The period is [start, end) in UTC. Alerts, cases and traffic count by event time (the day of the calls,
so a back-fill reports its alerts on the days the calls happened); actions count by when they were
approved (wall time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sentinel_pipeline import reference
from sentinel_pipeline.settings import Settings

ALERTS_BY_DAY = """
select day, detector, alerts, critical, high, medium, low
from sentinel.daily_alert_counts
where day >= %(start)s::date and day < %(end)s::date
order by day, detector
"""

CASES = """
select kind, status, count(*) as cases, count(*) filter (where severity = 'CRITICAL') as critical
from sentinel.cases
where merged_into is null and first_seen < %(end)s and last_seen >= %(start)s
group by kind, status
order by kind, status
"""

SIMS = """
select count(distinct l.link) filter (where l.link like 'msisdn:%%') as sims_found,
       count(distinct l.link) filter (where l.link like 'imei:%%')   as handsets_found,
       count(distinct c.case_id)                                   as simbox_cases
from sentinel.cases c
join sentinel.alerts a on a.case_id = c.case_id
join sentinel.alert_links l on l.alert_id = a.alert_id
where c.kind = 'simbox' and c.merged_into is null and c.first_seen < %(end)s and c.last_seen >= %(start)s
"""

BARRED = """
select action_id, action, target_type, target, element, case_id, approved_by, approved_at
from sentinel.approved_actions
where action in ('bar', 'block') and approved_at >= %(start)s and approved_at < %(end)s
order by approved_at, action_id
"""

# Per trunk, the calls of its cases' alerts in the period (the trunk is the alert subject of a trunk case).
TRUNK_TRAFFIC = """
select a.subject as trunk, sum(t.calls) as calls, sum(t.masked_calls) as masked_calls,
       sum(t.invalid_cli_calls) as invalid_cli_calls, round(sum(t.minutes)::numeric, 1) as minutes,
       round(sum(t.estimated_loss)::numeric, 2) as estimated_loss
from sentinel.case_traffic t
join (select distinct case_id, subject from sentinel.alerts where subject_type = 'trunk') a on a.case_id = t.case_id
where t.hour >= %(start)s and t.hour < %(end)s
group by a.subject
order by sum(t.masked_calls) + sum(t.invalid_cli_calls) desc, a.subject
"""

LOSS_BY_DAY = """
select (t.hour at time zone 'UTC')::date as day, c.kind, round(sum(t.estimated_loss)::numeric, 2) as estimated_loss,
       round(sum(t.minutes)::numeric, 1) as minutes
from sentinel.case_traffic t join sentinel.cases c on c.case_id = t.case_id
where t.hour >= %(start)s and t.hour < %(end)s
group by 1, 2
order by 1, 2
"""

TOP_CASES = """
select t.case_id, c.kind, c.label, c.status, sum(t.calls) as calls, round(sum(t.minutes)::numeric, 1) as minutes,
       round(sum(t.estimated_loss)::numeric, 2) as estimated_loss
from sentinel.case_traffic t join sentinel.cases c on c.case_id = t.case_id
where t.hour >= %(start)s and t.hour < %(end)s
group by t.case_id, c.kind, c.label, c.status
order by sum(t.estimated_loss) desc nulls last, sum(t.minutes) desc, t.case_id
limit 10
"""

TIME_TO_DETECT = """
select detector, count(*) as alerts,
       round(extract(epoch from percentile_cont(0.5) within group (order by detection_delay)) / 3600, 1) as median_hours,
       round(extract(epoch from percentile_cont(0.9) within group (order by detection_delay)) / 3600, 1) as p90_hours,
       round(extract(epoch from max(detection_delay)) / 3600, 1) as max_hours
from sentinel.time_to_detect
where first_activity >= %(start)s and first_activity < %(end)s
group by detector
order by detector
"""

LOSS_TOTAL = """
select max(currency) as currency, coalesce(round(sum(estimated_loss)::numeric, 2), 0) as estimated_loss
from sentinel.case_traffic
where hour >= %(start)s and hour < %(end)s
"""


@dataclass
class Figures:
    start: datetime
    end: datetime
    alerts_by_day: list[dict] = field(default_factory=list)
    cases: list[dict] = field(default_factory=list)
    sims: dict = field(default_factory=dict)
    barred: list[dict] = field(default_factory=list)
    trunks: list[dict] = field(default_factory=list)  # TRUNK_TRAFFIC rows, with the trunk's partner
    loss_by_day: list[dict] = field(default_factory=list)
    top_cases: list[dict] = field(default_factory=list)
    time_to_detect: list[dict] = field(default_factory=list)
    currency: str | None = None
    total_loss: float = 0.0

    @property
    def total_alerts(self) -> int:
        return sum(r["alerts"] for r in self.alerts_by_day)

    def partners(self) -> list[dict]:
        """Per interconnect partner: its trunks' masked and invalid-CLI calls, minutes and estimated loss."""
        by_partner: dict[str, dict] = {}
        for r in self.trunks:
            p = by_partner.setdefault(r["partner"], {"partner": r["partner"], "trunks": [], "masked_cli_calls": 0,
                                                     "invalid_cli_calls": 0, "minutes": 0.0, "estimated_loss": None})
            p["trunks"].append(r["trunk"])
            p["masked_cli_calls"] += int(r["masked_calls"])
            p["invalid_cli_calls"] += int(r["invalid_cli_calls"])
            p["minutes"] = round(p["minutes"] + float(r["minutes"]), 1)
            if r["estimated_loss"] is not None:
                p["estimated_loss"] = round((p["estimated_loss"] or 0) + float(r["estimated_loss"]), 2)
        return sorted(by_partner.values(), key=lambda p: (-(p["masked_cli_calls"] + p["invalid_cli_calls"]), p["partner"]))


def collect(conn, settings: Settings, start: datetime, end: datetime) -> Figures:
    """Every figure of the report for [start, end)."""
    from psycopg.rows import dict_row

    cur = conn.cursor(row_factory=dict_row)
    cur.execute("set time zone 'UTC'")
    period = {"start": start, "end": end}

    def rows(query: str) -> list[dict]:
        return cur.execute(query, period).fetchall()

    partners = {t.trunk_id: t.partner for t in reference.load(settings.reference_dir).trunks}
    trunks = [{**r, "partner": partners.get(r["trunk"], "(not in trunks.csv)")} for r in rows(TRUNK_TRAFFIC)]
    loss = rows(LOSS_TOTAL)[0]
    return Figures(
        start=start, end=end, alerts_by_day=rows(ALERTS_BY_DAY), cases=rows(CASES), sims=rows(SIMS)[0],
        barred=rows(BARRED), trunks=trunks, loss_by_day=rows(LOSS_BY_DAY), top_cases=rows(TOP_CASES),
        time_to_detect=rows(TIME_TO_DETECT), currency=loss["currency"], total_loss=float(loss["estimated_loss"]),
    )
