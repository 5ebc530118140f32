"""sms_simfarm: SIMs delivering bulk application-to-person SMS as person-to-person SMS, over 24 h.

A2P traffic (one-time passwords, marketing) should reach the network through the SMS interconnect, at
the A2P rate. A SIM farm injects it through cheap retail SIMs instead: each SIM texts a different
recipient almost every time (a list, not friends), nobody texts it back (it is nobody's number), and it
neither calls nor is called. People who text a lot text the same friends, who reply.

Rule, per own SIM (``MOC`` SMS records with an IMSI) over the 24 h window:

- ``min_distinct_recipients``: at least this many distinct numbers texted;
- ``fresh_recipients``: distinct recipients / SMS sent >= ``min_fresh_ratio``;
- ``no_replies``: SMS received (``MTC``) at most ``max_reply_ratio`` x SMS sent.

Evidence, and the score: the SIM's voice calls made and received in the window (a farm modem makes
none), its cells and its handsets; ``baseline_sms_per_day`` is the SIM's own average over the
``baseline_days`` before the window (0 for a new SIM: farms use fresh SIMs) and what the evidence says it
sends against it.
"""

from __future__ import annotations

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import covered_targets_sql, detection_rows
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

WINDOW = 24


class SmsSimfarmParams(DetectorParams):
    min_distinct_recipients: int = 50
    min_fresh_ratio: float = 0.8
    max_reply_ratio: float = 0.05
    baseline_days: int = 7
    # As simbox_profile: "nobody replies" means nothing over a window holding an hour or two of data.
    min_hours_with_data: int = 12

    @property
    def lookback_hours(self) -> int:
        return WINDOW - 1 + 24 * self.baseline_days


def detect_sql(p: SmsSimfarmParams, settings: Settings) -> str:
    L = WINDOW - 1
    within = f"between k.partition_hour - interval {L} hours and k.partition_hour"
    return f"""
with sent_hourly as (
    -- SMS sent per own SIM and hour (additive: the window's sums are cheap)
    select a_number, hour, count(*) as sent
    from cdrs
    where record_type = 'MOC' and service = 'sms' and imsi is not null
    group by all
),
rolling as (
    select a_number, hour, sum(sent) over (partition by a_number order by hour
                                           range between interval {L} hours preceding and current row) as sent_24h
    from sent_hourly
),
covered_targets as ({covered_targets_sql(L, p.min_hours_with_data)}),
candidates as (
    -- SIMs that texted in a target hour and sent enough SMS in its window to reach enough recipients
    select t.hour as partition_hour, r.a_number
    from rolling r join covered_targets t on r.hour = t.hour
    where r.sent_24h >= {p.min_distinct_recipients}
),
texts as (
    -- what those SIMs sent in the window: SMS, and voice calls
    select k.partition_hour, k.a_number,
        count(*) filter (where c.service = 'sms') as sms_sent,
        count(distinct c.b_number) filter (where c.service = 'sms') as distinct_recipients,
        count(*) filter (where c.service = 'voice') as calls_made,
        count(distinct c.cell_id) as distinct_cells,
        list(distinct c.imei order by c.imei) as imeis,
        min(c.seizure_time) filter (where c.service = 'sms') as first_seen,
        max(c.seizure_time) filter (where c.service = 'sms') as last_seen
    from candidates k
    join cdrs c on c.a_number = k.a_number and c.hour {within}
    where c.record_type = 'MOC' and c.imsi is not null
    group by all
    having count(distinct c.b_number) filter (where c.service = 'sms') >= {p.min_distinct_recipients}
),
received as (
    -- SMS and voice calls those SIMs received in the window
    select k.partition_hour, k.a_number,
        count(*) filter (where c.service = 'sms') as sms_received,
        count(*) filter (where c.service = 'voice') as calls_received
    from texts k
    join cdrs c on c.b_number = k.a_number and c.hour {within}
    where c.record_type = 'MTC'
    group by all
),
baseline as (
    select k.partition_hour, k.a_number, round(sum(s.sent) / {float(p.baseline_days)}, 1) as baseline_sms_per_day
    from texts k
    join sent_hourly s on s.a_number = k.a_number
     and s.hour between k.partition_hour - interval {p.lookback_hours} hours
                    and k.partition_hour - interval {WINDOW} hours
    group by all
),
profiles as (
    select x.*, coalesce(o.sms_received, 0) as sms_received,
        x.calls_made + coalesce(o.calls_received, 0) as voice_calls,
        coalesce(b.baseline_sms_per_day, 0) as baseline_sms_per_day,
        round(x.distinct_recipients / x.sms_sent, 4) as fresh_ratio,
        round(coalesce(o.sms_received, 0) / x.sms_sent, 4) as reply_ratio
    from texts x
    left join received o using (partition_hour, a_number)
    left join baseline b using (partition_hour, a_number)
)
""" + detection_rows(
        subject_type="msisdn", subject="a_number", lookback_hours=L,
        severity=[(f"distinct_recipients >= 10 * {literal(p.min_distinct_recipients)}", "CRITICAL"),
                  (f"distinct_recipients >= 4 * {literal(p.min_distinct_recipients)} or voice_calls = 0", "HIGH"),
                  (f"distinct_recipients >= 2 * {literal(p.min_distinct_recipients)}", "MEDIUM")],
        score=f"""least(1.0, 0.5 + 0.3 * least(1.0, distinct_recipients / {10.0 * p.min_distinct_recipients})
            + 0.1 * (voice_calls = 0)::int + 0.1 * (distinct_cells <= 1)::int)""",
        evidence=("sms_sent", "distinct_recipients", "sms_received", "voice_calls", "distinct_cells", "imeis",
                  "baseline_sms_per_day"),
        source="profiles",
        rule=[("min_distinct_recipients", "distinct_recipients", ">=", p.min_distinct_recipients),
              ("fresh_recipients", "fresh_ratio", ">=", p.min_fresh_ratio),
              ("no_replies", "reply_ratio", "<=", p.max_reply_ratio)],
    )


SPEC = DetectorSpec("sms_simfarm", SmsSimfarmParams, detect_sql, subject_types=("msisdn",),
                    summary_columns=("sms_sent", "distinct_recipients", "sms_received", "voice_calls"),
                    fraud_types=("sms_simfarm",))
