"""Every pattern the generator can inject, in a fixed order, and the label types each one writes.

The order is part of the output: pattern ``i`` draws from the random streams ``(seed, 100 + i, ...)`` and
plans in this order (earlier patterns pick their subscribers first), so new patterns are only ever appended.
"""

from __future__ import annotations

from sentinel_pipeline.generator import evasion, fraud, frontier, interconnect

_MODULES = (interconnect, evasion, frontier)

PATTERNS = dict(fraud.PATTERNS)
# pattern -> the fraud_type values its labels use (the original patterns label their own name)
PATTERN_TYPES: dict[str, tuple[str, ...]] = {name: (name,) for name in fraud.PATTERNS}
# Patterns that own international trunks, in the order they take them from the seed's trunk order.
TRUNK_PATTERNS: tuple[str, ...] = ("cli_masking", "invalid_cli")
for _m in _MODULES:
    PATTERNS.update(_m.PATTERNS)
    PATTERN_TYPES.update(_m.PATTERN_TYPES)
    TRUNK_PATTERNS += _m.TRUNK_PATTERNS

FRAUD_TYPES = tuple(dict.fromkeys(t for ts in PATTERN_TYPES.values() for t in ts if not t.startswith("legit_")))
LEGIT_TYPES = tuple(dict.fromkeys(t for ts in PATTERN_TYPES.values() for t in ts if t.startswith("legit_")))
