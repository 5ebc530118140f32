"""``generate()``: ordinary traffic hour by hour plus injected patterns, written as mediation files."""

from __future__ import annotations

import math
import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from sentinel_pipeline.generator import numbering as nb
from sentinel_pipeline.generator import records as rec
from sentinel_pipeline.generator.fraud import Block, World
from sentinel_pipeline.generator.normal import build_population, normal_hour
from sentinel_pipeline.generator.patterns import PATTERNS, TRUNK_PATTERNS
from sentinel_pipeline.generator.scenarios import resolve

LABEL_COLUMNS = ("subject_type", "subject", "fraud_type", "variant")
BOX_COLUMNS = ("box_id", "msisdn", "imei", "imsi")  # boxes.csv: one row per SIM and module it is seen in
ROAMER_COLUMNS = ("msisdn", "from", "to")  # roamers.csv: roaming periods, [from, to)


@dataclass
class GenerateSummary:
    out_dir: Path
    files: list[Path]
    cdr_count: int
    subjects: dict[str, int]  # fraud_type -> labelled subjects
    labels_path: Path
    seconds: float
    record_types: dict[str, int] = field(default_factory=dict)
    boxes_path: Path | None = None
    roamers_path: Path | None = None

    @property
    def rows_per_second(self) -> float:
        return self.cdr_count / self.seconds if self.seconds > 0 else 0.0

    def line(self) -> str:
        subjects = " ".join(f"{k}={v}" for k, v in sorted(self.subjects.items()))
        return (f"wrote {len(self.files)} files, {self.cdr_count:,} CDRs to {self.out_dir} in {self.seconds:.1f}s "
                f"({self.rows_per_second:,.0f} CDR/s); labels {self.labels_path.name}: {subjects or 'none'}")


def default_start(now: datetime | None = None) -> datetime:
    """Yesterday 00:00 UTC."""
    now = now or datetime.now(timezone.utc)
    return datetime(now.year, now.month, now.day, tzinfo=timezone.utc) - timedelta(days=1)


def _utc(start: datetime) -> datetime:
    start = start.replace(tzinfo=timezone.utc) if start.tzinfo is None else start.astimezone(timezone.utc)
    return start.replace(second=0, microsecond=0)


def generate(
    out_dir: str | Path,
    start: datetime | None = None,
    hours: int = 24,
    subscribers: int = 20_000,
    seed: int = 42,
    *,
    file_minutes: int = 5,
    fmt: str = "csv",
    scenario: str = "default",
    labels_path: str | Path | None = None,
    workers: int | None = None,
) -> GenerateSummary:
    """Write synthetic CDR files (one per ``file_minutes`` of event time) and ``labels.csv`` into ``out_dir``;
    ``boxes.csv`` (SIM-box members) and ``roamers.csv`` (roaming periods) next to ``labels.csv``.

    Deterministic: the same arguments give the same bytes, whatever ``workers`` is. A naive ``start`` is UTC;
    it is floored to the minute. ``workers`` processes write hours in parallel (default: 2 for big runs, else 1).
    """
    t0 = time.perf_counter()
    if hours < 1:
        raise ValueError("hours must be >= 1")
    if subscribers < 50:
        raise ValueError("subscribers must be >= 50")
    if file_minutes < 1 or 60 % file_minutes:
        raise ValueError("file_minutes must divide 60 (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30 or 60)")
    if fmt not in rec.FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(rec.FORMATS)}, got {fmt!r}")
    counts = resolve(scenario, subscribers)
    start = _utc(start or default_start())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    labels_path = Path(labels_path) if labels_path else out_dir / "labels.csv"

    world = _build_world(seed, subscribers, counts, int(start.timestamp()), hours)
    plans = {}
    for i, (name, (plan_fn, _)) in enumerate(PATTERNS.items()):
        if counts.get(name, 0) > 0:
            plans[name] = (i, plan_fn(world, counts[name], np.random.default_rng([seed, 100 + i, 0])))
    labels = sorted({lab for _, plan in plans.values() for lab in plan["labels"]},
                    key=lambda r: (r[2], r[0], r[1], r[3]))
    subjects: dict[str, int] = {}
    for _, _, fraud_type, _ in labels:
        subjects[fraud_type] = subjects.get(fraud_type, 0) + 1
    labels_path.parent.mkdir(parents=True, exist_ok=True)
    rec.write_text_atomic(_csv(LABEL_COLUMNS, labels), labels_path)
    boxes_path = labels_path.with_name("boxes.csv")
    rec.write_text_atomic(_csv(BOX_COLUMNS, sorted(set(world.boxes))), boxes_path)
    roamers_path = labels_path.with_name("roamers.csv")
    feed = sorted((f"+{int(world.pop.msisdn[i])}", lo, hi) for i, lo, hi in world.roaming_feed)
    rec.write_text_atomic(_csv(ROAMER_COLUMNS, [(m, _iso(lo), _iso(hi)) for m, lo, hi in feed]), roamers_path)

    job = _Job(world=world, cells=nb.cell_ids(world.pop.n_cells), seed=seed, start_s=int(start.timestamp()),
               file_minutes=file_minutes, fmt=fmt, out_dir=out_dir, away=_away_table(world))
    if workers is None:
        workers = min(2, os.cpu_count() or 1) if hours * subscribers >= 2_000_000 else 1
    tasks = _hour_tasks(job, plans, hours)
    files: list[Path] = []
    total = 0
    by_type = np.zeros(len(rec.RECORD_TYPES), np.int64)
    if workers > 1:
        # Spawned, not forked: a fork of a process whose other threads hold locks (DuckDB, a connection
        # pool, a test runner) can leave a worker waiting forever on a lock no thread will release.
        # ProcessPoolExecutor rather than multiprocessing.Pool: the Pool's exit terminates its workers with
        # SIGTERM and waits for them, forever when SIGTERM is ignored (inherited from a background job) and
        # a worker has not yet taken its stop sentinel; the executor stops them through their queue, and
        # raises instead of hanging when a worker dies.
        with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn"), initializer=_init_worker,
                                 initargs=(job,)) as pool:
            results = list(pool.map(_run_hour, tasks))
    else:
        results = [_write_hour(job, *task) for task in tasks]
    for paths, n, types in results:
        files.extend(paths)
        total += n
        by_type += types
    return GenerateSummary(
        out_dir=out_dir, files=files, cdr_count=total, subjects=subjects, labels_path=labels_path,
        seconds=time.perf_counter() - t0,
        record_types={name: int(c) for name, c in zip(rec.RECORD_TYPES, by_type)},
        boxes_path=boxes_path, roamers_path=roamers_path,
    )


def _csv(columns, rows) -> str:
    return ",".join(columns) + "\n" + "".join(",".join(map(str, row)) + "\n" for row in rows)


def _iso(epoch_s: int) -> str:
    return datetime.fromtimestamp(epoch_s, timezone.utc).isoformat()


def _away_table(world: World):
    """(IMSIs sorted, from, to) of subscribers abroad for part of the run (one period each); None if nobody is."""
    if not world.away:
        return None
    who, lo, hi = (np.array(col, np.int64) for col in zip(*world.away))
    imsi = world.pop.imsi[who]
    order = np.argsort(imsi, kind="stable")
    if len(np.unique(imsi)) != len(imsi):
        raise ValueError("a subscriber has more than one roaming period")
    return imsi[order], lo[order], hi[order]


@dataclass
class _Job:
    world: World
    cells: object
    seed: int
    start_s: int
    file_minutes: int
    fmt: str
    out_dir: Path
    away: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # IMSIs abroad (sorted), from, to


_JOB: _Job | None = None


def _hour_tasks(job: _Job, plans: dict, hours: int):
    """(hour_start, injected records of that hour) in time order; injected patterns are made a day at a time."""
    n_blocks = math.ceil(hours / 24)
    for k in range(n_blocks):
        block = Block(index=k, start=job.start_s + k * 86400, hours=min(24, hours - 24 * k), last=k == n_blocks - 1)
        injected = rec.sort_by_time(rec.concat([
            PATTERNS[name][1](job.world, plan, block, np.random.default_rng([job.seed, 100 + i, 1, k]))
            for name, (i, plan) in plans.items()
        ]))
        injected = injected.take((injected.t >= block.start) & (injected.t < block.end))
        for h in range(block.hours):
            hour_start = block.start + h * 3600
            lo, hi = np.searchsorted(injected.t, [hour_start, hour_start + 3600])
            yield hour_start, injected.take(slice(lo, hi))


def _init_worker(job: _Job) -> None:
    global _JOB
    _JOB = job


def _run_hour(task):
    return _write_hour(_JOB, *task)


def _write_hour(job: _Job, hour_start: int, injected: rec.Batch):
    """Ordinary traffic of one hour + its injected records, written as one file per window."""
    batch = rec.sort_by_time(rec.concat([
        normal_hour(job.world.pop, hour_start, np.random.default_rng([job.seed, 2, hour_start // 3600])),
        injected,
    ]))
    if job.away is not None:
        batch = _drop_abroad(batch, *job.away)
    stamp = datetime.fromtimestamp(hour_start, timezone.utc)
    table = rec.render(batch, 0, f"DT{job.seed}-{stamp:%Y%m%d%H}-", job.cells)
    step = job.file_minutes * 60
    bounds = hour_start + np.arange(0, 3601, step)
    cuts = np.searchsorted(batch.t, bounds)
    ext = rec.FORMATS[job.fmt]
    paths = []
    for j in range(len(bounds) - 1):
        if cuts[j + 1] == cuts[j]:
            continue  # nothing seized in this window: no file
        window = datetime.fromtimestamp(int(bounds[j]), timezone.utc)
        seq = (int(bounds[j]) - job.start_s) // step + 1  # window number in the run: stable, gaps for empty ones
        path = job.out_dir / f"cdr_{window:%Y%m%dT%H%M}_{seq:04d}{ext}"
        rec.write_atomic(table.slice(cuts[j], cuts[j + 1] - cuts[j]), path, job.fmt)
        paths.append(path)
    return paths, len(batch), np.bincount(batch.rtype, minlength=len(rec.RECORD_TYPES))


def _drop_abroad(batch: rec.Batch, imsi: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> rec.Batch:
    """Without the records of subscribers abroad at the time (their IMSI while roaming): no MOC from a home
    cell, and calls to them are routed to the visited network, so no MTC at home either."""
    if not len(batch):
        return batch
    pos = np.minimum(np.searchsorted(imsi, batch.imsi), len(imsi) - 1)
    hit = (imsi[pos] == batch.imsi) & (batch.t >= lo[pos]) & (batch.t < hi[pos])
    return batch.take(~hit) if hit.any() else batch


def _build_world(seed: int, subscribers: int, counts: dict[str, int], start_s: int, hours: int) -> World:
    taken = set(nb.CALL_CENTRE_NUMBERS) | set(nb.ENTERPRISE_NUMBERS)
    pop = build_population(seed, subscribers, taken)
    order = np.random.default_rng([seed, 3]).permutation(nb.INTERNATIONAL_TRUNKS).tolist()
    # Patterns that own a trunk take the next ones of this seed's order (resolve() caps the total).
    fraud_trunks, used = {}, 0
    for name in TRUNK_PATTERNS:
        k = counts.get(name, 0)
        fraud_trunks[name] = order[used:used + k]
        used += k
    return World(seed=seed, pop=pop, taken=taken, fraud_trunks=fraud_trunks, start_s=start_s, hours=hours)
