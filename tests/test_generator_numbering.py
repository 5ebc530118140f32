"""The generator's numbering against libphonenumber (``phonenumbers``, the metadata
``sentinel_pipeline.numbers`` validates with): every number meant to be a real line is valid, the injected
invalid CLIs are invalid, and ``reference/number_ranges.csv`` agrees with both.

Validity of a whole block (an E.164 prefix followed by any ``free`` digits) is proved from the metadata's
own regular expressions, not sampled: each free digit is written ``X`` and the pattern rewritten so that
``X`` is accepted where the pattern accepts any digit (``\\d``, a class of all ten). If the rewritten
general and type patterns match ``prefix + X...X``, one path through them accepts every completion, so
every number of the block matches (a sufficient test). The opposite rewrite (``X`` accepted wherever some
digit is) tells exactly whether any completion can match, which proves ranges never valid.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime, timezone

import duckdb
import numpy as np
import pytest
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from sentinel_pipeline.generator import generate
from sentinel_pipeline.generator import fraud, frontier
from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.numbers import normalise_numbers, normalise_value
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

START = datetime(2026, 11, 26, tzinfo=timezone.utc)
TYPES = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost", "voip", "personal_number", "pager",
         "uan", "voicemail")
WITHHELD = r"(?i)^(anonymous|private|restricted|unknown|unavailable|withheld)$"
HOME_DIGITS = 13  # 234 + a 10-digit national number: the length of every home number of the demo plan


# ------------------------------------------------------------------------ the metadata's patterns
def _class_digits(body: str) -> set[str]:
    digits = set()
    body = body.replace(r"\d", "0-9")
    for m in re.finditer(r"(\d)-(\d)|(.)", body):
        digits |= {str(d) for d in range(int(m[1]), int(m[2]) + 1)} if m[1] else {m[3]}
    return digits & set("0123456789")


def _rewrite(pattern: str, every: bool) -> re.Pattern:
    """The pattern with X accepted for a digit: where any digit is (``every``) or where some digit is."""
    out, i = [], 0
    while i < len(pattern):
        c = pattern[i]
        if pattern.startswith(r"\d", i):
            out.append("[0-9X]")
            i += 2
        elif c == "[":
            j = pattern.index("]", i)
            digits = _class_digits(pattern[i + 1:j])
            x = "X" if (len(digits) == 10 if every else digits) else ""
            out.append("[" + "".join(sorted(digits)) + x + "]" if digits else r"[^\s\S]")
            i = j + 1
        elif c == "{":
            j = pattern.index("}", i)
            out.append(pattern[i:j + 1])
            i = j + 1
        elif c.isdigit():
            out.append(c if every else f"[{c}X]")
            i += 1
        else:
            out.append(c)
            i += 1
    return re.compile("".join(out))


_REWRITTEN: dict = {}


def _matches(desc, nsn: str, every: bool) -> bool:
    if desc is None or not desc.national_number_pattern:
        return False
    if desc.possible_length and len(nsn) not in desc.possible_length:
        return False
    key = (desc.national_number_pattern, every)
    if key not in _REWRITTEN:
        _REWRITTEN[key] = _rewrite(desc.national_number_pattern, every)
    return _REWRITTEN[key].fullmatch(nsn) is not None


def _split(e164_prefix: str) -> tuple[int, str]:
    for k in (1, 2, 3):
        if int(e164_prefix[:k]) in COUNTRY_CODE_TO_REGION_CODE:
            return int(e164_prefix[:k]), e164_prefix[k:]
    raise ValueError(f"no country code in {e164_prefix}")


def _metadata(cc: int, region: str):
    return PhoneMetadata.metadata_for_region_or_calling_code(cc, region)


def all_valid(e164_prefix: str, free: int) -> bool:
    """Every number ``e164_prefix`` + ``free`` digits is valid for its country's main region (the region
    phonenumbers tries first, so it is the number's region)."""
    cc, nsn = _split(e164_prefix)
    md = _metadata(cc, COUNTRY_CODE_TO_REGION_CODE[cc][0])
    s = nsn + "X" * free
    return _matches(md.general_desc, s, True) and any(_matches(getattr(md, t), s, True) for t in TYPES)


def never_valid(e164_prefix: str, free: int) -> bool:
    """No number ``e164_prefix`` + ``free`` digits is valid, for any region of its country code."""
    try:
        cc, nsn = _split(e164_prefix)
    except ValueError:
        return True
    s = nsn + "X" * free
    for region in COUNTRY_CODE_TO_REGION_CODE[cc]:
        md = _metadata(cc, region)
        if md is not None and _matches(md.general_desc, s, False) and any(
                _matches(getattr(md, t), s, False) for t in TYPES):
            return False
    return True


def test_the_block_proofs_agree_with_phonenumbers():
    """The rewritten patterns say what phonenumbers says, on blocks known either way."""
    assert all_valid("234803", 7) and all_valid("44740", 7) and all_valid("8816", 8)
    assert not all_valid("4474", 8)  # 7457 is a mobile range only in part
    assert not all_valid("234819", 7)  # 8190 and 8191 are mobile ranges, the rest is not
    assert never_valid("2348192", 6) and never_valid("2346", 9) and never_valid("234919", 7)
    assert not never_valid("234819", 7)
    assert normalise_value("+2348190123456")[1] and not normalise_value("+2348192123456")[1]


# ------------------------------------------------------------------------------- the ranges
def _samples(prefix: str, free: int) -> list[str]:
    return [prefix + "0" * free, prefix + "9" * free, prefix + str(int(prefix) * 7919 % 10**free).zfill(free)]


def _generator_blocks():
    for cc, specs in nb.FOREIGN_RANGES.items():
        yield f"foreign +{cc}", nb.Blocks(specs)
    for prefix, blocks in nb.HIGH_RISK_BLOCKS.items():
        yield f"high-risk {prefix}", blocks
    yield "contact centre", nb.CONTACT_CENTRE_BLOCKS
    yield "home mobile", nb.Blocks([(f"234{p}", 7) for p in nb.ALL_MOBILE_PREFIXES.tolist()])
    yield "home fixed", nb.Blocks([(f"234{a}[2-9]", nb.FIXED_NSN_DIGITS - len(str(a)) - 1) for a in nb.FIXED_AREAS])


@pytest.mark.parametrize("name, blocks", list(_generator_blocks()), ids=lambda x: x if isinstance(x, str) else "")
def test_every_number_of_every_block_is_valid(name, blocks):
    for prefix, free in blocks.pairs:
        assert all_valid(prefix, free), (name, prefix, free)
        for number in _samples(prefix, free):  # and phonenumbers itself, in every foreign presentation
            for raw in ("+" + number, "00" + number, "009" + number):
                assert normalise_value(raw)[:2] == ("+" + number, True), (name, raw)


def test_foreign_numbers_presented_with_00_have_one_valid_reading():
    """"0091 96..." is also 009 + "1 96...": the ranges of codes starting with 9 make that reading invalid,
    so the normalisation cannot take an Indian number for a NANP one."""
    for cc, specs in nb.FOREIGN_RANGES.items():
        if str(cc).startswith("9"):
            for prefix, free in nb.Blocks(specs).pairs:
                assert never_valid(prefix[1:], free), (cc, prefix)


def test_the_generators_number_makers_stay_inside_their_blocks():
    rng = np.random.default_rng(3)
    h = rng.integers(0, 2**63, 20_000, dtype=np.int64).astype(np.uint64)

    def inside(numbers, blocks: nb.Blocks):
        starts = {p: len(p) + free for p, free in blocks.pairs}
        for x in map(str, numbers.tolist()):
            assert any(starts.get(x[:k]) == len(x) for k in range(1, 9)), x

    everyone = nb.Blocks([s for specs in nb.FOREIGN_RANGES.values() for s in specs])
    foreign = nb.foreign_from_hash(h)
    inside(foreign, everyone)
    ccs = {cc for cc, _, _ in nb.FOREIGN_COUNTRIES}
    assert {next(c for c in ccs if str(x).startswith(str(c))) for x in foreign.tolist()} == ccs
    for cc in ccs:
        inside(nb.numbers_in_country(rng, cc, 300), nb.FOREIGN_BLOCKS[cc])
    for prefix, digits, _ in nb.HIGH_RISK:
        numbers = nb.numbers_in_range(rng, prefix, digits, 300)
        inside(numbers, nb.HIGH_RISK_BLOCKS[prefix])
        assert all(len(str(x)) == len(prefix) + digits for x in numbers.tolist())
    inside(nb.fixed_from_hash(h), nb.Blocks([(f"234{a}[2-9]", 9 - len(str(a))) for a in nb.FIXED_AREAS]))
    inside(nb.offnet_mobile_from_hash(h), nb.Blocks([(f"234{p}", 7) for p in nb.OFFNET_PREFIXES.tolist()]))
    for prefix, digits, blocks in [(p, d, nb.HIGH_RISK_BLOCKS[p]) for p, d, _ in nb.HIGH_RISK if p in nb.WANGIRI_SOURCES] + [
            ("44", 10, nb.CONTACT_CENTRE_BLOCKS)]:
        head, numbers = frontier._plan_range(rng, prefix, digits, 40, blocks)
        assert len(head) == frontier.RANGE_DIGITS and head.startswith(prefix)
        assert all(str(x).startswith(head) for x in numbers.tolist())
        inside(numbers, blocks)
    for number in nb.CALL_CENTRE_NUMBERS + nb.ENTERPRISE_NUMBERS:
        assert normalise_value(f"+{number}")[1]


def test_injected_invalid_clis_are_invalid():
    clis = fraud.malformed_clis(np.random.default_rng(5), 5000)
    described = [normalise_value(c) for c in clis.tolist()]
    assert not any(valid for _, valid, _, _ in described)
    ranges = _ranges()
    unallocated = [e for e, _, _, _ in described if re.fullmatch(r"\+\d{13}", e) and e.startswith("+234")]
    assert len(unallocated) > 1000
    assert all(not _range_of(e[1:], ranges)[1] for e in unallocated)  # plan-length ones: unallocated ranges


# ---------------------------------------------------------------------- reference/number_ranges.csv
def _ranges() -> dict[str, tuple[str, bool]]:
    with open(PROJECT_ROOT / "reference" / "number_ranges.csv") as fh:
        return {r["prefix"]: (r["kind"], r["allocated"] == "true") for r in csv.DictReader(fh)}


def _range_of(digits: str, ranges) -> tuple[str | None, bool]:
    """(kind, allocated) of the longest prefix of ``digits`` in the ranges; (None, False) when none."""
    for k in range(len(digits), 0, -1):
        if digits[:k] in ranges:
            return ranges[digits[:k]]
    return None, False


def test_number_ranges_agree_with_phonenumbers():
    """Allocated ranges hold only valid numbers of the plan's length, unallocated ones none, with one
    documented exception (234819[01])."""
    for prefix, (kind, allocated) in _ranges().items():
        free = HOME_DIGITS - len(prefix)
        if allocated:
            assert all_valid(prefix, free), prefix
        elif prefix == "234819":
            assert all(never_valid(f"234819{d}", free - 1) for d in "23456789")
            assert all_valid("2348190", free - 1) and all_valid("2348191", free - 1)
        else:
            assert never_valid(prefix, free), prefix


# --------------------------------------------------------------------------- generated scenarios
@pytest.fixture(scope="module", params=[("everything", 26, 500, 14), ("default", 26, 400, 42)], ids=lambda p: p[0])
def normalised(request, tmp_path_factory):
    scenario, hours, subscribers, seed = request.param
    out = tmp_path_factory.mktemp(scenario)
    generate(out, START, hours, subscribers, seed, scenario=scenario)
    con = duckdb.connect()
    con.execute(f"create table c as select a_number, b_number, record_type, trunk_in "
                f"from read_csv('{out}/cdr_*.csv', all_varchar = true)")
    con.execute(f"create table labels as select * from read_csv('{out}/labels.csv', all_varchar = true, header = true)")
    con.execute("create table raw as select a_number as raw from c union select b_number from c")
    normalise_numbers(con, "raw", Settings(), output="nd")
    return con


def _values(con, sql, *params) -> set:
    return {r[0] for r in con.execute(sql, list(params)).fetchall()}


def test_only_the_injected_clis_and_withheld_ones_are_invalid(normalised):
    con = normalised
    invalid_trunks = _values(con, "select subject from labels where fraud_type = 'invalid_cli' and subject_type = 'trunk'")
    assert len(invalid_trunks) == 1
    invalid = _values(con, "select raw from nd where not valid")
    injected = _values(con, "select a_number from c where trunk_in = any(?::varchar[]) and record_type in ('IGW_IN', 'MTC')",
                       list(invalid_trunks))
    withheld = {v for v in invalid if re.match(WITHHELD, v)}
    assert len(invalid - withheld) >= 50
    assert invalid - withheld <= injected  # every invalid number is a CLI the invalid-CLI trunk presented ...
    elsewhere = _values(con, "select a_number from c where not (coalesce(trunk_in, '') = any(?::varchar[]) "
                             "and record_type in ('IGW_IN', 'MTC')) union select b_number from c", list(invalid_trunks))
    assert not (invalid - withheld) & elsewhere  # ... and nowhere else
    assert not withheld & _values(con, "select b_number from c")  # withheld CLIs only as callers
    # On that trunk, a CLI that reads as a home number (or is no number) is an injected one, or a roamer's own.
    home_ok = _values(con, """select n.e164 from c join nd n on n.raw = c.a_number
                              where c.trunk_in = any(?::varchar[]) and n.valid and n.e164 like '+234%'""",
                      list(invalid_trunks))
    assert home_ok <= _values(con, "select subject from labels where fraud_type = 'legit_roamer'")
    # Every labelled number, fraud or legitimate, is a valid one.
    assert not _values(con, "select subject from labels l where subject_type = 'msisdn' "
                            "and not exists (select 1 from nd n where n.e164 = l.subject and n.valid)")


def test_emitted_home_numbers_agree_with_number_ranges(normalised):
    con = normalised
    ranges = _ranges()
    home = con.execute("select e164, valid, number_type from nd where e164 like '+234%'").fetchall()
    kinds = {"mobile": {"mobile"}, "fixed": {"fixed_line"}, "special": {"uan", "toll_free"}, "premium": {"mobile"}}
    for e164, valid, number_type in home:
        kind, allocated = _range_of(e164[1:], ranges)
        if valid:
            assert allocated and number_type in kinds[kind], (e164, kind, number_type)
        elif re.fullmatch(r"\+\d{%d}" % HOME_DIGITS, e164):  # invalid, of the plan's length: unallocated
            assert not allocated, e164
    assert {t for _, v, t in home if v} == {"mobile", "fixed_line"}
