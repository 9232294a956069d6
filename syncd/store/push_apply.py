"""The mirror and `syncd.base` as the pusher sees them: read before sending, write after.

Before a batch goes out the pusher reads the mirror rows of its accounts (typed values per
field key) to check each row's `expected`. After LiveVox confirmed a change, in the same
transaction as the outbox row's DONE: the mirror row takes the sent values (so the next diff
sees no phantom change; the `contact_phones` / `contact_custom_values` views read that row),
`base.agreed` merges the sent values, and the status columns `last_operation` /
`last_error` say what happened last.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg
from sqlalchemy.engine import Connection

from syncd.store.field_columns import FIELDS
from syncd.store.fields import FieldColumn
from syncd.store.schema import contacts
from syncd.store.sync_tables import base

FIELD_BY_KEY: dict[str, FieldColumn] = {f.key: f for f in FIELDS}
_DATA_FIELDS: tuple[FieldColumn, ...] = tuple(f for f in FIELDS if f.key != "account")


class UnknownFieldError(KeyError):
    """A key that is not a field of the data file (the planner and pusher disagree)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key

    def __str__(self) -> str:
        return f"{self.key!r} is not a LiveVox field key"


@dataclass(frozen=True, slots=True)
class MirrorRow:
    """A mirror contact: typed values per field key, and whether it is tombstoned."""

    account: str
    deleted: bool
    values: Mapping[str, Any]

    @property
    def live(self) -> bool:
        return not self.deleted


def field_for(key: str) -> FieldColumn:
    try:
        return FIELD_BY_KEY[key]
    except KeyError:
        raise UnknownFieldError(key) from None


def read_mirror(conn: Connection, accounts: Sequence[str]) -> dict[str, MirrorRow]:
    """Mirror rows of these accounts (absent accounts are missing from the result)."""
    if not accounts:
        return {}
    columns = [contacts.c[f.column] for f in _DATA_FIELDS]
    stmt = sa.select(contacts.c.account, contacts.c.deleted_at, *columns).where(
        contacts.c.account.in_(list(accounts))
    )
    rows: dict[str, MirrorRow] = {}
    for record in conn.execute(stmt):
        mapping = record._mapping
        values = {f.key: mapping[f.column] for f in _DATA_FIELDS}
        values["account"] = record.account
        rows[record.account] = MirrorRow(record.account, record.deleted_at is not None, values)
    return rows


def _columns(values: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key == "account":
            continue
        out[field_for(key).column] = value
    return out


def apply_sent_values(
    conn: Connection,
    changes: Sequence[tuple[str, Mapping[str, Any]]],
    *,
    operation: str,
    run_id: int,
    insert: bool = False,
) -> None:
    """Write typed values onto mirror rows, (account, values) each; `insert` creates missing
    rows (creates). Rows changing the same columns go out as one statement."""
    groups: dict[tuple[str, ...], list[tuple[str, dict[str, Any]]]] = defaultdict(list)
    for account, values in changes:
        columns = _columns(values)
        groups[tuple(sorted(columns))].append((account, columns))
    status = {
        "last_operation": operation,
        "last_error": None,
        "run_id": run_id,
        "changed_at": sa.func.now(),
        # The row no longer matches any export line: make the next load compare it rather
        # than skip it on an equal hash (LiveVox may have normalised what we sent).
        "row_hash": None,
    }
    for names, members in groups.items():
        if insert:
            stmt = pg.insert(contacts).values(
                [{"account": account, **columns, **status} for account, columns in members]
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[contacts.c.account],
                    set_={
                        **{n: stmt.excluded[n] for n in names},
                        **status,
                        "deleted_at": None,
                    },
                )
            )
            continue
        # bind names must differ from column names in a SET clause
        update = (
            sa.update(contacts)
            .where(contacts.c.account == sa.bindparam("b_account"))
            .values({**{n: sa.bindparam(f"b_{n}") for n in names}, **status})
        )
        conn.execute(
            update,
            [
                {"b_account": account, **{f"b_{n}": v for n, v in columns.items()}}
                for account, columns in members
            ],
        )


def tombstone(conn: Connection, accounts: Sequence[str], *, run_id: int) -> None:
    """These contacts are gone from LiveVox (their deletes went through)."""
    if not accounts:
        return
    conn.execute(
        sa.update(contacts)
        .where(contacts.c.account.in_(list(accounts)))
        .values(
            deleted_at=sa.func.coalesce(contacts.c.deleted_at, sa.func.now()),
            last_operation="delete",
            last_error=None,
            run_id=run_id,
            changed_at=sa.func.now(),
        )
    )


def set_mirror_status(conn: Connection, account: str, *, operation: str, error: str | None) -> None:
    """`last_operation` / `last_error` only (a failure or rejection; values unchanged)."""
    conn.execute(
        sa.update(contacts)
        .where(contacts.c.account == account)
        .values(last_operation=operation, last_error=None if error is None else error[:2000])
    )


def merge_base(
    conn: Connection, agreements: Sequence[tuple[str, Mapping[str, Any]]], *, run_id: int
) -> None:
    """`base.agreed || agreed` per (account, agreed); a new base row for a new contact.
    One statement: the accounts must be distinct."""
    if not agreements:
        return
    stmt = pg.insert(base).values(
        [{"account": a, "agreed": dict(v), "run_id": run_id} for a, v in agreements]
    )
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[base.c.account],
            set_={
                "agreed": base.c.agreed.op("||")(stmt.excluded.agreed),
                "run_id": run_id,
                "updated_at": sa.func.now(),
            },
        )
    )


def drop_base(conn: Connection, accounts: Sequence[str]) -> None:
    """Deleted contacts have nothing left to agree on (and must not look 'removed' again)."""
    if accounts:
        conn.execute(sa.delete(base).where(base.c.account.in_(list(accounts))))
