"""simbox_cohort on hand-made CDRs: SIM boxes found as groups, either side of every threshold, and the
SIM-level profile they defeat (their SIMs receive calls from each other, one IMEI per SIM)."""

from datetime import timedelta

from sentinel_pipeline.detectors import simbox_cohort, simbox_profile
from tests.test_detectors import HOUR, SETTINGS, Cdrs, e164, mobile

GATEWAY_TAC = "86253203"


def box(sims=4, calls=20, mate_calls=4, cells=("621-30-1-1",), tacs=(GATEWAY_TAC,), outside=0, c=None) -> Cdrs:
    """``sims`` SIMs of one gateway (one IMEI per SIM) each calling ``calls`` fresh numbers and its next
    box-mate ``mate_calls`` times (answered), from the ``cells`` in turn; ``outside`` answered calls
    received by the first SIM from a stranger."""
    c = c or Cdrs()
    for s in range(sims):
        number, imsi = f"0806998{s:04d}", f"62130000009{s:04d}"
        imei = f"{tacs[s % len(tacs)]}{100 + s:06d}0"
        for i in range(calls):
            c.add(number, mobile(1000 * s + i), at=HOUR + timedelta(minutes=i), duration=60, imsi=imsi,
                  imei=imei, cell=cells[i % len(cells)])
        mate = (s + 1) % sims
        for i in range(mate_calls):
            at = HOUR + timedelta(minutes=30 + i)
            c.add(number, f"0806998{mate:04d}", at=at, duration=45, imsi=imsi, imei=imei, cell=cells[0])
            c.add(number, f"0806998{mate:04d}", at=at, duration=45, record_type="MTC",
                  imsi=f"62130000009{mate:04d}", imei=f"{tacs[mate % len(tacs)]}{100 + mate:06d}0", cell=cells[0])
    for i in range(outside):
        c.add(mobile(9000 + i), "08069980000", duration=30, record_type="MTC", imsi="621300000090000",
              imei=f"{tacs[0]}{100:06d}0", cell=cells[0])
    return c


def cohort(c: Cdrs, **params) -> dict:
    params.setdefault("min_hours_with_data", 1)  # hand-made sets cover an hour
    return c.detect(simbox_cohort.detect_sql(simbox_cohort.SimboxCohortParams(**params), SETTINGS))


REPRESENTATIVE = e164("08069980000")


def test_box_whose_sims_call_each_other_is_one_group_the_sim_profile_misses():
    c = box()
    found = cohort(c)
    row = found[REPRESENTATIVE]
    m = row["metrics"]
    assert row["subject_type"] == "box" and list(found) == [REPRESENTATIVE]
    assert m["members"] == 4 and m["msisdns"] == [e164(f"0806998{s:04d}") for s in range(4)]
    assert len(m["imei_list"]) == 4 and len(m["imsis"]) == 4
    assert (m["calls"], m["calls_to_members"], m["received_from_members"], m["received_from_outside"]) == (96, 16, 16, 0)
    assert m["conditions"]["closed_circle"] == {"value": 0.0, "op": "<=", "threshold": 0.01, "tripped": True}
    assert m["conditions"]["one_model"]["tripped"] and not m["conditions"]["rotation"]["tripped"]
    # each SIM receives 4 calls for 24 made (0.17): no SIM-level profile
    sims = c.detect(simbox_profile.detect_sql(simbox_profile.SimboxProfileParams(min_hours_with_data=1), SETTINGS))
    assert sims == {}


def test_closed_circle_threshold():
    # 96 calls made: one answered call from outside is 0.0104 > 0.01; the limit is the parameter
    assert cohort(box(outside=1)) == {}
    assert REPRESENTATIVE in cohort(box(outside=1), max_outside_ratio=0.011)
    # unanswered call-backs (a box refuses them) do not count
    c = box()
    for i in range(5):
        c.add(mobile(9000 + i), "08069980000", duration=0, record_type="MTC", imsi="621300000090000",
              imei=f"{GATEWAY_TAC}{100:06d}0", cell="621-30-1-1")
    assert REPRESENTATIVE in cohort(c)


def test_member_gates():
    assert cohort(box(sims=2)) == {}  # two SIMs are a dual-SIM phone or a couple, not a box
    assert REPRESENTATIVE in cohort(box(sims=3))
    assert REPRESENTATIVE not in cohort(box(sims=3), min_members=4)
    # fewer than 12 distinct numbers a day: not judged (8 fresh + 1 box-mate)
    assert cohort(box(calls=8, mate_calls=1)) == {}
    # a member's own life outside the box takes it out of the group: 2 answered strangers for 24 calls
    found = cohort(box(sims=4, outside=2), max_outside_ratio=0.5)
    assert found[e164("08069980001")]["metrics"]["members"] == 3


def test_a_box_over_neighbouring_cells_stays_one_group_and_models_split_it():
    cells = ("621-30-1-1", "621-30-1-2", "621-30-1-3")
    found = cohort(box(sims=4, cells=cells))
    assert found[REPRESENTATIVE]["metrics"]["members"] == 4
    assert found[REPRESENTATIVE]["metrics"]["distinct_cells"] == 3
    assert cohort(box(sims=4, cells=cells), max_cells=2) == {}
    # two gateway models in the same place are two groups of two: neither is a box
    assert cohort(box(sims=4, tacs=(GATEWAY_TAC, "35851704"))) == {}


def test_sims_linked_only_through_each_others_cells_do_not_move_together():
    # A and B share cell 1, B and C share cell 2: one group by shared sites, but no cell holds all three
    c = Cdrs()
    for s, cells in enumerate((("621-30-1-1",), ("621-30-1-1", "621-30-1-2"), ("621-30-1-2",))):
        for i in range(20):
            c.add(f"0806998{s:04d}", mobile(1000 * s + i), at=HOUR + timedelta(minutes=i), duration=60,
                  imsi=f"62130000009{s:04d}", imei=f"{GATEWAY_TAC}{100 + s:06d}0", cell=cells[i % len(cells)])
    assert cohort(c) == {}
    m = cohort(c, min_together_share=0.0)[REPRESENTATIVE]["metrics"]
    assert m["members"] == 3 and m["conditions"]["moves_together"]["value"] == 0.0


def test_rotating_modules_are_a_signal():
    c = box(sims=3, mate_calls=0)
    for s in range(3):  # each SIM also seen in the next SIM's module
        for i in range(3):
            c.add(f"0806998{s:04d}", mobile(5000 + 10 * s + i), at=HOUR + timedelta(minutes=40 + i), duration=60,
                  imsi=f"62130000009{s:04d}", imei=f"{GATEWAY_TAC}{100 + (s + 1) % 3:06d}0", cell="621-30-1-1")
    m = cohort(c)[REPRESENTATIVE]["metrics"]
    assert m["rotating_imeis"] == 3 and m["conditions"]["rotation"]["tripped"]


def test_sms_and_calls_without_handset_are_not_sites():
    c = Cdrs()
    for s in range(4):
        for i in range(20):
            c.add(f"0806998{s:04d}", mobile(1000 * s + i), at=HOUR + timedelta(minutes=i), duration=0,
                  imsi=f"62130000009{s:04d}", imei=f"{GATEWAY_TAC}{100 + s:06d}0", cell="621-30-1-1", service="sms")
    assert cohort(c) == {}


def test_no_cdrs_no_detections():
    assert Cdrs().detect(simbox_cohort.detect_sql(simbox_cohort.SPEC.default_params, SETTINGS)) == {}


def test_box_members_view_links_the_sims_alerts_to_the_box(settings, conn):
    from sentinel_pipeline import store
    from sentinel_pipeline.detectors.run import run_detector

    box(mate_calls=0).write_lake(settings)  # SIMs that receive nothing: simbox_profile sees each of them
    for spec, params in ((simbox_cohort.SPEC, simbox_cohort.SimboxCohortParams(min_hours_with_data=1)),
                         (simbox_profile.SPEC, simbox_profile.SimboxProfileParams(min_hours_with_data=1))):
        run_detector(settings, conn, spec, params, [HOUR], "run-1")
        store.refresh_alerts(conn, spec.name, [HOUR])
    rows = conn.execute(
        "select box, member_type, member, member_detector from sentinel.box_members order by member_type, member"
    ).fetchall()
    sims = [e164(f"0806998{s:04d}") for s in range(4)]
    assert [r for r in rows if r[1] == "msisdn"] == [(REPRESENTATIVE, "msisdn", m, "simbox_profile") for m in sims]
    assert [(r[1], r[3]) for r in rows if r[1] == "imei"] == [("imei", None)] * 4  # handsets with no alert
