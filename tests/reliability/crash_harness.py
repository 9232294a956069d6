"""What the crash-recovery suite adds to `tests/reliability/harness.py`: an emulator whose
daily-DND rollover stays away from the test, waits for a daemon to die by SIGKILL and for a
quiet cycle after its restart, and the bookkeeping invariants a crash must leave intact
(outbox, audit log, watermark).

Values are compared in one canonical text form per field (`syncd.domain.values`, the audit
log's form), so the SoR's typed columns, the mirror's and the emulator's Python values compare
equal exactly when they mean the same thing.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.domain.merge import Ownership
from syncd.domain.values import audit_text, to_canonical
from syncd.service.sor import load_rules
from syncd.store.field_columns import FIELDS
from tests.reliability.harness import (
    REPO,
    DaemonProcess,
    Emulator,
    HarnessError,
    Run,
    finished,
    sync_runs,
)

FIELD_BY_KEY = {f.key: f for f in FIELDS}
RULES = load_rules(REPO / "config" / "profiles" / "default.toml")
SOR_OWNED: tuple[str, ...] = tuple(
    f.key for f in FIELDS if f.key != "account" and RULES[f.key].ownership is Ownership.SOR
)
"""Fields the SoR is authoritative for: LiveVox must hold the SoR's value after convergence."""
JOINT: tuple[str, ...] = tuple(f.key for f in FIELDS if RULES[f.key].ownership is Ownership.BOTH)
"""DND and consent flags: merged and written back, so both sides end equal."""
OPEN_STATES = ("NEW", "SENT", "FAILED")
_BUSY_COUNTS = ("outbox_rows", "push_sent", "push_applied", "write_backs", "conflicts", "invalid")
"""Run counts that say a cycle still had something to do."""


# --- values ----------------------------------------------------------------------------------


def canon(key: str, value: Any) -> str | None:
    """One text form per field value (the audit log's); an unset flag reads as false."""
    column = FIELD_BY_KEY[key]
    if column.type == "boolean":
        value = bool(value)
    elif isinstance(value, str) and not value.strip():
        value = None
    phone = column.group == "phone" and key[len("phone") :].isdigit()
    return audit_text(key, to_canonical(column.type, value, phone=phone))


def table(engine: Engine, name: str) -> dict[str, dict[str, Any]]:
    """`sor.contacts` or the live rows of `livevox.contacts`, account → field key → value."""
    where = " WHERE deleted_at IS NULL" if name == "livevox.contacts" else ""
    with engine.connect() as conn:
        rows = conn.execute(sa.text(f"SELECT * FROM {name}{where}")).mappings().all()
    return {r["account"]: {f.key: r[f.column] for f in FIELDS if f.column in r} for r in rows}


def livevox(emulator: Emulator) -> dict[str, dict[str, Any]]:
    """Every live LiveVox contact, account → field key → value."""
    return {r["account"]: dict(r) for r in emulator.store.snapshot().records()}


# --- the emulator ----------------------------------------------------------------------------


# --- the daemon ------------------------------------------------------------------------------


def wait_killed(daemon: DaemonProcess, timeout: float) -> None:
    """The daemon must die by SIGKILL within `timeout`: its crash point was reached."""
    try:
        code = daemon.process.wait(timeout)
    except subprocess.TimeoutExpired:
        daemon.process.kill()
        daemon.process.wait(10)
        raise HarnessError(
            f"the crash point was not reached within {timeout:.0f} s\n{daemon.log_tail()}"
        ) from None
    if code != -signal.SIGKILL:
        raise HarnessError(f"syncd run exited with {code}, not by SIGKILL\n{daemon.log_tail()}")


def wait_quiet(engine: Engine, daemon: DaemonProcess, after_run: int, timeout: float) -> list[Run]:
    """Poll `syncd.runs` until a cycle above `after_run` succeeded with nothing to do (nothing
    planned, pushed, recovered or written back) and no outbox row is open; the cycles run."""
    deadline = time.monotonic() + timeout
    while True:
        if not daemon.alive():
            raise HarnessError(f"syncd run exited:\n{daemon.log_tail()}")
        runs = finished(sync_runs(engine, after_run))
        quiet = [
            r
            for r in runs
            if r.status == "succeeded" and not any(r.counts.get(k) for k in _BUSY_COUNTS)
        ]
        if quiet and not outbox_states(engine, OPEN_STATES):
            return runs
        if time.monotonic() > deadline:
            raise HarnessError(
                f"no quiet cycle within {timeout:.0f} s after run {after_run}: "
                f"{[(r.id, r.status, r.error) for r in runs]}, "
                f"open outbox rows {outbox_states(engine, OPEN_STATES)}\n{daemon.log_tail()}"
            )
        time.sleep(0.1)  # polling `syncd.runs`; the daemon's cycles run every second


# --- bookkeeping invariants ------------------------------------------------------------------


def _rows(engine: Engine, statement: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(statement), params).all())


def outbox_states(engine: Engine, states: tuple[str, ...] | None = None) -> dict[str, int]:
    """Outbox rows per state (only `states`, when given)."""
    rows = _rows(
        engine,
        "SELECT state, count(*) AS n FROM syncd.outbox "
        "WHERE CAST(:s AS text[]) IS NULL OR state = ANY(:s) GROUP BY state",
        s=None if states is None else list(states),
    )
    return {r.state: r.n for r in rows}


def watermark_ahead(engine: Engine) -> tuple[datetime | None, datetime | None]:
    """(watermark, newest stored modify_date) when the watermark is ahead of the stored data,
    else (None, None)."""
    row = _rows(
        engine,
        "SELECT (SELECT value FROM syncd.watermarks WHERE name = 'livevox.contacts.modify_date')"
        " AS mark, (SELECT max(modify_date) FROM livevox.contacts) AS newest",
    )[0]
    if row.mark is not None and (row.newest is None or row.mark > row.newest):
        return row.mark, row.newest
    return None, None


def twice_applied(engine: Engine) -> list[Any]:
    """Outbox rows audited as applied more than once for one field."""
    return _rows(
        engine,
        "SELECT outbox_id, field, count(*) AS n FROM syncd.audit_log "
        "WHERE outcome = 'applied' AND outbox_id IS NOT NULL "
        "GROUP BY outbox_id, field HAVING count(*) > 1",
    )


def unaudited(engine: Engine) -> list[Any]:
    """DONE outbox rows without an `applied` audit row. (The converse holds only for whole
    rows: the first step of a DND move cut by a crash is audited applied on a row that the
    re-plan then supersedes.)"""
    return _rows(
        engine,
        "SELECT o.id, o.account, o.operation FROM syncd.outbox o "
        "WHERE o.state = 'DONE' AND NOT EXISTS (SELECT 1 FROM syncd.audit_log a "
        "WHERE a.outbox_id = o.id AND a.outcome = 'applied')",
    )


def last_applied(engine: Engine) -> list[Any]:
    """The newest `applied` audit row per (direction, account, field)."""
    return _rows(
        engine,
        "SELECT DISTINCT ON (direction, account, field) direction, account, field, new_value, "
        "at, operation FROM syncd.audit_log WHERE outcome = 'applied' AND field IS NOT NULL "
        "ORDER BY direction, account, field, id DESC",
    )


def audit_disagreements(
    engine: Engine,
    sides: Mapping[str, Mapping[str, Mapping[str, Any]]],
    superseded: Mapping[tuple[str, str], datetime],
) -> list[str]:
    """The newest applied change of each field must be what its side holds now (`sides`:
    `push` → LiveVox, `write_back` → the SoR), unless an edit of that (account, field) at
    `superseded[(account, field)]`, after the audit row, replaced it."""
    problems: list[str] = []
    for row in last_applied(engine):
        edited = superseded.get((row.account, row.field))
        if edited is not None and row.at < edited:
            continue
        held = sides[row.direction].get(row.account)
        side = "LiveVox" if row.direction == "push" else "the SoR"
        if held is None:
            problems.append(f"audit {row.account} {row.field}: the contact is not in {side}")
        elif canon(row.field, held.get(row.field)) != row.new_value:
            problems.append(
                f"audit {row.direction} {row.operation} {row.account} {row.field} = "
                f"{row.new_value!r}, {side} holds {canon(row.field, held.get(row.field))!r}"
            )
    return problems


def unaudited_writes(engine: Engine, journal: list[dict[str, Any]], user: str) -> list[str]:
    """Changes `user` (syncd) made in LiveVox (the emulator's journal) without an `applied`
    push audit row saying so."""
    rows = _rows(
        engine,
        "SELECT account, field, new_value, operation FROM syncd.audit_log "
        "WHERE direction = 'push' AND outcome = 'applied'",
    )
    audited = {(r.account, r.field, r.new_value) for r in rows}
    created = {r.account for r in rows if r.operation == "create"}
    out: list[str] = []
    for e in journal:
        if e["user"] != user:
            continue
        if e["op"] == "create":
            if e["account"] not in created:
                out.append(f"{e['account']}: created, no applied create audited")
        elif e["op"] == "update":
            key = (e["account"], e["field"], canon(e["field"], e["new"]))
            if key not in audited:
                out.append(f"{e['account']} {e['field']} -> {e['new']!r}: applied, not audited")
    return out
