"""Errors of the daemon (the client and the emulator have their own).

    SyncdError
    ├── ConfigError         configuration file or environment is invalid
    └── DatabaseError       the database is unreachable or not migrated
"""

from __future__ import annotations

from typing import Any


class SyncdError(Exception):
    """Base of the daemon's errors; keyword context is kept for logs and messages."""

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class ConfigError(SyncdError):
    """The configuration cannot be used."""


class DatabaseError(SyncdError):
    """The database cannot be used."""
