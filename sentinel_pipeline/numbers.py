"""Number normalisation over the dictionary of a run's distinct raw numbers, typed by phonenumbers' metadata.

A day of CDRs holds far fewer distinct numbers than rows, so numbers are normalised once per distinct raw
value and the caller joins the result back onto its rows:

    from sentinel_pipeline.numbers import normalise_numbers
    con.execute("create temp table raw_numbers as select a_number from cdrs union select b_number from cdrs")
    table = normalise_numbers(con, "raw_numbers", settings)             # -> "number_dictionary"
    con.sql(f"select c.*, n.e164, n.valid, n.number_type, n.region from cdrs c "
            f"left join {table} n on n.raw = c.a_number")

``normalise_numbers`` writes a DuckDB table with one row per distinct, non-NULL raw value:

=============  =========  ===================================================================================
column         type       meaning
=============  =========  ===================================================================================
raw            varchar    the value as presented (the input column, unchanged)
e164           varchar    ``+`` and digits; the cleaned raw value (separators removed) when it is not a number
valid          boolean    a valid number per phonenumbers' metadata for its country (``is_valid_number``)
number_type    varchar    phonenumbers' type: mobile, fixed_line, fixed_line_or_mobile, toll_free,
                          premium_rate, shared_cost, voip, personal_number, pager, uan, voicemail, unknown
region         varchar    ISO 3166 code (NG, GB, ...) as ``region_code_for_number`` gives it; ``001`` for the
                          non-geographic codes (+800, +870, +881, +882, +883, ...); NULL when no country code
                          could be read or phonenumbers cannot parse the reading
=============  =========  ===================================================================================

Reading a raw value (the home conventions are settings: ``country_code``, ``national_prefix``,
``international_prefixes``; see ``NumberingPlan``):

1. Clean: drop white space and ``( ) . - /``. A value that is then not ``+`` and digits is not a number: its
   e164 is the cleaned value, ``valid`` false, ``number_type`` unknown, ``region`` NULL (``anonymous``,
   ``ABC123``, an empty string).
2. ``+digits``: already international.
3. Starting with an international prefix: ``+`` and what follows it. When several prefixes match (``009`` and
   ``00`` both match ``0097150...``), each gives a reading; the first *valid* one wins, trying the longest
   prefix first, and when none is valid the longest prefix's reading is kept. So ``0092348031234567`` is
   +234 803 123 4567 (009; +92 348... is not a valid Pakistani number), ``00971501234567`` is +971 50 123 4567
   (00; +71 501... is not valid), and when both readings are valid, ``009`` wins as it always did.
4. Starting with the national prefix: the country code, then the rest.
5. Other digits: the country code followed by a full national number (at least 8 more digits) is read as
   international; anything else as a national number without its prefix (as the engine before it always did).

The reading is then handed to phonenumbers' rules for its country: ``phonenumbers.parse(reading)``,
``is_valid_number``, ``number_type``, ``region_code_for_number``, and e164 is
``format_number(..., E164)``. That is the reading itself except where phonenumbers drops a national prefix
written after the country code (``+44 (0)20 7946 0958`` -> ``+442079460958``, ``+2340803...`` ->
``+234803...``). A reading phonenumbers cannot parse (unknown country code, too short, more than 17 national
digits) keeps the reading as its e164, invalid, with a NULL region.

The validity rule for ``009``/``00`` has a consequence to know: a home number that is itself invalid, sent
with ``009`` (``0092341234567``: an 8-digit Nigerian number), is read with ``00`` when that reading is valid
(+92 341 234567..., a Pakistani mobile). A value that no reading makes valid keeps the longest prefix's
reading (``00971200353609``, an unallocated UAE number, stays +71 200353609).

Two engines compute the same table (``engine=``):

- ``"sql"`` (the default, the fast one: about 2.5 µs of CPU per distinct value, a million values in
  1.5-2.5 s on the two shared cores here; see ``bench/numbers.py``): phonenumbers' metadata compiled into DuckDB
  SQL for the country codes present in the dictionary. A reading is split into country code (a lookup on
  its first three digits) and national number; home numbers, most of the dictionary, are matched against
  their own region's patterns (general desc, one union per length of every desc phonenumbers tries before
  mobile, then mobile: three RE2 matches for a mobile); foreign numbers against one combined pattern per
  type for all countries present, over a subject ``KEY:LLnsn`` (main region, national length, number).
  Numbers of shared codes (+1, +7, +44, ...) that the main region does not settle get their region by
  leading digits or validity as phonenumbers decides it, in a second pass over those rows alone. Readings
  phonenumbers would rewrite (the country's ``national_prefix_for_parsing`` matches the national number:
  ``+44 (0)20...``) are handed to phonenumbers itself; they are rare.
- ``"python"``: phonenumbers called in Python for every distinct reading (30-60 µs each), over ``workers``
  processes. The reference the tests hold the SQL engine to, and the benchmark's baseline.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
import time
import uuid
from dataclasses import dataclass
from typing import Sequence

import duckdb
import phonenumbers
from phonenumbers import NumberParseException, PhoneMetadata, PhoneNumberFormat, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from sentinel_pipeline.settings import Settings

OUTPUT_COLUMNS = ("raw", "e164", "valid", "number_type", "region")
OUTPUT_SCHEMA = "raw varchar, e164 varchar, valid boolean, number_type varchar, region varchar"

NUMBER_TYPES = {
    PhoneNumberType.FIXED_LINE: "fixed_line",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "fixed_line_or_mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "premium_rate",
    PhoneNumberType.SHARED_COST: "shared_cost",
    PhoneNumberType.VOIP: "voip",
    PhoneNumberType.PERSONAL_NUMBER: "personal_number",
    PhoneNumberType.PAGER: "pager",
    PhoneNumberType.UAN: "uan",
    PhoneNumberType.VOICEMAIL: "voicemail",
    PhoneNumberType.UNKNOWN: "unknown",
}

# What cleaning removes: the class Sentinel always removed. RE2's \s is ASCII [\t\n\f\r ]; Python's is spelt out so
# that both engines remove the same characters.
_SEPARATORS_SQL = r"[\s().\-/]"
_SEPARATORS_PY = re.compile(r"[\t\n\f\r ().\-/]")
_NUMBER_PY = re.compile(r"\+?[0-9]+")

# phonenumbers' parse limits (phonenumberutil._MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN, ...).
_MIN_NSN = 2
_MAX_NSN = 17
_MAX_INPUT = 250


@dataclass(frozen=True)
class NumberingPlan:
    """The home country's dialling conventions (from ``Settings``)."""

    country_code: str = "234"
    national_prefix: str = "0"
    # Longest first: the order in which readings are tried.
    international_prefixes: tuple[str, ...] = ("009", "00")

    def __post_init__(self) -> None:
        if not self.country_code.isdigit():
            raise ValueError(f"country code must be digits, got {self.country_code!r}")
        ordered = tuple(sorted({p for p in self.international_prefixes if p}, key=len, reverse=True))
        object.__setattr__(self, "international_prefixes", ordered)
        for p in ordered + ((self.national_prefix,) if self.national_prefix else ()):
            if not p.isdigit():
                raise ValueError(f"dialling prefixes must be digits, got {p!r}")

    @classmethod
    def from_settings(cls, settings: Settings | None) -> "NumberingPlan":
        settings = settings or Settings()
        return cls(settings.country_code, settings.national_prefix, tuple(settings.international_prefixes))


# ----------------------------------------------------------------------------------------------------------
# Reading raw values (both engines): cleaning and the candidate E.164 readings, in preference order.


def clean(raw: str) -> str:
    """The raw value without white space and ``( ) . - /`` (the separators Sentinel always removed)."""
    return _SEPARATORS_PY.sub("", raw)


def readings(cleaned: str, plan: NumberingPlan) -> list[str] | None:
    """The candidate E.164 readings of a cleaned value, preferred first; None when it is not a number."""
    if not _NUMBER_PY.fullmatch(cleaned):
        return None
    if cleaned.startswith("+"):
        return [cleaned]
    international = ["+" + cleaned[len(p):] for p in plan.international_prefixes if cleaned.startswith(p)]
    if international:
        return international
    cc = plan.country_code
    if plan.national_prefix and cleaned.startswith(plan.national_prefix):
        return ["+" + cc + cleaned[len(plan.national_prefix):]]
    if cleaned.startswith(cc) and len(cleaned) >= len(cc) + 8:
        return ["+" + cleaned]
    return ["+" + cc + cleaned]


def _sql_string(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _readings_sql(column: str, plan: NumberingPlan, reading: str = "e") -> tuple[str, str]:
    """SQL for the preferred reading (``e1``) and the list of other readings (``alts``, NULL when none) of a
    cleaned column: the same rules as ``readings``. ``alts`` refers to ``e1`` as the column ``reading``
    (NULL when the value is not a number), computed in an inner query."""
    cc = plan.country_code
    not_number = f"not regexp_full_match({column}, '\\+?[0-9]+')"
    branches = [f"when {not_number} then null", f"when starts_with({column}, '+') then {column}"]
    for p in plan.international_prefixes:
        branches.append(f"when starts_with({column}, {_sql_string(p)}) then '+' || {column}[{len(p) + 1}:]")
    if plan.national_prefix:
        np_ = plan.national_prefix
        branches.append(f"when starts_with({column}, {_sql_string(np_)}) then '+{cc}' || {column}[{len(np_) + 1}:]")
    branches.append(f"when starts_with({column}, '{cc}') and length({column}) >= {len(cc) + 8} then '+' || {column}")
    branches.append(f"else '+{cc}' || {column}")
    e1 = "case " + " ".join(branches) + " end"
    # A prefix that is the start of a longer one (00 of 009) gives a second reading where the longer matched.
    alts = []
    prefixes = plan.international_prefixes
    for i, longer in enumerate(prefixes):
        shorter = [p for p in prefixes[i + 1:] if longer.startswith(p)]
        if shorter:
            items = ", ".join(f"'+' || {column}[{len(p) + 1}:]" for p in shorter)
            # The earlier WHEN branches of e1 (longer prefixes) decide first, as in e1.
            alts.append(f"when starts_with({column}, {_sql_string(longer)}) then [{items}]")
        else:
            alts.append(f"when starts_with({column}, {_sql_string(longer)}) then null")
    alts_sql = (
        f"case when {reading} is null or starts_with({column}, '+') then null " + " ".join(alts) + " end"
        if any("[" in a for a in alts)
        else "null::varchar[]"
    )
    return e1, alts_sql


# ----------------------------------------------------------------------------------------------------------
# The reference: phonenumbers itself, per reading.


def describe(e164: str) -> tuple[str, bool, str, str | None]:
    """(e164, valid, number_type, region) of one ``+digits`` reading, by phonenumbers' public API."""
    try:
        number = phonenumbers.parse(e164, None)
    except NumberParseException:
        return e164, False, "unknown", None
    return (
        phonenumbers.format_number(number, PhoneNumberFormat.E164),
        phonenumbers.is_valid_number(number),
        NUMBER_TYPES[phonenumbers.number_type(number)],
        phonenumbers.region_code_for_number(number),
    )


def choose(described: Sequence[tuple[str, bool, str, str | None]]) -> tuple[str, bool, str, str | None]:
    """The first valid reading, else the first (the longest international prefix's)."""
    for d in described:
        if d[1]:
            return d
    return described[0]


def normalise_value(raw: str, plan: NumberingPlan | None = None) -> tuple[str, bool, str, str | None]:
    """(e164, valid, number_type, region) of one raw value, by phonenumbers directly (no SQL)."""
    plan = plan or NumberingPlan()
    cleaned = clean(raw)
    candidates = readings(cleaned, plan)
    if candidates is None:
        return cleaned, False, "unknown", None
    return choose([describe(c) for c in candidates])


# ----------------------------------------------------------------------------------------------------------
# phonenumbers' metadata compiled into DuckDB SQL.
#
# A reading is split into its country code ``cc`` and national significant number ``nsn`` (length ``ln``).
# Home numbers (most of a dictionary) are matched against their region's own patterns over ``nsn``
# (``_type_sql``). Every other number is matched against a *subject* string ``KEY:LLnsn`` — the key of its
# region (``GB``, ``US``; the code itself for the non-geographic ones, ``800``), the national number's
# length in two digits, the number — so that one regular expression per number type covers every country
# present: ``GB:(?:07|10)(?:...)|US:(?:10)(?:...)|...``, each alternative being phonenumbers'
# ``_is_number_matching_desc`` (a possible length and the national-number pattern) for one region. A number
# costs a handful of RE2 matches however many countries the dictionary holds, and the query stays small (a
# CASE branch per country was a 250 KB query that DuckDB took 0.3 s to plan, and slowed every row).
#
# Countries sharing a code (+1, +7, +44, ...) are settled by their main region (US, RU, GB, ...) where
# phonenumbers would pick it (leading digits, or a valid number); the others (+1 268: AG, +44 1534: JE, ...)
# go through a second query over those rows alone (``_other_region_sql``).

_TYPE_ORDER = (  # phonenumberutil._number_type_helper's order, before fixed line and mobile
    ("premium_rate", "premium_rate"),
    ("toll_free", "toll_free"),
    ("shared_cost", "shared_cost"),
    ("voip", "voip"),
    ("personal_number", "personal_number"),
    ("pager", "pager"),
    ("uan", "uan"),
    ("voicemail", "voicemail"),
)
_SPECIAL = tuple(attr for attr, _ in _TYPE_ORDER)


def _metadata(cc: int, region: str) -> PhoneMetadata | None:
    return PhoneMetadata.metadata_for_region_or_calling_code(cc, region)


def _main_region(cc: int) -> str:
    return COUNTRY_CODE_TO_REGION_CODE[cc][0]


def _key(cc: int, region: str) -> str:
    return str(cc) if region == "001" else region


def _lengths(desc) -> list[int] | None:
    """A desc's possible lengths; None when the desc can never match (absent, no pattern, length -1)."""
    if desc is None or not desc.national_number_pattern:
        return None
    lengths = sorted({n for n in desc.possible_length if n >= 0})
    if desc.possible_length and not lengths:
        return None
    return lengths


def _alternative(desc) -> str | None:
    """``LL(?:pattern)`` for one desc, matched against ``LLnsn``: phonenumbers' length check and pattern."""
    lengths = _lengths(desc)
    if lengths is None:
        return None
    ll = "(?:" + "|".join(f"{n:02d}" for n in lengths) + ")" if lengths else r"\d\d"
    return f"{ll}(?:{desc.national_number_pattern})"


def _descs(md: PhoneMetadata, kind: str) -> list:
    same = md.same_mobile_and_fixed_line_pattern
    if kind == "general":
        return [md.general_desc]
    if kind == "special":
        return [getattr(md, a) for a in _SPECIAL]
    if kind in _SPECIAL:
        return [getattr(md, kind)]
    if kind == "fixed_same":
        return [md.fixed_line] if same else []
    if kind == "fixed_other":
        return [md.fixed_line] if not same else []
    if kind == "mobile_other":
        return [md.mobile] if not same else []
    raise ValueError(kind)


# A combined expression longer than this is cut into several by subject key: RE2's DFA has a memory budget,
# and past it (a 48 KB union of every country's special and fixed-line patterns) matching falls back to a
# slower engine, 20 times slower per number; 16 KB pieces match at full speed.
_COMBINED_LIMIT = 16_000


@functools.lru_cache(maxsize=256)
def _combined(kind: str, regions: tuple[tuple[int, str], ...]) -> tuple[tuple[str, str], ...]:
    """Regular expressions over subjects ``KEY:LLnsn`` matching the descs ``kind`` of ``regions`` (country
    code, region): ``(first key, pattern)`` pieces in key order, each under _COMBINED_LIMIT characters
    where it can be; empty when none of the regions has such a desc."""
    per_key = []
    for cc, region in regions:
        md = _metadata(cc, region)
        if md is None:
            continue
        alternatives = [a for d in _descs(md, kind) if (a := _alternative(d))]
        if alternatives:
            body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
            key = _key(cc, region)
            per_key.append((key, f"{key}:{body}"))
    pieces: list[tuple[str, list[str]]] = []
    size = 0
    for key, pattern in sorted(per_key):
        if not pieces or size + len(pattern) > _COMBINED_LIMIT:
            pieces.append((key, []))
            size = 0
        pieces[-1][1].append(pattern)
        size += len(pattern) + 1
    return tuple((key, "|".join(patterns)) for key, patterns in pieces)


def _match(kind: str, regions: tuple[tuple[int, str], ...]) -> str | None:
    """SQL: ``subj`` matches the combined expression ``kind`` (the one piece its key falls in); None if none.
    Keys are two letters or three digits, none the start of another, so string order dispatches."""
    pieces = _combined(kind, regions)
    if not pieces:
        return None
    matches = [f"regexp_full_match(subj, {_sql_string(pattern)})" for _, pattern in pieces]
    if len(matches) == 1:
        return matches[0]
    branches = " ".join(f"when subj < {_sql_string(key + ':')} then {m}" for (key, _), m in zip(pieces[1:], matches))
    return f"case {branches} else {matches[-1]} end"


def _combined_type_sql(regions: tuple[tuple[int, str], ...]) -> str:
    """phonenumberutil._number_type_helper over ``subj`` (``KEY:LLnsn``) for the ``regions`` the keys name.

    The special types (premium rate ... voicemail) are tried as one union first: most numbers are none of
    them. (A union of the fixed-line patterns too, as ``_type_sql`` does for one region, would be a 48 KB
    expression for all countries, past what RE2's DFA keeps in memory: 20 times slower per number.)"""
    general = _match("general", regions)
    if general is None:
        return "'unknown'"
    branches = [f"when not {general} then 'unknown'"]
    special = _match("special", regions)
    if special:
        inner = " ".join(f"when {m} then '{name}'" for attr, name in _TYPE_ORDER if (m := _match(attr, regions)))
        branches.append(f"when {special} then case {inner} end")
    fixed_same, fixed_other, mobile = (_match(k, regions) for k in ("fixed_same", "fixed_other", "mobile_other"))
    if fixed_same:
        branches.append(f"when {fixed_same} then 'fixed_line_or_mobile'")
    if fixed_other:
        then = f"case when {mobile} then 'fixed_line_or_mobile' else 'fixed_line' end" if mobile else "'fixed_line'"
        branches.append(f"when {fixed_other} then {then}")
    if mobile:
        branches.append(f"when {mobile} then 'mobile'")
    return "case " + " ".join(branches) + " else 'unknown' end"


def _rewrites_sql(mains: tuple[int, ...]) -> str:
    """True where phonenumbers.parse would strip a national prefix or carrier code from the national number:
    the main region's national_prefix_for_parsing matches at its start (phonenumbers then decides)."""
    alternatives, checks = [], []
    for cc in mains:
        md = _metadata(cc, _main_region(cc))
        pattern = md.national_prefix_for_parsing if md is not None else None
        if not pattern:
            continue
        if re.match(pattern, ""):  # can match nothing (AR): only a non-empty match rewrites
            checks.append(f"(cc = {cc} and regexp_extract(nsn, {_sql_string('^(?:' + pattern + ')')}, 0) <> '')")
        else:
            alternatives.append(f"{_key(cc, _main_region(cc))}:\\d\\d(?:{pattern})")
    if alternatives:
        checks.insert(0, f"regexp_matches(subj, {_sql_string('^(?:' + '|'.join(alternatives) + ')')})")
    return " or ".join(checks) or "false"


def _main_region_sql(mains: tuple[int, ...]) -> str:
    """The region for a number whose type under its main region is ``t``; NULL when another region of a
    shared code must decide (phonenumberutil._region_code_for_number_from_list, main region first)."""
    branches = []
    for cc in mains:
        regions = COUNTRY_CODE_TO_REGION_CODE[cc]
        if len(regions) == 1:
            continue
        md = PhoneMetadata.metadata_for_region(regions[0], None)
        if md is not None and md.leading_digits is not None:
            lead = _sql_string("^(?:" + md.leading_digits + ")")
            branches.append(f"when {cc} then case when regexp_matches(nsn, {lead}) then '{regions[0]}' end")
        else:
            branches.append(f"when {cc} then case when t <> 'unknown' then '{regions[0]}' end")
    lut = _lut_sql("main_region")
    return f"case cc {' '.join(branches)} else {lut}[cc + 1] end" if branches else f"{lut}[cc + 1]"


@functools.lru_cache(maxsize=None)
def _lut_sql(what: str) -> str:
    """A constant DuckDB list indexed by a number + 1: ``cc`` by the first three digits, or the main
    region / subject key by ``cc`` (country codes are prefix-free, so three digits decide)."""
    codes = {str(c) for c in COUNTRY_CODE_TO_REGION_CODE}
    items = []
    for i in range(1000):
        if what == "cc":
            p = f"{i:03d}"
            cc = next((p[:n] for n in (1, 2, 3) if p[:n] in codes), None)
            items.append(cc or "null")
        elif i in COUNTRY_CODE_TO_REGION_CODE:
            region = _main_region(i)
            items.append(_sql_string(_key(i, region) if what == "key" else region))
        else:
            items.append("null")
    kind = "integer" if what == "cc" else "varchar"
    return f"([{', '.join(items)}]::{kind}[])"


def _home_code(plan: NumberingPlan) -> int | None:
    """The home country code, if phonenumbers knows it (the home fast paths need its metadata)."""
    cc = int(plan.country_code)
    return cc if cc in COUNTRY_CODE_TO_REGION_CODE else None


def _split_sql(source: str, home: int | None) -> str:
    """``source`` with the reading ``e`` split: ``cc`` (NULL if none), ``nsn``, ``ln``."""
    lookup = f"{_lut_sql('cc')}[e[2:4]::integer + 1]"
    cc = f"case when length(e) >= 4 then {lookup} end"
    if home is not None:  # most readings: no lookup
        cc = f"case when starts_with(e, '+{home}') then {home} when length(e) >= 4 then {lookup} end"
    return f"""
        select *, length(nsn) as ln
        from (select *, e[case when cc < 10 then 3 when cc < 100 then 4 else 5 end:] as nsn
              from (select *, {cc} as cc from {source}))
    """


def _literal_prefixes(pattern: str) -> list[str] | None:
    """The alternatives of a pattern that is only literal digits (``0``, ``0|180020``), else None."""
    return pattern.split("|") if re.fullmatch(r"[0-9]+(?:\|[0-9]+)*", pattern) else None


def _home_rewrites_sql(cc: int) -> str:
    """``_rewrites_sql`` for the home country alone, over ``nsn`` (no subject string needed)."""
    md = _metadata(cc, _main_region(cc))
    pattern = md.national_prefix_for_parsing if md is not None else None
    if not pattern:
        return "false"
    if literal := _literal_prefixes(pattern):
        return "(" + " or ".join(f"starts_with(nsn, {_sql_string(p)})" for p in literal) + ")"
    anchored = _sql_string("^(?:" + pattern + ")")
    if re.match(pattern, ""):
        return f"regexp_extract(nsn, {anchored}, 0) <> ''"
    return f"regexp_matches(nsn, {anchored})"


def _validate_sql(source: str, mains: tuple[int, ...], home: int | None) -> str:
    """``source`` (readings ``e`` with ``cc``, ``nsn``, ``ln``; other columns passed through) with
    ``status`` ('ok'; 'bad': phonenumbers cannot parse it; 'rewrite': phonenumbers would rewrite it, so it
    decides; 'other_region': a region other than its code's main region decides, see
    ``_other_region_sql``), ``region`` and ``number_type`` ('unknown' unless 'ok').

    The home country (most numbers) is matched with its own region's patterns over ``nsn``; the others
    with the combined patterns over subjects (``KEY:LLnsn``, built for them alone)."""
    if not mains:
        return f"""
        select *, case when e is not null then 'bad' end as status, null::varchar as region,
            'unknown' as number_type
        from {source}
        """
    foreign = tuple(cc for cc in mains if cc != home)
    has_home = home in mains
    subject = f"{_lut_sql('key')}[cc + 1] || ':' || lpad(least(ln, 99)::varchar, 2, '0') || nsn"
    home_region = _main_region(home) if has_home else None
    if has_home and foreign:
        rewrites = f"case when cc = {home} then {_home_rewrites_sql(home)} else {_rewrites_sql(foreign)} end"
        type_sql = f"case when cc = {home} then {_type_sql(home, home_region)} else {_combined_type_sql(tuple((cc, _main_region(cc)) for cc in foreign))} end"
    elif has_home:
        rewrites, type_sql = _home_rewrites_sql(home), _type_sql(home, home_region)
    else:
        rewrites = _rewrites_sql(foreign)
        type_sql = _combined_type_sql(tuple((cc, _main_region(cc)) for cc in foreign))
    if not foreign:
        subj = "null::varchar"
    elif has_home:
        subj = f"case when cc is not null and cc <> {home} then {subject} end"
    else:
        subj = f"case when cc is not null then {subject} end"
    return f"""
    select * exclude (subj, t, region1, status1),
        case when status1 = 'ok' and region1 is null then 'other_region' else status1 end as status,
        region1 as region,
        case when region1 is not null then t else 'unknown' end as number_type
    from (
        select *, case when status1 = 'ok' then {_main_region_sql(mains)} end as region1
        from (
            select *, case when status1 = 'ok' then {type_sql} end as t
            from (
                select *,
                    case when e is null then null
                        when cc is null or length(e) > {_MAX_INPUT} or length(e) <= {_MIN_NSN + 1} or ln < {_MIN_NSN}
                            then 'bad'
                        when {rewrites} then 'rewrite'
                        when ln > {_MAX_NSN} then 'bad'
                        else 'ok' end as status1
                from (select *, {subj} as subj from {source})
            )
        )
    )
    """


# The per-region SQL for numbers of a shared code that its main region does not settle (few rows).


def _desc_sql(desc) -> str | None:
    """phonenumberutil._is_number_matching_desc over ``nsn``/``ln``, or None where it can never match."""
    lengths = _lengths(desc)
    if lengths is None:
        return None
    match = f"regexp_full_match(nsn, {_sql_string(desc.national_number_pattern)})"
    if not lengths:
        return match
    if len(lengths) == 1:
        return f"(ln = {lengths[0]} and {match})"
    return f"(ln in ({', '.join(map(str, lengths))}) and {match})"


def _union_by_length_sql(descs: list) -> str | None:
    """True where any of ``descs`` matches (``_is_number_matching_desc``), as one regular expression per
    national-number length: ``case ln when 10 then regexp_full_match(nsn, 'A|B') ...``. None if none can."""
    by_length: dict[int, list[str]] = {}
    any_length: list[str] = []
    for desc in descs:
        lengths = _lengths(desc)
        if lengths is None:
            continue
        for n in lengths:
            by_length.setdefault(n, []).append(desc.national_number_pattern)
        if not lengths:
            any_length.append(desc.national_number_pattern)
    if not by_length and not any_length:
        return None

    def match(patterns: list[str]) -> str:
        unique = list(dict.fromkeys(patterns))
        return f"regexp_full_match(nsn, {_sql_string('|'.join(f'(?:{p})' for p in unique))})"

    branches = " ".join(f"when {n} then {match(ps + any_length)}" for n, ps in sorted(by_length.items()))
    other = match(any_length) if any_length else "false"
    return f"case ln {branches} else {other} end" if branches else other


@functools.lru_cache(maxsize=None)
def _type_sql(cc: int, region: str) -> str:
    """phonenumberutil._number_type_helper for one region's metadata over ``nsn``/``ln``: a type name,
    'unknown' if none. Most numbers are mobile, and every desc tried before mobile fails for them: one
    regular expression (per length) for all those descs first tells whether they need trying one by one."""
    md = _metadata(cc, region)
    general = _desc_sql(md.general_desc) if md is not None else None
    if general is None:
        return "'unknown'"
    same = md.same_mobile_and_fixed_line_pattern
    branches = []
    for attr, name in _TYPE_ORDER:
        if cond := _desc_sql(getattr(md, attr)):
            branches.append(f"when {cond} then '{name}'")
    fixed, mobile = _desc_sql(md.fixed_line), _desc_sql(md.mobile)
    if fixed:
        if same:
            branches.append(f"when {fixed} then 'fixed_line_or_mobile'")
        elif mobile:
            branches.append(f"when {fixed} then case when {mobile} then 'fixed_line_or_mobile' else 'fixed_line' end")
        else:
            branches.append(f"when {fixed} then 'fixed_line'")
    mobile_only = f"case when {mobile} then 'mobile' else 'unknown' end" if mobile and not same else "'unknown'"
    if not branches:
        return f"case when not {general} then 'unknown' else {mobile_only} end"
    ordered = "case " + " ".join(branches) + f" else {mobile_only} end"
    before_mobile = _union_by_length_sql([getattr(md, a) for a in _SPECIAL] + [md.fixed_line])
    return f"case when not {general} then 'unknown' when {before_mobile} then {ordered} else {mobile_only} end"


@functools.lru_cache(maxsize=None)
def _other_region_case_sql(cc: int) -> str:
    """phonenumberutil._region_code_for_number_from_list for a shared code's numbers that its main region
    did not settle (so the main region, tried first, is skipped): NULL when no region matches."""
    branches = []
    for region in COUNTRY_CODE_TO_REGION_CODE[cc][1:]:
        md = PhoneMetadata.metadata_for_region(region, None)
        if md is None:
            continue
        if md.leading_digits is not None:
            branches.append(f"when regexp_matches(nsn, {_sql_string('^(?:' + md.leading_digits + ')')}) then '{region}'")
        else:
            branches.append(f"when {_type_sql(cc, region)} <> 'unknown' then '{region}'")
    return "case " + " ".join(branches) + " end" if branches else "null::varchar"


def _other_region_sql(source: str, ccs: list[int]) -> str:
    """Region and type of ``source``'s numbers (of shared codes ``ccs``, not settled by the main region):
    the region by leading digits or validity, in phonenumbers' order; then the type under that region with
    the combined patterns (subject keyed by the region)."""
    region_case = " ".join(f"when {cc} then {_other_region_case_sql(cc)}" for cc in ccs)
    regions = tuple((cc, r) for cc in ccs for r in COUNTRY_CODE_TO_REGION_CODE[cc][1:])
    subject = "region || ':' || lpad(least(ln, 99)::varchar, 2, '0') || nsn"
    return f"""
        select * exclude (region, subj), region,
            case when region is null then 'unknown' else {_combined_type_sql(regions)} end as number_type
        from (
            select *, case when region is not null then {subject} end as subj
            from (select * exclude (region, number_type), case cc {region_case} end as region from {source})
        )
    """


class _Stages:
    """Wall time per stage, added into ``timings`` (a dict the caller passes, or nothing)."""

    def __init__(self, timings: dict[str, float] | None, prefix: str = ""):
        self.timings, self.prefix = timings, prefix

    @contextlib.contextmanager
    def __call__(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            if self.timings is not None:
                key = self.prefix + name
                self.timings[key] = self.timings.get(key, 0.0) + time.perf_counter() - start


def _settle_other_regions(con: duckdb.DuckDBPyConnection, table: str, scratch: str) -> None:
    """The rows of ``table`` with status 'other_region' (few), settled region by region."""
    other = [r[0] for r in con.sql(f"select distinct cc from {table} where status = 'other_region'").fetchall()]
    if not other:
        return
    con.execute(f"create or replace temp table {scratch} as select * from {table} where status = 'other_region'")
    con.execute(f"delete from {table} where status = 'other_region'")
    con.execute(f"""
        insert into {table} by name
        select * exclude (status, region, number_type), 'ok' as status, region, number_type
        from ({_other_region_sql(scratch, sorted(other))})
    """)


def _settle_rewrites(con: duckdb.DuckDBPyConnection, table: str, scratch: str) -> None:
    """The rows of ``table`` with status 'rewrite' (few): phonenumbers itself, its E.164 replacing ``e``.
    Not for another reading (k > 1) of a value whose first reading is valid: it cannot be chosen."""
    rewritten = [r[0] for r in con.sql(f"""
        select distinct e from {table} t
        where status = 'rewrite'
          and (k = 1 or t.raw not in (select raw from {table}
                                      where alts is not null and k = 1 and status = 'ok' and number_type <> 'unknown'))
    """).fetchall()]
    if not rewritten:
        return
    con.execute(f"create or replace temp table {scratch} ({_DESCRIBED_SCHEMA})")
    _insert_rows(con, scratch, [(e, *describe(e)) for e in rewritten])
    con.execute(f"""
        create or replace temp table {scratch} as
        select t.* exclude (e, status, region, number_type), d.e164 as e, 'ok' as status,
            d.region, d.number_type, t.e as reading
        from {table} t join {scratch} d on d.e = t.e
        where t.status = 'rewrite'
    """)
    # The rewritten rows are replaced; the ones left out stay 'rewrite' (typed unknown: never chosen).
    con.execute(f"delete from {table} where status = 'rewrite' and e in (select reading from {scratch})")
    con.execute(f"insert into {table} by name select * exclude (reading) from {scratch}")


_DESCRIBED_SCHEMA = "e varchar, e164 varchar, valid boolean, number_type varchar, region varchar"


# ----------------------------------------------------------------------------------------------------------
# The engines.


def _relation_column(con: duckdb.DuckDBPyConnection, relation: str) -> str:
    columns = con.sql(f"select * from {relation} limit 0").columns
    if len(columns) != 1:
        raise ValueError(f"{relation}: expected one column of raw numbers, got {columns}")
    return '"' + columns[0].replace('"', '""') + '"'


def normalise_numbers(
    con: duckdb.DuckDBPyConnection,
    relation: str,
    settings: Settings | None = None,
    *,
    output: str = "number_dictionary",
    engine: str = "sql",
    workers: int | None = None,
    temporary: bool = True,
    assume_distinct: bool = False,
    timings: dict[str, float] | None = None,
) -> str:
    """Normalise the distinct raw numbers of ``relation`` into the DuckDB table ``output``; returns its name.

    ``relation``: a table, view or ``(select ...)`` with one varchar column of raw values as presented. One
    output row per distinct non-NULL value: duplicates are dropped, so that the caller's join back cannot
    multiply rows (``assume_distinct=True`` skips that step, about 0.1 s per million values, when the
    caller's relation is distinct already). ``settings``: the home country's conventions (``Settings()``
    defaults: 234, ``0``, ``009,00``). ``engine``: ``"sql"`` (compiled metadata, the fast one) or
    ``"python"`` (phonenumbers per distinct reading in ``workers`` processes, default one per core; the
    reference). The table (temporary unless ``temporary=False``; replaced if it exists) has the columns
    ``raw, e164, valid, number_type, region``: see the module's docstring for what they hold. ``timings``:
    a dict that receives the wall seconds of each stage (the benchmark prints them).

    The DuckDB work runs on the connection's threads (``SET threads``); the python engine's processes are
    spawned, not forked, so that DuckDB's threads in this process cannot deadlock them.
    """
    if engine not in ("sql", "python"):
        raise ValueError(f"engine must be 'sql' or 'python', got {engine!r}")
    plan = NumberingPlan.from_settings(settings)
    column = _relation_column(con, relation)
    values = f"select {column}::varchar as raw from {relation} where {column} is not null"
    if not assume_distinct:
        values = f"select distinct raw from ({values})"
    kind = "temp table" if temporary else "table"
    stage = _Stages(timings)
    if engine == "python":
        with stage("python"):
            _normalise_python(con, values, plan, output, kind, workers or os.cpu_count() or 1)
        return output
    tag = uuid.uuid4().hex[:12]
    split, val, scratch = (f"__numbers_{name}_{tag}" for name in ("split", "val", "scratch"))
    e1, alts = _readings_sql("cleaned", plan)
    home = _home_code(plan)
    # Most values have no separator: regexp_replace (which copies) only for those that have one.
    cleaned = (f"select raw, case when regexp_matches(raw, '{_SEPARATORS_SQL}') "
               f"then regexp_replace(raw, '{_SEPARATORS_SQL}', '', 'g') else raw end as cleaned from ({values})")
    first = f"(select *, {alts} as alts from (select raw, cleaned, {e1} as e, 1 as k from ({cleaned})))"
    others = f"""(select raw, cleaned, unnest(alts) as e, generate_subscripts(alts, 1) + 1 as k, alts
                  from {split} where alts is not null)"""
    try:
        with stage("read and split"):
            # Every raw value's preferred reading (longest international prefix, k = 1), split into country
            # code and national number; then the other readings of the few values that have several.
            con.execute(f"create temp table {split} as {_split_sql(first, home)}")
            con.execute(f"insert into {split} by name {_split_sql(others, home)}")
        with stage("compile and validate"):
            mains = tuple(r[0] for r in con.sql(
                f"select cc from {split} where cc is not null group by cc order by count(*) desc, cc").fetchall())
            con.execute(f"create temp table {val} as {_validate_sql(split, mains, home)}")
        with stage("other regions of shared codes"):
            _settle_other_regions(con, val, scratch)
        with stage("phonenumbers for rewritten readings"):
            _settle_rewrites(con, val, scratch)
        with stage("output"):
            # A value with several readings keeps the first valid one, else its first (k = 1).
            con.execute(f"""
                create or replace {kind} {output} as
                select raw, coalesce(e, cleaned) as e164, number_type <> 'unknown' as valid, number_type, region
                from {val}
                where alts is null
                union all
                select raw, best.e164, best.valid, best.number_type, best.region
                from (
                    select raw, arg_min(struct_pack(e164 := e, valid := number_type <> 'unknown',
                                                    number_type := number_type, region := region),
                                        k + case when number_type <> 'unknown' then 0 else 1000 end) as best
                    from {val} where alts is not null
                    group by raw
                )
            """)
    finally:
        for t in (split, val, scratch):
            con.execute(f"drop table if exists {t}")
    return output


def _normalise_value_cached(raw: str, plan: NumberingPlan, cache: dict) -> tuple:
    cleaned = clean(raw)
    candidates = readings(cleaned, plan)
    if candidates is None:
        return raw, cleaned, False, "unknown", None
    described = []
    for c in candidates:
        d = cache.get(c)
        if d is None:
            d = cache[c] = describe(c)
        described.append(d)
    return (raw, *choose(described))


def _normalise_chunk(args: tuple[list[str], NumberingPlan]) -> list[tuple]:
    raws, plan = args
    cache: dict = {}
    return [_normalise_value_cached(r, plan, cache) for r in raws]


def _normalise_python(con, values_sql: str, plan: NumberingPlan, output: str, kind: str, workers: int) -> None:
    """The ``python`` engine: ``normalise_value`` for every distinct raw value, in ``workers`` processes,
    with a cache of readings per chunk (many raw values share one reading: 0803..., +234803..., 234803...).
    The values are sorted so that the presentations of one number tend to share a chunk."""
    raws = [r[0] for r in con.sql(f"select raw from ({values_sql}) order by raw").fetchall()]
    if workers <= 1 or len(raws) < 20_000:
        rows = _normalise_chunk((raws, plan))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        size = -(-len(raws) // (workers * 4))
        chunks = [(raws[i:i + size], plan) for i in range(0, len(raws), size)]
        # spawn, not fork: forking a process that runs DuckDB's threads can deadlock the child.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            rows = [row for part in pool.map(_normalise_chunk, chunks) for row in part]
    con.execute(f"create or replace {kind} {output} ({OUTPUT_SCHEMA})")
    _insert_rows(con, output, rows)


def _insert_rows(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple]) -> None:
    """Insert rows of five columns (the output's, or ``e`` and the four described ones) into ``table``:
    one statement with a list parameter per column (executemany takes 0.4 ms a row)."""
    if not rows:
        return
    columns = [list(c) for c in zip(*rows)]
    con.execute(
        f"insert into {table} select unnest($1::varchar[]), unnest($2::varchar[]), unnest($3::boolean[]), "
        "unnest($4::varchar[]), unnest($5::varchar[])",
        columns,
    )
