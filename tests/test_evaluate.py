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
