"""cli_masking: an international trunk delivering calls that present a national CLI of the home country.

A call that arrives from abroad on an international gateway trunk cannot honestly carry a home-country
caller number, except from the operator's own subscribers roaming abroad. A carrier that re-labels
international calls as national ones (to be paid the local termination rate, or to hide the origin)
puts many different home numbers on one trunk: each masked call borrows a number, so the trunk shows
many distinct national CLIs. Roamers are a handful of numbers that call home repeatedly.

Rule, per ingress trunk over 24 h: calls on an international trunk (``trunk_in`` of kind
``international`` in ``trunks.csv``, or any ``IGW_IN`` record) whose CLI is a valid, allocated home
number (see ``common.cli_class_sql``; malformed and unallocated CLIs belong to ``invalid_cli``):

- ``min_distinct_clis``: at least this many distinct national CLIs (default 10: more than a trunk's
  roamers), and
- ``min_masked_calls``: at least this many such calls.
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import parse_lengths, trunk_cli_detection
from sentinel_pipeline.settings import Settings


class CliMaskingParams(DetectorParams):
    min_distinct_clis: int = 10
    min_masked_calls: int = 10
    national_number_lengths: str = "mobile=10,fixed=8"
    lookback_hours: ClassVar[int] = 23


def detect_sql(p: CliMaskingParams, settings: Settings) -> str:
    # Calls arriving from abroad (their MTC legs are the same calls).
    arrived = ("c.record_type <> 'MTC' and (c.record_type = 'IGW_IN'"
               " or c.trunk_in in (select trunk_id from ref_trunks where kind = 'international'))")
    return trunk_cli_detection(
        arrived, kind="national", flagged="k.cli_class = 'national'", distinct_cli="a_number",
        lookback_hours=p.lookback_hours, settings=settings, nsn_lengths=parse_lengths(p.national_number_lengths),
        severity=[("national_cli_calls >= 200 or national_cli_share >= 0.2", "CRITICAL"),
                  ("national_cli_calls >= 50", "HIGH"), ("national_cli_calls >= 20", "MEDIUM")],
        score=f"0.5 * least(1.0, distinct_national_clis / {4 * p.min_distinct_clis:.1f})"
              " + 0.5 * least(1.0, national_cli_share / 0.2)",
        rule=[("min_distinct_clis", "distinct_national_clis", ">=", p.min_distinct_clis),
              ("min_masked_calls", "national_cli_calls", ">=", p.min_masked_calls)],
    )


SPEC = DetectorSpec("cli_masking", CliMaskingParams, detect_sql, subject_types=("trunk",),
                    summary_columns=("calls", "national_cli_calls", "distinct_national_clis", "national_cli_share"),
                    reference_files=("trunks.csv", "number_ranges.csv"), fraud_types=("cli_masking",))
