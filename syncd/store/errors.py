"""Errors of the store (schema, loader, embedded Postgres).

SyncdError                      (syncd.errors)
└── StoreError
    ├── DatabaseUrlError        a database URL or conninfo string cannot be used
    ├── EmbeddedPostgresError   the embedded server did not start or stop
    ├── LoaderError             an export cannot be loaded at all (rows are rejected one
    │   │                       by one into syncd.rejected_rows; these stop the load)
    │   ├── MissingKeyColumnError   the export has no `account` column
    │   └── TombstoneGuardError     a full reconcile would tombstone too much
    └── PullInProgressError     another pull holds the pull lock
"""

from __future__ import annotations

from syncd.errors import SyncdError


class StoreError(SyncdError):
    """Base of the store's errors."""


class DatabaseUrlError(StoreError):
    """The database URL or conninfo string cannot be used."""


class EmbeddedPostgresError(StoreError):
    """The embedded Postgres (pgserver) did not start or stop."""


class LoaderError(StoreError):
    """The export cannot be loaded at all; the transaction must roll back."""


class MissingKeyColumnError(LoaderError):
    """The export's columns do not include `account`."""


class TombstoneGuardError(LoaderError):
    """A full reconcile would tombstone more of the mirror than allowed."""


class PullInProgressError(StoreError):
    """Another pull holds the pull lock."""
