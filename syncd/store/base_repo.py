"""`syncd.base`: the last agreed state per contact (read side for the guard, and the admin's
lever to make the next cycle look at a contact again)."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.engine import Connection

REMOVED = "removed"
"""`sor_hash` of a contact whose SoR row vanished and whose removal was planned."""


def managed_count(conn: Connection) -> int:
    """Contacts the sync manages: agreed with the SoR once, and not removed from it."""
    return int(
        conn.execute(
            sa.text(
                "SELECT count(*) FROM syncd.base WHERE sor_hash IS DISTINCT FROM :removed"
            ),
            {"removed": REMOVED},
        ).scalar_one()
    )


def invalidate(conn: Connection, accounts: Sequence[str]) -> int:
    """Forget the SoR hash of these contacts, so the next cycle compares them field by field
    (a retried dead letter is planned again even though nothing changed since)."""
    if not accounts:
        return 0
    result = conn.execute(
        sa.text(
            "UPDATE syncd.base SET sor_hash = NULL, updated_at = now() "
            "WHERE account = ANY(:accounts) AND sor_hash IS DISTINCT FROM :removed"
        ),
        {"accounts": list(accounts), "removed": REMOVED},
    )
    return result.rowcount
