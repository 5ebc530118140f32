"""The detectors of fraud seen against a baseline or in aggregate (sms_simfarm, withheld_cli_surge,
wangiri_range, route_quality, refiling) on hand-made CDRs, either side of every threshold."""

from datetime import timedelta

import pytest

from sentinel_pipeline.detectors import refiling, route_quality, sms_simfarm, wangiri, wangiri_range, withheld_cli_surge
from tests.test_detectors import HOUR, SETTINGS, Cdrs, e164, mobile


def run(module, c: Cdrs, **params) -> dict:
    return c.detect(module.detect_sql(module.SPEC.params(**params), SETTINGS))


# ------------------------------------------------------------------------------------- sms_simfarm
FARM = "08069970001"


def texting(sent=60, distinct=None, replies=0, c=None, at=HOUR) -> Cdrs:
    """A SIM sending ``sent`` SMS to ``distinct`` recipients in the hour, ``replies`` SMS back."""
    c = c or Cdrs()
    distinct = sent if distinct is None else distinct
    for i in range(sent):
        c.add(FARM, mobile(i % distinct), at=at + timedelta(seconds=30 * i), duration=0, answered=True,
              imsi="621300000070001", imei="862532030000011", cell="621-30-7-1", service="sms")
    for i in range(replies):
        c.add(mobile(i), FARM, at=at + timedelta(minutes=40), duration=0, answered=True, record_type="MTC",
              imsi="621300000070001", imei="862532030000011", cell="621-30-7-1", service="sms")
    return c


def farms(c: Cdrs, **params) -> dict:
    params.setdefault("min_hours_with_data", 1)
    return run(sms_simfarm, c, **params)


def test_sms_simfarm_thresholds():
    row = farms(texting(50))[e164(FARM)]
    m = row["metrics"]
    assert (m["sms_sent"], m["distinct_recipients"], m["sms_received"], m["voice_calls"]) == (50, 50, 0, 0)
    assert all(c["tripped"] for c in m["conditions"].values()) and m["baseline_sms_per_day"] == 0
    assert farms(texting(49)) == {}
    # fresh recipients: 80 of 100 is the limit, 79 is a person texting friends
    assert e164(FARM) in farms(texting(100, distinct=80))
    assert farms(texting(100, distinct=79)) == {}
    # replies: 3 for 60 sent (0.05) is the limit
    assert e164(FARM) in farms(texting(60, replies=3))
    assert farms(texting(60, replies=4)) == {}
    # voice calls are evidence, not the rule
    c = texting(60)
    c.add(FARM, mobile(900), duration=60, imsi="621300000070001", imei="862532030000011", cell="621-30-7-1")
    assert farms(c)[e164(FARM)]["metrics"]["voice_calls"] == 1


def test_sms_simfarm_baseline_and_coverage():
    c = texting(60)
    texting(14, c=c, at=HOUR - timedelta(days=2))  # two days ago: 14 SMS, 2 a day over 7 days
    assert farms(c)[e164(FARM)]["metrics"]["baseline_sms_per_day"] == 2.0
    assert farms(texting(60), min_hours_with_data=2) == {}  # one hour of data: not judged


# ------------------------------------------------------------------------------- withheld_cli_surge
def partner(c: Cdrs, calls: int, withheld: int, *, trunk="INT_LON01", day=0) -> Cdrs:
    """``calls`` calls from abroad on ``trunk``, ``withheld`` of them presenting 'anonymous', spread over the
    24 hours ending with HOUR (``day`` days earlier)."""
    for i in range(calls):
        at = HOUR - timedelta(days=day, hours=i % 24, minutes=-(i % 50))
        a = "anonymous" if i < withheld else f"+4474001{i:05d}"
        c.add(a, mobile(i), at=at, record_type="IGW_IN", trunk_in=trunk, duration=30)
    return c


def surges(c: Cdrs, **params) -> dict:
    return run(withheld_cli_surge, c, **params)


def test_withheld_cli_surge_against_the_trunks_baseline():
    c = partner(partner(Cdrs(), 240, 5, day=1), 200, 20)  # 2 % yesterday, 10 % today
    m = surges(c)["INT_LON01"]["metrics"]
    assert (m["withheld_cli_calls"], m["withheld_cli_share"], m["baseline_share"], m["baseline_days_available"]) == (
        20, 0.1, 0.0208, 1)
    assert m["share_limit"] == 0.0624 and m["conditions"]["share_above_baseline"]["tripped"]
    assert surges(partner(partner(Cdrs(), 240, 5, day=1), 200, 19)) == {}  # min_withheld_calls
    # a partner that always withholds 10 %: no change
    assert surges(partner(partner(Cdrs(), 240, 24, day=1), 200, 20)) == {}


def test_withheld_cli_surge_without_a_baseline_needs_half_the_calls():
    assert surges(partner(Cdrs(), 100, 49)) == {}
    m = surges(partner(Cdrs(), 100, 50))["INT_LON01"]["metrics"]
    assert m["baseline_days_available"] == 0 and m["share_limit"] == 0.5
    assert "INT_LON01" in surges(partner(Cdrs(), 100, 30), min_share_without_baseline=0.3)


# ----------------------------------------------------------------------------------- wangiri_range
def rotating(numbers: int, callees_each: int = 6, answered: int = 0, prefix="+3736912") -> Cdrs:
    c = Cdrs()
    for n in range(numbers):
        for i in range(callees_each):
            k = n * callees_each + i
            c.add(f"{prefix}{n:04d}", mobile(k), at=HOUR + timedelta(seconds=20 * k), record_type="IGW_IN",
                  trunk_in="INT_LON01", duration=60 if k < answered else 0)
    return c


def test_wangiri_range_many_numbers_each_under_the_per_number_rule():
    c = rotating(10, callees_each=5)
    assert run(wangiri, c) == {}  # 5 subscribers per number
    row = run(wangiri_range, c)["3736912"]
    m = row["metrics"]
    assert row["subject_type"] == "range"
    assert (m["numbers"], m["distinct_callees"], m["max_callees_per_number"], m["unanswered_share"]) == (10, 50, 5, 1.0)
    assert m["high_risk_prefix"] == "373" and row["severity"] == "HIGH"
    assert run(wangiri_range, rotating(9, callees_each=6)) == {}  # min_numbers
    assert run(wangiri_range, rotating(10, callees_each=4)) == {}  # 40 callees
    assert "3736912" in run(wangiri_range, rotating(10, callees_each=6, answered=6))  # 0.9 unanswered
    assert run(wangiri_range, rotating(10, callees_each=6, answered=7)) == {}


def test_wangiri_range_callbacks_and_range_length():
    c = rotating(10, callees_each=5)
    c.add(mobile(0), "+37369120003", at=HOUR + timedelta(minutes=50), duration=300)
    m = run(wangiri_range, c)["3736912"]["metrics"]
    assert (m["callbacks"], m["callback_subscribers"], m["callback_minutes"]) == (1, 1, 5.0)
    # ranges of 11 digits (whole numbers here) hold one number each
    assert run(wangiri_range, c, range_digits=11) == {}


# ----------------------------------------------------------------------------------- route_quality
ROUTE = "INT_LON01:44"


def route_calls(c: Cdrs, calls: int, *, answered: int, false_answers: int = 0, day=0, ring=10, talk=180,
                false_talk=1) -> Cdrs:
    """Calls to UK mobiles on INT_LON01 over the 24 hours ending with HOUR (``day`` days earlier):
    ``answered`` after ``ring`` s with ``talk`` s, plus ``false_answers`` answered at once for ``false_talk`` s."""
    for i in range(calls):
        at = HOUR - timedelta(days=day, hours=i % 24, minutes=-(i % 50))
        if i < false_answers:
            duration, r = false_talk, 0
        elif i < false_answers + answered:
            duration, r = talk + i % 7, ring
        else:
            duration, r = 0, ring
        c.add(mobile(i), f"+4474002{i:05d}", at=at, duration=duration, ring=r, record_type="IGW_OUT",
              trunk_out="INT_LON01")
    return c


def test_route_quality_false_answers_against_the_routes_baseline():
    base = route_calls(Cdrs(), 96, answered=48, day=1)  # ASR 0.5
    row = run(route_quality, route_calls(base, 100, answered=40, false_answers=50))[ROUTE]
    m = row["metrics"]
    assert row["subject_type"] == "route"
    assert (m["calls"], m["answered"], m["asr"], m["baseline_asr"], m["asr_limit"]) == (100, 90, 0.9, 0.5, 0.7)
    assert m["instant_share"] == m["short_share"] == round(50 / 90, 4)
    assert m["conditions"]["instant_answers"]["tripped"] and m["conditions"]["short_answers"]["tripped"]
    assert m["baseline_instant_share"] == 0.0 and m["acd_s"] < m["baseline_acd_s"]
    # a busier, better-answered day with human ringing and durations: ASR 0.75, nothing implausible
    base = route_calls(Cdrs(), 96, answered=48, day=1)
    assert run(route_quality, route_calls(base, 200, answered=150)) == {}
    # false answers that do not lift the ASR 0.2 above the baseline
    base = route_calls(Cdrs(), 96, answered=48, day=1)
    assert run(route_quality, route_calls(base, 100, answered=39, false_answers=30)) == {}  # 0.69


def test_route_quality_identical_durations_and_no_baseline():
    # a recorded message: every false answer 30 s after a second of ringing
    c = route_calls(Cdrs(), 100, answered=40, false_answers=45, ring=10, false_talk=30)
    m = run(route_quality, c)[ROUTE]["metrics"]  # no baseline: ASR 0.85 >= 0.8
    assert m["baseline_days_available"] == 0 and m["asr_limit"] == 0.8
    assert m["conditions"]["identical_durations"]["tripped"]
    assert run(route_quality, route_calls(Cdrs(), 100, answered=30, false_answers=45)) == {}  # ASR 0.75
    assert run(route_quality, route_calls(Cdrs(), 49, answered=4, false_answers=45)) == {}  # min_calls


# ---------------------------------------------------------------------------------------- refiling
def partner_mix(c: Cdrs, *, day=0, gb=48, us=48, extra=0, extra_numbers=None, extra_prefix="+23324410") -> Cdrs:
    """A partner's calls over the 24 hours ending with HOUR (``day`` days earlier): ``gb`` from 12 recurring
    UK numbers, ``us`` from 12 recurring US numbers, ``extra`` from ``extra_numbers`` Ghanaian numbers."""
    calls = [(f"+4474003{i % 12:05d}") for i in range(gb)] + [(f"+1212230{i % 12:04d}") for i in range(us)]
    calls += [f"{extra_prefix}{i % (extra_numbers or extra or 1):04d}" for i in range(extra)]
    for i, a in enumerate(calls):
        at = HOUR - timedelta(days=day, hours=i % 24, minutes=-(i % 50))
        c.add(a, mobile(i), at=at, record_type="IGW_IN", trunk_in="INT_LON01", duration=120)
    return c


def test_refiling_a_new_origin_with_new_numbers():
    c = partner_mix(partner_mix(Cdrs(), day=1), extra=50)
    row = run(refiling, c)["INT_LON01"]
    m = row["metrics"]
    assert (m["origin"], m["calls"], m["trunk_calls"], m["new_clis"], m["baseline_origin_share"]) == ("GH", 50, 146, 50, 0.0)
    assert m["origin_share"] == round(50 / 146, 4) and m["baseline_days_available"] == 1
    assert run(refiling, partner_mix(partner_mix(Cdrs(), day=1), extra=49)) == {}  # min_calls


def test_refiling_not_a_holiday_nor_a_wangiri_range_nor_an_unknown_trunk():
    # the usual UK callers calling three times as often: the mix shifts, the callers are known
    assert run(refiling, partner_mix(partner_mix(Cdrs(), day=1), gb=144)) == {}
    # 50 calls from 10 new numbers: 0.2 new numbers per call
    assert run(refiling, partner_mix(partner_mix(Cdrs(), day=1), extra=50, extra_numbers=10)) == {}
    assert "INT_LON01" in run(refiling, partner_mix(partner_mix(Cdrs(), day=1), extra=50, extra_numbers=10),
                              min_new_cli_share=0.2)
    # no day of baseline: the trunk's mix is unknown
    assert run(refiling, partner_mix(Cdrs(), extra=50)) == {}


@pytest.mark.parametrize("module", [sms_simfarm, withheld_cli_surge, wangiri_range, route_quality, refiling])
def test_no_cdrs_no_detections(module):
    assert Cdrs().detect(module.detect_sql(module.SPEC.default_params, SETTINGS)) == {}
