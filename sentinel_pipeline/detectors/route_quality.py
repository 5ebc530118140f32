"""route_quality: false answer supervision on an outbound international route, against its own baseline, over 24 h.

A terminating carrier that signals "answered" for calls that never reached anyone (false answer
supervision) is paid for them: the route's answer-seizure ratio (ASR) jumps, and the answers it invents
look like no person's — answered at once without ringing, lasting a second or two, or all exactly as long
as a recorded message. A route whose traffic and ASR rise for an honest reason (a holiday at the
destination) keeps human ringing and durations.

Rule, per route (``trunk_out`` and the destination's country calling code, ``IGW_OUT`` records), over the
24 h window against the ``baseline_days`` before it:

- ``min_calls``: at least this many calls in the window;
- ``asr_above_baseline``: ASR >= the route's baseline ASR + ``min_asr_rise``; with less than a day of
  baseline, ASR >= ``min_asr_without_baseline`` (international routes answer about half their calls);
- ``implausible_answers``: the largest of three shares of the window's answered calls is at least
  ``min_implausible_share``: ``instant_answers`` (answered within ``max_ring_seconds`` of seizure),
  ``short_answers`` (lasting at most ``max_short_seconds``), ``identical_durations`` (the commonest
  duration).

Evidence: calls, answered, ASR, ACD (average answered seconds) and the three shares, each for the window
and for the baseline, and the baseline's days.
"""

from __future__ import annotations

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import country_code_sql, detection_rows, in_lookback
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

WINDOW = 24


class RouteQualityParams(DetectorParams):
    min_calls: int = 50
    min_asr_rise: float = 0.2
    min_asr_without_baseline: float = 0.8
    min_implausible_share: float = 0.2
    max_ring_seconds: int = 1
    max_short_seconds: int = 2
    baseline_days: int = 7

    @property
    def lookback_hours(self) -> int:
        return WINDOW - 1 + 24 * self.baseline_days


def detect_sql(p: RouteQualityParams, settings: Settings) -> str:
    L = WINDOW - 1
    baseline = f"between t.hour - interval {p.lookback_hours} hours and t.hour - interval {WINDOW} hours"
    shares = ("instant_share", "short_share", "identical_share")
    asr_limit = (f"case when baseline_days_available >= 1 then baseline_asr + {literal(p.min_asr_rise)}"
                 f" else {literal(p.min_asr_without_baseline)} end")

    def window(name: str, hours: str) -> str:
        return f"""{name} as (
    select t.hour as partition_hour, h.route,
        sum(h.calls) as calls, sum(h.answered) as answered,
        round(sum(h.answered) / sum(h.calls), 4) as asr,
        round(sum(h.answered_s) / nullif(sum(h.answered), 0), 1) as acd_s,
        round(sum(h.instant) / nullif(sum(h.answered), 0), 4) as instant_share,
        round(sum(h.short) / nullif(sum(h.answered), 0), 4) as short_share,
        count(distinct h.hour) // 24 as days,
        bool_or(h.hour = t.hour) as active_in_hour,
        min(h.first_seen) as first_seen, max(h.last_seen) as last_seen
    from route_hours h join targets t on h.hour {hours}
    group by all
)"""

    return f"""
with outbound as (
    -- calls handed to an international route: its trunk and the destination's country code
    select hour, trunk_out || ':' || {country_code_sql("b_number")} as route, seizure_time, duration_s,
           duration_s > 0 as answered,
           duration_s > 0 and answer_time - seizure_time <= interval {p.max_ring_seconds} seconds as instant
    from cdrs
    where record_type = 'IGW_OUT' and trunk_out is not null and starts_with(b_number, '+') and b_valid
),
route_hours as (
    -- per route and hour (additive: a window is a sum of hours)
    select hour, route, count(*) as calls, count(*) filter (where answered) as answered,
        sum(duration_s) as answered_s, count(*) filter (where instant) as instant,
        count(*) filter (where answered and duration_s <= {p.max_short_seconds}) as short,
        min(seizure_time) as first_seen, max(seizure_time) as last_seen
    from outbound
    group by all
),
{window("current", f"between t.hour - interval {L} hours and t.hour")},
{window("history", baseline)},
durations as (
    -- the commonest answered duration of each route's window, and its share
    select partition_hour, route, max(n) as commonest
    from (select t.hour as partition_hour, o.route, o.duration_s, count(*) as n
          from outbound o join targets t on {in_lookback(L, 'o')}
          where o.answered and o.route in (select route from current where active_in_hour and calls >= {p.min_calls})
          group by all)
    group by all
),
routes as (
    select c.*, round(d.commonest / nullif(c.answered, 0), 4) as identical_share,
        h.asr as baseline_asr, h.acd_s as baseline_acd_s, h.instant_share as baseline_instant_share,
        h.short_share as baseline_short_share, coalesce(h.days, 0) as baseline_days_available
    from current c
    left join durations d using (partition_hour, route)
    left join history h using (partition_hour, route)
    where c.active_in_hour and c.calls >= {p.min_calls}
),
judged as (
    select *, round({asr_limit}, 4) as asr_limit,
        greatest({", ".join(f"coalesce({s}, 0)" for s in shares)}) as implausible_share
    from routes
)
""" + detection_rows(
        subject_type="route", subject="route", lookback_hours=L,
        severity=[("asr >= 0.85 and implausible_share >= 0.5", "CRITICAL"), ("implausible_share >= 0.5", "HIGH"),
                  ("answered >= 100", "MEDIUM")],
        score="least(1.0, 0.4 + 0.3 * least(1.0, (asr - asr_limit + 0.1) / 0.3) + 0.3 * implausible_share)",
        evidence=("calls", "answered", "asr", "acd_s", *shares, "baseline_asr", "baseline_acd_s",
                  "baseline_instant_share", "baseline_short_share", "baseline_days_available", "asr_limit"),
        source="judged",
        rule=[("min_calls", "calls", ">=", p.min_calls),
              ("asr_above_baseline", "asr", ">=", "asr_limit"),
              ("implausible_answers", "implausible_share", ">=", p.min_implausible_share)],
        signals=[("instant_answers", "coalesce(instant_share, 0)", ">=", p.min_implausible_share),
                 ("short_answers", "coalesce(short_share, 0)", ">=", p.min_implausible_share),
                 ("identical_durations", "coalesce(identical_share, 0)", ">=", p.min_implausible_share)],
    )


SPEC = DetectorSpec("route_quality", RouteQualityParams, detect_sql, subject_types=("route",),
                    summary_columns=("calls", "asr", "baseline_asr", "acd_s"), fraud_types=("false_answer",))
