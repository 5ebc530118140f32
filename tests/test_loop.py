"""From alert to action, end to end on a real PostgreSQL, real Dagster runs and a real browser: generated
CDR files -> cases (one per SIM box, one per masking trunk) -> a confirmed case -> its bar list proposed,
approved by a second person and exported -> a report, opened in headless Chromium."""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser

import duckdb
import pytest

from browser import dump_dom, png_colours, png_size, screenshot
from sentinel_pipeline import cli
from sentinel_pipeline.cli.process import process_landing
from sentinel_pipeline.generator import generate
from test_pipeline import run_hours

pytestmark = pytest.mark.slow
TODAY = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
START = TODAY - timedelta(days=2)
SCENARIO = "simbox_sdhf=24,cli_masking=1,legit_international_trunk=1"


class Tables(HTMLParser):
    """The report's tables (by id, as lists of {column: text}) and its figures (data-figure -> text)."""

    def __init__(self, html: str):
        super().__init__()
        self.tables: dict[str, list[dict]] = {}
        self.figures: dict[str, str] = {}
        self._table = self._row = self._col = self._figure = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs["id"], [])
        elif tag == "tr" and self._table is not None:
            self._row = {}
        elif tag == "td":
            self._col = attrs.get("data-col")
        self._figure = attrs.get("data-figure", self._figure)

    def handle_endtag(self, tag):
        if tag == "td":
            self._col = None
        elif tag == "table":
            self._table = None
        elif tag == "tr" and self._row:
            self._table.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._col and self._row is not None:
            self._row[self._col] = self._row.get(self._col, "") + data
        if self._figure:
            self.figures[self._figure] = data
            self._figure = None


def cases_by_alert(conn) -> dict[tuple, int]:
    return {(d, t, s): c for d, t, s, c in conn.execute("select detector, subject_type, subject, case_id from sentinel.alerts")}


def boxes_of(settings, labels) -> list[set[str]]:
    """The injected SIM boxes, each the set of its SIMs: the generator puts a box's SIMs in one cell."""
    with open(labels, newline="") as fh:
        sims = sorted(r["subject"] for r in csv.DictReader(fh) if r["fraud_type"] == "simbox_sdhf")
    files = [str(p) for p in sorted((settings.lake.root / "raw_cdrs").rglob("*.parquet"))]
    rows = duckdb.sql(f"select a_number, min(cell_id) from read_parquet({files!r}) where record_type = 'MOC'"
                      f" and a_number in {tuple(sims)!r} group by a_number").fetchall()
    by_cell = defaultdict(set)
    for sim, cell in rows:
        by_cell[cell].add(sim)
    return list(by_cell.values())


def test_from_cdr_files_to_a_barred_box_and_a_report(settings, conn, tmp_path, capsys):
    labels = tmp_path / "labels.csv"
    generate(settings.landing.root, start=START, hours=24, subscribers=1500, seed=11, labels_path=labels,
             scenario=SCENARIO)
    summary = process_landing(settings)
    assert summary.runs and not summary.failed

    # Every alert is in exactly one case; the alerts of one box share a case, and boxes do not share one.
    cases = cases_by_alert(conn)
    assert cases and None not in cases.values()
    boxes = boxes_of(settings, labels)
    assert len(boxes) >= 2
    box_cases = []
    for sims in boxes:
        alerted = {c for (d, t, s), c in cases.items() if t == "msisdn" and s in sims}
        assert len(alerted) == 1, f"box {sorted(sims)} spread over cases {alerted}"
        box_cases.append(alerted.pop())
    assert len(set(box_cases)) == len(boxes)
    (trunk_case,) = {c for (d, t, s), c in cases.items() if d == "cli_masking"}
    kinds = dict(conn.execute("select case_id, kind from sentinel.case_overview").fetchall())
    assert {kinds[c] for c in box_cases} <= {"simbox", "number"} and kinds[trunk_case] == "trunk"
    (masked,) = conn.execute("select masked_calls from sentinel.case_losses where case_id = %s", [trunk_case]).fetchone()
    assert masked > 0

    # The analyst confirms the biggest box; its SIMs (and handsets) are proposed for barring.
    biggest = max(box_cases, key=lambda c: sum(1 for v in cases.values() if v == c))
    assert cli.main(["cases", "review", str(biggest), "--status", "confirmed", "--notes", "SIM box, Ikeja",
                     "--reviewer", "ada"]) == 0
    members = {(t, s) for (d, t, s), c in cases.items() if c == biggest}
    proposed = set(conn.execute("select target_type, target from sentinel.pending_actions where case_id = %s",
                                [biggest]).fetchall())
    assert {m for m in members if m[0] == "msisdn"} <= proposed and proposed <= members | {
        ("imei", i) for (i,) in conn.execute("select value from sentinel.active_hotlist where subject_type = 'imei'")}
    ids = [str(i) for (i,) in conn.execute("select action_id from sentinel.pending_actions where case_id = %s"
                                           " order by 1", [biggest])]
    assert cli.main(["actions", "approve", *ids, "--reviewer", "ada"]) == 1  # not by who proposed them
    assert cli.main(["actions", "approve", *ids, "--reviewer", "bob"]) == 0
    export = tmp_path / "bar_list.csv"
    assert cli.main(["actions", "export", "--format", "csv", "--out", str(export)]) == 0
    with open(export, newline="") as fh:
        exported = list(csv.DictReader(fh))
    assert {(r["target_type"], r["target"]) for r in exported} == proposed
    assert {(r["case_id"], r["approved_by"]) for r in exported} == {(str(biggest), "bob")}
    capsys.readouterr()

    # A back-fill of part of the day keeps every case, the verdict and the bar list.
    before = cases_by_alert(conn)
    run_hours(settings, f"{START:%Y-%m-%d}-05:00", f"{START:%Y-%m-%d}-09:00")
    assert cases_by_alert(conn) == before
    assert conn.execute("select status, reviewed_by from sentinel.cases where case_id = %s", [biggest]).fetchone() == (
        "confirmed", "ada")
    assert conn.execute("select count(*) from sentinel.bar_list").fetchone() == (len(proposed),)

    # The report, in a real browser, shows the figures of the tables.
    report, csv_dir = tmp_path / "report.html", tmp_path / "regulator"
    assert cli.main(["report", "--from", f"{START:%Y-%m-%d}", "--to", f"{TODAY:%Y-%m-%d}", "--out", str(report),
                     "--csv", str(csv_dir)]) == 0
    page = Tables(dump_dom(report))
    (alerts,) = conn.execute("select count(*) from sentinel.alerts where first_seen >= %s", [START]).fetchone()
    assert page.figures["alerts"] == str(alerts)
    (barred,) = conn.execute("select count(*) from sentinel.bar_list where target_type = 'msisdn'").fetchone()
    assert page.figures["numbers-barred"] == str(barred)
    (loss,) = conn.execute("select round(sum(estimated_loss)::numeric, 2) from sentinel.case_traffic").fetchone()
    assert page.figures["estimated-loss"] == f"{loss:,.2f}"
    (trunk,) = conn.execute("select subject from sentinel.alerts where detector = 'cli_masking'").fetchone()
    (row,) = [r for r in page.tables["trunks"] if r["trunk"] == trunk]
    assert int(row["masked_calls"]) == masked
    by_day = {(r["day"], r["detector"]): int(r["alerts"]) for r in page.tables["alerts-by-day"]}
    assert by_day == {(str(d), det): n for d, det, n in conn.execute(
        "select day, detector, alerts from sentinel.daily_alert_counts")}
    detect = {r["detector"]: r for r in page.tables["time-to-detect"]}
    (sdhf_alerts, median) = conn.execute(
        "select count(*), round(extract(epoch from percentile_cont(0.5) within group (order by detection_delay)) / 3600, 1)"
        " from sentinel.time_to_detect where detector = 'sdhf'").fetchone()
    assert (int(detect["sdhf"]["alerts"]), detect["sdhf"]["median_hours"]) == (sdhf_alerts, str(median))
    dom = dump_dom(report)
    assert dom.count("<svg") >= 4 and dom.count("<rect") > 10 and "http" not in re.sub(r'xmlns="[^"]*"', "", dom)

    png = tmp_path / "report.png"
    screenshot(report, png)
    assert png_size(png) == (1100, 2400) and png_colours(png) > 30

    with open(csv_dir / "partners.csv", newline="") as fh:
        partners = {r["partner"]: r for r in csv.DictReader(fh)}
    (partner_row,) = [r for r in partners.values() if trunk in r["trunks"].split()]
    assert int(partner_row["masked_cli_calls"]) == masked
    with open(csv_dir / "barred.csv", newline="") as fh:
        assert {r["target"] for r in csv.DictReader(fh)} == {t for _, t in proposed}
