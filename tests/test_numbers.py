"""The number-normalisation engine: real formats of several countries, the special values, number types,
and the compiled SQL engine held to phonenumbers called directly (a seeded sample and a property test)."""

from __future__ import annotations

import random

import duckdb
import phonenumbers
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from bench.numbers import synthetic_dictionary
from sentinel_pipeline.numbers import (
    NUMBER_TYPES,
    OUTPUT_COLUMNS,
    NumberingPlan,
    normalise_numbers,
    normalise_value,
)
from sentinel_pipeline.settings import Settings

ENGINES = ("sql", "python")


def normalise(values, settings=None, engine="sql", **kwargs) -> dict:
    """raw -> (e164, valid, number_type, region), through a DuckDB table of the values."""
    con = duckdb.connect()
    con.execute("create table raw_numbers as select unnest($1::varchar[]) as raw", [list(values)])
    table = normalise_numbers(con, "raw_numbers", settings, engine=engine, workers=1, **kwargs)
    rows = con.sql(f"select * from {table}").fetchall()
    assert len(rows) == len({r[0] for r in rows}) == len(set(values)), "one row per distinct raw value"
    return {r[0]: tuple(r[1:]) for r in rows}


# raw as presented -> e164, valid, number_type, region (home: Nigeria, 234 / 0 / 009,00).
FORMATS = [
    # Nigeria, a mobile number in every presentation
    ("08031234567", "+2348031234567", True, "mobile", "NG"),
    ("+2348031234567", "+2348031234567", True, "mobile", "NG"),
    ("2348031234567", "+2348031234567", True, "mobile", "NG"),
    ("002348031234567", "+2348031234567", True, "mobile", "NG"),
    ("0092348031234567", "+2348031234567", True, "mobile", "NG"),  # 009; +92 348... is not valid
    ("8031234567", "+2348031234567", True, "mobile", "NG"),  # national number without its prefix
    ("(0803) 123-4567", "+2348031234567", True, "mobile", "NG"),
    ("0803 123 4567", "+2348031234567", True, "mobile", "NG"),
    ("0803.123.4567", "+2348031234567", True, "mobile", "NG"),
    ("+234 803 123 4567", "+2348031234567", True, "mobile", "NG"),
    ("+234 (0) 803 123 4567", "+2348031234567", True, "mobile", "NG"),  # national prefix after the code
    # Nigeria, other types
    ("02012345678", "+2342012345678", True, "fixed_line", "NG"),
    ("0800 123 4567", "+2348001234567", True, "toll_free", "NG"),
    ("07001234567", "+2347001234567", True, "uan", "NG"),
    ("0806", "+234806", False, "unknown", "NG"),  # too short
    ("123", "+234123", False, "unknown", "NG"),
    ("+2348031234567890", "+2348031234567890", False, "unknown", "NG"),  # too long
    # United Kingdom
    ("+44 20 7946 0958", "+442079460958", True, "fixed_line", "GB"),
    ("0044 20 7946 0958", "+442079460958", True, "fixed_line", "GB"),
    ("00944 20 7946 0958", "+442079460958", True, "fixed_line", "GB"),  # 009; +944... is not valid
    ("+44 (0)20 7946 0958", "+442079460958", True, "fixed_line", "GB"),
    ("+44 7400 123456", "+447400123456", True, "mobile", "GB"),
    ("+44 7911 123456", "+447911123456", True, "mobile", "GG"),  # a Guernsey range of 07911
    ("+447700900123", "+447700900123", False, "unknown", None),  # Ofcom's drama range: not allocated
    ("0044 909 879 0000", "+449098790000", True, "premium_rate", "GB"),
    ("+44 800 123 4567", "+448001234567", True, "toll_free", "GB"),
    ("+44 56 1234 5678", "+445612345678", True, "voip", "GB"),
    ("+44 70 1234 5678", "+447012345678", True, "personal_number", "GB"),
    ("+44 1534 456789", "+441534456789", True, "fixed_line", "JE"),  # Jersey shares +44
    ("+44 7624 123456", "+447624123456", True, "mobile", "IM"),  # Isle of Man
    # United States and the rest of +1
    ("+1 212 555 0123", "+12125550123", True, "fixed_line_or_mobile", "US"),
    ("001 800 253 0000", "+18002530000", True, "toll_free", "US"),
    ("+1 900 555 0199", "+19005550199", True, "premium_rate", "US"),
    ("+1 268 464 1234", "+12684641234", True, "mobile", "AG"),  # Antigua, by leading digits
    ("+1 506 234 5678", "+15062345678", True, "fixed_line_or_mobile", "CA"),
    # United Arab Emirates: 00971 is ambiguous with the 009 prefix
    ("00971501234567", "+971501234567", True, "mobile", "AE"),  # 00; +71 501... is not valid
    ("009971501234567", "+971501234567", True, "mobile", "AE"),
    ("+971 4 234 5678", "+97142345678", True, "fixed_line", "AE"),
    ("00971 800 123456", "+971800123456", True, "toll_free", "AE"),
    # India, China, Pakistan
    ("+91 98765 43210", "+919876543210", True, "mobile", "IN"),
    ("0091 11 2345 6789", "+911123456789", True, "fixed_line", "IN"),
    ("+86 138 0013 8000", "+8613800138000", True, "mobile", "CN"),
    ("0086 10 1234 5678", "+861012345678", True, "fixed_line", "CN"),
    ("00923001234567", "+923001234567", True, "mobile", "PK"),  # 00; +230 01... is not valid
    ("0092 300 1234567", "+923001234567", True, "mobile", "PK"),
    # Europe, Africa, Russia/Kazakhstan, non-geographic codes
    ("+49 30 123456", "+4930123456", True, "fixed_line", "DE"),
    ("+49 1512 3456789", "+4915123456789", True, "mobile", "DE"),
    ("+49 900 1 234567", "+499001234567", True, "premium_rate", "DE"),
    ("+33 6 12 34 56 78", "+33612345678", True, "mobile", "FR"),
    ("+33 9 12 34 56 78", "+33912345678", True, "voip", "FR"),
    ("+27 82 123 4567", "+27821234567", True, "mobile", "ZA"),
    ("00233 24 123 4567", "+233241234567", True, "mobile", "GH"),
    ("+254 712 345678", "+254712345678", True, "mobile", "KE"),
    ("+7 495 123 45 67", "+74951234567", True, "fixed_line", "RU"),
    ("+7 701 123 4567", "+77011234567", True, "mobile", "KZ"),
    ("+7 800 555 3535", "+78005553535", True, "toll_free", "RU"),
    ("+61 1 4710 1234", "+61147101234", True, "voip", "AU"),
    ("+881 6 1234 5678", "+881612345678", True, "mobile", "001"),  # Iridium
    ("+800 1234 5678", "+80012345678", True, "toll_free", "001"),
    ("+54 9 11 1234 5678", "+5491112345678", True, "mobile", "AR"),
    # Not numbers, or not readable ones
    ("anonymous", "anonymous", False, "unknown", None),
    ("Anonymous", "Anonymous", False, "unknown", None),
    ("private", "private", False, "unknown", None),
    ("withheld", "withheld", False, "unknown", None),
    ("CLI withheld", "CLIwithheld", False, "unknown", None),
    ("ABC123", "ABC123", False, "unknown", None),
    ("0803XXC1702", "0803XXC1702", False, "unknown", None),
    ("++2348031234567", "++2348031234567", False, "unknown", None),
    ("", "", False, "unknown", None),
    ("0000000000", "+00000000", False, "unknown", None),  # read as 00 + 00000000: no country code 0
    ("+0123456789", "+0123456789", False, "unknown", None),
    ("0", "+234", False, "unknown", None),
    ("00", "+", False, "unknown", None),
    ("+234803123456789012345", "+234803123456789012345", False, "unknown", None),  # over 17 digits
    ("+999 1234 5678", "+99912345678", False, "unknown", None),  # no such country code
]


@pytest.mark.parametrize("engine", ENGINES)
def test_real_formats(engine):
    got = normalise([f[0] for f in FORMATS], engine=engine)
    wrong = {f[0]: (got[f[0]], f[1:]) for f in FORMATS if got[f[0]] != tuple(f[1:])}
    assert not wrong, wrong


def test_the_table_agrees_with_phonenumbers_directly():
    """The expectations above are phonenumbers' own answers for the reading (not hand-made guesses)."""
    for raw, *expected in FORMATS:
        assert normalise_value(raw) == tuple(expected), raw


def test_output_contract():
    con = duckdb.connect()
    con.execute("create table cdr_numbers (a_number varchar)")
    con.executemany("insert into cdr_numbers values (?)", [["08031234567"], ["08031234567"], [None], ["ABC"]])
    table = normalise_numbers(con, "cdr_numbers", output="dict_out")
    assert table == "dict_out"
    described = con.sql(f"describe {table}").fetchall()
    assert [(c[0], c[1]) for c in described] == list(zip(OUTPUT_COLUMNS, (
        "VARCHAR", "VARCHAR", "BOOLEAN", "VARCHAR", "VARCHAR")))
    rows = sorted(con.sql(f"select * from {table}").fetchall())
    assert rows == [("08031234567", "+2348031234567", True, "mobile", "NG"), ("ABC", "ABC", False, "unknown", None)]
    # A subquery works as the relation, and a persistent table can be asked for.
    normalise_numbers(con, "(select '+2348031234567' as n)", output="dict_perm", temporary=False)
    assert con.sql("select count(*) from duckdb_tables() where table_name = 'dict_perm' and not temporary").fetchall() == [(1,)]
    # No temporary working tables are left behind.
    assert con.sql("select count(*) from duckdb_tables() where table_name like '__numbers%'").fetchall() == [(0,)]
    with pytest.raises(ValueError):
        normalise_numbers(con, "(select 1 as a, 2 as b)")
    with pytest.raises(ValueError):
        normalise_numbers(con, "cdr_numbers", engine="perl")


def test_empty_and_all_invalid_dictionaries():
    assert normalise([]) == {}
    assert normalise(["anonymous", "+999123"]) == {
        "anonymous": ("anonymous", False, "unknown", None), "+999123": ("+999123", False, "unknown", None)}


@pytest.mark.parametrize("engine", ENGINES)
def test_international_prefix_ambiguity(engine):
    """Both 009 and 00 match: the valid reading wins; when both or neither are valid, the longest prefix."""
    got = normalise(["0092348031234567", "00971501234567", "0094420794609580", "009999"], engine=engine)
    assert got["0092348031234567"][0] == "+2348031234567"  # only 009 valid
    assert got["00971501234567"][0] == "+971501234567"  # only 00 valid
    # Both readings valid: +44 2079460958 0 is not, so build one where both are: +91 and +9 1...
    assert got["0094420794609580"] == ("+4420794609580", False, "unknown", None)  # neither valid: 009's
    assert got["009999"] == ("+999", False, "unknown", None)  # neither parses: 009's
    # +1 and +91: 009 1 212 555 0123 reads as +1 212 555 0123 (009) or +91 2125550123 (00); both valid.
    both = "00912125550123"
    assert phonenumbers.is_valid_number(phonenumbers.parse("+912125550123"))
    assert phonenumbers.is_valid_number(phonenumbers.parse("+12125550123"))
    assert normalise([both], engine=engine)[both][0] == "+12125550123"


@pytest.mark.parametrize("engine", ENGINES)
def test_home_conventions_are_settings(engine):
    uk = Settings.from_env({"SENTINEL_COUNTRY_CODE": "44", "SENTINEL_INTERNATIONAL_PREFIXES": "00"})
    got = normalise(["07400123456", "0092348031234567", "00441534456789", "7400123456", "447400123456"], uk, engine)
    assert got["07400123456"] == ("+447400123456", True, "mobile", "GB")
    assert got["0092348031234567"] == ("+92348031234567", False, "unknown", "PK")  # 009 is not a prefix here
    assert got["00441534456789"] == ("+441534456789", True, "fixed_line", "JE")
    assert got["7400123456"] == ("+447400123456", True, "mobile", "GB")
    assert got["447400123456"] == ("+447400123456", True, "mobile", "GB")
    nanp = Settings.from_env({"SENTINEL_COUNTRY_CODE": "1", "SENTINEL_NATIONAL_PREFIX": "1",
                              "SENTINEL_INTERNATIONAL_PREFIXES": "011"})
    got = normalise(["12125550123", "2125550123", "01144 20 7946 0958", "+1 268 464 1234"], nanp, engine)
    assert got["12125550123"] == ("+12125550123", True, "fixed_line_or_mobile", "US")
    assert got["2125550123"] == ("+12125550123", True, "fixed_line_or_mobile", "US")
    assert got["01144 20 7946 0958"] == ("+442079460958", True, "fixed_line", "GB")
    assert got["+1 268 464 1234"] == ("+12684641234", True, "mobile", "AG")
    # A country code phonenumbers does not know: nothing is valid, nothing breaks.
    odd = Settings.from_env({"SENTINEL_COUNTRY_CODE": "999"})
    assert normalise(["0123456789"], odd, engine)["0123456789"] == ("+999123456789", False, "unknown", None)


def test_numbering_plan_from_settings():
    plan = NumberingPlan.from_settings(Settings())
    assert (plan.country_code, plan.national_prefix, plan.international_prefixes) == ("234", "0", ("009", "00"))
    assert NumberingPlan("234", "0", ("00", "009")).international_prefixes == ("009", "00")
    with pytest.raises(ValueError):
        NumberingPlan("23a")


def _examples(seed: int) -> list[str]:
    """Every region's example numbers of every type, with some digits changed, in several presentations."""
    rng = random.Random(seed)
    out = []
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for t in NUMBER_TYPES:
            n = phonenumbers.example_number_for_type(region, t)
            if n is None:
                continue
            cc, nsn = str(n.country_code), phonenumbers.national_significant_number(n)
            for _ in range(2):
                k = rng.randrange(0, min(5, len(nsn)))
                mutated = nsn[: len(nsn) - k] + "".join(rng.choice("0123456789") for _ in range(k))
                out.append(rng.choice(("+", "00", "009", "+ ")) + cc + mutated)
                if cc == "234":
                    out.append("0" + mutated)
    return out


def test_sql_engine_agrees_with_phonenumbers_on_a_large_seeded_sample():
    values = sorted(set(synthetic_dictionary(25_000, seed=7) + _examples(seed=7)))
    got = normalise(values)
    assert len(got) == len(values)
    wrong = {v: (got[v], normalise_value(v)) for v in values if got[v] != normalise_value(v)}
    assert not wrong, dict(list(wrong.items())[:20])


def test_combined_patterns_cut_into_pieces_agree(monkeypatch):
    """The combined expressions are cut into pieces by subject key (RE2's DFA budget); with tiny pieces
    (one country each, dispatched by key order) the answers are the same."""
    import sentinel_pipeline.numbers as numbers

    values = sorted(set(_examples(seed=3)))
    expected = normalise(values)
    monkeypatch.setattr(numbers, "_COMBINED_LIMIT", 300)
    numbers._combined.cache_clear()
    try:
        pieces = numbers._combined("fixed_other", tuple((cc, numbers._main_region(cc)) for cc in (44, 49, 86)))
        assert [key for key, _ in pieces] == ["CN", "DE", "GB"]
        assert normalise(values) == expected
    finally:
        numbers._combined.cache_clear()


def test_python_engine_in_two_processes_agrees_with_sql():
    values = synthetic_dictionary(25_000, seed=11)
    con = duckdb.connect()
    con.execute("create table v as select unnest($1::varchar[]) as raw", [values])
    normalise_numbers(con, "v", output="s")
    normalise_numbers(con, "v", output="p", engine="python", workers=2)
    assert con.sql("select count(*) from p").fetchall() == [(len(values),)]
    assert con.sql("select count(*) from (select * from s except select * from p)").fetchall() == [(0,)]


# A property test: raw values built from the pieces a switch sends, compared in batches.
_codes = sorted(COUNTRY_CODE_TO_REGION_CODE)
_digits = st.text(alphabet="0123456789", min_size=0, max_size=16)
# RE2's \s (what the SQL removes) is [\t\n\f\r ]: a vertical tab or a no-break space stays, in both engines.
_separator = st.sampled_from(["", "", "", " ", "-", "(", ")", ".", "/", "\t", "\n", "\r", "\f", "\x0b", "\xa0"])
_home = st.tuples(st.sampled_from(["", "0", "+234", "234", "00234", "009234", "+2340", "0234"]), _digits)
_foreign = st.tuples(
    st.sampled_from(["+", "00", "009", ""]), st.sampled_from(_codes).map(str), _digits
).map(lambda t: (t[0] + t[1], t[2]))
_junk = st.text(alphabet="0123456789+()- ./abcOXI\t\x0b\xa0٣", max_size=20).map(lambda s: ("", s))


@st.composite
def raw_numbers(draw):
    prefix, body = draw(st.one_of(_home, _foreign, _junk))
    if body and draw(st.booleans()):
        i = draw(st.integers(0, len(body)))
        body = body[:i] + draw(_separator) + body[i:]
    return prefix + body


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(raw_numbers(), min_size=1, max_size=150))
def test_property_sql_engine_is_phonenumbers(values):
    got = normalise(values)
    for v in set(values):
        assert got[v] == normalise_value(v), v
