"""SQL pieces the raw-CDR detectors share.

The detectors run in a DuckDB session prepared by ``run_raw_detector``: the view ``cdrs`` (raw_cdrs rows
with their partition ``hour``), the table ``targets(hour)`` and the reference tables ``ref_trunks``,
``ref_ranges``, ``ref_high_risk`` and ``ref_whitelist``.
"""

from __future__ import annotations

SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")

# Presentation-restricted calls are legitimate: a CLI like this is withheld, not invalid.
WITHHELD_CLI_PATTERN = r"(?i)^(anonymous|private|restricted|unknown|unavailable|withheld)$"


def in_window(w: int, alias: str = "c") -> str:
    """Join condition: the record's hour lies in the ``w``-hour window ending at the target hour ``t.hour``."""
    return f"{alias}.hour > t.hour - interval {w} hours and {alias}.hour <= t.hour"


def condition(name: str, value: str, op: str, threshold) -> str:
    """A JSON object for evidence: ``{"value": .., "op": "..", "threshold": .., "tripped": ..}``.

    ``value`` is an SQL expression; ``threshold`` a number, or a string holding an SQL expression.
    """
    limit = threshold if isinstance(threshold, str) else repr(threshold)
    return (
        f"'{name}', json_object('value', {value}, 'op', '{op}', 'threshold', {limit}, "
        f"'tripped', ({value}) {op} ({limit}))"
    )


def parse_lengths(spec: str) -> dict[str, int]:
    """``"mobile=10,fixed=8"`` -> {"mobile": 10, "fixed": 8}: national significant number lengths per kind."""
    lengths = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        kind, _, digits = part.partition("=")
        if not digits.strip().isdigit():
            raise ValueError(f"bad number length {part!r}: expected kind=digits, e.g. mobile=10")
        lengths[kind.strip()] = int(digits)
    return lengths


def cli_class_sql(clis: str, country_code: str, nsn_lengths: dict[str, int]) -> str:
    """SQL classifying each distinct CLI of the relation ``clis`` (a_number, a_number_raw, a_valid).

    Yields a_number, a_number_raw, range_kind and cli_class, one of:
    ``withheld`` (presentation restricted), ``malformed`` (not a plausible E.164 number), ``foreign``
    (another country's number: not judged here), ``unallocated`` (home number in no range, or in a range
    marked unallocated), ``wrong_length`` (home number whose length does not fit its range's kind) and
    ``national`` (a valid, allocated home number).
    """
    cc = country_code
    # E.164 digits a number of each kind has: country code + national significant number
    expected = " ".join(f"when '{k}' then {len(cc) + v}" for k, v in nsn_lengths.items())
    expected_digits = f"case m.range_kind {expected} end" if expected else "null"
    return f"""
select c.a_number, c.a_number_raw, m.range_kind,
    case
        when regexp_matches(coalesce(c.a_number_raw, ''), '{WITHHELD_CLI_PATTERN}') then 'withheld'
        when not c.a_valid then 'malformed'
        when not starts_with(c.a_number, '+{cc}') then 'foreign'
        when m.range_kind is null or not m.allocated then 'unallocated'
        when length(c.digits) <> {expected_digits} then 'wrong_length'
        else 'national'
    end as cli_class
from (select *, substr(a_number, 2) as digits from {clis}) c
left join (
    -- longest matching prefix of the numbering plan
    select x.a_number,
           arg_max(r.kind, length(r.prefix)) as range_kind,
           arg_max(r.allocated, length(r.prefix)) as allocated
    from (select distinct a_number from {clis} where a_valid and starts_with(a_number, '+{cc}')) x
    join ref_ranges r on starts_with(substr(x.a_number, 2), r.prefix)
    group by x.a_number
) m using (a_number)
"""


def high_risk_sql(numbers: str, column: str) -> str:
    """SQL: for each distinct value of ``column`` in ``numbers`` that falls in a high-risk range, its
    longest matching prefix and reason."""
    return f"""
select n.{column} as number, arg_max(h.prefix, length(h.prefix)) as hr_prefix,
       arg_max(h.reason, length(h.prefix)) as hr_reason
from (select distinct {column} from {numbers} where starts_with({column}, '+')) n
join ref_high_risk h on starts_with(substr(n.{column}, 2), h.prefix)
group by n.{column}
"""
