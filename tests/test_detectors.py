"""The six raw-CDR detectors on hand-made CDRs, either side of every threshold.

Each test builds a few CDRs as the switch would send them (raw numbers, normalised with the pipeline's
own number reading, ``sentinel_pipeline.numbers``), runs the detector's SQL in a DuckDB session prepared like ``run_raw_detector`` does (view
``cdrs``, table ``targets``, reference tables from ``reference/``) and looks at the detections.
"""

import json
from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from sentinel_pipeline import duck, reference
from sentinel_pipeline.numbers import normalise_numbers
from sentinel_pipeline.detectors import (
    cli_masking,
    impossible_concurrency,
    invalid_cli,
    irsf,
    simbox_profile,
    wangiri,
)
from sentinel_pipeline.settings import PROJECT_ROOT, Settings

HOUR = datetime(2026, 11, 26, 13, tzinfo=timezone.utc)
SETTINGS = Settings()
COLUMNS = ("record_id", "seizure_time", "answer_time", "duration_s", "a_number_raw", "b_number_raw",
           "record_type", "trunk_in", "trunk_out", "imsi", "imei", "cell_id", "service")


class Cdrs:
    """Hand-made CDRs: ``add`` one call, ``detect`` runs a detector's SQL over them for HOUR."""

    def __init__(self):
        self.rows = []
        self.roaming = []  # (msisdn, from, to): the operator's roaming feed (reference/roaming.csv)

    def add(self, a, b, *, at=HOUR + timedelta(minutes=5), duration=60, record_type="MOC", trunk_in=None,
            trunk_out=None, imsi=None, imei=None, cell=None, answered=None, service="voice", ring=5):
        answered = duration > 0 if answered is None else answered
        answer_time = at + timedelta(seconds=ring) if answered else None
        self.rows.append((f"r{len(self.rows)}", at, answer_time, duration, a, b, record_type, trunk_in,
                          trunk_out, imsi, imei, cell, service))
        return self

    def session(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB session with the view ``cdrs`` over these CDRs and the reference tables."""
        con = duckdb.connect()
        con.execute("set TimeZone = 'UTC'")
        reference.register_duckdb(con, reference.load(PROJECT_ROOT / "reference"))
        if self.roaming:
            con.executemany("insert into ref_roaming values (?, ?, ?)", self.roaming)
        con.execute(
            "create table src (record_id varchar, seizure_time timestamptz, answer_time timestamptz, "
            "duration_s integer, a_number_raw varchar, b_number_raw varchar, record_type varchar, "
            "trunk_in varchar, trunk_out varchar, imsi varchar, imei varchar, cell_id varchar, service varchar)"
        )
        if self.rows:
            con.executemany(f"insert into src values ({', '.join('?' * len(COLUMNS))})", self.rows)
        numbers = normalise_numbers(con, "(select a_number_raw from src union select b_number_raw from src)", SETTINGS)
        con.execute(
            f"""create view cdrs as
            select src.*, a.e164 as a_number, coalesce(a.valid, false) as a_valid, a.number_type as a_type,
                   a.region as a_region, b.e164 as b_number, coalesce(b.valid, false) as b_valid,
                   b.number_type as b_type, b.region as b_region,
                   16::smallint as release_cause, 1::bigint as file_id,
                   row_number() over () as line,
                   {duck.hour_sql('seizure_time', SETTINGS)} as hour
            from src
            left join {numbers} a on a.raw = src.a_number_raw
            left join {numbers} b on b.raw = src.b_number_raw"""
        )
        return con

    def write_lake(self, settings: Settings) -> None:
        """Write these CDRs as the raw_cdrs lake file of HOUR, as ingest does."""
        from sentinel_pipeline import ingest, lake

        con = self.session()
        settings.lake.write_parquet(con, f"select {ingest.LAKE_COLUMNS} from cdrs",
                           lake.hour_key(ingest.ASSET, HOUR))

    def detect(self, sql: str) -> dict[str, dict]:
        con = self.session()
        con.execute("create table targets (hour timestamptz)")
        con.execute("insert into targets values (?)", [HOUR])
        relation = con.sql(sql)
        found = {}
        for values in relation.fetchall():
            row = dict(zip(relation.columns, values))
            row["metrics"] = json.loads(row["metrics"])
            assert 0 <= row["score"] <= 1 and row["severity"] in ("LOW", "MEDIUM", "HIGH", "CRITICAL")
            found[row["subject"]] = row
        return found


def mobile(i: int) -> str:
    """A valid, allocated own mobile number, national format."""
    return f"0803{1000000 + i:07d}"


def e164(national: str) -> str:
    return "+234" + national[1:]


# ------------------------------------------------------------------------------------ simbox_profile
SIM = "08069990001"


def sim_box(calls=20, distinct=None, received=0, cells=1, imei="358000000000011", at_night=False):
    distinct = calls if distinct is None else distinct
    c = Cdrs()
    for i in range(calls):
        at = HOUR - timedelta(hours=(2 if at_night else 0)) + timedelta(minutes=i % 50)
        c.add(SIM, mobile(i % distinct), at=at, duration=40, imsi="621300000000001", imei=imei,
              cell=f"621-30-1-{i % cells}")
    for i in range(received):
        c.add(mobile(500 + i), SIM, record_type="MTC", imsi="621300000000001", imei=imei, cell="621-30-1-0")
    return c


def simbox(c: Cdrs, **params) -> dict:
    # Hand-made sets cover an hour or two; the window-coverage gate has its own test below.
    params.setdefault("min_hours_with_data", 1)
    return c.detect(simbox_profile.detect_sql(simbox_profile.SimboxProfileParams(**params), SETTINGS))


def test_simbox_profile_waits_for_a_window_mostly_covered_by_traffic():
    c = sim_box(calls=20)
    assert simbox(c, min_hours_with_data=20) == {}  # only one hour of anyone's traffic: cold start
    for h in range(1, 20):  # somebody else's calls in 19 earlier hours: 20 hours with data
        c.add(mobile(900), mobile(901), at=HOUR - timedelta(hours=h), imsi="621300000000900", cell="621-30-9-0")
    assert e164(SIM) in simbox(c, min_hours_with_data=20)
    assert simbox(c, min_hours_with_data=21) == {}


def test_simbox_profile_destination_gate():
    assert e164(SIM) in simbox(sim_box(calls=12))
    assert simbox(sim_box(calls=11)) == {}


def test_simbox_profile_requires_almost_no_incoming_calls():
    found = simbox(sim_box(calls=20, received=1))  # 1/20 = 0.05, the limit
    assert found[e164(SIM)]["metrics"]["conditions"]["no_incoming"]["tripped"] is True
    assert simbox(sim_box(calls=20, received=2)) == {}  # 0.10


def test_simbox_profile_needs_two_supporting_signals():
    # one cell + fresh destinations: 2 signals
    row = simbox(sim_box(calls=20))[e164(SIM)]
    assert row["metrics"]["supporting_signals"] == 2 and row["severity"] in ("MEDIUM", "HIGH")
    # moving between 2 cells leaves only fresh destinations: not a SIM box profile
    assert simbox(sim_box(calls=20, cells=2)) == {}
    # 18 of 20 distinct (0.90) is still fresh; 17 (0.85) is not
    assert e164(SIM) in simbox(sim_box(calls=20, distinct=18))
    assert simbox(sim_box(calls=20, distinct=17)) == {}
    # the rule's parameter: one signal is enough when asked
    assert e164(SIM) in simbox(sim_box(calls=20, cells=2), min_supporting_signals=1)


def office(sims: int, strangers: int) -> Cdrs:
    """``sims`` SIMs in handsets of one model in one cell, each calling 50 fresh numbers; ``strangers``
    answered calls received, one each by the SIMs after the first."""
    c = Cdrs()
    for s in range(sims):
        for i in range(50):
            c.add(f"0806997{s:04d}", mobile(100 * s + i), at=HOUR + timedelta(minutes=i), duration=60,
                  imsi=f"62130000007{s:04d}", imei=f"35332509{s:06d}0", cell="621-30-2-1")
    for k in range(strangers):
        s = 1 + k % (sims - 1)
        c.add(mobile(900 + k), f"0806997{s:04d}", record_type="MTC", imsi=f"62130000007{s:04d}",
              imei=f"35332509{s:06d}0", cell="621-30-2-1")
    return c


def test_simbox_profile_judges_a_site_of_several_sims_as_a_whole():
    first = e164("08069970000")
    # three SIMs of one model in one place that nobody outside calls: a box, every SIM
    assert len(simbox(office(3, strangers=0))) == 3
    # two answered calls from outside for 150 made (0.013): an office whose customers call back; each
    # SIM alone (0 or 1 received for 50 made) would look like a box's
    assert simbox(office(3, strangers=2)) == {}
    assert first in simbox(office(3, strangers=2), max_site_outside_ratio=0.02)
    # two SIMs are not a site to judge
    row = simbox(office(2, strangers=1))[first]
    assert (row["metrics"]["site_sims"], row["metrics"]["site_outside_received"]) == (2, 1)


def shared_handset(imsis: int) -> Cdrs:
    c = Cdrs()
    for s in range(imsis):
        for i in range(6):
            c.add(f"0806999{s:04d}", mobile(100 * s + i), at=HOUR + timedelta(minutes=10 * s + i), duration=90,
                  imsi=f"62130000000{s:04d}", imei="358000000000099", cell=f"621-30-1-{s}")
    return c


def test_simbox_profile_handset_with_three_sims():
    found = simbox(shared_handset(3))
    handset = found["358000000000099"]
    assert handset["subject_type"] == "imei"
    assert handset["metrics"]["imsis"] == 3 and len(handset["metrics"]["msisdns"]) == 3
    assert simbox(shared_handset(2)) == {}  # a dual-SIM phone


def test_simbox_profile_night_and_short_calls_raise_the_score():
    day = simbox(sim_box(calls=20))[e164(SIM)]
    night = simbox(sim_box(calls=20, at_night=False), min_night_share=0.0)[e164(SIM)]
    assert night["score"] > day["score"]


# --------------------------------------------------------------------------------------- cli_masking
def masking(national_calls: int, distinct: int | None = None, trunk="INT_LON01", record_type="IGW_IN",
            cli=mobile) -> Cdrs:
    distinct = national_calls if distinct is None else distinct
    c = Cdrs()
    for i in range(national_calls):
        c.add(cli(i % distinct), mobile(900 + i), record_type=record_type, trunk_in=trunk)
    for i in range(30):  # genuine foreign traffic on the same trunk
        c.add(f"+4420795{i:05d}", mobile(700 + i), record_type=record_type, trunk_in=trunk)
    return c


def masked(c: Cdrs, **params) -> dict:
    return c.detect(cli_masking.detect_sql(cli_masking.CliMaskingParams(**params), SETTINGS))


def test_cli_masking_thresholds():
    row = masked(masking(10))["INT_LON01"]
    assert row["subject_type"] == "trunk"
    m = row["metrics"]
    assert m["national_cli_calls"] == 10 and m["distinct_national_clis"] == 10 and m["calls"] == 40
    assert m["conditions"]["min_distinct_clis"] == {"value": 10, "op": ">=", "threshold": 10, "tripped": True}
    assert len(m["example_clis"]) == 5
    assert masked(masking(9)) == {}
    # a roamer calling home many times is one CLI, not masking
    assert masked(masking(40, distinct=9)) == {}


def test_cli_masking_only_counts_valid_allocated_numbers_on_international_trunks():
    assert masked(masking(20, cli=lambda i: f"0819{1000000 + i:07d}")) == {}  # unallocated: invalid_cli's
    assert masked(masking(20, trunk="NAT_PMB01", record_type="MTC")) == {}  # national interconnect
    # an international trunk by reference data, even when the record type is not IGW_IN
    assert "INT_PAR01" in masked(masking(20, trunk="INT_PAR01", record_type="TRANSIT"))


def roamers_calling_home(c: Cdrs, n: int, calls_each: int = 2, trunk="INT_LON01", at=HOUR) -> list[str]:
    """``n`` own subscribers abroad calling home over ``trunk`` (none of them makes a call at home)."""
    clis = [mobile(300 + i) for i in range(n)]
    for k in range(calls_each):
        for i, cli in enumerate(clis):
            c.add(cli, mobile(600 + i), at=at + timedelta(minutes=k * 20 + i % 20), record_type="IGW_IN",
                  trunk_in=trunk)
    return clis


def partner_traffic(c: Cdrs, calls: int, trunk="INT_LON01", at=HOUR) -> None:
    for i in range(calls):
        c.add(f"+4420795{i % 10000:05d}", mobile(1000 + i % 500), at=at + timedelta(seconds=i % 3000),
              record_type="IGW_IN", trunk_in=trunk)


def test_cli_masking_a_partner_carrying_roamers_is_not_masking():
    c = Cdrs()
    partner_traffic(c, 1500)
    roamers_calling_home(c, 15)  # 30 national CLIs of 1530 calls: 2 %
    assert masked(c) == {}


def test_cli_masking_borrowed_numbers_whose_owners_are_at_home():
    c = Cdrs()
    partner_traffic(c, 1500)
    clis = roamers_calling_home(c, 15)  # the same 2 % share, but these owners are at home, calling
    for i, cli in enumerate(clis[:4]):
        c.add(cli, mobile(800 + i), at=HOUR + timedelta(minutes=40), imsi=f"62130000000{i:04d}",
              imei=f"3580000000{i:05d}", cell="621-30-1-1")
    row = masked(c)["INT_LON01"]
    assert row["metrics"]["clis_owner_at_home"] == 4
    assert row["metrics"]["conditions"]["owners_at_home"]["tripped"]
    assert not row["metrics"]["conditions"]["share_above_baseline"]["tripped"]
    assert masked(c, min_clis_owner_at_home=5) == {}


def test_cli_masking_share_against_the_trunks_own_baseline():
    c = Cdrs()
    partner_traffic(c, 200)
    roamers_calling_home(c, 15)  # 30 of 230: 13 %, a jump from a quiet week
    for day in range(1, 4):
        partner_traffic(c, 200, at=HOUR - timedelta(days=day, hours=2))
    assert masked(c)["INT_LON01"]["metrics"]["baseline_share"] == 0.0
    # A trunk that always carries that share of roamers is judged against itself.
    for day in range(1, 4):
        roamers_calling_home(c, 15, at=HOUR - timedelta(days=day, hours=2))
    assert masked(c) == {}


def test_cli_masking_subscribers_the_roaming_feed_has_abroad_are_not_counted():
    c = masking(20)
    assert "INT_LON01" in masked(c)
    c.roaming = [(e164(mobile(i)), HOUR - timedelta(days=2), None) for i in range(20)]
    assert masked(c) == {}


# --------------------------------------------------------------------------------------- invalid_cli
BAD = ("+234819{:07d}", "0803ABC{:04d}", "0803{:03d}", "+2340{:09d}", "08031{:09d}")


def invalid(bad_calls: int, distinct: int = 5, trunk="INT_AMS01") -> Cdrs:
    c = Cdrs()
    for i in range(bad_calls):
        k = i % distinct
        c.add(BAD[k % len(BAD)].format(k), mobile(i), record_type="IGW_IN", trunk_in=trunk)
        # the MTC leg of the same call must not count twice
        c.add(BAD[k % len(BAD)].format(k), mobile(i), record_type="MTC", trunk_in=trunk)
    for i in range(20):
        c.add(f"+4420795{i:05d}", mobile(700 + i), record_type="IGW_IN", trunk_in=trunk)
    return c


def invalids(c: Cdrs, **params) -> dict:
    return c.detect(invalid_cli.detect_sql(invalid_cli.InvalidCliParams(**params), SETTINGS))


def test_invalid_cli_thresholds():
    row = invalids(invalid(10))["INT_AMS01"]
    m = row["metrics"]
    assert m["invalid_cli_calls"] == 10 and m["distinct_invalid_clis"] == 5 and m["calls"] == 30
    # 17 digits: not E.164; +2340...: a national prefix after the country code, too long once it is dropped
    assert m["by_reason"] == {"malformed": 4, "invalid_foreign": 0, "unallocated": 4, "invalid_home": 2}
    assert invalids(invalid(9)) == {}
    assert invalids(invalid(10, distinct=4)) == {}


def test_invalid_cli_withheld_and_valid_numbers_are_not_invalid():
    c = Cdrs()
    for i in range(20):
        c.add("anonymous" if i % 2 else "Private", mobile(i), record_type="IGW_IN", trunk_in="INT_AMS01")
        c.add(mobile(i), mobile(100 + i), record_type="MTC", trunk_in="NAT_PMB01")
        c.add(f"+234201{1000000 + i:07d}", mobile(200 + i), record_type="IGW_IN", trunk_in="INT_AMS01")  # fixed line
    assert invalids(c) == {}


def test_invalid_cli_foreign_numbers_are_judged_by_their_own_plan():
    c = Cdrs()
    for i in range(10):
        c.add(f"+4416329600{i:02d}", mobile(i), record_type="IGW_IN", trunk_in="INT_AMS01")  # no UK range
        c.add(f"+97150123456{i}", mobile(100 + i), record_type="IGW_IN", trunk_in="INT_LON01")  # UAE mobiles
    found = invalids(c)
    assert found["INT_AMS01"]["metrics"]["by_reason"]["invalid_foreign"] == 10
    assert "INT_LON01" not in found


def test_invalid_cli_counts_national_interconnect_mtc():
    c = Cdrs()
    for i in range(10):
        c.add(f"0919{1000000 + i:07d}", mobile(i), record_type="MTC", trunk_in="NAT_PMB01")
    assert invalids(c)["NAT_PMB01"]["metrics"]["by_reason"]["unallocated"] == 10


def test_simbox_profile_counts_voice_calls_only():
    # an SMS farm's SIM: texts to fresh numbers from one cell, nothing back (sms_simfarm's subject)
    c = Cdrs()
    for i in range(40):
        c.add(SIM, mobile(i), duration=0, answered=False, service="sms", imsi="621300000000001",
              imei="358000000000011", cell="621-30-1-0")
    assert simbox(c) == {}
    # a box SIM receiving operator texts is still a box SIM: received SMS are not calls back
    c = sim_box(calls=20)
    for i in range(5):
        c.add(mobile(700 + i), SIM, record_type="MTC", duration=0, answered=False, service="sms",
              imsi="621300000000001", imei="358000000000011", cell="621-30-1-0")
    assert e164(SIM) in simbox(c)


# ---------------------------------------------------------------------------- impossible_concurrency
def overlapping(n: int, *, a="+233540981386", record_type="IGW_IN", trunk_in="INT_LON01", imeis=None,
                gap_s=10, duration=300) -> Cdrs:
    c = Cdrs()
    for i in range(n):
        c.add(a, mobile(i), at=HOUR + timedelta(minutes=5, seconds=i * gap_s), duration=duration,
              record_type=record_type, trunk_in=trunk_in,
              imei=None if imeis is None else f"35800000000{i % imeis:04d}",
              imsi=None if imeis is None else "621300000000001")
    return c


def concurrency(c: Cdrs, **params) -> dict:
    return c.detect(impossible_concurrency.detect_sql(impossible_concurrency.ImpossibleConcurrencyParams(**params), SETTINGS))


def test_impossible_concurrency_more_than_two():
    row = concurrency(overlapping(3))["+233540981386"]
    assert row["metrics"]["peak_concurrent_calls"] == 3 and row["metrics"]["lines_at_peak"] == 3
    assert concurrency(overlapping(2)) == {}
    assert "+233540981386" in concurrency(overlapping(2), max_concurrent_calls=1)


def test_impossible_concurrency_must_last():
    # three calls of 100 s started 20 s apart: all three overlap for 60 s (from 40 s to 100 s)
    row = concurrency(overlapping(3, gap_s=20, duration=100))["+233540981386"]
    assert row["metrics"]["seconds_over_limit"] == 60
    # 21 s apart: 58 s over the limit, within the jitter of CDR times
    assert concurrency(overlapping(3, gap_s=21, duration=100)) == {}


def test_impossible_concurrency_back_to_back_calls_do_not_overlap():
    # each call starts exactly when the previous one ends (answer 5 s after seizure)
    assert concurrency(overlapping(5, gap_s=300, duration=300)) == {}


def test_impossible_concurrency_needs_more_than_one_line():
    cloned = concurrency(overlapping(4, a="08031367862", record_type="MOC", trunk_in=None, imeis=2))
    assert cloned["+2348031367862"]["metrics"]["distinct_imeis_at_peak"] == 2
    # one handset in three calls: a timing artefact, not a second line
    assert concurrency(overlapping(4, a="08031367862", record_type="MOC", trunk_in=None, imeis=1)) == {}


def test_impossible_concurrency_counts_a_call_started_three_hours_before():
    # A call seized 2 h 30 min before the hour (its hour is the third before the partition hour) and
    # still running, plus two calls in the hour: three at once, all inside the detector's window.
    c = overlapping(2)
    c.add("+233540981386", mobile(99), at=HOUR - timedelta(hours=2, minutes=30), duration=4 * 3600,
          record_type="IGW_IN", trunk_in="INT_LON01")
    row = concurrency(c)["+233540981386"]
    assert row["metrics"]["peak_concurrent_calls"] == 3
    assert row["window_start"] == HOUR - timedelta(hours=3)


def test_impossible_concurrency_counts_interconnect_terminating_legs():
    # A spoofed CLI on calls from another network: the switch writes only the MTC leg, with the
    # interconnect trunk and the callee's handset.
    c = Cdrs()
    for i in range(3):
        c.add("08031360000", mobile(i), at=HOUR + timedelta(minutes=5, seconds=10 * i), duration=300,
              record_type="MTC", trunk_in="NAT_PMB01", imsi=f"62130000000{i:04d}", imei=f"35800000001{i:04d}")
    row = concurrency(c)["+2348031360000"]
    assert row["metrics"]["peak_concurrent_calls"] == 3 and row["metrics"]["lines_at_peak"] == 3
    assert row["metrics"]["legs_at_peak"] == {"MTC_interconnect": 3}
    assert row["metrics"]["distinct_imeis_at_peak"] == 0  # the MTC's handset is the callee's


def test_impossible_concurrency_counts_a_call_once_whatever_its_legs():
    # Two calls at once to own subscribers (MOC + MTC each) and one from abroad (IGW_IN + MTC): the
    # number is in two calls at a time, not four.
    c = Cdrs()
    for i in range(2):
        at = HOUR + timedelta(minutes=5, seconds=10 * i)
        c.add("08031360001", mobile(i), at=at, duration=300, imsi="621300000000001", imei="358000000000011")
        c.add("08031360001", mobile(i), at=at, duration=300, record_type="MTC", imsi=f"62130000000{i:04d}")
    assert concurrency(c) == {}
    c = Cdrs()
    for record_type, trunk in (("IGW_IN", "INT_LON01"), ("MTC", "INT_LON01"), ("IGW_IN", "INT_LON01")):
        c.add("+233540981386", mobile(1), at=HOUR + timedelta(minutes=5), duration=300, record_type=record_type,
              trunk_in=trunk)
    c.add("+233540981386", mobile(2), at=HOUR + timedelta(minutes=6), duration=300, record_type="IGW_IN",
          trunk_in="INT_LON01")
    assert concurrency(c) == {}  # the repeated IGW_IN record and the MTC are the same call


def test_impossible_concurrency_ignores_access_trunks_and_unanswered_calls():
    assert concurrency(overlapping(6, a="+2348030000202", record_type="MOC", trunk_in="ACC_PBX02")) == {}
    assert concurrency(overlapping(6, duration=0)) == {}


def test_impossible_concurrency_withheld_presentations_are_not_lines():
    # hundreds of honest callers withhold their number: "anonymous" in five calls at once is no line
    for withheld in ("anonymous", "Private", "restricted"):
        assert concurrency(overlapping(5, a=withheld)) == {}


# ------------------------------------------------------------------------------------------- wangiri
WANGIRI = "+37369123456"  # a Moldovan mobile


def ringing(callees: int, answered: int = 0, answered_s: int = 20, callbacks: int = 0, a=WANGIRI) -> Cdrs:
    c = Cdrs()
    for i in range(callees):
        c.add(a, mobile(i), at=HOUR + timedelta(seconds=20 * i), record_type="IGW_IN", trunk_in="INT_LON01",
              duration=answered_s if i < answered else 0)
    for i in range(callbacks):
        c.add(mobile(i), a, at=HOUR + timedelta(minutes=30), duration=600, record_type="MOC")
    return c


def wangiris(c: Cdrs, **params) -> dict:
    return c.detect(wangiri.detect_sql(wangiri.WangiriParams(**params), SETTINGS))


def test_wangiri_thresholds():
    row = wangiris(ringing(20))[WANGIRI]
    assert row["metrics"]["distinct_callees"] == 20 and row["metrics"]["high_risk_prefix"] == "373"
    assert row["severity"] == "HIGH"
    assert wangiris(ringing(19)) == {}
    assert WANGIRI in wangiris(ringing(20, answered=2))  # 18/20 = 0.90
    assert wangiris(ringing(20, answered=3)) == {}  # 0.85
    assert WANGIRI in wangiris(ringing(20, answered=20, answered_s=3))  # cut within 3 s


def test_wangiri_callbacks_and_ranges_in_evidence():
    row = wangiris(ringing(30, callbacks=2))[WANGIRI]
    assert row["metrics"]["callbacks"] == 2 and row["metrics"]["callback_minutes"] == 20.0
    assert row["severity"] == "CRITICAL"
    plain = wangiris(ringing(30, a="+442079500001"))["+442079500001"]
    assert plain["metrics"]["high_risk_prefix"] is None and plain["score"] < row["score"]
    # own-country numbers are not Wangiri
    assert wangiris(ringing(30, a="08031234567")) == {}


# ---------------------------------------------------------------------------------------------- irsf
VICTIM = "08038515518"


def pumping(calls: int, minutes_each: float, baseline_minutes_per_day: float = 0, b="+67770001234") -> Cdrs:
    c = Cdrs()
    for i in range(calls):
        c.add(VICTIM, b, at=HOUR + timedelta(minutes=i), duration=int(minutes_each * 60), imsi="62130",
              imei="35", cell="621-30-1-1")
    # a week of history before the window: one ordinary call an hour keeps every hour in the lake
    for h in range(24, 24 + 24 * 7):
        at = HOUR - timedelta(hours=h)
        c.add(mobile(1), mobile(2), at=at)
        if baseline_minutes_per_day and h % 24 == 0:
            c.add(VICTIM, b, at=at, duration=int(baseline_minutes_per_day * 60))
    return c


def irsfs(c: Cdrs, **params) -> dict:
    return c.detect(irsf.detect_sql(irsf.IrsfParams(**params), SETTINGS))


def test_irsf_thresholds():
    row = irsfs(pumping(5, 6))[e164(VICTIM)]
    m = row["metrics"]
    assert m["hr_calls"] == 5 and m["hr_minutes"] == 30.0 and m["baseline_days_available"] == 7
    assert m["hr_ranges"] == ["Solomon Islands: IRSF premium ranges"]
    assert irsfs(pumping(4, 8)) == {}  # 4 calls
    assert irsfs(pumping(5, 5.9)) == {}  # 29.5 minutes


def test_irsf_baseline():
    # 60 min against a baseline of 20 min a day: exactly 3x is not beyond it
    assert irsfs(pumping(6, 10, baseline_minutes_per_day=20)) == {}
    row = irsfs(pumping(6, 10, baseline_minutes_per_day=19))[e164(VICTIM)]
    assert row["metrics"]["baseline_daily_minutes"] == 19.0


def test_irsf_ignores_ordinary_destinations():
    assert irsfs(pumping(10, 30, b="+442079500001")) == {}
    assert irsfs(pumping(10, 30, b="08031234567")) == {}


@pytest.mark.parametrize("module", [simbox_profile, cli_masking, invalid_cli, impossible_concurrency, wangiri, irsf])
def test_no_cdrs_no_detections(module):
    assert Cdrs().detect(module.detect_sql(module.SPEC.default_params, SETTINGS)) == {}
