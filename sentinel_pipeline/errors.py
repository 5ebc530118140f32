"""Errors that carry a message a user can act on."""

from pathlib import Path


class SentinelError(Exception):
    """An error the user can act on; the CLI prints it without a traceback."""


class UnreadableFile(SentinelError):
    """A file that cannot be read as CDRs at all (not rows of it: the whole file)."""

    def __init__(self, path: Path | str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
