"""refiling: a partner trunk whose mix of origin countries shifts to new callers of one country, over 24 h.

Refiling hands traffic from one origin over a partner that presents it as if it came from elsewhere
(a cheaper origin, a country with a better termination rate), with CLIs rewritten to match. A partner's
country mix is its own character — the diasporas it carries, in stable proportions, with the same
relatives calling the same families day after day. Refiled traffic changes the mix *and* brings callers
the trunk never carried: a new number nearly every call. A holiday also changes the mix, with the usual
callers calling more.

Rule, per ingress trunk and origin country (the A-number's region, valid foreign CLIs on calls arriving
from abroad), over the 24 h window against the ``baseline_days`` before it (at least
``min_baseline_days`` of them in the lake: the trunk's mix must be known):

- ``min_calls``: at least this many calls from the origin in the window;
- ``share_jump``: the origin's share of the trunk's calls, minus its share over the baseline, at least
  ``min_share_jump``;
- ``new_callers``: distinct CLIs of the origin in the window that never called over the trunk in the
  baseline days, per call of the origin, at least ``min_new_cli_share`` (a new number nearly every call:
  a Wangiri range also brings a new origin, but rings from a few dozen numbers hundreds of times).

One detection per trunk: the origin with the largest jump. Evidence: the trunk's calls, the origin, its
calls, share and baseline share, calls from new CLIs, the trunk's top origins now and in the baseline.
"""

from __future__ import annotations

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import FROM_ABROAD, detection_rows, home_region_code
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

WINDOW = 24


class RefilingParams(DetectorParams):
    min_calls: int = 50
    min_share_jump: float = 0.15
    min_new_cli_share: float = 0.7
    baseline_days: int = 7
    min_baseline_days: int = 1

    @property
    def lookback_hours(self) -> int:
        return WINDOW - 1 + 24 * self.baseline_days


def detect_sql(p: RefilingParams, settings: Settings) -> str:
    L = WINDOW - 1
    home = literal(home_region_code(settings))
    baseline = f"between t.hour - interval {p.lookback_hours} hours and t.hour - interval {WINDOW} hours"
    current = f"between t.hour - interval {L} hours and t.hour"
    return f"""
with cli_hours as (
    -- per trunk, origin, CLI and hour: calls from abroad with a valid foreign CLI
    select c.trunk_in as trunk, c.a_region as origin, c.a_number, c.hour, count(*) as calls,
           min(c.seizure_time) as first_seen, max(c.seizure_time) as last_seen
    from cdrs c
    where {FROM_ABROAD} and c.trunk_in is not null and c.a_valid and c.a_region <> {home}
    group by all
),
origin_hours as (
    select trunk, origin, hour, sum(calls) as calls, min(first_seen) as first_seen, max(last_seen) as last_seen
    from cli_hours group by all
),
mix as (
    -- per target hour, trunk and origin: calls in the window and in the baseline days
    select t.hour as partition_hour, h.trunk, h.origin,
        coalesce(sum(h.calls) filter (where h.hour {current}), 0) as calls,
        coalesce(sum(h.calls) filter (where h.hour {baseline}), 0) as baseline_calls,
        bool_or(h.hour = t.hour) as active_in_hour,
        min(h.first_seen) filter (where h.hour {current}) as first_seen,
        max(h.last_seen) filter (where h.hour {current}) as last_seen
    from origin_hours h join targets t on h.hour between t.hour - interval {p.lookback_hours} hours and t.hour
    group by all
),
trunks as (
    select partition_hour, trunk, sum(calls) as trunk_calls, sum(baseline_calls) as trunk_baseline_calls,
        bool_or(active_in_hour) as trunk_active,
        (list(origin || ' ' || calls order by calls desc) filter (where calls > 0))[1:5] as top_origins,
        (list(origin || ' ' || baseline_calls order by baseline_calls desc)
            filter (where baseline_calls > 0))[1:5] as baseline_top_origins
    from mix group by all
),
history as (
    select t.hour as partition_hour, h.trunk, count(distinct h.hour) // 24 as baseline_days_available
    from origin_hours h join targets t on h.hour {baseline}
    group by all
),
shifts as (
    select m.*, x.trunk_calls, x.top_origins, x.baseline_top_origins, y.baseline_days_available,
        round(m.calls / x.trunk_calls, 4) as origin_share,
        round(m.baseline_calls / x.trunk_baseline_calls, 4) as baseline_origin_share
    from mix m
    join trunks x using (partition_hour, trunk)
    join history y using (partition_hour, trunk)
    where x.trunk_active and m.calls >= {p.min_calls} and y.baseline_days_available >= {p.min_baseline_days}
      and m.calls / x.trunk_calls - m.baseline_calls / x.trunk_baseline_calls >= {literal(p.min_share_jump)}
),
known as (
    -- CLIs that called over a shifted trunk in its baseline days
    select distinct s.partition_hour, b.trunk, b.a_number
    from shifts s
    join cli_hours b on b.trunk = s.trunk
     and b.hour between s.partition_hour - interval {p.lookback_hours} hours and s.partition_hour - interval {WINDOW} hours
),
new_callers as (
    -- calls in the window from CLIs that did not call over the trunk in the baseline days
    select s.partition_hour, s.trunk, s.origin, sum(h.calls) as new_cli_calls, count(distinct h.a_number) as new_clis
    from shifts s
    join cli_hours h on h.trunk = s.trunk and h.origin = s.origin
     and h.hour between s.partition_hour - interval {L} hours and s.partition_hour
    left join known k on k.partition_hour = s.partition_hour and k.trunk = s.trunk and k.a_number = h.a_number
    where k.a_number is null
    group by all
),
judged as (
    select s.*, coalesce(n.new_cli_calls, 0) as new_cli_calls, coalesce(n.new_clis, 0) as new_clis,
        round(coalesce(n.new_clis, 0) / s.calls, 4) as new_cli_share,
        round(s.origin_share - s.baseline_origin_share, 4) as share_jump
    from shifts s left join new_callers n using (partition_hour, trunk, origin)
    qualify row_number() over (partition by s.partition_hour, s.trunk
                               order by (coalesce(n.new_clis, 0) >= {literal(p.min_new_cli_share)} * s.calls) desc,
                                        s.origin_share - s.baseline_origin_share desc) = 1
)
""" + detection_rows(
        subject_type="trunk", subject="trunk", lookback_hours=L,
        severity=[("share_jump >= 0.3 and new_cli_share >= 0.9", "CRITICAL"), ("share_jump >= 0.3", "HIGH"),
                  ("calls >= 200", "MEDIUM")],
        score="least(1.0, 0.4 + share_jump + 0.2 * new_cli_share)",
        evidence=("trunk_calls", "origin", "calls", "origin_share", "baseline_origin_share", "new_cli_calls",
                  "new_clis", "top_origins", "baseline_top_origins", "baseline_days_available"),
        source="judged",
        rule=[("min_calls", "calls", ">=", p.min_calls),
              ("share_jump", "share_jump", ">=", p.min_share_jump),
              ("new_callers", "new_cli_share", ">=", p.min_new_cli_share)],
    )


SPEC = DetectorSpec("refiling", RefilingParams, detect_sql, subject_types=("trunk",),
                    summary_columns=("origin", "origin_share", "baseline_origin_share", "new_cli_share"),
                    reference_files=("trunks.csv",), fraud_types=("refiling",))
