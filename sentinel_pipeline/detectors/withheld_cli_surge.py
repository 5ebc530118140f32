"""withheld_cli_surge: a partner trunk whose share of withheld CLIs jumps against its own history, over 24 h.

A carrier that wants to hide where traffic comes from (refiled, or bypass traffic it should not carry)
can withhold the caller's number instead of faking one: ``anonymous``, ``private``, ``restricted``.
Presentation restriction is legitimate, and some partners carry a lot of it every day (switchboards
abroad), so no fixed share tells fraud: a jump against the trunk's own days does.

Rule, per ingress trunk, on calls arriving from abroad (``IGW_IN``, or any non-MTC record entering on an
``international`` trunk), over the 24 h window:

- ``min_withheld_calls``: at least this many calls with a withheld CLI;
- ``share_above_baseline``: withheld share >= ``min_share`` and >= ``baseline_factor`` x the trunk's share
  over the ``baseline_days`` before the window (as far as the lake has them). With less than one day of
  baseline the trunk's history is unknown, and the share must reach ``min_share_without_baseline``.

Evidence: calls, withheld calls and share, the baseline share and the days it covers, the limit applied,
distinct withheld presentations (``anonymous``, ``Private``, ...) and examples.
"""

from __future__ import annotations

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import FROM_ABROAD, detection_rows, trunk_baseline_ctes, trunk_cli_ctes
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

WINDOW = 24


class WithheldCliSurgeParams(DetectorParams):
    min_withheld_calls: int = 20
    min_share: float = 0.05
    baseline_factor: float = 3.0
    baseline_days: int = 7
    min_share_without_baseline: float = 0.5

    @property
    def lookback_hours(self) -> int:
        return WINDOW - 1 + 24 * self.baseline_days


def detect_sql(p: WithheldCliSurgeParams, settings: Settings) -> str:
    limit = (f"case when baseline_days_available >= 1"
             f" then greatest({literal(p.min_share)}, {literal(p.baseline_factor)} * baseline_share)"
             f" else {literal(p.min_share_without_baseline)} end")
    return trunk_cli_ctes(
        FROM_ABROAD, kind="withheld", flagged="a.cli_class = 'withheld'", distinct_cli="a_number_raw",
        lookback_hours=WINDOW - 1, settings=settings,
    ) + trunk_baseline_ctes("k.cli_class = 'withheld'", window=WINDOW, lookback_hours=p.lookback_hours) + f""",
judged as (
    -- the share each trunk must reach: against its own baseline, or without one
    select *, round({limit}, 4) as share_limit
    from (select s.*, b.baseline_share, coalesce(b.baseline_days_available, 0) as baseline_days_available
          from shares s left join baseline b using (partition_hour, trunk))
)
""" + detection_rows(
        subject_type="trunk", subject="trunk", lookback_hours=WINDOW - 1,
        severity=[("withheld_cli_share >= 0.3 or withheld_cli_calls >= 500", "CRITICAL"),
                  ("withheld_cli_share >= 2 * share_limit or withheld_cli_calls >= 200", "HIGH"),
                  ("withheld_cli_calls >= 50", "MEDIUM")],
        score="least(1.0, 0.5 + 0.5 * least(1.0, (withheld_cli_share - share_limit) / greatest(share_limit, 0.01)))",
        evidence=("calls", "withheld_cli_calls", "withheld_cli_share", "baseline_share", "baseline_days_available",
                  "share_limit", "distinct_withheld_clis", "example_clis"),
        source="judged",
        rule=[("min_withheld_calls", "withheld_cli_calls", ">=", p.min_withheld_calls),
              ("share_above_baseline", "withheld_cli_share", ">=", "share_limit")],
        where="active_in_hour",
    )


SPEC = DetectorSpec("withheld_cli_surge", WithheldCliSurgeParams, detect_sql, subject_types=("trunk",),
                    summary_columns=("calls", "withheld_cli_calls", "withheld_cli_share", "baseline_share"),
                    reference_files=("trunks.csv", "number_ranges.csv"), fraud_types=("withheld_cli_surge",))
