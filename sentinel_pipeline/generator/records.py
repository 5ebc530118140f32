"""Columnar CDR batches (numpy), their rendering to the canonical text columns (pyarrow), and file writing.

A :class:`Batch` keeps every column numeric (numbers as int64 E.164 digits plus a presentation code,
trunks/record types as small codes), so that traffic can be generated and concatenated cheaply; it becomes
strings only once per hour, in :func:`render`.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from sentinel_pipeline.generator import numbering as nb

COLUMNS = (
    "record_id", "seizure_time", "answer_time", "duration_s", "a_number", "b_number", "record_type",
    "trunk_in", "trunk_out", "imsi", "imei", "cell_id", "release_cause", "service",
)
RECORD_TYPES = ("MOC", "MTC", "IGW_IN", "IGW_OUT", "TRANSIT")
MOC, MTC, IGW_IN, IGW_OUT, TRANSIT = range(5)
FORMATS = {"csv": ".csv", "csv.gz": ".csv.gz", "parquet": ".parquet"}

_DTYPES = {
    "t": np.int64, "ring": np.int32, "dur": np.int32, "cause": np.int16,
    "a": np.int64, "a_fmt": np.int8, "b": np.int64, "b_fmt": np.int8, "rtype": np.int8,
    "trunk_in": np.int16, "trunk_out": np.int16, "imsi": np.int64, "imei": np.int64, "cell": np.int32,
    "svc": np.int8,
}
_DEFAULTS = {"ring": -1, "dur": 0, "cause": 16, "a_fmt": 1, "b_fmt": 1, "trunk_in": -1, "trunk_out": -1,
             "imsi": 0, "imei": 0, "cell": -1, "svc": 0}
SERVICES = ("voice", "sms")
VOICE, SMS = range(2)


@dataclass
class Batch:
    t: np.ndarray  # seizure time, epoch seconds
    ring: np.ndarray  # seconds from seizure to answer, -1 if unanswered
    dur: np.ndarray  # answered seconds, 0 if unanswered
    cause: np.ndarray  # Q.850 release cause
    a: np.ndarray
    a_fmt: np.ndarray
    b: np.ndarray
    b_fmt: np.ndarray
    rtype: np.ndarray
    trunk_in: np.ndarray  # index into numbering.TRUNKS, -1 = empty
    trunk_out: np.ndarray
    imsi: np.ndarray  # 0 = empty
    imei: np.ndarray  # 0 = empty
    cell: np.ndarray  # index into the cell table, -1 = empty
    svc: np.ndarray  # index into SERVICES (0 voice, 1 sms)
    a_raw: np.ndarray | None = None  # object array: a literal CLI overriding ``a`` where not None

    def __len__(self) -> int:
        return len(self.t)

    def take(self, idx: np.ndarray | slice) -> "Batch":
        kw = {f.name: getattr(self, f.name)[idx] for f in fields(self) if f.name != "a_raw"}
        return Batch(**kw, a_raw=None if self.a_raw is None else self.a_raw[idx])


def make(rtype: int, t, *, a, b, a_fmt=None, b_fmt=None, a_raw=None, **cols) -> Batch:
    """Build a batch of one record type; scalars broadcast to the length of ``t``."""
    t = np.asarray(t, dtype=np.int64)
    n = len(t)
    kw: dict[str, np.ndarray] = {"t": t}
    values = dict(_DEFAULTS, **cols, a=a, b=b, rtype=rtype)
    if a_fmt is not None:
        values["a_fmt"] = a_fmt
    if b_fmt is not None:
        values["b_fmt"] = b_fmt
    for name, dtype in _DTYPES.items():
        if name == "t":
            continue
        v = np.asarray(values[name], dtype=dtype)
        kw[name] = np.broadcast_to(v, (n,)).copy() if v.ndim == 0 else v
    return Batch(**kw, a_raw=a_raw)


def empty() -> Batch:
    return make(MOC, np.zeros(0, np.int64), a=0, b=0)


def concat(batches: list[Batch]) -> Batch:
    batches = [b for b in batches if len(b)]
    if not batches:
        return empty()
    kw = {name: np.concatenate([getattr(b, name) for b in batches]) for name in _DTYPES}
    raw = None
    if any(b.a_raw is not None for b in batches):
        raw = np.concatenate([b.a_raw if b.a_raw is not None else np.full(len(b), None, object) for b in batches])
    return Batch(**kw, a_raw=raw)


def sort_by_time(batch: Batch) -> Batch:
    return batch.take(np.argsort(batch.t, kind="stable"))


def _time_strings(lo: int, hi: int) -> pa.Array:
    return pa.array(
        [datetime.fromtimestamp(s, timezone.utc).isoformat() for s in range(lo, hi + 1)], pa.string()
    )


_TRUNK_IDS = pa.array(nb.TRUNK_IDS, pa.string())
_RECORD_TYPES = pa.array(RECORD_TYPES, pa.string())
_SERVICES = pa.array(SERVICES, pa.string())


def _optional_digits(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values, pa.int64(), mask=values == 0), pa.string())


def _optional_take(table: pa.Array, idx: np.ndarray) -> pa.Array:
    return table.take(pa.array(idx, pa.int32(), mask=idx < 0))


def render(batch: Batch, first_seq: int, id_prefix: str, cells: pa.Array) -> pa.Table:
    """The canonical columns as an Arrow table; record ids ``<id_prefix><seq, 9 digits>`` from first_seq."""
    n = len(batch)
    answered = batch.ring >= 0
    answer = batch.t + np.where(answered, batch.ring, 0)
    lo = int(batch.t.min()) if n else 0
    hi = int(answer.max()) if n else 0
    times = _time_strings(lo, hi)
    seq = pc.cast(pa.array(np.arange(first_seq, first_seq + n, dtype=np.int64)), pa.string())
    record_id = pc.binary_join_element_wise(id_prefix, pc.utf8_lpad(seq, 9, padding="0"), "")
    a_number = nb.render_numbers(batch.a, batch.a_fmt)
    if batch.a_raw is not None:
        mask = np.not_equal(batch.a_raw, None)
        if mask.any():
            a_number = pc.replace_with_mask(a_number, pa.array(mask), pa.array(batch.a_raw[mask].tolist(), pa.string()))
    columns = {
        "record_id": record_id,
        "seizure_time": times.take(pa.array(batch.t - lo, pa.int32())),
        "answer_time": times.take(pa.array(answer - lo, pa.int32(), mask=~answered)),
        "duration_s": pa.array(batch.dur, pa.int32()),
        "a_number": a_number,
        "b_number": nb.render_numbers(batch.b, batch.b_fmt),
        "record_type": _RECORD_TYPES.take(pa.array(batch.rtype, pa.int8())),
        "trunk_in": _optional_take(_TRUNK_IDS, batch.trunk_in),
        "trunk_out": _optional_take(_TRUNK_IDS, batch.trunk_out),
        "imsi": _optional_digits(batch.imsi),
        "imei": _optional_digits(batch.imei),
        "cell_id": _optional_take(cells, batch.cell),
        "release_cause": pa.array(batch.cause, pa.int16()),
        "service": _SERVICES.take(pa.array(batch.svc, pa.int8())),
    }
    return pa.table(columns)


_HEADER = (",".join(COLUMNS) + "\n").encode()
_CSV_OPTIONS = pacsv.WriteOptions(include_header=False, quoting_style="none", batch_size=65536)


def write_atomic(table: pa.Table, path: Path, fmt: str) -> None:
    """Write ``table`` to ``path`` via ``.<name>.tmp`` in the same directory, then rename."""
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        if fmt == "parquet":
            pq.write_table(table, tmp, compression="zstd")
        elif fmt == "csv":
            with open(tmp, "wb") as fh:
                fh.write(_HEADER)
                pacsv.write_csv(table, fh, _CSV_OPTIONS)
        elif fmt == "csv.gz":
            buf = io.BytesIO()
            buf.write(_HEADER)
            pacsv.write_csv(table, buf, _CSV_OPTIONS)
            import gzip

            with open(tmp, "wb") as fh:
                # mtime=0 and no file name in the header: the same input gives the same bytes.
                with gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0, compresslevel=1) as gz:
                    gz.write(buf.getvalue())
        else:
            raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text_atomic(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
