"""Errors that carry a message a user can act on."""


class SentinelError(Exception):
    """An error the user can act on; the CLI prints it without a traceback."""
