"""The detectors of fraud seen against a baseline or in aggregate (sms_simfarm), on hand-made
CDRs, either side of every threshold."""

from datetime import timedelta

import pytest

from sentinel_pipeline.detectors import sms_simfarm
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



@pytest.mark.parametrize("module", [sms_simfarm])
def test_no_cdrs_no_detections(module):
    assert Cdrs().detect(module.detect_sql(module.SPEC.default_params, SETTINGS)) == {}
