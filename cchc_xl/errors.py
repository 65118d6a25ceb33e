"""The project's own errors: one family, turned into one-line Vietnamese messages in one place
(``cli.handle_errors``). Anything else is a bug and keeps its traceback."""

from __future__ import annotations


class CchcError(Exception):
    """An expected failure with a message for the user (Vietnamese)."""
