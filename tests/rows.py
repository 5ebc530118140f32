"""Hand-made rows for the store's functions (``replace_detections``): one shape, written once."""

from __future__ import annotations

from datetime import datetime, timedelta


def detection(hour: datetime, subject: str, *, subject_type: str = "msisdn", severity: str = "HIGH",
              score: float = 0.7, seen: tuple[int, int] = (5, 50), metrics: dict | None = None) -> dict:
    """A detection of ``subject`` for the partition ``hour``: the 24-hour window ending with that hour,
    the subject seen from ``seen[0]`` to ``seen[1]`` minutes into it."""
    return {
        "partition_hour": hour, "subject_type": subject_type, "subject": subject,
        "window_start": hour - timedelta(hours=23), "window_end": hour + timedelta(hours=1),
        "severity": severity, "score": score,
        "first_seen": hour + timedelta(minutes=seen[0]), "last_seen": hour + timedelta(minutes=seen[1]),
        "metrics": metrics or {},
    }
