"""invalid_cli: calls presenting CLIs that are malformed or outside the allocated numbering plan, per
ingress trunk.

No real line has a number outside the plan: a CLI that is not a plausible E.164 number (``malformed``), another
country's code with no valid number behind it (``invalid_foreign``), a home number in an unallocated range
(``unallocated``: ``number_ranges.csv`` marks it, or no range covers it), or a home number that is not a
valid one (``invalid_home``: the wrong length or a pattern the plan does not have) was made up by whoever
delivered the call, usually to hide a bypassed or spoofed origin. Validity is phonenumbers' metadata for
each country (the lake's ``a_valid``, ``a_region``: ``sentinel_pipeline.numbers``). One such CLI can be a switch fault; a trunk that keeps delivering them is a partner
inventing numbers. Withheld CLIs (``anonymous``, ``private``, ...) are presentation-restricted, not invalid.

Rule, per ingress trunk (``trunk_in``) over 24 h, over calls entering on it (every originating record
with a ``trunk_in``, and ``MTC`` records of calls from national interconnects, which have no other leg):

- ``min_invalid_calls``: at least this many calls with an invalid CLI, and
- ``min_distinct_invalid_clis``: at least this many distinct invalid CLIs (one misconfigured line
  repeating a bad number is a fault ticket, not fraud).
"""

from __future__ import annotations

from typing import ClassVar

from sentinel_pipeline.detectors.spec import DetectorParams, DetectorSpec
from sentinel_pipeline.detectors.sql import trunk_cli_detection
from sentinel_pipeline.duck import literal
from sentinel_pipeline.settings import Settings

INVALID_CLASSES = ("malformed", "invalid_foreign", "unallocated", "invalid_home")


class InvalidCliParams(DetectorParams):
    min_invalid_calls: int = 10
    min_distinct_invalid_clis: int = 5
    lookback_hours: ClassVar[int] = 23


def detect_sql(p: InvalidCliParams, settings: Settings) -> str:
    # Calls entering on a trunk: originating records, and the MTC legs of calls from national
    # interconnects, which have no other leg.
    entered = ("c.trunk_in is not null and (c.record_type <> 'MTC'"
               " or c.trunk_in in (select trunk_id from ref_trunks where kind = 'national'))")
    return trunk_cli_detection(
        entered, kind="invalid", flagged=f"a.cli_class in ({', '.join(map(literal, INVALID_CLASSES))})", distinct_cli="a_number_raw",
        lookback_hours=p.lookback_hours, settings=settings,
        severity=[("invalid_cli_calls >= 100 or invalid_cli_share >= 0.1", "CRITICAL"),
                  ("invalid_cli_calls >= 50", "HIGH"), ("invalid_cli_calls >= 20", "MEDIUM")],
        score=f"0.5 * least(1.0, invalid_cli_calls / {10 * p.min_invalid_calls:.1f})"
              " + 0.5 * least(1.0, invalid_cli_share / 0.1)",
        rule=[("min_invalid_calls", "invalid_cli_calls", ">=", p.min_invalid_calls),
              ("min_distinct_invalid_clis", "distinct_invalid_clis", ">=", p.min_distinct_invalid_clis)],
        by_reason=INVALID_CLASSES,
    )


SPEC = DetectorSpec("invalid_cli", InvalidCliParams, detect_sql, subject_types=("trunk",),
                    summary_columns=("calls", "invalid_cli_calls", "distinct_invalid_clis", "invalid_cli_share"),
                    reference_files=("trunks.csv", "number_ranges.csv"), fraud_types=("invalid_cli",))
