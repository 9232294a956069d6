"""Staging of a plan inside the planning transaction, then applying it in a few set-based
statements: outbox rows, conflicts, invalid dead letters, audit rows.

The planner streams its decisions page by page into temporary tables (`COPY`, so memory stays
flat however large the plan), the cycle counts them and asks the guard; only then is anything
written to the real tables, by `INSERT ... SELECT` from the staging tables. A held plan or a
dry run simply never calls the apply methods (a dry run copies only the audit preview).
Temporary tables are dropped at commit.

Rows staged here are plain tuples of canonical JSON (see `syncd.domain.values`); this module
does not know the planner's classes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

_TABLES = {
    "_sync_ops": "account text, operation text, payload jsonb, expected jsonb",
    "_sync_wb": "account text PRIMARY KEY, patch jsonb",
    "_sync_base_patch": "account text PRIMARY KEY, patch jsonb",
    "_sync_audit": (
        "account text, operation text, direction text, field text, old_value text, "
        "new_value text, outcome text, error text"
    ),
    "_sync_conflicts": (
        "account text, field text, base_value jsonb, mirror_value jsonb, sor_value jsonb"
    ),
    "_sync_invalid": "account text, operation text, payload jsonb, reason text",
    "_sync_applied": "id bigint",
}


def dumps(value: Any) -> str | None:
    """jsonb text for COPY (None → SQL NULL)."""
    if value is None:
        return None
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def jsonb_text(value: Any) -> str:
    """jsonb text that keeps a JSON null as `null` (a conflict's missing value)."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


class PlanStaging:
    """Temporary tables of one planning transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        for name, columns in _TABLES.items():
            conn.execute(sa.text(f"CREATE TEMP TABLE {name} ({columns}) ON COMMIT DROP"))

    def copy(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> int:
        """COPY rows into a staging table; returns how many."""
        if table not in _TABLES:
            raise ValueError(f"unknown staging table {table!r}")
        raw = self.conn.connection.driver_connection
        assert raw is not None
        n = 0
        with raw.cursor() as cur, cur.copy(
            f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        ) as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
        return n

    # --- applying ----------------------------------------------------------------------------

    def supersede_open_outbox(self, run_id: int) -> int:
        """Open outbox rows of every re-planned contact are replaced by this plan."""
        result = self.conn.execute(
            sa.text(
                "UPDATE syncd.outbox SET state = 'SUPERSEDED', updated_at = now(), "
                "last_error = coalesce(last_error, 'replaced by the plan of run ' || :run) "
                "WHERE state IN ('NEW', 'SENT', 'FAILED') "
                "AND account IN (SELECT account FROM _sync_cand)"
            ),
            {"run": str(run_id)},
        )
        return result.rowcount

    def insert_outbox(self, run_id: int) -> int:
        result = self.conn.execute(
            sa.text(
                "INSERT INTO syncd.outbox (run_id, account, operation, payload, expected) "
                "SELECT :run, account, operation, payload, expected FROM _sync_ops "
                "ORDER BY account, operation"
            ),
            {"run": run_id},
        )
        return result.rowcount

    def upsert_conflicts(self, run_id: int) -> int:
        result = self.conn.execute(
            sa.text(
                """
                INSERT INTO syncd.conflicts
                    (run_id, account, field, base_value, mirror_value, sor_value)
                SELECT :run, account, field, base_value, mirror_value, sor_value
                FROM _sync_conflicts
                ON CONFLICT (account, field) WHERE status <> 'applied' DO UPDATE
                SET run_id = EXCLUDED.run_id, base_value = EXCLUDED.base_value,
                    mirror_value = EXCLUDED.mirror_value, sor_value = EXCLUDED.sor_value
                """
            ),
            {"run": run_id},
        )
        return result.rowcount

    def close_conflicts(self) -> int:
        """Conflicts carried out by this plan, and those whose sides now agree, are applied."""
        applied = self.conn.execute(
            sa.text(
                "UPDATE syncd.conflicts SET status = 'applied', "
                "resolved_at = coalesce(resolved_at, now()) "
                "WHERE id IN (SELECT id FROM _sync_applied)"
            )
        ).rowcount
        moot = self.conn.execute(
            sa.text(
                """
                UPDATE syncd.conflicts c SET status = 'applied',
                       resolved_at = coalesce(c.resolved_at, now()),
                       resolved_by = coalesce(c.resolved_by, 'syncd: the sides agree')
                FROM _sync_diff d
                WHERE c.account = d.account AND c.status IN ('open', 'resolved')
                  AND d.sor_present AND d.mirror_live AND NOT d.diff ? c.field
                """
            )
        ).rowcount
        return applied + moot

    def insert_invalid(self, run_id: int) -> int:
        """Dead letters (kind `invalid`) for staged invalid values, once per account and
        reason; open ones of re-planned contacts that are valid now are resolved."""
        self.conn.execute(
            sa.text(
                """
                UPDATE syncd.dead_letters SET status = 'resolved', closed_at = now()
                WHERE kind = 'invalid' AND status = 'open'
                  AND account IN (SELECT account FROM _sync_cand)
                  AND account NOT IN (SELECT account FROM _sync_invalid)
                """
            )
        )
        result = self.conn.execute(
            sa.text(
                """
                INSERT INTO syncd.dead_letters (run_id, account, operation, payload, kind, reason)
                SELECT :run, i.account, i.operation, i.payload, 'invalid', i.reason
                FROM _sync_invalid i
                WHERE NOT EXISTS (
                    SELECT 1 FROM syncd.dead_letters d
                    WHERE d.kind = 'invalid' AND d.status = 'open'
                      AND d.account = i.account AND d.reason = i.reason)
                """
            ),
            {"run": run_id},
        )
        return result.rowcount

    def insert_audit(self, run_id: int) -> int:
        result = self.conn.execute(
            sa.text(
                "INSERT INTO syncd.audit_log (run_id, direction, account, operation, field, "
                "old_value, new_value, outcome, error) "
                "SELECT :run, direction, account, operation, field, old_value, new_value, "
                "outcome, error FROM _sync_audit"
            ),
            {"run": run_id},
        )
        return result.rowcount


def insert_key_problems(
    conn: Connection, run_id: int, problems: Iterable[tuple[str | None, str, Any]]
) -> int:
    """Dead letters for SoR rows the sync cannot address (no account, too long, duplicate);
    one open letter per account (or per row content, without an account) and reason."""
    n = 0
    for account, reason, payload in problems:
        n += conn.execute(
            sa.text(
                """
                INSERT INTO syncd.dead_letters (run_id, account, operation, payload, kind, reason)
                SELECT :run, CAST(:account AS text), 'create', CAST(:payload AS jsonb),
                       'invalid', CAST(:reason AS text)
                WHERE NOT EXISTS (
                    SELECT 1 FROM syncd.dead_letters d
                    WHERE d.kind = 'invalid' AND d.status = 'open'
                      AND d.reason = CAST(:reason AS text)
                      AND d.account IS NOT DISTINCT FROM CAST(:account AS text)
                      AND (CAST(:account AS text) IS NOT NULL
                           OR d.payload = CAST(:payload AS jsonb)))
                """
            ),
            {"run": run_id, "account": account, "payload": dumps(payload), "reason": reason},
        ).rowcount
    return n
