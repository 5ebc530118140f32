"""Several clean files are read in one scan; every rejected row must still name its own file and line."""

import os
import time

from sentinel_pipeline import ingest, landing

HEADER = "record_id,seizure_time,duration_s,a_number,b_number\n"


def test_rejects_keep_their_file_and_line_when_files_are_read_together(settings, conn, monkeypatch):
    settings.landing.root.mkdir(parents=True)
    bad_lines = {"a.csv": 4, "b.csv": 2, "c.csv": 7}
    for n, (name, bad) in enumerate(bad_lines.items()):
        rows = [f"{name}-{i},2026-11-26T10:{i:02d}:00Z,5,08031234567,08061234567" for i in range(2, 10 + n)]
        rows[bad - 2] = f"{name}-bad,2026-11-26T10:30:00Z,-1,08031234567,08061234567"
        (settings.landing.root / name).write_text(HEADER + "\n".join(rows) + "\n")
        os.utime(settings.landing.root / name, (time.time() - 60, time.time() - 60))
    outcome = landing.register_landed_files(settings, conn, {})
    # Clean files never take the file-by-file path.
    monkeypatch.setattr(ingest, "with_file_rows", lambda *a, **k: (_ for _ in ()).throw(AssertionError("file by file")))
    summary = ingest.build_raw_hours(settings, conn, sorted(outcome.hours))

    rejects = conn.execute(
        "select f.path, r.line, r.reason from sentinel.cdr_rejects r join sentinel.landed_files f using (file_id)"
        " order by f.path"
    ).fetchall()
    assert [(path, line) for path, line, _ in rejects] == sorted(bad_lines.items())
    assert all(reason == "duration_s is negative: -1" for _, _, reason in rejects)
    assert summary.rows_read == 8 + 9 + 10 and summary.rejected == 3
