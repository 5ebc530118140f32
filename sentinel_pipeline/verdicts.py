"""Production precision from analysts' verdicts: ``sentinel evaluate --from-triage``.

Labels exist only for generated traffic; in production the analysts' triage is the ground truth. For the
cases active in a period (``last_seen >= since`` and ``first_seen < until``, as ``sentinel alerts list``),
per detector and per detector and severity: how many cases, how many the analysts judged — ``confirmed``
(fraud) or ``false_positive`` — and how many are still ``open`` / ``investigating`` or were ``closed``
without a verdict. **precision** = confirmed / (confirmed + false_positive): measured on the judged cases
only, so ``judged_share`` says how much of the output it speaks for. docs/detectors.md ("Tuning from
analysts' verdicts") says how to read it.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

import psycopg

# One row per detector and severity: the cases active in [since, until) and their verdicts.
VERDICTS = """
select detector, severity::text as severity,
       count(*) as cases,
       count(*) filter (where status = 'confirmed') as confirmed,
       count(*) filter (where status = 'false_positive') as false_positive,
       count(*) filter (where status in ('open', 'investigating')) as pending,
       count(*) filter (where status = 'closed') as closed
from sentinel.alerts
where (%(since)s::timestamptz is null or last_seen >= %(since)s)
  and (%(until)s::timestamptz is null or first_seen < %(until)s)
group by detector, severity
order by detector, severity desc
"""


@dataclass
class Verdicts:
    detector: str
    severity: str | None  # None: every severity of the detector
    cases: int
    confirmed: int
    false_positive: int
    pending: int
    closed: int

    @property
    def judged(self) -> int:
        return self.confirmed + self.false_positive

    @property
    def precision(self) -> float | None:
        return round(self.confirmed / self.judged, 4) if self.judged else None

    @property
    def judged_share(self) -> float | None:
        return round(self.judged / self.cases, 4) if self.cases else None


def from_triage(conn: psycopg.Connection, since: datetime | None = None,
                until: datetime | None = None) -> list[Verdicts]:
    """Per detector (severity None) followed by its severities, worst first."""
    rows = [Verdicts(*r) for r in conn.execute(VERDICTS, {"since": since, "until": until}).fetchall()]
    out: list[Verdicts] = []
    for detector in dict.fromkeys(r.detector for r in rows):
        mine = [r for r in rows if r.detector == detector]
        total = Verdicts(detector, None, *(sum(getattr(r, f) for r in mine)
                                           for f in ("cases", "confirmed", "false_positive", "pending", "closed")))
        out += [total, *mine]
    return out


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(rows: list[Verdicts]) -> str:
    lines = [f"{'detector':<24} {'severity':<9} {'cases':>6} {'confirmed':>9} {'false_pos':>9} {'pending':>7}"
             f" {'closed':>6} {'judged':>6} {'precision':>9}"]
    for r in rows:
        name = r.detector if r.severity is None else ""
        lines.append(f"{name:<24} {r.severity or 'all':<9} {r.cases:>6} {r.confirmed:>9} {r.false_positive:>9}"
                     f" {r.pending:>7} {r.closed:>6} {_fmt(r.judged_share):>6} {_fmt(r.precision):>9}")
    if not rows:
        lines.append("(no cases active in the period)")
    return "\n".join(lines)


def to_json(rows: list[Verdicts]) -> str:
    return json.dumps([{**asdict(r), "judged": r.judged, "judged_share": r.judged_share, "precision": r.precision}
                       for r in rows], indent=2)
