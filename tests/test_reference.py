"""Reference files: the shipped set loads; every kind of damage names the file and the line."""

import shutil

import pytest

from sentinel_pipeline import reference
from sentinel_pipeline.settings import PROJECT_ROOT


@pytest.fixture
def ref_dir(tmp_path):
    shutil.copytree(PROJECT_ROOT / "reference", tmp_path / "ref")
    return tmp_path / "ref"


def test_shipped_reference_loads():
    ref = reference.load(PROJECT_ROOT / "reference")
    assert {t.kind for t in ref.trunks} == {"international", "national", "access"}
    assert any(r.prefix == "234819" and not r.allocated for r in ref.number_ranges)
    assert any(h.prefix == "8816" for h in ref.high_risk)
    assert ref.is_whitelisted("msisdn", "+2348030000101")
    assert set(ref.versions) == set(reference.FILES) - {"rates.csv"}  # what detections record
    assert ref.currency == "USD" and any(r.scope == "default" for r in ref.rates)


def test_without_rates_no_loss_is_priced(ref_dir):
    (ref_dir / "rates.csv").unlink()
    assert reference.load(ref_dir).rates == []


def test_version_changes_with_the_file(ref_dir):
    before = reference.file_versions(ref_dir)
    with (ref_dir / "whitelist.csv").open("a") as fh:
        fh.write("msisdn,+2348031111111,test line\n")
    after = reference.file_versions(ref_dir)
    assert after["whitelist.csv"] != before["whitelist.csv"]
    assert after["trunks.csv"] == before["trunks.csv"]


def damage(ref_dir, name, line_no, text):
    path = ref_dir / name
    lines = path.read_text().splitlines()
    if line_no > len(lines):
        lines.append(text)
    else:
        lines[line_no - 1] = text
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize(
    "name, line_no, text, message",
    [
        ("trunks.csv", 3, "INT_X,satellite,Someone", "kind 'satellite' is not one of"),
        ("trunks.csv", 3, "INT_LON01,international,Duplicate", "listed twice"),
        ("trunks.csv", 3, "INT_X,international", "2 fields, the header has 3"),
        ("trunks.csv", 1, "trunk,kind,partner", "header lacks trunk_id"),
        ("number_ranges.csv", 5, "23480X,mobile,DemoTel,true", "prefix '23480X' is not E.164 digits"),
        ("number_ranges.csv", 5, "234999,mobile,DemoTel,yes", "allocated 'yes' must be true or false"),
        ("number_ranges.csv", 5, "234999,pager,DemoTel,true", "kind 'pager'"),
        ("high_risk_destinations.csv", 2, "+x222,Somewhere", "prefix '+x222'"),
        ("whitelist.csv", 7, "msisdn,08030000101,national format", "must be E.164"),
        ("whitelist.csv", 7, "customer,+2348030000101,who", "subject_type 'customer'"),
        ("rates.csv", 3, "country,234,0.1,0.01,USD", "scope 'country' is not one of"),
        ("rates.csv", 3, "partner,Nobody Telecom,0.1,0.01,USD", "'Nobody Telecom' is not a partner of trunks.csv"),
        ("rates.csv", 3, "destination,234x,0.1,0.01,USD", "prefix '234x' is not E.164 digits"),
        ("rates.csv", 3, "destination,2348,ten,0.01,USD", "international_rate 'ten' is not a number"),
        ("rates.csv", 3, "destination,2348,0.1,-1,USD", "local_rate -1 is negative"),
        ("rates.csv", 3, "destination,2348,0.1,0.01,NGN", "currency 'NGN' differs from 'USD'"),
        ("rates.csv", 3, "default,,0.1,0.01,USD", "default '' is listed twice"),
    ],
)
def test_malformed_file_names_file_and_line(ref_dir, name, line_no, text, message):
    damage(ref_dir, name, line_no, text)
    with pytest.raises(reference.ReferenceError) as exc:
        reference.load(ref_dir)
    assert f"{ref_dir / name}:{line_no}:" in str(exc.value)
    assert message in str(exc.value)


def test_missing_file(ref_dir):
    (ref_dir / "trunks.csv").unlink()
    with pytest.raises(reference.ReferenceError, match="trunks.csv: reference file is missing"):
        reference.load(ref_dir)


def test_empty_file_and_blank_lines(ref_dir):
    (ref_dir / "whitelist.csv").write_text("subject_type,subject,reason\n\nmsisdn,+2348031111111,x\n\n")
    assert reference.load(ref_dir).whitelist == {("msisdn", "+2348031111111")}
    (ref_dir / "whitelist.csv").write_text("")
    with pytest.raises(reference.ReferenceError, match=r"whitelist.csv:1: empty file"):
        reference.load(ref_dir)
