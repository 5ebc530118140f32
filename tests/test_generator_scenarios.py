"""The generator's newer scenarios (interconnect, evasion, frontier, everything): determinism, the CDR
contract, labels, boxes.csv / roamers.csv, and the record properties each pattern promises
(docs/generator.md), checked on generated data with DuckDB."""

from __future__ import annotations

import csv
import re
from datetime import datetime, timezone

import duckdb
import pytest

from sentinel_pipeline.generator import BOX_COLUMNS, LABEL_COLUMNS, ROAMER_COLUMNS, SCENARIO_HELP, SCENARIOS, generate
from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator.evasion import MIMIC_VARIANTS
from sentinel_pipeline.generator.patterns import PATTERN_TYPES
from sentinel_pipeline.generator.scenarios import resolve
from sentinel_pipeline.settings import PROJECT_ROOT

START = datetime(2026, 11, 26, tzinfo=timezone.utc)  # a Thursday
T0 = int(START.timestamp())
NEW_SCENARIOS = ("interconnect", "evasion", "frontier", "everything")
NAT_TRUNKS = tuple(t[0] for t in nb.TRUNKS if t[1] == "national")
WITHHELD = r"(?i)^(anonymous|private|restricted|unknown|unavailable|withheld)$"


def _norm(col: str) -> str:
    """The brief's normalisation (234, national 0, international 00 / 009) to E.164 digits, in SQL."""
    return (f"case when {col} like '+%' then substr({col}, 2) when {col} like '009%' then substr({col}, 4) "
            f"when {col} like '00%' then substr({col}, 3) when {col} like '0%' then '234' || substr({col}, 2) "
            f"else {col} end")


def load(out) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"""
        create table c as select *, {_norm('a_number')} as a, {_norm('b_number')} as b,
            epoch(seizure_time::timestamptz)::bigint as t, duration_s::int as dur,
            epoch(answer_time::timestamptz)::bigint - epoch(seizure_time::timestamptz)::bigint as ring,
            (epoch(seizure_time::timestamptz)::bigint - {T0}) // 86400 as day,
            ((epoch(seizure_time::timestamptz)::bigint // 3600 + 1) % 24)::int as local_h
        from read_csv('{out}/cdr_*.csv', all_varchar = true)""")
    for name in ("labels", "boxes", "roamers"):
        con.execute(f"create table {name} as select * from read_csv('{out}/{name}.csv', all_varchar = true, header = true)")
    return con


def one(con, sql, *params):
    return con.execute(sql, list(params)).fetchone()


def rows(con, sql, *params):
    return con.execute(sql, list(params)).fetchall()


def subjects(con, fraud_type, variant=None, subject_type=None):
    sql = "select subject from labels where fraud_type = ?"
    params = [fraud_type]
    if variant:
        sql += " and variant = ?"
        params.append(variant)
    if subject_type:
        sql += " and subject_type = ?"
        params.append(subject_type)
    return [r[0] for r in con.execute(sql + " order by subject", params).fetchall()]


def peak_concurrency(intervals) -> int:
    events = sorted([(s, 1) for s, _ in intervals] + [(s + d, -1) for s, d in intervals])
    level = peak = 0
    for _, e in events:
        level += e
        peak = max(peak, level)
    return peak


@pytest.fixture(scope="module")
def interconnect(tmp_path_factory):
    out = tmp_path_factory.mktemp("interconnect")
    generate(out, START, 48, 800, 11, scenario="interconnect")
    return load(out)


@pytest.fixture(scope="module")
def evasion(tmp_path_factory):
    out = tmp_path_factory.mktemp("evasion")
    generate(out, START, 48, 800, 12, scenario="evasion")
    return load(out)


@pytest.fixture(scope="module")
def frontier(tmp_path_factory):
    out = tmp_path_factory.mktemp("frontier")
    generate(out, START, 96, 600, 13, scenario="frontier")
    return load(out)


@pytest.fixture(scope="module")
def everything(tmp_path_factory):
    out = tmp_path_factory.mktemp("everything")
    generate(out, START, 26, 500, 14, scenario="everything")
    return load(out)


# --------------------------------------------------------------------------- every new scenario
@pytest.mark.parametrize("scenario", NEW_SCENARIOS)
def test_new_scenarios_are_deterministic_whatever_the_workers(tmp_path, scenario):
    hours = 50 if scenario == "frontier" else 26  # across a block boundary, with fraud on the last day
    a = generate(tmp_path / "a", START, hours, 300, 5, scenario=scenario, file_minutes=60)
    b = generate(tmp_path / "b", START, hours, 300, 5, scenario=scenario, file_minutes=60, workers=2)
    assert [p.name for p in a.files] == [p.name for p in b.files]
    for x, y in zip(a.files + [a.labels_path, a.boxes_path, a.roamers_path],
                    b.files + [b.labels_path, b.boxes_path, b.roamers_path]):
        assert x.read_bytes() == y.read_bytes(), x.name
    c = generate(tmp_path / "c", START, hours, 300, 6, scenario=scenario, file_minutes=60)
    assert c.labels_path.read_bytes() != a.labels_path.read_bytes()


def test_scenario_help_names_every_scenario():
    assert set(SCENARIO_HELP) == set(SCENARIOS)
    assert set(NEW_SCENARIOS) <= set(SCENARIOS)


def test_trunk_patterns_never_take_the_last_two_genuine_trunks():
    counts = resolve("everything", 200_000)
    owned = sum(counts.get(k, 0) for k in ("cli_masking", "invalid_cli", "cli_masking_borrowed", "legit_roaming_trunk",
                                             "refiling", "withheld_cli_surge", "legit_holiday_trunk",
                                             "legit_withheld_trunk"))
    assert owned <= len(nb.INTERNATIONAL_TRUNKS) - 2
    assert resolve("frontier:refiling=20", 1000)["refiling"] == 8
    assert "withheld_cli_surge" not in resolve("frontier:refiling=20", 1000)


@pytest.mark.parametrize("name", ["interconnect", "evasion", "frontier", "everything"])
def test_contract_and_labels(request, name):
    con = request.getfixturevalue(name)
    assert one(con, "select count(*) = count(distinct record_id) from c")[0]
    assert one(con, "select count(*) from c where service not in ('voice', 'sms')")[0] == 0
    # voice: answered exactly when it has a duration; SMS: delivered ("answered" at once) with duration 0
    assert one(con, "select count(*) from c where service = 'voice' and (answer_time is null) <> (dur = 0)")[0] == 0
    assert one(con, "select count(*) from c where service = 'sms' and (dur <> 0 or ring is distinct from 0 "
                    "or release_cause <> '16')")[0] == 0
    assert one(con, "select count(*) from c where ring < 0")[0] == 0
    trunks = {r["trunk_id"] for r in csv.DictReader(open(PROJECT_ROOT / "reference" / "trunks.csv"))}
    used = {r[0] for r in rows(con, "select trunk_in from c union select trunk_out from c") if r[0]}
    assert used <= trunks
    assert one(con, "select count(*) from c where record_type in ('IGW_IN', 'IGW_OUT', 'TRANSIT') "
                    "and (imsi is not null or cell_id is not null)")[0] == 0
    assert one(con, "select count(*) from c where imsi is not null and cell_id is null")[0] == 0
    assert one(con, "select count(*) from c where imei is not null and not regexp_matches(imei, '^[0-9]{15}$')")[0] == 0
    assert one(con, "select min(t) >= ? and max(t) < ? from c", T0, T0 + 96 * 3600)[0]
    # labels: four columns, one label per subject, the subject formats, fraud types the patterns declare
    assert [d[0] for d in con.execute("select * from labels limit 0").description] == list(LABEL_COLUMNS)
    assert one(con, "select count(*) = count(distinct (subject_type, subject)) from labels")[0]
    assert one(con, "select count(*) from labels where variant is null")[0] == 0
    declared = {t for ts in PATTERN_TYPES.values() for t in ts}
    assert {r[0] for r in rows(con, "select distinct fraud_type from labels")} <= declared
    formats = {"msisdn": r"^\+[1-9]\d{6,14}$", "trunk": r"^INT_[A-Z]{3}\d\d$", "imei": r"^\d{15}$",
               "box": r"^BOX\d{3}$", "route": r"^INT_[A-Z]{3}\d\d:\d{1,3}$", "range": r"^\d{7}$"}
    for subject_type, subject in rows(con, "select subject_type, subject from labels"):
        assert re.match(formats[subject_type], subject), (subject_type, subject)
    assert [d[0] for d in con.execute("select * from boxes limit 0").description] == list(BOX_COLUMNS)
    assert [d[0] for d in con.execute("select * from roamers limit 0").description] == list(ROAMER_COLUMNS)


# -------------------------------------------------------------------------------- interconnect
def test_interconnect_spoof_legs_are_mtc_only_on_a_national_trunk(interconnect):
    con = interconnect
    cli_all = subjects(con, "impossible_concurrency")
    assert {v for (v,) in rows(con, "select distinct variant from labels where fraud_type = 'impossible_concurrency'")} \
        == {"interconnect_mtc_only", "interconnect_own_active"}
    for cli in cli_all:
        digits = cli[1:]
        owner_imsi = one(con, "select any_value(imsi) from c where record_type = 'MOC' and a = ?", digits)[0]
        spoof = rows(con, "select record_type, trunk_in, imsi, t, dur from c where a = ? "
                          "and record_type <> 'IGW_OUT' and (imsi is distinct from ? ) "
                          "and (record_type <> 'MTC' or trunk_in is not null)", digits, owner_imsi)
        assert len(spoof) >= 20, cli
        assert {r[0] for r in spoof} == {"MTC"}, cli  # no MOC, no IGW_IN, no TRANSIT leg of a spoofed call
        assert {r[1] for r in spoof} <= set(NAT_TRUNKS), cli
        assert all(r[2] is not None for r in spoof)  # the callee's IMSI, never the caller's
        assert peak_concurrency([(r[3], r[4]) for r in spoof if r[4] > 0]) >= 3, cli


def test_mtc_only_clis_have_no_originating_record_at_all(interconnect):
    con = interconnect
    for cli in subjects(con, "impossible_concurrency", "interconnect_mtc_only"):
        assert one(con, "select count(*) from c where a = ? and record_type <> 'MTC'", cli[1:])[0] == 0
        assert not cli[1:].startswith(tuple(f"234{p}" for p in nb.OWN_MOBILE_PREFIXES))


def test_own_active_owner_calls_during_the_spoofing_and_on_net_legs_are_twins(interconnect):
    con = interconnect
    for cli in subjects(con, "impossible_concurrency", "interconnect_own_active"):
        digits = cli[1:]
        mocs = rows(con, "select t, dur, imsi, imei from c where record_type = 'MOC' and a = ?", digits)
        assert len(mocs) >= 5 and len({(m[2], m[3]) for m in mocs}) == 1  # one handset: the real owner
        spoofed = [r[0] for r in rows(con, "select t from c where record_type = 'MTC' and a = ? and trunk_in like 'NAT_%'",
                                      digits)]
        during = sum(any(0 <= m[0] - s <= 300 for s in spoofed) for m in mocs)
        assert during >= 2, cli  # genuine MOC legs while the spoofed MTC legs run
        # An on-net call of the owner is an MOC and an MTC with the same seizure time and duration and no
        # trunk: the same call, not a second one.
        twins = one(con, """
            select count(*), count(m.t) from c x left join c m on m.record_type = 'MOC' and m.a = x.a
                and m.b = x.b and m.t = x.t and m.dur = x.dur
            where x.record_type = 'MTC' and x.a = ? and x.trunk_in is null""", digits)
        assert twins[0] >= 1 and twins[0] == twins[1]


def test_roamers_are_listed_and_silent_at_home_while_abroad(interconnect):
    con = interconnect
    roamers = subjects(con, "legit_roamer", "roaming_period")
    feed = {m: (f, t) for m, f, t in rows(con, "select msisdn, epoch(\"from\"::timestamptz)::bigint, "
                                               "epoch(\"to\"::timestamptz)::bigint from roamers")}
    assert set(roamers) == set(feed) and len(roamers) >= 2 * 16
    for number in roamers:
        lo, hi = feed[number]
        assert lo < T0 + 48 * 3600 and hi > T0
        home = one(con, "select count(*) from c where t >= ? and t < ? and imsi is not null "
                        "and ((record_type = 'MOC' and a = ?) or (record_type = 'MTC' and b = ?))",
                   lo, hi, number[1:], number[1:])[0]
        assert home == 0, number


def test_roaming_trunks_carry_over_ten_roamers_a_day_at_one_to_two_percent(interconnect):
    con = interconnect
    roamers = [s[1:] for s in subjects(con, "legit_roamer", "roaming_period")]
    for trunk in subjects(con, "legit_roaming_trunk"):
        for day in (0, 1):
            calls, national, distinct = one(con, """
                select count(*), count(*) filter (where a like '234%'), count(distinct a) filter (where a like '234%')
                from c where record_type = 'IGW_IN' and trunk_in = ? and day = ?""", trunk, day)
            assert distinct > 10, (trunk, day)
            assert 0.005 <= national / calls <= 0.03, (trunk, day, national / calls)
            clis = {r[0] for r in rows(con, "select distinct a from c where record_type = 'IGW_IN' and trunk_in = ? "
                                            "and a like '234%' and day = ?", trunk, day)}
            assert clis <= set(roamers)


def test_masking_trunk_borrows_numbers_of_subscribers_active_at_home(interconnect):
    con = interconnect
    (trunk,) = subjects(con, "cli_masking", "borrowed_own_clis")
    calls, national, distinct = one(con, """
        select count(*), count(*) filter (where a like '234%'), count(distinct a) filter (where a like '234%')
        from c where record_type = 'IGW_IN' and trunk_in = ?""", trunk)
    assert national / calls >= 0.5 and distinct >= 200
    own, at_home = one(con, """
        with masked as (select a, t from c where record_type = 'IGW_IN' and trunk_in = ? and a like '234%'),
        home as (select a, t from c where record_type = 'MOC' and imsi is not null)
        select avg(exists (select 1 from home h where h.a = m.a)::int),
               avg(exists (select 1 from home h where h.a = m.a and abs(h.t - m.t) <= 1200)::int)
        from masked m""", trunk)
    assert own >= 0.6  # most masked calls borrow the number of an own subscriber who calls from home
    assert at_home >= 0.25  # ... often within 20 minutes of the masked call
    roaming = {r[0][1:] for r in rows(con, "select msisdn from roamers")}
    masked = {r[0] for r in rows(con, "select distinct a from c where record_type = 'IGW_IN' and trunk_in = ?", trunk)}
    assert not masked & roaming


def test_offnet_pbx_pilot_is_a_fixed_line_in_many_calls_at_once(interconnect):
    con = interconnect
    for number in subjects(con, "legit_offnet_pbx"):
        legs = rows(con, "select t, dur, trunk_in from c where record_type = 'MTC' and a = ?", number[1:])
        assert {r[2] for r in legs} == {"NAT_FXN01"}
        assert peak_concurrency([(t, d) for t, d, _ in legs if d > 0]) >= 4
        assert not number[1:].startswith(tuple(f"234{p}" for p in nb.ALL_MOBILE_PREFIXES.tolist()))


# ------------------------------------------------------------------------------------ evasion
def _box_sims(con, variant):
    return [s[1:] for s in subjects(con, "simbox_mimic", variant, "msisdn")]


def test_boxes_csv_lists_every_member_and_pairing(evasion):
    con = evasion
    assert {v for (v,) in rows(con, "select distinct variant from labels where subject_type = 'box'")} == set(MIMIC_VARIANTS)
    members = {r[0] for r in rows(con, "select distinct msisdn from boxes")}
    assert members == set(subjects(con, "simbox_mimic", subject_type="msisdn"))
    assert {r[0] for r in rows(con, "select distinct box_id from boxes")} == set(subjects(con, "simbox_mimic",
                                                                                           subject_type="box"))
    seen = rows(con, """select count(*) from (select distinct '+' || a as msisdn, imei, imsi from c
                        where record_type = 'MOC' and '+' || a in (select msisdn from boxes)) s
                        anti join boxes using (msisdn, imei, imsi)""")
    assert seen[0][0] == 0  # every SIM / module / IMSI combination in the records is in boxes.csv
    # one gateway per box: one TAC (first 8 IMEI digits)
    assert one(con, "select max(n) from (select count(distinct substr(imei, 1, 8)) n from boxes group by box_id)")[0] == 1


def _per_sim(con, sims, sql):
    return {s: one(con, sql, s) for s in sims}


def test_box_mates_call_each_other_so_every_sim_receives(evasion):
    con = evasion
    sims = _box_sims(con, "box_mates_call")
    box_of = dict(rows(con, "select substr(msisdn, 2), box_id from boxes"))
    for sim in sims:
        received = rows(con, "select a from c where record_type = 'MTC' and b = ?", sim)
        made = one(con, "select count(*) from c where record_type = 'MOC' and a = ?", sim)[0]
        assert received and all(box_of.get(a) == box_of[sim] for (a,) in received), sim
        assert len(received) / made >= 0.05
    for sim in _box_sims(con, "one_imei_per_sim") + _box_sims(con, "multi_cell"):
        assert one(con, "select count(*) from c where record_type = 'MTC' and b = ?", sim)[0] == 0


def test_one_imei_per_sim_and_module_rotation(evasion):
    con = evasion
    sims = _box_sims(con, "one_imei_per_sim")
    per_sim = rows(con, "select a, count(distinct imei), any_value(imei) from c where record_type = 'MOC' "
                        "and a in (select unnest(?)) group by a", sims)
    assert len(per_sim) == len(sims) and all(n == 1 for _, n, _ in per_sim)
    assert len({imei for _, _, imei in per_sim}) == len(sims)
    assert len({imei[:8] for _, _, imei in per_sim}) == 1  # one gateway model
    rot = _box_sims(con, "module_rotation")
    imeis_per_sim = rows(con, "select count(distinct imei) from c where record_type = 'MOC' and a in "
                              "(select unnest(?)) group by a", rot)
    imsis_per_imei = rows(con, "select count(distinct imsi) from c where record_type = 'MOC' and a in "
                               "(select unnest(?)) group by imei", rot)
    assert min(n for (n,) in imeis_per_sim) >= 3 and min(n for (n,) in imsis_per_imei) >= 3
    base = _box_sims(con, "diurnal")  # the base layout: SIMs taking turns on shared modules
    assert max(n for (n,) in rows(con, "select count(distinct imsi) from c where record_type = 'MOC' and "
                                       "a in (select unnest(?)) group by imei", base)) >= 2


def test_boxes_spread_over_cells_or_moved(evasion):
    con = evasion
    cells = lambda sims, extra="": one(con, f"select count(distinct cell_id) from c where record_type = 'MOC' "  # noqa: E731
                                            f"and a in (select unnest(?)) {extra}", sims)[0]
    assert 2 <= cells(_box_sims(con, "multi_cell")) <= 3 * 2  # each box 2-3 neighbouring cells
    for (box,) in rows(con, "select subject from labels where subject_type = 'box' and variant = 'multi_cell'"):
        members = [r[0] for r in rows(con, "select distinct substr(msisdn, 2) from boxes where box_id = ?", box)]
        assert 2 <= cells(members) <= 3
    for (box,) in rows(con, "select subject from labels where subject_type = 'box' and variant = 'moved_daily'"):
        members = [r[0] for r in rows(con, "select distinct substr(msisdn, 2) from boxes where box_id = ?", box)]
        assert cells(members) >= 2  # a move each night
        for day in (0, 1):
            assert cells(members, f"and day = {day}") <= 2  # before and after that day's move
    for variant in ("one_imei_per_sim", "repeat_destinations", "human_durations"):
        for sim in _box_sims(con, variant):
            assert cells([sim]) == 1


def test_repeats_durations_and_day_shape(evasion):
    con = evasion
    fresh = lambda sim: one(con, "select count(distinct b) / count(*) from c where record_type = 'MOC' "  # noqa: E731
                                 "and a = ? and day = 0", sim)[0]
    repeats = [fresh(s) for s in _box_sims(con, "repeat_destinations")]
    assert max(repeats) < 0.9 and sum(repeats) / len(repeats) < 0.8
    assert min(fresh(s) for s in _box_sims(con, "one_imei_per_sim")) >= 0.9
    dur = lambda variant: one(con, "select min(dur), max(dur), avg((dur > 180)::int), median(ring) from c "  # noqa: E731
                                   "where record_type = 'MOC' and dur > 0 and a in (select unnest(?))",
                              _box_sims(con, variant))
    lo, hi, long_share, _ = dur("multi_cell")
    assert lo >= 30 and hi <= 180  # the base box: clipped calls
    lo, hi, long_share, ring = dur("human_durations")
    assert lo < 30 and hi > 300 and long_share > 0.1 and ring >= 5
    night = lambda variant: one(con, "select avg((local_h < 6)::int) from c where record_type = 'MOC' "  # noqa: E731
                                     "and a in (select unnest(?))", _box_sims(con, variant))[0]
    assert night("diurnal") < 0.08 < night("multi_cell")


def test_combined_box_has_every_evasion_but_rotation(evasion):
    con = evasion
    sims = _box_sims(con, "combined")
    received = one(con, "select count(*) from c where record_type = 'MTC' and b in (select unnest(?))", sims)[0]
    assert received > 0
    assert max(n for (n,) in rows(con, "select count(distinct imei) from c where record_type = 'MOC' "
                                       "and a in (select unnest(?)) group by a", sims)) == 1
    assert one(con, "select avg((local_h < 6)::int) from c where record_type = 'MOC' and a in (select unnest(?))",
               sims)[0] < 0.08


def test_sales_team_and_call_centre_sims_look_like_boxes_for_honest_reasons(evasion):
    con = evasion
    team = [s[1:] for s in subjects(con, "legit_sales_team")]
    cells, tacs, outside = one(con, """
        select count(distinct cell_id), count(distinct substr(imei, 1, 8)),
               count(*) filter (where local_h < 7 or local_h >= 19)
        from c where record_type = 'MOC' and a in (select unnest(?))""", team)
    assert cells == 1 and tacs == 1 and outside == 0  # one office, one handset model, office hours
    made, fresh = one(con, "select sum(n), avg(fresh) from (select count(*) n, count(distinct b) / count(*) fresh "
                           "from c where record_type = 'MOC' and a in (select unnest(?)) and day = 0 group by a)", team)
    assert made >= 8 * 30 and fresh > 0.8
    callbacks = one(con, "select count(*) from c where record_type = 'MTC' and b in (select unnest(?)) "
                         "and a not in (select unnest(?))", team, team)[0]
    assert callbacks > 0
    centre = [s[1:] for s in subjects(con, "legit_call_centre_sims")]
    cells, tacs, imeis = one(con, "select count(distinct cell_id), count(distinct substr(imei, 1, 8)), "
                                  "count(distinct imei) from c where record_type = 'MOC' and a in (select unnest(?))",
                             centre)
    assert cells == 1 and tacs == 1 and imeis == len(centre)
    assert str(imei := one(con, "select any_value(imei) from c where a in (select unnest(?))", centre)[0])[:8] in {
        str(t) for t in nb.GATEWAY_TACS.tolist()}, imei
    assert one(con, "select count(*) from c where record_type = 'MTC' and b in (select unnest(?))", centre)[0] > 50


def test_families_shops_and_couriers(evasion):
    con = evasion
    family = [s[1:] for s in subjects(con, "legit_family")]
    within = one(con, "select count(*) from c where record_type = 'MOC' and a in (select unnest(?)) "
                      "and b in (select unnest(?))", family, family)[0]
    assert within >= len(family) * 2
    # a household shares its home cell: where its members are in the evening and at night
    nights = rows(con, "select a, mode(cell_id) from c where imsi is not null and (local_h >= 18 or local_h < 7) "
                       "and a in (select unnest(?)) and record_type = 'MOC' group by a", family)
    assert len({cell for _, cell in nights}) < len(nights)
    shop = [s[1:] for s in subjects(con, "legit_small_business")]
    assert one(con, "select count(distinct b) / count(*) from c where record_type = 'MOC' and a in (select unnest(?))",
               shop)[0] < 0.7  # the same customers again and again
    for driver in (s[1:] for s in subjects(con, "legit_delivery_driver")):
        assert one(con, "select count(distinct cell_id) from c where record_type = 'MOC' and a = ? and day = 0",
                   driver)[0] >= 8


# ----------------------------------------------------------------------------------- frontier
FRAUD_DAY = 3  # a 96-hour run: three clean days, then the fraud


def test_frontier_fraud_starts_after_three_clean_days(frontier):
    con = frontier
    farm = [s[1:] for s in subjects(con, "sms_simfarm")]
    assert one(con, "select min(day) from c where a in (select unnest(?))", farm)[0] == FRAUD_DAY
    for prefix in subjects(con, "wangiri_range"):
        assert one(con, "select min(day) from c where record_type = 'IGW_IN' and a like ? || '%'", prefix)[0] == FRAUD_DAY


def test_frontier_on_short_runs_puts_the_fraud_on_the_last_day(tmp_path):
    s = generate(tmp_path, START, 30, 300, 3, scenario="frontier:background_sms=0", file_minutes=60)
    con = load(s.out_dir)
    farm = [x[1:] for x in subjects(con, "sms_simfarm")]
    assert one(con, "select min(day), max(day) from c where a in (select unnest(?))", farm) == (1, 1)


def test_sms_farms_text_many_distinct_recipients_and_nothing_else(frontier):
    con = frontier
    assert {v for (v,) in rows(con, "select distinct variant from labels where fraud_type = 'sms_simfarm'")} == {
        "bulk", "low_and_slow"}
    for sim in (s[1:] for s in subjects(con, "sms_simfarm")):
        services, types, sent, distinct, cells = one(con, """
            select list(distinct service), list(distinct record_type), count(*), count(distinct b), count(distinct cell_id)
            from c where a = ? and record_type = 'MOC'""", sim)
        assert services == ["sms"] and sent >= 30 and distinct >= 0.9 * sent and cells == 1, sim
        assert one(con, "select count(*) from c where b = ? and record_type = 'MTC'", sim)[0] == 0
    # ordinary people text too, and the texters' SMS go to a few friends who answer
    assert one(con, "select count(distinct a) from c where service = 'sms' and record_type = 'MOC'")[0] > 300
    for texter in (s[1:] for s in subjects(con, "legit_texter")):
        sent, friends = one(con, "select count(*), count(distinct b) from c where service = 'sms' "
                                 "and record_type = 'MOC' and a = ? and day = 0", texter)
        received = one(con, "select count(*) from c where service = 'sms' and record_type = 'MTC' and b = ? "
                            "and day = 0", texter)[0]
        assert sent >= 60 and friends <= 40 and received >= 0.5 * sent


def _route(con, route, day):
    """calls, answer-seizure ratio, share of answered calls lasting exactly 1 s, share of the commonest
    answered duration, median ring time of answered calls: of a route on one day."""
    trunk, cc = route.split(":")
    where = "record_type = 'IGW_OUT' and trunk_out = ? and b like ? || '%' and day = ?"
    calls, asr, one_s, ring = one(con, f"""
        select count(*), avg((dur > 0)::int), avg((dur = 1)::int) filter (where dur > 0),
               median(ring) filter (where dur > 0) from c where {where}""", trunk, cc, day)
    top = one(con, f"select max(n) / sum(n) from (select count(*) n from c where {where} and dur > 0 group by dur)",
              trunk, cc, day)[0]
    return calls, asr, one_s, top, ring


def test_false_answer_routes_jump_against_their_own_baseline(frontier):
    con = frontier
    labelled = dict(rows(con, "select subject, variant from labels where fraud_type = 'false_answer'"))
    assert set(labelled.values()) == {"one_second", "identical_durations", "no_ringing"}
    for route, variant in labelled.items():
        for day in range(FRAUD_DAY):
            calls, asr, one_s, top_share, ring = _route(con, route, day)
            assert calls >= 100 and asr < 0.7 and one_s < 0.05 and ring >= 4, (route, day)
        calls, asr, one_s, top_share, ring = _route(con, route, FRAUD_DAY)
        assert asr > 0.8, (route, asr)
        if variant == "one_second":
            assert one_s > 0.25
        elif variant == "identical_durations":
            assert top_share > 0.25
        else:
            assert ring <= 1
    (peak,) = subjects(con, "legit_route_peak")
    base = _route(con, peak, 0)
    calls, asr, one_s, top_share, ring = _route(con, peak, FRAUD_DAY)
    assert calls >= 1.5 * base[0] and asr < 0.8 and one_s < 0.05 and ring >= 4


_CODES = sorted((str(c[0]) for c in nb.FOREIGN_COUNTRIES), key=len, reverse=True)


def _mix(con, trunk, day):
    """Country mix of the CLIs (withheld ones left out) arriving on a trunk on one day: cc -> (share,
    calls, distinct CLIs); numbers outside FOREIGN_COUNTRIES count as 'other'."""
    found = rows(con, "select a from c where record_type = 'IGW_IN' and trunk_in = ? and day = ? "
                      "and not regexp_matches(a_number, ?)", trunk, day, WITHHELD)
    by_cc: dict[str, list[str]] = {}
    for (a,) in found:
        cc = next((code for code in _CODES if a.startswith(code)), "other")
        by_cc.setdefault(cc, []).append(a)
    return {cc: (len(v) / len(found), len(v), len(set(v))) for cc, v in by_cc.items()}


def test_refiling_shifts_the_trunks_country_mix_with_fresh_clis(frontier):
    con = frontier
    for trunk, variant in rows(con, "select subject, variant from labels where fraud_type = 'refiling'"):
        base, after = _mix(con, trunk, 0), _mix(con, trunk, FRAUD_DAY)
        gain = {cc: after[cc][0] - base.get(cc, (0,))[0] for cc in after if cc != "other"}
        cc = max(gain, key=gain.get)
        assert gain[cc] > 0.15, (trunk, gain)
        if variant == "origin_relabel":  # a country the partner never carried (only ordinary traffic's strays)
            assert base.get(cc, (0,))[0] < 0.05, (trunk, cc, base)
        # a fresh CLI for almost every refiled call, where the baseline's callers recur
        refiled = after[cc][1] - base.get(cc, (0, 0))[1]
        assert after[cc][2] - base.get(cc, (0, 0, 0))[2] >= 0.8 * refiled
        top = max(base, key=lambda k: base[k][1])
        assert base[top][2] < 0.9 * base[top][1]


def test_holiday_trunk_shifts_with_the_usual_callers(frontier):
    con = frontier
    (trunk,) = subjects(con, "legit_holiday_trunk")
    seen, total = one(con, """
        with base as (select distinct a from c where record_type = 'IGW_IN' and trunk_in = ? and day < ?),
        holiday as (select a from c where record_type = 'IGW_IN' and trunk_in = ? and day = ?)
        select count(*) filter (where a in (select a from base)), count(*) from holiday""",
                      trunk, FRAUD_DAY, trunk, FRAUD_DAY)
    assert seen >= 0.6 * total  # the usual callers, not fresh numbers
    base, holiday = _mix(con, trunk, 0), _mix(con, trunk, FRAUD_DAY)
    cc = max(holiday, key=lambda k: holiday[k][0] - base.get(k, (0,))[0])
    assert holiday[cc][1] >= 2 * base[cc][1] and holiday[cc][0] - base[cc][0] > 0.1


def _withheld(con, trunk, day):
    return one(con, "select avg(regexp_matches(a_number, ?)::int) from c where record_type = 'IGW_IN' "
                    "and trunk_in = ? and day = ?", WITHHELD, trunk, day)[0]


def test_withheld_cli_surges_against_the_trunks_usual_share(frontier):
    con = frontier
    for trunk, variant in rows(con, "select subject, variant from labels where fraud_type = 'withheld_cli_surge'"):
        assert all(_withheld(con, trunk, d) < 0.05 for d in range(FRAUD_DAY))
        assert _withheld(con, trunk, FRAUD_DAY) > (0.12 if variant == "step" else 0.04), (trunk, variant)
    (steady,) = subjects(con, "legit_withheld_trunk")
    shares = [_withheld(con, steady, d) for d in range(FRAUD_DAY + 1)]
    assert min(shares) > 0.04 and max(shares) < 0.2 and max(shares) < 2 * min(shares)
    spellings = {r[0] for r in rows(con, "select distinct a_number from c where regexp_matches(a_number, ?)", WITHHELD)}
    assert {"anonymous", "private", "restricted"} <= {s.lower() for s in spellings}


def test_wangiri_ranges_stay_under_the_per_number_threshold(frontier):
    con = frontier
    for prefix, variant in rows(con, "select subject, variant from labels where fraud_type = 'wangiri_range'"):
        numbers, victims, busiest, answered = one(con, """
            with r as (select a, b, dur from c where record_type = 'IGW_IN' and day = ? and a like ? || '%')
            select count(distinct a), count(distinct b), (select max(n) from (select count(distinct b) n from r group by a)),
                   avg((dur > 0)::int) from r""", FRAUD_DAY, prefix)
        assert numbers >= 20 and busiest < 20 and victims >= 100 and answered < 0.1, (prefix, numbers, busiest, victims)
        assert prefix.startswith(nb.WANGIRI_SOURCES)
        if variant == "sequential_victims":
            order = [r[0] for r in rows(con, "select b from c where record_type = 'IGW_IN' and day = ? and a like ? || '%' "
                                             "order by t, record_id", FRAUD_DAY, prefix)]
            ascending = sum(x < y for x, y in zip(order, order[1:]))
            assert ascending >= 0.6 * len(order)  # the dialler walks the numbering block (in bursts)
    (pbx,) = subjects(con, "legit_foreign_pbx_range")
    numbers, busiest, answered = one(con, """
        with r as (select a, b, dur from c where record_type = 'IGW_IN' and day = 0 and a like ? || '%')
        select count(distinct a), (select max(n) from (select count(distinct b) n from r group by a)),
               avg((dur > 0)::int) from r""", pbx)
    assert numbers >= 15 and busiest < 20 and answered > 0.5
