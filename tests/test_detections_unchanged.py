"""The fast path (issue 11: numbers read once per distinct value by phonenumbers' rules, one scan per
layout, partitioned writes) finds what the engine before it found: a generated scenario with every kind
of fraud gives the same detections, hour by hour, with the same severities and scores.

``tests/data/detections_before_fast_path.csv`` was recorded by this module, run as a script on commit
a2fdef3 (the last commit before the change)::

    python tests/test_detections_unchanged.py tests/data/detections_before_fast_path.csv

What the better number reading changes on purpose is listed in docs/benchmarks.md ("Detection results");
none of it occurs in this scenario, whose numbers are valid by phonenumbers (docs/generator.md).

Re-recorded twice since, on purpose (issue 14): ``simbox_profile`` gained its ``closed_site`` condition,
which removed the 26 detections of the scenario's 6 sales-team SIMs (``legit_sales_team``) and nothing
else (docs/detectors.md, simbox_profile, "Changed deliberately"); then ``sdhf`` and ``simbox_profile``
stopped counting SMS as calls, which removed the 44 detections of the scenario's 8 SMS-farm SIMs
(``sms_simfarm``, the subjects of their own detector) and nothing else; the rows of detectors added since
are left out of the file. Detectors added since are not
pinned here.
"""

from __future__ import annotations

import csv
import sys
from datetime import datetime, timezone
from pathlib import Path

SCENARIO = dict(start=datetime(2026, 11, 20, tzinfo=timezone.utc), hours=30, subscribers=2000, seed=41,
                scenario="everything")
GOLDEN = Path(__file__).parent / "data" / "detections_before_fast_path.csv"
COLUMNS = ["detector", "partition_hour", "subject_type", "subject", "severity", "score"]


def detections(settings) -> list[list[str]]:
    """Generate the scenario into ``settings.landing.root``, process it, and return every detection."""
    from sentinel_pipeline import database
    from sentinel_pipeline.cli.process import process_landing
    from sentinel_pipeline.generator import generate

    generate(settings.landing.root, labels_path=settings.home / "labels.csv", **SCENARIO)
    process_landing(settings)
    with database.connect(settings) as conn:
        rows = conn.execute(
            """
            select detector, to_char(partition_hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'),
                   subject_type, subject, severity::text, round(score::numeric, 6)::text
            from sentinel.detections order by 1, 2, 3, 4
            """
        ).fetchall()
    return [list(r) for r in rows]


def test_the_fast_path_finds_what_the_engine_before_it_found(settings):
    with open(GOLDEN, newline="") as fh:
        reader = csv.reader(fh)
        assert next(reader) == COLUMNS
        before = [row for row in reader]
    pinned = {r[0] for r in before}
    after = [r for r in detections(settings) if r[0] in pinned]  # detectors added since are not pinned here
    assert len(pinned) >= 6  # the scenario exercises the detectors, not one of them
    missing = [r for r in before if r not in after]
    new = [r for r in after if r not in before]
    assert not missing and not new, f"{len(missing)} detections lost, {len(new)} new: {missing[:5]} {new[:5]}"


if __name__ == "__main__":
    import os
    import shutil
    import tempfile

    home = Path(tempfile.mkdtemp(prefix="snt-golden-"))
    os.environ.update(SENTINEL_HOME=str(home), SENTINEL_LANDING_SETTLE_SECONDS="0")
    from sentinel_pipeline import database
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    try:
        rows = detections(settings)
    finally:
        database.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)
    with open(sys.argv[1], "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    print(f"{sys.argv[1]}: {len(rows)} detections")
