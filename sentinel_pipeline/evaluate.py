"""Compare ``sentinel.alerts`` with a generator's ``labels.csv``: precision and recall per detector.

Which detectors should catch which labelled fraud type: each detector spec's ``fraud_types``
(``FRAUD_DETECTORS`` inverts them; docs/detectors.md has the table).

SDHF is mapped to Wangiri too: by its own definition (many distinct destinations, average duration of a
few seconds) it fires on any robo-dialler, and a Wangiri number is one.

Per detector:
- **recall** = labelled subjects of its fraud types that have an alert from it / all labelled subjects of
  its fraud types;
- **precision** = its alerts on a subject labelled with one of its fraud types / all its alerts. An alert
  on a handset (``imei``) also counts as correct when a SIM its evidence lists (``msisdns``) is labelled
  with one of the detector's fraud types: the handset is that SIM box's module.
  An ``impossible_concurrency`` alert counts as correct when a trunk at its peak is labelled
  ``cli_masking`` or ``invalid_cli``: a masking carrier borrowed the number while its owner was in a call.
  Alerts on other subjects are split into ``other_fraud`` (labelled with a fraud type the detector is not
  meant for), ``lookalike`` (labelled ``legit_*``) and ``unlabelled``.
- A **box** alert (a group of SIMs, listed in its evidence's ``msisdns``) is the labelled box of
  ``boxes.csv`` holding more than half of its members, else it takes the label most of its members have;
  it also alerts each member SIM, so a box detector's recall counts the boxes and their SIMs, and a
  look-alike SIM inside an alerted group counts as alerted.
- A detector is expected to catch only labelled subjects of the types it reports (an ``msisdn``-only
  detector is not expected to alert a ``box``); a box detector reports SIMs through its boxes.

Overall: precision over all alerts, and recall over every labelled fraud subject (caught by at least one
of its detectors). ``lookalikes``: per ``legit_*`` type, how many of its subjects any detector alerted.
"""

from __future__ import annotations

import csv
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

import psycopg

from sentinel_pipeline.detectors import NAMES as DETECTORS
from sentinel_pipeline.detectors import REGISTRY
from sentinel_pipeline.errors import SentinelError

# Trunks of these fraud types present CLIs that are not theirs.
SPOOFING_TRUNKS = ("cli_masking", "invalid_cli")

# fraud type -> the detectors meant to catch it
FRAUD_DETECTORS: dict[str, tuple[str, ...]] = {
    fraud: tuple(spec.name for spec in REGISTRY if fraud in spec.fraud_types)
    for fraud in dict.fromkeys(f for spec in REGISTRY for f in spec.fraud_types)
}


@dataclass
class DetectorScore:
    detector: str
    alerts: int = 0
    correct: int = 0
    expected: int = 0
    caught: int = 0
    other_fraud: int = 0
    lookalike: int = 0
    unlabelled: int = 0
    precision: float | None = None
    recall: float | None = None
    missed: list[str] = field(default_factory=list)
    false_alerts: list[str] = field(default_factory=list)


@dataclass
class Evaluation:
    detectors: list[DetectorScore]
    overall: dict
    lookalikes: dict[str, dict]
    # per (fraud_type, variant): subjects, and caught by one of its detectors (or, for look-alikes, alerted)
    variants: list[dict] = field(default_factory=list)


def read_labels(path: Path) -> dict[tuple[str, str], str]:
    path = Path(path)
    if not path.is_file():
        raise SentinelError(f"{path}: labels file not found")
    labels = {}
    with path.open(newline="", encoding="utf-8") as fh:
        reader = csv.DictReader(fh)
        missing = {"subject_type", "subject", "fraud_type"} - set(reader.fieldnames or [])
        if missing:
            raise SentinelError(f"{path}:1: header lacks {', '.join(sorted(missing))}")
        for line, row in enumerate(reader, start=2):
            if not row["subject"] or not row["fraud_type"]:
                raise SentinelError(f"{path}:{line}: subject and fraud_type must not be empty")
            labels[(row["subject_type"], row["subject"])] = row["fraud_type"]
    return labels


def read_variants(path: Path) -> dict[tuple[str, str], str]:
    """The ``variant`` column of labels.csv (how a subject commits or imitates the fraud), where there is one."""
    with Path(path).open(newline="", encoding="utf-8") as fh:
        return {(r["subject_type"], r["subject"]): r["variant"] for r in csv.DictReader(fh) if r.get("variant")}


def read_boxes(labels_path: Path) -> dict[str, set[str]]:
    """box_id -> member numbers, from the ``boxes.csv`` next to a labels file (empty when there is none)."""
    path = Path(labels_path).with_name("boxes.csv")
    boxes: dict[str, set[str]] = {}
    if path.is_file():
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                boxes.setdefault(row["box_id"], set()).add(row["msisdn"])
    return boxes


def _box_label(labels: dict[tuple[str, str], str], boxes: dict[str, set[str]], members: list[str]):
    """The labelled subject a box alert with these members is: (key, label), or (None, None)."""
    for box_id, numbers in boxes.items():
        if 2 * len(numbers.intersection(members)) > len(members) and ("box", box_id) in labels:
            return ("box", box_id), labels[("box", box_id)]
    counts: dict[str, int] = {}
    for m in members:
        if ("msisdn", m) in labels:
            counts[labels[("msisdn", m)]] = counts.get(labels[("msisdn", m)], 0) + 1
    if counts:
        label = max(counts, key=lambda k: (counts[k], k))
        if 2 * counts[label] > len(members):
            return None, label
    return None, None


def _judged_types(detector: str) -> set[str] | None:
    """Subject types a detector is expected to alert (None: any, for a detector not in the registry)."""
    for spec in REGISTRY:
        if spec.name == detector:
            return set(spec.subject_types) | ({"msisdn"} if "box" in spec.subject_types else set())
    return None


def read_alerts(conn: psycopg.Connection) -> list[tuple[str, str, str, dict]]:
    return conn.execute(
        "select detector, subject_type, subject, evidence from sentinel.alerts order by detector, subject"
    ).fetchall()


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def evaluate(labels: dict[tuple[str, str], str], alerts: list[tuple[str, str, str, dict]],
             variants: dict[tuple[str, str], str] | None = None,
             boxes: dict[str, set[str]] | None = None) -> Evaluation:
    names = list(DETECTORS) + sorted({a[0] for a in alerts} - set(DETECTORS))
    scores = {d: DetectorScore(d) for d in names}
    alerted: dict[str, set[tuple[str, str]]] = {d: set() for d in names}
    for detector, subject_type, subject, evidence in alerts:
        s = scores[detector]
        key = (subject_type, subject)
        alerted[detector].add(key)
        s.alerts += 1
        label = labels.get(key)
        if subject_type == "box":
            members = (evidence or {}).get("msisdns") or []
            box_key, label = _box_label(labels, boxes or {}, members)
            alerted[detector].update([("msisdn", m) for m in members] + ([box_key] if box_key else []))
        if label is None and subject_type == "imei":
            # a SIM-box handset: judged by the SIMs it carried
            for msisdn in (evidence or {}).get("msisdns") or []:
                sim_label = labels.get(("msisdn", msisdn))
                if sim_label and detector in FRAUD_DETECTORS.get(sim_label, ()):
                    label = sim_label
                    break
        if label is None and detector == "impossible_concurrency":
            # a number a masking (or invalid-CLI) trunk presented while it was in other calls: spoofed
            if any(labels.get(("trunk", t)) in SPOOFING_TRUNKS for t in (evidence or {}).get("trunks_at_peak") or []):
                label = "impossible_concurrency"
        if label and detector in FRAUD_DETECTORS.get(label, ()):
            s.correct += 1
        elif label in FRAUD_DETECTORS:
            s.other_fraud += 1
            s.false_alerts.append(f"{subject_type}:{subject} ({label})")
        elif label:
            s.lookalike += 1
            s.false_alerts.append(f"{subject_type}:{subject} ({label})")
        else:
            s.unlabelled += 1
            s.false_alerts.append(f"{subject_type}:{subject} (unlabelled)")
    for key, label in labels.items():
        for detector in FRAUD_DETECTORS.get(label, ()):
            if key[0] not in (_judged_types(detector) or {key[0]}):
                continue
            s = scores[detector]
            s.expected += 1
            if key in alerted[detector]:
                s.caught += 1
            else:
                s.missed.append(f"{key[0]}:{key[1]} ({label})")
    for s in scores.values():
        s.precision = _ratio(s.correct, s.alerts)
        s.recall = _ratio(s.caught, s.expected)

    fraud = [k for k, v in labels.items() if v in FRAUD_DETECTORS]
    caught = [k for k in fraud if any(k in alerted[d] for d in FRAUD_DETECTORS[labels[k]])]
    total_alerts = sum(s.alerts for s in scores.values())
    correct = sum(s.correct for s in scores.values())
    overall = {
        "alerts": total_alerts,
        "correct_alerts": correct,
        "precision": _ratio(correct, total_alerts),
        "fraud_subjects": len(fraud),
        "caught": len(caught),
        "recall": _ratio(len(caught), len(fraud)),
    }
    lookalikes = {}
    any_alert = {k for keys in alerted.values() for k in keys}
    for legit_type in sorted({v for v in labels.values() if v.startswith("legit_")}):
        subjects = [k for k, v in labels.items() if v == legit_type]
        hit = [k for k in subjects if k in any_alert]
        lookalikes[legit_type] = {
            "subjects": len(subjects),
            "alerted": len(hit),
            "by_detector": {d: sum(1 for k in subjects if k in alerted[d]) for d in names
                            if any(k in alerted[d] for k in subjects)},
        }
    by_variant: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, label in labels.items():
        by_variant.setdefault((label, (variants or {}).get(key, "")), []).append(key)
    variant_rows = []
    for (label, variant), keys in sorted(by_variant.items()):
        if label in FRAUD_DETECTORS:
            hit = [k for k in keys if any(k in alerted[d] for d in FRAUD_DETECTORS[label])]
        else:
            hit = [k for k in keys if k in any_alert]
        variant_rows.append({"fraud_type": label, "variant": variant, "subjects": len(keys),
                             "caught" if label in FRAUD_DETECTORS else "alerted": len(hit)})
    return Evaluation([scores[d] for d in names], overall, lookalikes, variant_rows)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def render(ev: Evaluation) -> str:
    lines = [
        f"{'detector':<24} {'alerts':>6} {'correct':>7} {'precision':>9} {'expected':>8} {'caught':>6} {'recall':>6}"
        f"  {'other fraud':>11} {'look-alike':>10} {'unlabelled':>10}"
    ]
    for s in ev.detectors:
        lines.append(
            f"{s.detector:<24} {s.alerts:>6} {s.correct:>7} {_fmt(s.precision):>9} {s.expected:>8} {s.caught:>6}"
            f" {_fmt(s.recall):>6}  {s.other_fraud:>11} {s.lookalike:>10} {s.unlabelled:>10}"
        )
    o = ev.overall
    lines.append(
        f"{'overall':<24} {o['alerts']:>6} {o['correct_alerts']:>7} {_fmt(o['precision']):>9}"
        f" {o['fraud_subjects']:>8} {o['caught']:>6} {_fmt(o['recall']):>6}"
    )
    lines.append("")
    lines.append("false alerts on legitimate look-alikes:")
    for legit_type, facts in ev.lookalikes.items():
        by = ", ".join(f"{d} {n}" for d, n in facts["by_detector"].items()) or "none"
        lines.append(f"  {legit_type:<28} {facts['alerted']} of {facts['subjects']} alerted ({by})")
    if any(v["variant"] for v in ev.variants):
        lines.append("")
        lines.append("by variant (fraud: caught by one of its detectors; look-alike: alerted by any):")
        for v in ev.variants:
            n = v.get("caught", v.get("alerted"))
            what = "caught" if "caught" in v else "alerted"
            lines.append(f"  {v['fraud_type']:<28} {v['variant']:<26} {n} of {v['subjects']} {what}")
    for s in ev.detectors:
        for title, items in (("missed", s.missed), ("false alerts", s.false_alerts)):
            if items:
                shown = ", ".join(items[:10]) + (f", ... {len(items) - 10} more" if len(items) > 10 else "")
                lines.append(f"{s.detector} {title}: {shown}")
    return "\n".join(lines)


def to_json(ev: Evaluation) -> str:
    return json.dumps(
        {"detectors": {s.detector: asdict(s) for s in ev.detectors}, "overall": ev.overall,
         "lookalikes": ev.lookalikes, "variants": ev.variants, "mapping": FRAUD_DETECTORS},
        indent=2,
    )
