"""The report as one self-contained HTML page: inline CSS and SVG, no script, nothing fetched.

Every chart has its figures in a table beside it (``<table id=...>``), so a reader can check the chart
and a test can check the page against the database.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from sentinel_pipeline.report.charts import SEVERITY_COLOURS, horizontal_bars, stacked_bars
from sentinel_pipeline.report.figures import Figures

STYLE = """
body { font-family: system-ui, sans-serif; margin: 24px auto; max-width: 980px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ccc; }
.note { color: #555; font-size: 13px; }
.tiles { display: flex; flex-wrap: wrap; gap: 10px; margin: 16px 0; }
.tile { border: 1px solid #ccc; border-radius: 6px; padding: 8px 14px; min-width: 130px; }
.tile .value { font-size: 22px; font-weight: 600; } .tile .label { font-size: 12px; color: #555; }
table { border-collapse: collapse; font-size: 13px; margin: 8px 0; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; } th { background: #f3f3f3; }
td.text, th.text { text-align: left; }
"""


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def table(table_id: str, rows: list[dict], columns: list[str], text: tuple[str, ...] = ()) -> str:
    """An HTML table of ``rows``; each cell carries its column in ``data-col``."""
    if not rows:
        return f'<p class="note" id="{table_id}">None in this period.</p>'
    head = "".join(f'<th class="{"text" if c in text else ""}">{escape(c)}</th>' for c in columns)
    body = "".join(
        "<tr>" + "".join(f'<td data-col="{escape(c)}" class="{"text" if c in text else ""}">{escape(_value(r.get(c)))}</td>'
                         for c in columns) + "</tr>"
        for r in rows
    )
    return f'<table id="{table_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _days(figures: Figures) -> list[str]:
    day, days = figures.start.date(), []
    while day < figures.end.date():
        days.append(day.isoformat())
        day += timedelta(days=1)
    return days


def render_html(figures: Figures, generated_at: datetime | None = None) -> str:
    f = figures
    generated_at = generated_at or datetime.now(timezone.utc)
    days = _days(f)
    money = f" {f.currency}" if f.currency else ""
    severity = {s: [sum(r[s] for r in f.alerts_by_day if r["day"].isoformat() == d) for d in days]
                for s in ("critical", "high", "medium", "low")}
    kinds = sorted({r["kind"] for r in f.loss_by_day})
    loss = {k: [sum(float(r["estimated_loss"] or 0) for r in f.loss_by_day if r["kind"] == k and r["day"].isoformat() == d)
                for d in days] for k in kinds}
    masked = sum(r["masked_cli_calls"] for r in f.partners())
    invalid = sum(r["invalid_cli_calls"] for r in f.partners())
    tiles = [("alerts", "alerts", f.total_alerts), ("cases", "cases", sum(r["cases"] for r in f.cases)),
             ("sims-found", "SIM-box SIMs found", f.sims.get("sims_found", 0)),
             ("numbers-barred", "numbers and SIMs barred", sum(1 for r in f.barred if r["target_type"] in ("msisdn", "imsi"))),
             ("masked-calls", "calls with masked CLI", masked), ("invalid-calls", "calls with invalid CLI", invalid),
             ("estimated-loss", f"estimated loss{money}", f"{f.total_loss:,.2f}")]
    period = f"{f.start:%Y-%m-%d} to {(f.end - timedelta(days=1)):%Y-%m-%d}"
    html = [
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>Sentinel report {period}</title><style>{STYLE}</style></head><body>",
        f"<h1>Sentinel fraud report: {period} (UTC)</h1>",
        f'<p class="note">Generated {generated_at:%Y-%m-%d %H:%M} UTC from Sentinel\'s tables. Alerts, cases and '
        "traffic are counted on the days the calls happened; bars on the day they were approved.</p>",
        '<div class="tiles">' + "".join(
            f'<div class="tile" id="tile-{i}"><div class="value" data-figure="{i}">{escape(str(v))}</div>'
            f'<div class="label">{escape(label)}</div></div>' for i, label, v in tiles) + "</div>",
        "<h2>Alerts by day and severity</h2>",
        stacked_bars("Alerts by day and severity", days, severity, {k: v for k, v in SEVERITY_COLOURS.items()}),
        table("alerts-by-day", f.alerts_by_day, ["day", "detector", "alerts", "critical", "high", "medium", "low"],
              text=("day", "detector")),
        "<h2>Cases</h2>",
        '<p class="note">A case groups the alerts of one SIM box (its SIMs and handsets), one trunk or one number.</p>',
        table("cases", f.cases, ["kind", "status", "cases", "critical"], text=("kind", "status")),
        "<h2>SIMs found and barred</h2>",
        f'<p>SIM-box cases: <b data-figure="simbox-cases">{f.sims.get("simbox_cases", 0)}</b>, their SIMs: '
        f'<b>{f.sims.get("sims_found", 0)}</b>, handsets: <b data-figure="handsets-found">{f.sims.get("handsets_found", 0)}</b>. '
        f'Approved bars and blocks in the period: <b data-figure="barred">{len(f.barred)}</b>.</p>',
        table("barred", f.barred, ["action_id", "action", "target_type", "target", "element", "case_id",
                                   "approved_by", "approved_at"], text=("action", "target_type", "target", "element",
                                                                        "approved_by", "approved_at")),
        "<h2>Masked and invalid CLIs per partner trunk</h2>",
        horizontal_bars("Calls with masked or invalid CLI per trunk", [f"{r['trunk']} ({r['partner']})" for r in f.trunks],
                        [int(r["masked_calls"]) + int(r["invalid_cli_calls"]) for r in f.trunks], " calls"),
        table("trunks", f.trunks, ["trunk", "partner", "masked_calls", "invalid_cli_calls", "calls", "minutes",
                                   "estimated_loss"], text=("trunk", "partner")),
        "<h2>Estimated loss</h2>",
        '<p class="note">An estimate: terminated minutes x (international rate - local rate) from the reference '
        "file rates.csv, per destination or partner; not the bills.</p>",
        stacked_bars(f"Estimated loss by day{money}", days, loss) if kinds else "",
        table("loss-by-day", f.loss_by_day, ["day", "kind", "minutes", "estimated_loss"], text=("day", "kind")),
        table("top-cases", f.top_cases, ["case_id", "kind", "label", "status", "calls", "minutes", "estimated_loss"],
              text=("kind", "label", "status")),
        "<h2>Time to detect</h2>",
        '<p class="note">From the first activity of an alert\'s subject in the data to the end of the first hour '
        "that detected it (event time), for the alerts whose subject became active in the period.</p>",
        horizontal_bars("Median hours to detect", [r["detector"] for r in f.time_to_detect],
                        [float(r["median_hours"]) for r in f.time_to_detect], " h", colour="#5aae61"),
        table("time-to-detect", f.time_to_detect, ["detector", "alerts", "median_hours", "p90_hours", "max_hours"],
              text=("detector",)),
        "</body></html>",
    ]
    return "\n".join(html)
