"""Append audit rows and dead letters for the pusher, with PII masked on the way in.

`syncd.audit_log` holds one row per attempted field change; values are stored as text (a
JSON string's text itself, other JSON values in their JSON spelling, null as NULL). SSN and
date of birth never reach either table: their values become `***` (the field name stays, so
an auditor still sees *that* they changed). Dead letters keep the outbox payload for
diagnosis, with the same masking; the outbox row itself keeps the real values for a retry.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.domain.values import MASK, PII_KEYS, audit_text
from syncd.store.sync_tables import audit_log, dead_letters

AUDIT_OUTCOMES = (
    "applied",
    "rejected",
    "invalid",
    "failed",
    "dead",
    "dry_run",
    "superseded",
    "conflict",
)
_ERROR_MAX = 2000


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One attempted change of one field (field None: the whole contact, e.g. a delete)."""

    account: str
    operation: str
    field: str | None
    old: Any
    new: Any
    outcome: str
    run_id: int | None = None
    outbox_id: int | None = None
    http_status: int | None = None
    attempts: int | None = None
    error: str | None = None
    request_id: str | None = None
    direction: str = "push"


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A change that will not be retried on its own: why, and what it was."""

    account: str
    operation: str
    payload: Mapping[str, Any] | None
    kind: str  # invalid | rejected | exhausted
    reason: str
    run_id: int | None = None
    outbox_id: int | None = None
    http_status: int | None = None


def mask_payload(payload: Any) -> Any:
    """A copy of an outbox payload (or expected) with PII values replaced by the mask."""
    if isinstance(payload, Mapping):
        return {
            key: (MASK if key in PII_KEYS and value is not None else mask_payload(value))
            for key, value in payload.items()
        }
    if isinstance(payload, list):
        return [mask_payload(v) for v in payload]
    return payload


def _pii_values(payload: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(payload, Mapping):
        for key, value in payload.items():
            if key in PII_KEYS and value not in (None, ""):
                found.add(str(value))
            else:
                found |= _pii_values(value)
    elif isinstance(payload, list):
        for value in payload:
            found |= _pii_values(value)
    return found


def _spellings(value: str) -> set[str]:
    """A PII value as a reply may quote it: as sent, and a date also in the other forms."""
    out = {value}
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return out
    epoch_ms = (day - date(1970, 1, 1)).days * 86_400_000  # how the client sends dates
    return out | {str(epoch_ms), day.strftime("%m/%d/%Y")}


def scrub_pii(text: str | None, payload: Any) -> str | None:
    """Error text with every PII value of the payload masked: LiveVox (or the emulator) may
    quote a refused value back in its message."""
    if not text:
        return text
    for value in _pii_values(payload):
        for spelling in sorted(_spellings(value), key=len, reverse=True):
            text = text.replace(spelling, MASK)
    return text


def _clip(text: str | None) -> str | None:
    return None if text is None else text[:_ERROR_MAX]


def write_audit(conn: Connection, entries: Iterable[AuditEntry]) -> int:
    """Append entries (one multi-row insert); returns how many."""
    rows = []
    for entry in entries:
        if entry.outcome not in AUDIT_OUTCOMES:
            raise ValueError(f"unknown audit outcome {entry.outcome!r}")
        row = asdict(entry)
        row["old_value"] = audit_text(entry.field, row.pop("old"))
        row["new_value"] = audit_text(entry.field, row.pop("new"))
        row["error"] = _clip(entry.error)
        rows.append(row)
    if rows:
        conn.execute(sa.insert(audit_log), rows)
    return len(rows)


def write_dead_letters(conn: Connection, letters: Iterable[DeadLetter]) -> int:
    rows = []
    for letter in letters:
        row = asdict(letter)
        row["payload"] = None if letter.payload is None else mask_payload(dict(letter.payload))
        row["reason"] = _clip(letter.reason) or ""
        rows.append(row)
    if rows:
        conn.execute(sa.insert(dead_letters), rows)
    return len(rows)
