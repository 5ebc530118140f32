"""Prometheus metrics computed from PostgreSQL at scrape time, and the HTTP server that serves them.

Nothing is counted in process memory: every scrape reads the tables, so any number of metrics servers
(replicas, restarts) report the same values. The metrics (docs/operations.md has the full table):

    sentinel_alerts_generated_total{detector,severity}   cases in sentinel.alerts
    sentinel_open_alerts{detector,severity}               cases with status open or investigating
    sentinel_alerts_by_status{status}                     cases per triage status
    sentinel_suppressions_active                          whitelist entries in force
    sentinel_cdrs_ingested_total                          sum of sentinel.raw_partitions.rows_accepted
    sentinel_cdrs_rejected_total                          sum of sentinel.raw_partitions.rows_rejected
    sentinel_cdrs_duplicate_total                         sum of sentinel.raw_partitions.duplicates
    sentinel_last_ingest_timestamp_seconds                newest raw_partitions.written_at
    sentinel_newest_cdr_timestamp_seconds                 seizure time of the newest CDR in the lake
    sentinel_cdr_lag_seconds                              now - the newest CDR's seizure time
    sentinel_last_detection_timestamp_seconds{detector}   newest detections.detected_at per detector
    sentinel_dq_checks_failing{asset,check,severity}      partition hours whose latest result failed
    sentinel_dq_results_table_present                     1 once sentinel.dq_results exists
    sentinel_database_up                                  1 if this scrape could read PostgreSQL
    sentinel_scrape_duration_seconds                      how long this scrape's queries took

Endpoints: ``/metrics``, ``/health`` (``{"status": ...}``) and ``/health/detailed`` (every check), both
503 when a check fails (see ``sentinel_pipeline.health``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from sentinel_pipeline import health, storage
from sentinel_pipeline.lake import hour_key
from sentinel_pipeline.settings import Settings

log = logging.getLogger(__name__)

ALERT_COUNTS = """
select detector, severity::text,
       count(*) as generated,
       count(*) filter (where status in ('open', 'investigating')) as open
from sentinel.alerts
group by detector, severity
order by detector, severity
"""

ALERT_STATUSES = "select status, count(*) from sentinel.alerts group by status order by status"

SUPPRESSIONS = "select count(*) from sentinel.suppressions where lifted_at is null"

INGEST = """
select coalesce(sum(rows_accepted), 0), coalesce(sum(rows_rejected), 0), coalesce(sum(duplicates), 0),
       extract(epoch from max(written_at)),
       max(hour) filter (where rows_accepted > 0)
from sentinel.raw_partitions
"""

LAST_DETECTION = """
select detector, extract(epoch from max(detected_at))
from sentinel.detections
group by detector
order by detector
"""

# The latest outcome per check and partition hour; a failing one counts once.
DQ_FAILING = """
select asset, check_name, severity, count(*)
from (
    select distinct on (asset, check_name, partition_hour) asset, check_name, partition_hour, severity, passed
    from sentinel.dq_results
    order by asset, check_name, partition_hour, checked_at desc, result_id desc
) latest
where not passed
group by asset, check_name, severity
order by asset, check_name, severity
"""

STATUSES = ("open", "investigating", "confirmed", "false_positive", "closed")


def newest_cdr_time(settings: Settings, newest_hour: datetime | None) -> datetime | None:
    """The newest seizure_time in the lake's raw_cdrs file of ``newest_hour`` (from the Parquet statistics,
    so it reads a few kB); the end of that hour if the file cannot be read."""
    if newest_hour is None:
        return None
    path = settings.lake.url(hour_key("raw_cdrs", newest_hour))
    try:
        import duckdb

        with duckdb.connect() as con:
            storage.prepare_duckdb(con, settings.lake)
            con.execute("set time zone 'UTC'")
            (value,) = con.execute("select max(seizure_time) from read_parquet(?)", [str(path)]).fetchone()
        if value is not None:
            return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    except Exception as exc:  # noqa: BLE001 - a missing lake file must not break the scrape
        log.debug("newest CDR from %s: %s", path, exc)
    return min(newest_hour + timedelta(hours=1), datetime.now(timezone.utc))


class SentinelCollector:
    """A prometheus_client collector that queries PostgreSQL on every collect()."""

    def __init__(self, settings: Settings):
        from psycopg_pool import ConnectionPool

        from sentinel_pipeline import database

        self.settings = settings
        # Scrapes and health probes reuse connections; DATABASE_POOL_MIN_SIZE/MAX_SIZE bound them. The
        # pool checks a connection before lending it, so a restarted PostgreSQL is picked up again.
        self.pool = ConnectionPool(
            database.database_url(settings),
            min_size=settings.database_pool_min_size,
            max_size=settings.database_pool_max_size,
            kwargs={"connect_timeout": health.CONNECT_TIMEOUT_SECONDS},
            check=ConnectionPool.check_connection,
            open=False,
        )
        self.pool.open(wait=False)

    def describe(self):
        return []  # no description pass: registering must not touch the database

    def collect(self):
        started = time.perf_counter()
        up = GaugeMetricFamily("sentinel_database_up", "1 if this scrape could read Sentinel's PostgreSQL")
        families = []
        try:
            with self.pool.connection(timeout=health.CONNECT_TIMEOUT_SECONDS) as conn:
                with conn.transaction():  # one snapshot for the whole scrape
                    conn.execute("set transaction read only")
                    families = self._families(conn)
            up.add_metric([], 1)
        except Exception as exc:  # noqa: BLE001 - report the database as down rather than failing the scrape
            log.warning("metrics scrape could not read PostgreSQL: %s", exc)
            up.add_metric([], 0)
        yield from families
        yield up
        duration = GaugeMetricFamily("sentinel_scrape_duration_seconds", "Time this scrape spent querying")
        duration.add_metric([], time.perf_counter() - started)
        yield duration

    def _families(self, conn) -> list:
        generated = CounterMetricFamily(
            "sentinel_alerts_generated", "Alerts (cases) generated, by detector and severity",
            labels=["detector", "severity"],
        )
        open_alerts = GaugeMetricFamily(
            "sentinel_open_alerts", "Alerts with status open or investigating", labels=["detector", "severity"]
        )
        for detector, severity, total, opened in conn.execute(ALERT_COUNTS):
            generated.add_metric([detector, severity], total)
            open_alerts.add_metric([detector, severity], opened)

        by_status = GaugeMetricFamily("sentinel_alerts_by_status", "Alerts per triage status", labels=["status"])
        counts = dict(conn.execute(ALERT_STATUSES).fetchall())
        for status in STATUSES:
            by_status.add_metric([status], counts.get(status, 0))

        suppressions = GaugeMetricFamily("sentinel_suppressions_active", "Whitelist entries in force")
        suppressions.add_metric([], conn.execute(SUPPRESSIONS).fetchone()[0])

        accepted, rejected, duplicates, last_ingest, newest_hour = conn.execute(INGEST).fetchone()
        ingested = CounterMetricFamily("sentinel_cdrs_ingested", "CDRs accepted into the lake (sum of raw_partitions.rows_accepted)")
        ingested.add_metric([], int(accepted))
        rejects = CounterMetricFamily("sentinel_cdrs_rejected", "CDRs rejected (sum of raw_partitions.rows_rejected)")
        rejects.add_metric([], int(rejected))
        dups = CounterMetricFamily("sentinel_cdrs_duplicate", "Duplicate CDRs dropped (sum of raw_partitions.duplicates)")
        dups.add_metric([], int(duplicates))
        families = [generated, open_alerts, by_status, suppressions, ingested, rejects, dups]

        if last_ingest is not None:
            g = GaugeMetricFamily("sentinel_last_ingest_timestamp_seconds", "When the newest raw_cdrs partition was written")
            g.add_metric([], float(last_ingest))
            families.append(g)
        newest = newest_cdr_time(self.settings, newest_hour)
        if newest is not None:
            g = GaugeMetricFamily("sentinel_newest_cdr_timestamp_seconds", "Seizure time of the newest CDR ingested")
            g.add_metric([], newest.timestamp())
            lag = GaugeMetricFamily("sentinel_cdr_lag_seconds", "Seconds between the newest CDR ingested and now")
            lag.add_metric([], max(0.0, time.time() - newest.timestamp()))
            families += [g, lag]

        last = GaugeMetricFamily(
            "sentinel_last_detection_timestamp_seconds", "When a detector last wrote a detection", labels=["detector"]
        )
        rows = conn.execute(LAST_DETECTION).fetchall()
        for detector, epoch in rows:
            last.add_metric([detector], float(epoch))
        families.append(last)

        present = conn.execute("select to_regclass('sentinel.dq_results') is not null").fetchone()[0]
        table = GaugeMetricFamily("sentinel_dq_results_table_present", "1 once sentinel.dq_results exists")
        table.add_metric([], int(present))
        failing = GaugeMetricFamily(
            "sentinel_dq_checks_failing", "Partition hours whose latest data-quality check result failed",
            labels=["asset", "check", "severity"],
        )
        if present:
            for asset, check, severity, count in conn.execute(DQ_FAILING):
                failing.add_metric([asset, check, severity], count)
        families += [table, failing]
        return families


def build_registry(settings: Settings) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(SentinelCollector(settings))
    return registry


class _Handler(BaseHTTPRequestHandler):
    server: "MetricsServer"

    def do_GET(self):  # noqa: N802 - http.server's naming
        path = self.path.split("?", 1)[0].rstrip("/") or "/"
        if path == "/metrics":
            self._send(200, generate_latest(self.server.registry), CONTENT_TYPE_LATEST)
        elif path in ("/health", "/health/detailed"):
            results = health.run_checks(self.server.settings)
            body = health.report(results)
            if path == "/health":
                body = {"status": body["status"]}
            code = 200 if health.healthy(results) else 503
            self._send(code, (json.dumps(body, indent=2) + "\n").encode(), "application/json")
        elif path == "/":
            self._send(200, b"Sentinel metrics: /metrics /health /health/detailed\n", "text/plain")
        else:
            self._send(404, b"not found\n", "text/plain")

    def _send(self, code: int, body: bytes, content_type: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        log.debug("%s %s", self.address_string(), format % args)


class MetricsServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, settings: Settings, host: str = "0.0.0.0", port: int = 9108):
        super().__init__((host, port), _Handler)
        self.settings = settings
        self.collector = SentinelCollector(settings)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    def server_close(self) -> None:
        super().server_close()
        self.collector.pool.close()

    def start_in_thread(self) -> threading.Thread:
        thread = threading.Thread(target=self.serve_forever, name="sentinel-metrics", daemon=True)
        thread.start()
        return thread
