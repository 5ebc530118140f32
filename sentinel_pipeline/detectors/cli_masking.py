"""cli_masking: an international trunk delivering calls that present a national CLI of the home country.

A call that arrives from abroad on an international gateway trunk cannot honestly carry a home-country
caller number, except from the operator's own subscribers roaming abroad. A carrier that re-labels
international calls as national ones (to be paid the local termination rate, or to hide the origin)
puts many different home numbers on one trunk: each masked call borrows a number.

Roamers are what makes this hard: a legitimate international partner carries the operator's own
roamers calling home, more than ten of them a day on a busy trunk, so counts alone cannot tell the two
apart. Three facts can, and the rule uses them:

- **Share**: roamers are 1–2 % of a partner's calls; masking puts national CLIs on a large share of a
  trunk's calls. The trunk's share is also compared with its own baseline (the days before the window),
  so a trunk that always carries many roamers is judged against itself.
- **Owners at home**: a roamer is abroad, so he makes no calls from home; a masking carrier borrows
  numbers whose owners are at home, calling as usual. A national CLI presented from abroad in the same
  hour as its owner's own call from a home cell (an ``MOC`` with an IMSI) cannot be a roamer.
- **Roaming status** (optional, ``roaming.csv`` in the reference directory, from the operator's HLR/HSS):
  a CLI of a subscriber known to be abroad at the time is expected, and is not counted as national.

Rule, per ingress trunk over 24 h, over calls arriving from abroad (``IGW_IN``, or any non-MTC record
whose ``trunk_in`` is an ``international`` trunk in ``trunks.csv``) whose CLI is a valid, allocated home
number (malformed and unallocated CLIs belong to ``invalid_cli``) and not of a subscriber roaming then:

- ``min_distinct_clis``: at least this many distinct national CLIs (default 10), and
- ``min_masked_calls``: at least this many such calls (default 10), and at least one of
- ``share_above_baseline``: national CLIs on at least ``min_share`` of the trunk's calls (default 5 %) and
  at least ``baseline_factor`` times its share over the ``baseline_days`` before the window (default 3×
  over 7 days, as far as the lake has them; no history: the share alone), or
- ``owners_at_home``: at least ``min_clis_owner_at_home`` distinct national CLIs (default 3) whose owner
  made a call from home in the same hour.
"""

from __future__ import annotations

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import FROM_ABROAD, detection_rows, trunk_baseline_ctes, trunk_cli_ctes
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

WINDOW = 24  # the window judged, in hours; the baseline days before it are read too


class CliMaskingParams(DetectorParams):
    min_distinct_clis: int = 10
    min_masked_calls: int = 10
    min_share: float = 0.05
    baseline_factor: float = 3.0
    baseline_days: int = 7
    min_clis_owner_at_home: int = 3

    @property
    def lookback_hours(self) -> int:
        return WINDOW - 1 + 24 * self.baseline_days


def detect_sql(p: CliMaskingParams, settings: Settings) -> str:
    # A national CLI of a subscriber the roaming feed has abroad at the time is a roamer's, not a masked one.
    share_ok = (f"national_cli_share >= {literal(p.min_share)}"
                f" and national_cli_share >= {literal(p.baseline_factor)} * coalesce(baseline_share, 0)")
    return trunk_cli_ctes(
        FROM_ABROAD, kind="national", flagged="a.cli_class = 'national' and not a.roaming", distinct_cli="a_number",
        lookback_hours=WINDOW - 1, settings=settings,
        call_flags={
            "roaming": "exists (select 1 from ref_roaming r where r.msisdn = c.a_number"
                       " and c.seizure_time >= r.roaming_from"
                       " and (r.roaming_to is null or c.seizure_time < r.roaming_to))",
            "owner_at_home": "c.a_number in (select a_number from at_home h where h.hour = c.hour)",
        },
        flagged_counts={"clis_owner_at_home": "count(distinct a.a_number) filter (where {flagged} and a.owner_at_home)"},
        before="""at_home as (
    -- own subscribers' calls from home in the windows: who was at home in each hour
    select distinct a_number, hour from cdrs
    where record_type = 'MOC' and imsi is not null and hour >= (select min(hour) from targets) - interval 23 hours
),""",
    ) + trunk_baseline_ctes("k.cli_class = 'national' and not c.roaming", window=WINDOW,
                            lookback_hours=p.lookback_hours) + """,
judged as (
    select s.*, b.baseline_share, coalesce(b.baseline_days_available, 0) as baseline_days_available
    from shares s left join baseline b using (partition_hour, trunk)
)
""" + detection_rows(
        subject_type="trunk", subject="trunk", lookback_hours=WINDOW - 1,
        severity=[("national_cli_calls >= 200 or national_cli_share >= 0.2", "CRITICAL"),
                  ("national_cli_calls >= 50", "HIGH"), ("national_cli_calls >= 20", "MEDIUM")],
        score=f"0.5 * least(1.0, distinct_national_clis / {4 * p.min_distinct_clis:.1f})"
              " + 0.5 * least(1.0, national_cli_share / 0.2)",
        evidence=("calls", "national_cli_calls", "distinct_national_clis", "national_cli_share", "baseline_share",
                  "baseline_days_available", "clis_owner_at_home", "example_clis"),
        source="judged",
        rule=[("min_distinct_clis", "distinct_national_clis", ">=", p.min_distinct_clis),
              ("min_masked_calls", "national_cli_calls", ">=", p.min_masked_calls)],
        signals=[("share_above_baseline", "national_cli_share", ">=",
                  f"greatest({literal(p.min_share)}, {literal(p.baseline_factor)} * coalesce(baseline_share, 0))"),
                 ("owners_at_home", "clis_owner_at_home", ">=", p.min_clis_owner_at_home)],
        where=f"active_in_hour and (({share_ok}) or clis_owner_at_home >= {literal(p.min_clis_owner_at_home)})",
    )


SPEC = DetectorSpec("cli_masking", CliMaskingParams, detect_sql, subject_types=("trunk",),
                    summary_columns=("calls", "national_cli_calls", "national_cli_share", "clis_owner_at_home"),
                    reference_files=("trunks.csv", "number_ranges.csv", "roaming.csv"), fraud_types=("cli_masking",))
