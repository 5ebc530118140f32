"""Logging for Sentinel's processes: ``LOG_LEVEL`` sets the level; ``ENVIRONMENT=production`` switches to
one JSON object per line (for log shippers), anything else to readable text.

JSON fields: ``time`` (UTC, ISO-8601), ``level``, ``logger``, ``message``, ``process``, ``thread``, and
``exception`` when there is one; ``extra={...}`` fields passed to a logging call are added as they are.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone

from sentinel_pipeline.settings import Settings

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Libraries that narrate their internals at INFO; they speak at WARNING unless LOG_LEVEL=DEBUG.
CHATTY_LIBRARIES = ("great_expectations", "pgserver", "alembic", "urllib3", "filelock")

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
            "thread": record.threadName,
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in entry:
                entry[key] = value
        return json.dumps(entry, default=str)


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (so redirecting or capturing it later works)."""

    def __init__(self):
        super().__init__()

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def configure_logging(settings: Settings, stream=None) -> logging.Handler:
    """Set up the root logger from ``settings``: its level, and one Sentinel handler (text or JSON) on
    stderr (or ``stream``). Calling it again replaces the Sentinel handler; other handlers are kept."""
    level = logging.getLevelName(settings.log_level)
    if not isinstance(level, int):
        raise ValueError(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {settings.log_level!r}")
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler._sentinel = True
    if settings.environment.lower() == "production":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        if getattr(old, "_sentinel", False):
            root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if level > logging.DEBUG:
        # A filter on the handler, not logger levels: some of these libraries reset their own levels.
        handler.addFilter(_quiet_chatty_libraries)
    return handler


def _quiet_chatty_libraries(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING or not record.name.startswith(CHATTY_LIBRARIES)
