"""`sentinel metrics` against a real PostgreSQL over real HTTP, and the monitoring files (promtool)."""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone

import duckdb
import pytest
from prometheus_client.parser import text_string_to_metric_families

from sentinel_pipeline.lake import hour_key
from sentinel_pipeline.metrics import MetricsServer
from sentinel_pipeline.settings import PROJECT_ROOT
from sentinel_pipeline.store import refresh_alerts, replace_detections
from tests.rows import detection

MONITORING = PROJECT_ROOT / "monitoring"
T0 = datetime(2024, 3, 1, tzinfo=timezone.utc)


def det(h: int, subject: str, score: float, severity: str) -> dict:
    return detection(T0 + timedelta(hours=h), subject, severity=severity, score=score, seen=(0, 30))


def start_server(settings) -> MetricsServer:
    """A metrics server on a free port below 32768 (outside the ephemeral range), serving in a thread."""
    for _ in range(50):
        try:
            server = MetricsServer(settings, "127.0.0.1", random.randint(20000, 32000))
        except OSError:
            continue
        server.start_in_thread()
        return server
    raise RuntimeError("no free port")


def get(server: MetricsServer, path: str) -> tuple[int, str]:
    url = f"http://127.0.0.1:{server.server_address[1]}{path}"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def samples(text: str) -> dict[tuple, float]:
    """{(sample name, ((label, value), ...)): value}"""
    out = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


@pytest.fixture
def server(settings, monkeypatch):
    # /health's Dagster check exports these (database.prepare_environment): keep them to this test.
    for name in ("DAGSTER_HOME", "SENTINEL_DAGSTER_PG_URL", "SENTINEL_DAGSTER_ARTIFACTS"):
        monkeypatch.setenv(name, os.environ.get(name, ""))
    monkeypatch.setenv("DAGSTER_HOME", str(PROJECT_ROOT))
    s = start_server(settings)
    yield s
    s.shutdown()
    s.server_close()


def populate(conn, settings) -> datetime:
    """Alerts, ingest facts, a lake file and data-quality results; returns the newest CDR's time."""
    replace_detections(conn, "sdhf", [T0], [det(0, "+1", 0.9, "CRITICAL"), det(0, "+2", 0.7, "HIGH")], "r")
    refresh_alerts(conn, "sdhf", [T0])
    replace_detections(conn, "wangiri", [T0], [det(0, "+3", 0.7, "HIGH")], "w")
    refresh_alerts(conn, "wangiri", [T0])
    conn.execute("update sentinel.alerts set status = 'false_positive' where subject = '+2'")
    conn.execute("update sentinel.alerts set status = 'closed' where subject = '+3'")
    conn.execute(
        """insert into sentinel.raw_partitions (hour, input_fingerprint, rows_accepted, rows_rejected, duplicates, files)
           values (%s, 'a', 1000, 7, 3, 2), (%s, 'b', 2500, 13, 0, 3), (%s, 'c', 0, 4, 0, 1)""",
        [T0, T0 + timedelta(hours=1), T0 + timedelta(hours=2)],
    )
    newest = T0 + timedelta(hours=1, minutes=42, seconds=17)
    path = settings.lake.root / hour_key("raw_cdrs", T0 + timedelta(hours=1))
    path.parent.mkdir(parents=True, exist_ok=True)
    duckdb.sql(
        f"copy (select * from (values (timestamptz '{(newest - timedelta(minutes=20)).isoformat()}'),"
        f" (timestamptz '{newest.isoformat()}')) t(seizure_time)) to '{path}' (format parquet)"
    )
    if conn.execute("select to_regclass('sentinel.dq_results') is not null").fetchone()[0]:
        conn.execute(
            """insert into sentinel.dq_results
                   (checked_at, asset, check_name, partition_hour, passed, severity, blocking, summary, details)
               values (now() - interval '2 hours', 'raw_cdrs', 'valid_times', %(h0)s, false, 'ERROR', true, '', '{}'),
                      (now(),                      'raw_cdrs', 'valid_times', %(h0)s, true,  'ERROR', true, '', '{}'),
                      (now(),                      'raw_cdrs', 'valid_times', %(h1)s, false, 'ERROR', true, '', '{}'),
                      (now(),                      'raw_cdrs', 'valid_times', %(h2)s, false, 'ERROR', true, '', '{}'),
                      (now(),                      'caller_features', 'fresh', %(h1)s, false, 'WARN', false, '', '{}')""",
            {"h0": T0, "h1": T0 + timedelta(hours=1), "h2": T0 + timedelta(hours=2)},
        )
    return newest


def test_metrics_over_http_match_the_tables(settings, conn, server):
    newest = populate(conn, settings)
    status, text = get(server, "/metrics")
    assert status == 200
    got = samples(text)

    expected_generated = {
        (("detector", d), ("severity", s)): n
        for d, s, n in conn.execute("select detector, severity::text, count(*) from sentinel.alerts group by 1, 2")
    }
    assert expected_generated == {(("detector", "sdhf"), ("severity", "CRITICAL")): 1,
                                  (("detector", "sdhf"), ("severity", "HIGH")): 1,
                                  (("detector", "wangiri"), ("severity", "HIGH")): 1}
    assert {k[1]: v for k, v in got.items() if k[0] == "sentinel_alerts_generated_total"} == expected_generated
    assert {k[1]: v for k, v in got.items() if k[0] == "sentinel_open_alerts"} == {
        (("detector", "sdhf"), ("severity", "CRITICAL")): 1,
        (("detector", "sdhf"), ("severity", "HIGH")): 0,
        (("detector", "wangiri"), ("severity", "HIGH")): 0,
    }
    accepted, rejected = conn.execute("select sum(rows_accepted), sum(rows_rejected) from sentinel.raw_partitions").fetchone()
    assert got[("sentinel_cdrs_ingested_total", ())] == accepted == 3500
    assert got[("sentinel_cdrs_rejected_total", ())] == rejected == 24
    assert got[("sentinel_cdrs_duplicate_total", ())] == 3
    assert got[("sentinel_suppressions_active", ())] == 1
    assert got[("sentinel_alerts_by_status", (("status", "closed"),))] == 1
    assert got[("sentinel_newest_cdr_timestamp_seconds", ())] == newest.timestamp()
    lag = got[("sentinel_cdr_lag_seconds", ())]
    assert abs(lag - (time.time() - newest.timestamp())) < 60
    (last_detection,) = conn.execute("select extract(epoch from max(detected_at)) from sentinel.detections where detector = 'sdhf'").fetchone()
    assert got[("sentinel_last_detection_timestamp_seconds", (("detector", "sdhf"),))] == pytest.approx(float(last_detection))
    (last_ingest,) = conn.execute("select extract(epoch from max(written_at)) from sentinel.raw_partitions").fetchone()
    assert got[("sentinel_last_ingest_timestamp_seconds", ())] == pytest.approx(float(last_ingest))
    assert got[("sentinel_database_up", ())] == 1
    # Cases, the bar list and the time to detect come from their tables and views.
    cases = {(("kind", k), ("status", st)): n for k, st, n in conn.execute(
        "select kind, status, count(*) from sentinel.cases where merged_into is null group by 1, 2")}
    assert {k[1]: v for k, v in got.items() if k[0] == "sentinel_cases"} == cases and sum(cases.values()) == 3
    assert got[("sentinel_actions_pending", ())] == 0 and got[("sentinel_bar_list_entries", ())] == 0
    # Every alert's subject was first active at its first_seen (T0), and first detected by hour 0 (ending T0+1h).
    assert got[("sentinel_detection_delay_seconds", (("detector", "sdhf"), ("quantile", "0.5")))] == 3600
    (wall,) = conn.execute("select extract(epoch from percentile_cont(0.9) within group (order by time_to_detect))"
                           " from sentinel.time_to_detect where detector = 'wangiri'").fetchone()
    assert got[("sentinel_time_to_detect_seconds", (("detector", "wangiri"), ("quantile", "0.9")))] == pytest.approx(
        float(wall))
    if got[("sentinel_dq_results_table_present", ())]:
        # hour 0 failed, then passed: only its latest result counts.
        assert {k[1]: v for k, v in got.items() if k[0] == "sentinel_dq_checks_failing"} == {
            (("asset", "caller_features"), ("check", "fresh"), ("severity", "WARN")): 1,
            (("asset", "raw_cdrs"), ("check", "valid_times"), ("severity", "ERROR")): 2,
        }


def test_metrics_tolerate_an_empty_database_and_a_missing_dq_table(settings, conn, server):
    conn.execute("drop table if exists sentinel.dq_results cascade")
    status, text = get(server, "/metrics")
    assert status == 200
    got = samples(text)
    assert got[("sentinel_cdrs_ingested_total", ())] == 0
    assert got[("sentinel_dq_results_table_present", ())] == 0
    assert got[("sentinel_database_up", ())] == 1
    assert not any(k[0] == "sentinel_dq_checks_failing" for k in got)


def test_health_endpoints(settings, server):
    # The landing directory does not exist yet: unhealthy, and /health/detailed says which check.
    status, body = get(server, "/health")
    assert (status, json.loads(body)) == (503, {"status": "failing"})
    status, body = get(server, "/health/detailed")
    report = json.loads(body)
    assert status == 503
    assert {c["name"]: c["ok"] for c in report["checks"]} == {
        "database": True, "migrations": True, "lake": True, "landing": False, "dagster": True,
    }
    settings.landing.root.mkdir(parents=True)
    status, body = get(server, "/health")
    assert (status, json.loads(body)) == (200, {"status": "ok"})
    assert get(server, "/nope")[0] == 404


def test_a_database_that_is_down_is_reported_not_crashed(settings, monkeypatch):
    from dataclasses import replace

    down = replace(settings, database_url="postgresql://nobody@127.0.0.1:1/none?connect_timeout=2")
    s = start_server(down)
    try:
        status, text = get(s, "/metrics")
        assert status == 200
        assert samples(text)[("sentinel_database_up", ())] == 0
        status, body = get(s, "/health/detailed")
        checks = {c["name"]: c for c in json.loads(body)["checks"]}
        assert status == 503
        assert not checks["database"]["ok"] and not checks["migrations"]["ok"] and not checks["dagster"]["ok"]
    finally:
        s.shutdown()
        s.server_close()


# ----------------------------------------------------------------------------- monitoring files


def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("SENTINEL_REQUIRE_PROMTOOL"):
            pytest.fail("promtool is required (SENTINEL_REQUIRE_PROMTOOL) but not installed")
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    return path


def test_promtool_accepts_the_rules():
    result = subprocess.run([promtool(), "check", "rules", str(MONITORING / "prometheus-rules.yaml")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass():
    result = subprocess.run([promtool(), "test", "rules", "prometheus-rules.test.yaml"], cwd=MONITORING,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


SERVED = {
    "sentinel_alerts_generated_total", "sentinel_open_alerts", "sentinel_alerts_by_status",
    "sentinel_suppressions_active", "sentinel_cdrs_ingested_total", "sentinel_cdrs_rejected_total",
    "sentinel_cdrs_duplicate_total", "sentinel_last_ingest_timestamp_seconds",
    "sentinel_newest_cdr_timestamp_seconds", "sentinel_cdr_lag_seconds",
    "sentinel_last_detection_timestamp_seconds", "sentinel_dq_checks_failing",
    "sentinel_dq_results_table_present", "sentinel_database_up", "sentinel_scrape_duration_seconds",
    "sentinel_cases", "sentinel_actions_pending", "sentinel_bar_list_entries", "sentinel_detection_delay_seconds",
    "sentinel_time_to_detect_seconds",  # sentinel_estimated_loss too, once a case has priced traffic
}


def test_the_dashboard_and_rules_use_only_metrics_the_server_serves(settings, conn):
    from prometheus_client import generate_latest

    from sentinel_pipeline.metrics import build_registry

    populate(conn, settings)
    served = {k[0] for k in samples(generate_latest(build_registry(settings)).decode())}
    assert served == SERVED

    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p.get("targets", [])]
    assert exprs and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])
    rules = (MONITORING / "prometheus-rules.yaml").read_text()
    used = set(re.findall(r"\bsentinel_[a-z_]+", " ".join(exprs) + rules)) - {"sentinel_alerts"}
    assert used <= SERVED, used - SERVED
    assert {"sentinel_alerts_generated_total", "sentinel_cdr_lag_seconds", "sentinel_dq_checks_failing",
            "sentinel_last_detection_timestamp_seconds"} <= used


def test_sentinel_metrics_command_serves_curl(settings, conn):
    """`sentinel metrics` as operations run it, scraped with curl."""
    populate(conn, settings)
    curl = shutil.which("curl")
    for _ in range(20):
        port = random.randint(20000, 32000)
        proc = subprocess.Popen(
            [sys.executable, "-m", "sentinel_pipeline.cli", "metrics", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        line = proc.stdout.readline()
        if line.startswith("serving"):
            break
        proc.kill()
        proc.wait()
    try:
        url = f"http://127.0.0.1:{port}/metrics"
        if curl:
            text = subprocess.run([curl, "-sf", url], capture_output=True, text=True, timeout=30, check=True).stdout
        else:
            text = urllib.request.urlopen(url, timeout=30).read().decode()
        got = samples(text)
        assert got[("sentinel_cdrs_ingested_total", ())] == 3500
        assert got[("sentinel_alerts_generated_total", (("detector", "sdhf"), ("severity", "CRITICAL")))] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
