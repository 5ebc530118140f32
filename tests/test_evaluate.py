"""sentinel evaluate: precision/recall arithmetic on hand-made labels and alerts, and the command."""

import json

import pytest

from sentinel_pipeline import evaluate
from sentinel_pipeline.cli import main
from sentinel_pipeline.errors import SentinelError

LABELS = {
    ("msisdn", "+1"): "simbox_sdhf",
    ("msisdn", "+2"): "simbox_stealth",
    ("imei", "35"): "simbox_stealth",
    ("trunk", "INT_A"): "cli_masking",
    ("msisdn", "+9"): "legit_heavy_user",
    ("trunk", "INT_B"): "legit_international_trunk",
    ("msisdn", "+7"): "wangiri",
}


def test_precision_recall_and_lookalikes():
    alerts = [
        ("sdhf", "msisdn", "+1", {}),
        ("simbox_profile", "msisdn", "+1", {}),
        ("simbox_profile", "msisdn", "+2", {}),
        ("simbox_profile", "imei", "36", {"msisdns": ["+1"]}),  # a box's handset, not labelled itself
        ("simbox_profile", "msisdn", "+9", {}),  # heavy user: a false alert
        ("cli_masking", "trunk", "INT_B", {}),
        ("wangiri", "msisdn", "+7", {}),
        ("irsf", "msisdn", "+7", {}),  # another fraud type
        ("irsf", "msisdn", "+5", {}),  # unlabelled
    ]
    ev = evaluate.evaluate(LABELS, alerts)
    by = {s.detector: s for s in ev.detectors}
    assert (by["sdhf"].precision, by["sdhf"].recall) == (1.0, 0.5)  # +7 (wangiri) is also SDHF's to catch
    sp = by["simbox_profile"]
    assert (sp.alerts, sp.correct, sp.lookalike, sp.expected, sp.caught) == (4, 3, 1, 3, 2)
    assert sp.precision == 0.75 and sp.recall == round(2 / 3, 4) and sp.missed == ["imei:35 (simbox_stealth)"]
    assert (by["cli_masking"].precision, by["cli_masking"].recall) == (0.0, 0.0)
    assert (by["irsf"].other_fraud, by["irsf"].unlabelled, by["irsf"].precision, by["irsf"].recall) == (1, 1, 0.0, None)
    assert ev.overall["fraud_subjects"] == 5 and ev.overall["caught"] == 3
    assert ev.lookalikes["legit_heavy_user"] == {"subjects": 1, "alerted": 1, "by_detector": {"simbox_profile": 1}}
    assert ev.lookalikes["legit_international_trunk"]["by_detector"] == {"cli_masking": 1}
    text = evaluate.render(ev)
    assert "simbox_profile" in text and "legit_heavy_user" in text
    assert json.loads(evaluate.to_json(ev))["detectors"]["sdhf"]["recall"] == 0.5


def test_labels_file_errors(tmp_path):
    with pytest.raises(SentinelError, match="not found"):
        evaluate.read_labels(tmp_path / "nope.csv")
    bad = tmp_path / "labels.csv"
    bad.write_text("subject,fraud_type\n+1,irsf\n")
    with pytest.raises(SentinelError, match="header lacks subject_type"):
        evaluate.read_labels(bad)


def test_evaluate_command(settings, conn, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    labels.write_text("subject_type,subject,fraud_type\nmsisdn,+2348031111111,irsf\nmsisdn,+2348032222222,irsf\n")
    conn.execute(
        """insert into sentinel.alerts (detector, subject_type, subject, severity, score, first_seen, last_seen,
                                        evidence)
           values ('irsf', 'msisdn', '+2348031111111', 'HIGH', 0.9, now(), now(), '{}')"""
    )
    assert main(["evaluate", "--labels", str(labels), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["detectors"]["irsf"]["precision"] == 1.0 and out["detectors"]["irsf"]["recall"] == 0.5
    assert main(["evaluate", "--labels", str(labels)]) == 0
    assert "irsf" in capsys.readouterr().out


def test_box_alerts_are_judged_by_their_members(tmp_path):
    labels = {
        ("msisdn", "+11"): "simbox_mimic", ("msisdn", "+12"): "simbox_mimic", ("msisdn", "+13"): "simbox_mimic",
        ("box", "BOX001"): "simbox_mimic",
        ("msisdn", "+21"): "legit_sales_team", ("msisdn", "+22"): "legit_sales_team",
        ("msisdn", "+23"): "legit_sales_team",
    }
    (tmp_path / "labels.csv").write_text("subject_type,subject,fraud_type\n")
    (tmp_path / "boxes.csv").write_text("box_id,msisdn,imei,imsi\nBOX001,+11,1,1\nBOX001,+12,2,2\nBOX001,+13,3,3\n")
    boxes = evaluate.read_boxes(tmp_path / "labels.csv")
    assert boxes == {"BOX001": {"+11", "+12", "+13"}}
    alerts = [
        ("simbox_cohort", "box", "+11", {"msisdns": ["+11", "+12"]}),  # two of the box's three SIMs
        ("simbox_cohort", "box", "+21", {"msisdns": ["+21", "+22", "+23", "+13"]}),  # the sales team
        ("simbox_profile", "msisdn", "+13", {}),
    ]
    ev = evaluate.evaluate(labels, alerts, boxes=boxes)
    by = {s.detector: s for s in ev.detectors}
    c = by["simbox_cohort"]
    assert (c.alerts, c.correct, c.lookalike) == (2, 1, 1)
    # expected: the box and its three SIMs; caught: the box, +11, +12 and +13 (a member of the second group)
    assert (c.expected, c.caught) == (4, 4)
    # simbox_profile reports SIMs: the box itself is not its to catch
    assert (by["simbox_profile"].expected, by["simbox_profile"].caught) == (3, 1)
    assert ev.lookalikes["legit_sales_team"] == {"subjects": 3, "alerted": 3, "by_detector": {"simbox_cohort": 3}}
    assert evaluate.read_boxes(tmp_path / "elsewhere" / "labels.csv") == {}


def test_precision_from_the_analysts_verdicts(settings, conn, capsys):
    rows = [  # detector, severity, status, first_seen, last_seen
        ("sdhf", "HIGH", "confirmed", "2026-11-20", "2026-11-21"),
        ("sdhf", "HIGH", "confirmed", "2026-11-20", "2026-11-20"),
        ("sdhf", "LOW", "false_positive", "2026-11-20", "2026-11-20"),
        ("sdhf", "LOW", "open", "2026-11-20", "2026-11-20"),
        ("sdhf", "HIGH", "confirmed", "2026-11-10", "2026-11-11"),  # before the period
        ("refiling", "MEDIUM", "closed", "2026-11-20", "2026-11-20"),
    ]
    for i, (detector, severity, status, first, last) in enumerate(rows):
        conn.execute(
            """insert into sentinel.alerts (detector, subject_type, subject, severity, score, first_seen, last_seen,
                                            evidence, status)
               values (%s, 'msisdn', %s, %s, 0.9, %s, %s, '{}', %s)""",
            [detector, f"+23480300000{i:02d}", severity, first, last, status])
    assert main(["evaluate", "--from-triage", "--since", "2026-11-15T00:00:00Z", "--json"]) == 0
    out = {(r["detector"], r["severity"]): r for r in json.loads(capsys.readouterr().out)}
    assert set(out) == {("sdhf", None), ("sdhf", "HIGH"), ("sdhf", "LOW"), ("refiling", None), ("refiling", "MEDIUM")}
    total = out[("sdhf", None)]
    assert (total["cases"], total["confirmed"], total["false_positive"], total["pending"]) == (4, 2, 1, 1)
    assert total["precision"] == round(2 / 3, 4) and total["judged_share"] == 0.75
    assert out[("sdhf", "LOW")]["precision"] == 0.0 and out[("refiling", None)]["precision"] is None
    assert main(["evaluate", "--from-triage", "--until", "2026-11-15T00:00:00Z"]) == 0
    text = capsys.readouterr().out
    assert "sdhf" in text and "1.000" in text and "refiling" not in text
    assert main(["evaluate", "--labels", "x.csv", "--since", "2026-11-15T00:00:00Z"]) != 0
