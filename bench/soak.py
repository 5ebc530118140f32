"""Soak benchmark: Sentinel running as it runs in production (`sentinel dev`: the Dagster daemon, the landing
sensor, runs launched from the queue) while CDR files are delivered every few seconds.

    python -m bench.soak                                  # 10 minutes, a file every 30 s (10x a live feed)
    python -m bench.soak --minutes 30 --interval 5        # 60x
    python -m bench.soak --minutes 60 --interval 300      # a live feed's pace, for an hour

Each file is a generated five-minute file of a network of ``--subscribers`` (the demo's 20,000 by default,
about 2,000 CDRs a file), written under a temporary name and renamed, as mediation delivers. The traffic
is dated so that its last file falls in the current hour: every hour it touches has begun (a file of an
hour that has not begun would wait for that hour's partition, which no live feed ever makes it do). When the last file is in, the
benchmark waits until everything delivered is processed, then prints:

- files delivered, registered (each exactly once) and processed (a successful run covering its hours
  started after it was registered), runs and their outcome, alerts;
- file-to-result latency: from the rename to the end of the first successful run that read the file
  (its hours' raw_cdrs, features, detections and alerts all done), median and slowest, against the
  60 s budget;
- the resident memory of the daemon and of the code server (which evaluates the sensor), sampled at every
  delivery and while draining: flat once started, or growing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import psutil

from bench.machine import load, machine

BUDGET_SECONDS = 60


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10, help="how long files are delivered")
    parser.add_argument("--interval", type=float, default=30, help="seconds between two files")
    parser.add_argument("--subscribers", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--drain-minutes", type=float, default=10, help="how long to wait for the last files")
    parser.add_argument("--port", default="3071", help="the Dagster UI's port while the soak runs")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="snt-soak-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SENTINEL_", "DAGSTER_", "DATABASE_URL"))}
    env["SENTINEL_HOME"] = str(home)
    os.environ.clear()
    os.environ.update(env)

    from sentinel_pipeline import database
    from sentinel_pipeline.generator import generate
    from sentinel_pipeline.settings import Settings

    settings = Settings.from_env()
    files_needed = int(args.minutes * 60 / args.interval) + 1
    # Faster than a live feed, the traffic would run ahead of the clock, and a file of an hour that has not
    # begun waits for that hour's partition: date it so that its last file ends by the current hour.
    hours = -(-files_needed * 5 // 60)
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    staging = home / "staging"
    print(f"machine: {machine()}; load average before: {load()}")
    generate(staging, start=start, hours=hours, subscribers=args.subscribers, seed=args.seed,
             labels_path=home / "labels.csv")
    files = sorted(staging.glob("*.csv"))[:files_needed]
    print(f"{len(files)} five-minute files of {args.subscribers:,} subscribers from {start:%Y-%m-%d %H:%M} UTC, "
          f"one every {args.interval:g} s ({300 / args.interval:g}x a live feed)")

    dev = subprocess.Popen([sys.executable, "-m", "sentinel_pipeline.cli", "dev", "--port", args.port],
                           env=env, stdout=open(home / "dev.log", "w"), stderr=subprocess.STDOUT)
    delivered: dict[str, float] = {}
    memory: dict[str, list[int]] = {}
    try:
        _wait_for_daemon(dev, timeout=120)
        _sample(dev, memory)
        began = time.monotonic()
        for n, path in enumerate(files):
            time.sleep(max(0.0, began + n * args.interval - time.monotonic()))
            settings.landing.write_bytes(path.name, path.read_bytes())  # atomic: a temporary name, then renamed
            delivered[path.name] = time.time()
            _sample(dev, memory)
        deadline = time.monotonic() + args.drain_minutes * 60
        while time.monotonic() < deadline and len(_processed(settings, delivered)) < len(delivered):
            time.sleep(5)
            _sample(dev, memory)
        report(settings, delivered, memory)
    finally:
        dev.terminate()
        try:
            dev.wait(timeout=60)
        except subprocess.TimeoutExpired:
            dev.kill()
        database.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)
    print(f"load average after: {load()}")


def _wait_for_daemon(dev: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if dev.poll() is not None:
            raise SystemExit(f"sentinel dev exited with {dev.returncode}")
        if _processes(dev).get("daemon"):
            return
        time.sleep(1)
    raise SystemExit("the Dagster daemon did not start")


def _processes(dev: subprocess.Popen) -> dict[str, psutil.Process]:
    """The daemon and the code server among `dagster dev`'s children."""
    found = {}
    try:
        for child in psutil.Process(dev.pid).children(recursive=True):
            command = " ".join(child.cmdline())
            if "dagster-daemon" in command or "daemon run" in command:
                found["daemon"] = child
            elif "api grpc" in command or "code-server" in command:
                found.setdefault("code server", child)
    except psutil.Error:
        pass
    return found


def _sample(dev: subprocess.Popen, memory: dict[str, list[int]]) -> None:
    for name, process in _processes(dev).items():
        try:
            memory.setdefault(name, []).append(process.memory_info().rss)
        except psutil.Error:
            pass


def _runs(settings) -> list:
    import dagster as dg

    from sentinel_pipeline import database

    database.prepare_environment(settings)
    with dg.DagsterInstance.get() as instance:
        return instance.get_run_records(dg.RunsFilter(job_name="cdr_pipeline"))


def _processed(settings, delivered: dict[str, float]) -> dict[str, float]:
    """File name -> seconds from its delivery to the end of the first successful run that read it."""
    import dagster as dg

    from assets.partitions import partition_key_for
    from sentinel_pipeline import database

    with database.connect(settings) as conn:
        registered = conn.execute(
            "select path, hours, extract(epoch from registered_at) from sentinel.landed_files where status = 'registered'"
        ).fetchall()
    runs = [r for r in _runs(settings) if r.dagster_run.status == dg.DagsterRunStatus.SUCCESS]
    done = {}
    for path, hours, registered_at in registered:
        if path not in delivered or not hours:
            continue
        ends = [
            r.end_time for r in runs
            if r.start_time and r.start_time >= float(registered_at)
            # partition keys of one time zone sort as the hours they name
            and r.dagster_run.tags.get("dagster/asset_partition_range_start", "~") <= partition_key_for(min(hours))
            and partition_key_for(max(hours)) <= r.dagster_run.tags.get("dagster/asset_partition_range_end", "")
        ]
        if ends:
            done[path] = min(ends) - delivered[path]
    return done


def report(settings, delivered: dict[str, float], memory: dict[str, list[int]]) -> None:
    import dagster as dg

    from sentinel_pipeline import database

    with database.connect(settings) as conn:
        registered, distinct = conn.execute(
            "select count(*), count(distinct path) from sentinel.landed_files").fetchone()
        alerts = conn.execute("select count(*) from sentinel.alerts").fetchone()[0]
    runs = _runs(settings)
    statuses: dict[str, int] = {}
    for r in runs:
        statuses[r.dagster_run.status.value] = statuses.get(r.dagster_run.status.value, 0) + 1
    latency = sorted(_processed(settings, delivered).values())
    print()
    print(f"files delivered {len(delivered)}, registered {registered} ({distinct} distinct), "
          f"processed {len(latency)}")
    print(f"runs: {len(runs)} ({', '.join(f'{n} {s.lower()}' for s, n in sorted(statuses.items()))}); alerts: {alerts}")
    if latency:
        slowest = latency[-1]
        print(f"file to result: median {statistics.median(latency):.0f} s, slowest {slowest:.0f} s; budget "
              f"{BUDGET_SECONDS} s: {'met' if slowest <= BUDGET_SECONDS else f'MISSED by {slowest - BUDGET_SECONDS:.0f} s'}")
    for name, samples in memory.items():
        step = max(1, len(samples) // 8)
        series = " ".join(f"{rss / 2**20:.0f}" for rss in samples[::step] + samples[-1:])
        print(f"{name} resident memory (MB, {len(samples)} samples from start to end, every {step}th shown): "
              f"{series}; at most {max(samples) / 2**20:.0f}")
    if len(latency) < len(delivered) or statuses.get(dg.DagsterRunStatus.FAILURE.value):
        print("NOT every delivered file was processed by a successful run: see the runs in the UI")


if __name__ == "__main__":
    main()
