"""CSV files for regulators: per interconnect partner, the calls with masked or invalid CLI its trunks
delivered; every number and SIM barred; alerts per day; time to detect."""

from __future__ import annotations

import csv
from pathlib import Path

from sentinel_pipeline.report.figures import Figures

PARTNER_COLUMNS = ("partner", "trunks", "masked_cli_calls", "invalid_cli_calls", "minutes", "estimated_loss")


def _write(path: Path, columns: tuple[str, ...], rows: list[dict]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: (" ".join(v) if isinstance(v, list) else v) for k, v in row.items()})


def write_csv(figures: Figures, directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "partners.csv": (PARTNER_COLUMNS, figures.partners()),
        "barred.csv": (("action_id", "action", "target_type", "target", "element", "case_id", "approved_by",
                        "approved_at"), figures.barred),
        "alerts_by_day.csv": (("day", "detector", "alerts", "critical", "high", "medium", "low"), figures.alerts_by_day),
        "time_to_detect.csv": (("detector", "alerts", "median_hours", "p90_hours", "max_hours"), figures.time_to_detect),
    }
    for name, (columns, rows) in files.items():
        _write(directory / name, columns, rows)
    return [directory / name for name in files]
