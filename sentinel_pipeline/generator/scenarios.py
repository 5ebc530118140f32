"""Scenarios: how many subjects of each pattern to inject, as a function of the number of subscribers.

A scenario argument is one of:

* a name: ``default``, ``sdhf_only``, ``mixed-heavy``, ``lookalikes``, ``clean``, ``interconnect``,
  ``evasion``, ``frontier``, ``everything``;
* a name with overrides: ``default:wangiri=5,irsf=0``;
* only counts: ``simbox_sdhf=20,cli_masking=1`` (every pattern not named is off).
"""

from __future__ import annotations

from typing import Callable

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import fraud
from sentinel_pipeline.generator.scenario_help import SCENARIO_HELP
from sentinel_pipeline.generator.patterns import FRAUD_TYPES, LEGIT_TYPES, PATTERNS, TRUNK_PATTERNS


def default_counts(subscribers: int) -> dict[str, int]:
    """A few subjects of every pattern, growing with the subscriber base."""
    s = subscribers
    return {
        "simbox_sdhf": 4 + s // 2500,  # SIMs (in boxes of 4-16)
        "simbox_stealth": 4 + s // 4000,  # SIMs (3-6 rotating per IMEI)
        "cli_masking": 1 + (s >= 100_000),  # trunks
        "invalid_cli": 1,  # trunks
        "impossible_concurrency": 3,
        "wangiri": 2 + s // 100_000,
        "irsf": 2 + s // 50_000,
        "legit_call_centre": 2,
        "legit_heavy_user": 3 + s // 10_000,
        "legit_roamer": 3 + s // 10_000,
        "legit_enterprise": 2,
        "legit_international_trunk": 1,  # on/off: labels the trunks that carry only genuine traffic
    }


def _scaled(fraud_x: float, legit: float) -> Callable[[int], dict[str, int]]:
    def counts(subscribers: int) -> dict[str, int]:
        base = default_counts(subscribers)
        return {k: (v if k == "legit_international_trunk" else
                    max(1, round(v * (legit if k in fraud.LEGIT_TYPES else fraud_x)))) for k, v in base.items()}
    return counts


def interconnect_counts(subscribers: int) -> dict[str, int]:
    """Spoofing over national interconnects, roamer trunks and a masking trunk borrowing at-home numbers."""
    s = subscribers
    return {
        "interconnect_spoof": 4 + 2 * (s // 50_000),  # CLIs, variants alternate
        "cli_masking_borrowed": 1,  # trunks
        "legit_roaming_trunk": 2,  # trunks (16-24 roamers each)
        "legit_offnet_pbx": 2,
        "legit_heavy_user": 3 + s // 10_000,
        "legit_international_trunk": 1,
    }


def evasion_counts(subscribers: int) -> dict[str, int]:
    """SIM boxes imitating people (every variant), and the people a naive box rule would flag."""
    s = subscribers
    return {
        "simbox_mimic": 9 * (1 + s // 50_000),  # boxes: each variant in turn, so every variant at least once
        "legit_sales_team": 1 + s // 50_000,
        "legit_call_centre_sims": 1 + s // 50_000,
        "legit_family": 3 + s // 10_000,
        "legit_small_business": 2 + s // 20_000,
        "legit_delivery_driver": 3 + s // 10_000,
        "legit_heavy_user": 3 + s // 10_000,
        "legit_international_trunk": 1,
    }


def frontier_counts(subscribers: int) -> dict[str, int]:
    """Fraud seen against a baseline (multi-day: it starts after fraud.CLEAN_DAYS clean days), look-alikes."""
    s = subscribers
    return {
        "background_sms": 1,  # on/off: ordinary P2P SMS
        "sms_simfarm": 16 + s // 5_000,  # SIMs (farms of about 16, at least two)
        "legit_texter": 3 + s // 10_000,
        "false_answer": 3,  # routes, one per variant
        "legit_route_peak": 1,
        "refiling": 2,  # trunks, one per variant
        "legit_holiday_trunk": 1,
        "withheld_cli_surge": 2,  # trunks, one per variant
        "legit_withheld_trunk": 1,
        "wangiri_range": 2 + s // 100_000,  # ranges of 20-50 numbers
        "legit_foreign_pbx_range": 1,
        "legit_international_trunk": 1,
    }


def everything_counts(subscribers: int) -> dict[str, int]:
    """default + interconnect + evasion + frontier in one run, one trunk per trunk pattern (8 of 10)."""
    counts = {**default_counts(subscribers), **interconnect_counts(subscribers), **evasion_counts(subscribers),
              **frontier_counts(subscribers)}
    for key in TRUNK_PATTERNS:
        if counts.get(key):
            counts[key] = 1
    return counts


SCENARIOS: dict[str, Callable[[int], dict[str, int]]] = {
    "default": default_counts,
    "sdhf_only": lambda s: {"simbox_sdhf": default_counts(s)["simbox_sdhf"], "legit_international_trunk": 1},
    "mixed-heavy": _scaled(4, 2),
    "lookalikes": lambda s: {k: v for k, v in default_counts(s).items() if k in fraud.LEGIT_TYPES},
    "clean": lambda s: {"legit_international_trunk": 1},
    "interconnect": interconnect_counts,
    "evasion": evasion_counts,
    "frontier": frontier_counts,
    "everything": everything_counts,
}
def resolve(scenario: str, subscribers: int) -> dict[str, int]:
    """Counts per pattern for a scenario argument (see module docstring)."""
    scenario = (scenario or "default").strip()
    name, _, overrides = scenario.partition(":")
    if "=" in name:
        name, overrides = "", scenario
    if name and name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose one of {', '.join(SCENARIOS)} or give type=count pairs")
    counts = dict(SCENARIOS[name](subscribers)) if name else {"legit_international_trunk": 1}
    for part in filter(None, (p.strip() for p in overrides.split(","))):
        key, eq, value = part.partition("=")
        key = key.strip()
        if not eq or key not in PATTERNS or not value.strip().isdigit():
            raise ValueError(f"bad scenario part {part!r}: expected <type>=<count> with type one of "
                             f"{', '.join(PATTERNS)}")
        counts[key] = int(value)
    # Trunk patterns need distinct international trunks, and a couple must stay genuine: each takes what
    # is left, in TRUNK_PATTERNS order.
    free = len(nb.INTERNATIONAL_TRUNKS) - 2
    for key in TRUNK_PATTERNS:
        counts[key] = min(counts.get(key, 0), free)
        free -= counts[key]
    return {k: v for k, v in counts.items() if v > 0}


__all__ = ["SCENARIOS", "SCENARIO_HELP", "default_counts", "resolve", "FRAUD_TYPES", "LEGIT_TYPES"]
