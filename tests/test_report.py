"""`sentinel report` on a real PostgreSQL: the figures are the tables' (worked out by hand from the calls
of tests/test_case_traffic.py), the regulators' CSV files, an empty period and bad arguments.
tests/test_loop.py opens a generated scenario's report in headless Chromium."""

from __future__ import annotations

import csv
from datetime import datetime, timezone

import pytest

from sentinel_pipeline import cli
from sentinel_pipeline.case_traffic import refresh_case_traffic
from sentinel_pipeline.report.figures import collect
from sentinel_pipeline.report.regulator import write_csv
from test_case_traffic import IMEI, H

pytest_plugins = ["test_case_traffic"]  # its fixture `cases`: a box and a masking trunk, and their calls

START, END = datetime(2024, 3, 1, tzinfo=timezone.utc), datetime(2024, 3, 2, tzinfo=timezone.utc)


def test_the_figures_are_the_tables(settings, conn, cases, tmp_path):
    refresh_case_traffic(settings, conn, [H])
    conn.execute("select set_config('sentinel.reviewer', 'ada', false)")
    conn.execute("update sentinel.cases set status = 'confirmed' where case_id = %s", [cases[IMEI]])
    conn.execute("select set_config('sentinel.reviewer', 'bob', false)")
    conn.execute("update sentinel.actions set status = 'approved'")

    now = datetime.now(timezone.utc)
    figures = collect(conn, settings, START, END)
    assert figures.total_alerts == 4 and figures.currency == "USD"
    assert figures.total_loss == round(7 * 0.079 + 4 * 0.089, 2)
    assert figures.sims == {"sims_found": 2, "handsets_found": 1, "simbox_cases": 1}
    assert figures.partners() == [{"partner": "Delta Carrier Services", "trunks": ["INT_FRA01"], "masked_cli_calls": 4,
                                   "invalid_cli_calls": 2, "minutes": 4.0, "estimated_loss": round(4 * 0.089, 2)}]
    assert figures.barred == []  # approved now, not in March 2024
    barred_now = collect(conn, settings, START, now.replace(year=now.year + 1)).barred
    assert sorted((b["action"], b["target"], b["approved_by"]) for b in barred_now) == [
        ("bar", "+2348030000001", "bob"), ("bar", "+2348030000002", "bob"), ("block", IMEI, "bob")]

    files = write_csv(figures, tmp_path / "regulator")
    assert [f.name for f in files] == ["partners.csv", "barred.csv", "alerts_by_day.csv", "time_to_detect.csv"]
    with open(files[0], newline="") as fh:
        assert list(csv.DictReader(fh)) == [{"partner": "Delta Carrier Services", "trunks": "INT_FRA01",
                                             "masked_cli_calls": "4", "invalid_cli_calls": "2", "minutes": "4.0",
                                             "estimated_loss": "0.36"}]
    with open(files[2], newline="") as fh:
        assert {(r["detector"], r["alerts"]) for r in csv.DictReader(fh)} == {("simbox_profile", "3"),
                                                                             ("cli_masking", "1")}


def test_an_empty_period_still_makes_a_report(settings, conn, tmp_path, capsys):
    out = tmp_path / "day.html"
    assert cli.main(["report", "--from", "2024-03-01", "--to", "2024-03-01", "--out", str(out)]) == 0
    html = out.read_text()
    assert "Sentinel fraud report: 2024-03-01 to 2024-03-01" in html and "None in this period" in html
    assert 'data-figure="alerts">0<' in html and "<script" not in html
    assert "0 alerts" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--from", "2024-03-02", "--to", "2024-03-01", "--out", "r.html"], "--to 2024-03-01 is before --from 2024-03-02"),
    (["--from", "2024-03-01", "--to", "2024-03-01", "--out", "r.pdf"], "the report is HTML, name it FILE.html"),
])
def test_bad_arguments_say_what_is_wrong(settings, capsys, args, message):
    assert cli.main(["report", *args]) == 1
    assert message in capsys.readouterr().err


def test_a_date_that_is_no_date(capsys):
    with pytest.raises(SystemExit):
        cli.main(["report", "--from", "yesterday", "--to", "2024-03-01", "--out", "r.html"])
    assert "not a date (YYYY-MM-DD): 'yesterday'" in capsys.readouterr().err
