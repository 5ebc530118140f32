"""Reference data: the operator's trunks, numbering plan, high-risk destinations and whitelist.

Read from ``SENTINEL_REFERENCE_DIR`` (default: ``reference/`` of the checkout, a demo operator in country
code 234). Every file is CSV with a header row:

- ``trunks.csv``: ``trunk_id,kind,partner``; kind is ``international``, ``national`` or ``access``.
- ``number_ranges.csv``: ``prefix,kind,operator,allocated``; prefix is E.164 digits without ``+``
  (longest prefix wins); kind is ``mobile``, ``fixed``, ``premium`` or ``special``; allocated is
  ``true``/``false``.
- ``high_risk_destinations.csv``: ``prefix,reason``: international premium / IRSF / Wangiri ranges.
- ``whitelist.csv``: ``subject_type,subject,reason``: subjects that never produce a detection.
- ``roaming.csv`` (optional): ``msisdn,from,to``: own subscribers abroad, from the operator's roaming
  status feed (HLR/HSS), ISO-8601 times, ``to`` exclusive and empty while still abroad. Their national
  CLIs arriving from abroad in those periods are expected, not masking.
- ``rates.csv`` (optional): ``scope,key,international_rate,local_rate,currency``: per minute, what a call
  should have earned terminated as international and what it earned as local, for estimating a case's
  loss (``sentinel_pipeline/case_traffic.py``). scope ``destination``: key is E.164 digits without ``+`` of
  the called number (longest prefix wins); ``partner``: key is a partner of ``trunks.csv``; ``default``
  (key empty): everything else. One currency for the whole file. Without the file no loss is estimated.

A missing or malformed file raises ``ReferenceError`` naming the file and the line. Each file's SHA-256
is its data version (``file_versions``): the Dagster reference assets report it, and detectors record it
in their evidence.
"""

from __future__ import annotations

import csv
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sentinel_pipeline import schema
from sentinel_pipeline.errors import SentinelError

TRUNK_KINDS = ("international", "national", "access")
RANGE_KINDS = ("mobile", "fixed", "premium", "special")

# file name -> required columns, in order
# A missing optional file is as good as an empty one.
OPTIONAL = ("roaming.csv", "rates.csv")
RATE_SCOPES = ("destination", "partner", "default")
FILES = {
    "roaming.csv": ("msisdn", "from", "to"),
    "rates.csv": ("scope", "key", "international_rate", "local_rate", "currency"),
    "trunks.csv": ("trunk_id", "kind", "partner"),
    "number_ranges.csv": ("prefix", "kind", "operator", "allocated"),
    "high_risk_destinations.csv": ("prefix", "reason"),
    "whitelist.csv": ("subject_type", "subject", "reason"),
}


class ReferenceError(SentinelError):
    """A reference file that is missing or malformed; the message names the file and the line."""


@dataclass(frozen=True)
class Trunk:
    trunk_id: str
    kind: str
    partner: str


@dataclass(frozen=True)
class NumberRange:
    prefix: str
    kind: str
    operator: str
    allocated: bool


@dataclass(frozen=True)
class HighRiskPrefix:
    prefix: str
    reason: str


@dataclass(frozen=True)
class RoamingPeriod:
    msisdn: str
    start: datetime
    end: datetime | None  # exclusive; None: still abroad


@dataclass(frozen=True)
class Rate:
    scope: str
    key: str
    international_rate: float  # per minute
    local_rate: float
    currency: str


@dataclass(frozen=True)
class ReferenceData:
    trunks: list[Trunk] = field(default_factory=list)
    number_ranges: list[NumberRange] = field(default_factory=list)
    high_risk: list[HighRiskPrefix] = field(default_factory=list)
    whitelist: set[tuple[str, str]] = field(default_factory=set)
    versions: dict[str, str] = field(default_factory=dict)  # of the files detectors read
    roaming: list[RoamingPeriod] = field(default_factory=list)
    rates: list[Rate] = field(default_factory=list)

    @property
    def currency(self) -> str | None:
        return self.rates[0].currency if self.rates else None

    def is_whitelisted(self, subject_type: str, subject: str) -> bool:
        return (subject_type, subject) in self.whitelist


def file_versions(directory: Path) -> dict[str, str]:
    """SHA-256 (first 16 hex digits) of each reference file that exists."""
    versions = {}
    for name in FILES:
        path = Path(directory) / name
        if path.is_file():
            versions[name] = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return versions


def _rows(directory: Path, name: str) -> list[tuple[int, dict[str, str]]]:
    """(line number, row) for each data row of ``name``, with the header checked."""
    path = Path(directory) / name
    if name in OPTIONAL and not path.is_file():
        return []
    if not path.is_file():
        raise ReferenceError(f"{path}: reference file is missing (SENTINEL_REFERENCE_DIR={directory})")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ReferenceError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    reader = csv.reader(text.splitlines())
    header = next(reader, None)
    if header is None:
        raise ReferenceError(f"{path}:1: empty file; expected the header {','.join(FILES[name])}")
    header = [h.strip().lower() for h in header]
    missing = [c for c in FILES[name] if c not in header]
    if missing:
        raise ReferenceError(
            f"{path}:1: header lacks {', '.join(missing)}; expected {','.join(FILES[name])}, got {','.join(header)}"
        )
    rows = []
    for line, values in enumerate(reader, start=2):
        if not values or all(not v.strip() for v in values):
            continue  # blank line
        if len(values) != len(header):
            raise ReferenceError(f"{path}:{line}: {len(values)} fields, the header has {len(header)}")
        rows.append((line, {h: v.strip() for h, v in zip(header, values)}))
    return rows


def _prefix(path: Path, line: int, value: str) -> str:
    digits = value.lstrip("+")
    if not digits.isdigit():
        raise ReferenceError(f"{path}:{line}: prefix {value!r} is not E.164 digits (e.g. 234803)")
    return digits


def load(directory: Path) -> ReferenceData:
    """Read and validate every reference file in ``directory``."""
    directory = Path(directory)
    trunks, seen = [], set()
    path = directory / "trunks.csv"
    for line, row in _rows(directory, "trunks.csv"):
        if not row["trunk_id"]:
            raise ReferenceError(f"{path}:{line}: trunk_id is empty")
        if row["kind"].lower() not in TRUNK_KINDS:
            raise ReferenceError(f"{path}:{line}: kind {row['kind']!r} is not one of {', '.join(TRUNK_KINDS)}")
        if row["trunk_id"] in seen:
            raise ReferenceError(f"{path}:{line}: trunk {row['trunk_id']!r} is listed twice")
        seen.add(row["trunk_id"])
        trunks.append(Trunk(row["trunk_id"], row["kind"].lower(), row["partner"]))

    ranges, seen = [], set()
    path = directory / "number_ranges.csv"
    for line, row in _rows(directory, "number_ranges.csv"):
        prefix = _prefix(path, line, row["prefix"])
        if row["kind"].lower() not in RANGE_KINDS:
            raise ReferenceError(f"{path}:{line}: kind {row['kind']!r} is not one of {', '.join(RANGE_KINDS)}")
        allocated = row["allocated"].lower()
        if allocated not in ("true", "false"):
            raise ReferenceError(f"{path}:{line}: allocated {row['allocated']!r} must be true or false")
        if prefix in seen:
            raise ReferenceError(f"{path}:{line}: prefix {prefix} is listed twice")
        seen.add(prefix)
        ranges.append(NumberRange(prefix, row["kind"].lower(), row["operator"], allocated == "true"))

    high_risk, seen = [], set()
    path = directory / "high_risk_destinations.csv"
    for line, row in _rows(directory, "high_risk_destinations.csv"):
        prefix = _prefix(path, line, row["prefix"])
        if prefix in seen:
            raise ReferenceError(f"{path}:{line}: prefix {prefix} is listed twice")
        seen.add(prefix)
        high_risk.append(HighRiskPrefix(prefix, row["reason"]))

    whitelist = set()
    path = directory / "whitelist.csv"
    for line, row in _rows(directory, "whitelist.csv"):
        kind = row["subject_type"].lower()
        if kind not in schema.SUBJECT_TYPES:
            raise ReferenceError(
                f"{path}:{line}: subject_type {row['subject_type']!r} is not one of {', '.join(schema.SUBJECT_TYPES)}"
            )
        if not row["subject"]:
            raise ReferenceError(f"{path}:{line}: subject is empty")
        subject = row["subject"]
        if kind == "msisdn" and not (subject.startswith("+") and subject[1:].isdigit()):
            raise ReferenceError(f"{path}:{line}: msisdn {subject!r} must be E.164 with a leading + (e.g. +2348031234567)")
        whitelist.add((kind, subject))

    roaming = []
    path = directory / "roaming.csv"
    for line, row in _rows(directory, "roaming.csv"):
        msisdn = row["msisdn"]
        if not (msisdn.startswith("+") and msisdn[1:].isdigit()):
            raise ReferenceError(f"{path}:{line}: msisdn {msisdn!r} must be E.164 with a leading + (e.g. +2348031234567)")
        start, end = _time(path, line, row["from"]), _time(path, line, row["to"]) if row["to"] else None
        if end is not None and end <= start:
            raise ReferenceError(f"{path}:{line}: to ({row['to']}) is not after from ({row['from']})")
        roaming.append(RoamingPeriod(msisdn, start, end))

    # rates.csv prices the losses of cases; no detector reads it, so no detection records its version
    versions = {name: v for name, v in file_versions(directory).items() if name != "rates.csv"}
    return ReferenceData(trunks, ranges, high_risk, whitelist, versions, roaming,
                         _rates(directory, {t.partner for t in trunks}))


def _rates(directory: Path, partners: set[str]) -> list[Rate]:
    rates, seen = [], set()
    path = directory / "rates.csv"
    for line, row in _rows(directory, "rates.csv"):
        scope, key = row["scope"].lower(), row["key"]
        if scope not in RATE_SCOPES:
            raise ReferenceError(f"{path}:{line}: scope {row['scope']!r} is not one of {', '.join(RATE_SCOPES)}")
        if scope == "destination":
            key = _prefix(path, line, key)
        elif scope == "partner" and key not in partners:
            raise ReferenceError(f"{path}:{line}: partner {key!r} is not a partner of trunks.csv")
        elif scope == "default" and key:
            raise ReferenceError(f"{path}:{line}: a default rate has an empty key, got {key!r}")
        values = []
        for column in ("international_rate", "local_rate"):
            try:
                values.append(float(row[column]))
            except ValueError:
                raise ReferenceError(f"{path}:{line}: {column} {row[column]!r} is not a number") from None
            if values[-1] < 0:
                raise ReferenceError(f"{path}:{line}: {column} {row[column]} is negative")
        if (scope, key) in seen:
            raise ReferenceError(f"{path}:{line}: {scope} {key!r} is listed twice")
        seen.add((scope, key))
        if rates and row["currency"] != rates[0].currency:
            raise ReferenceError(f"{path}:{line}: currency {row['currency']!r} differs from {rates[0].currency!r}"
                                 " on the first row: use one currency for the whole file")
        rates.append(Rate(scope, key, values[0], values[1], row["currency"]))
    return rates


def _time(path: Path, line: int, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReferenceError(f"{path}:{line}: {value!r} is not an ISO-8601 time") from None
    if parsed.tzinfo is None:
        raise ReferenceError(f"{path}:{line}: {value!r} has no offset (e.g. 2026-11-26T10:00:00+00:00)")
    return parsed


def register_duckdb(con, ref: ReferenceData) -> None:
    """Create the temp tables ref_trunks, ref_ranges, ref_high_risk, ref_whitelist, ref_roaming and ref_rates
    in a DuckDB session."""
    con.execute("create or replace temp table ref_trunks (trunk_id varchar, kind varchar, partner varchar)")
    con.execute(
        "create or replace temp table ref_ranges (prefix varchar, kind varchar, operator varchar, allocated boolean)"
    )
    con.execute("create or replace temp table ref_high_risk (prefix varchar, reason varchar)")
    con.execute("create or replace temp table ref_whitelist (subject_type varchar, subject varchar)")
    con.execute("create or replace temp table ref_roaming (msisdn varchar, roaming_from timestamptz, roaming_to timestamptz)")
    con.execute("create or replace temp table ref_rates (scope varchar, key varchar, international_rate double,"
                " local_rate double)")
    if ref.trunks:
        con.executemany("insert into ref_trunks values (?, ?, ?)", [(t.trunk_id, t.kind, t.partner) for t in ref.trunks])
    if ref.number_ranges:
        con.executemany(
            "insert into ref_ranges values (?, ?, ?, ?)",
            [(r.prefix, r.kind, r.operator, r.allocated) for r in ref.number_ranges],
        )
    if ref.high_risk:
        con.executemany("insert into ref_high_risk values (?, ?)", [(h.prefix, h.reason) for h in ref.high_risk])
    if ref.whitelist:
        con.executemany("insert into ref_whitelist values (?, ?)", sorted(ref.whitelist))
    if ref.roaming:
        con.executemany("insert into ref_roaming values (?, ?, ?)", [(r.msisdn, r.start, r.end) for r in ref.roaming])
    if ref.rates:
        con.executemany("insert into ref_rates values (?, ?, ?, ?)",
                        [(r.scope, r.key, r.international_rate, r.local_rate) for r in ref.rates])
