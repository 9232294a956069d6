"""SQLAlchemy tables of the three schemas: `livevox` (mirror), `syncd` (bookkeeping), `sor`.

Built at import from the generated field tuple (no I/O). Alembic revisions in `migrations/`
carry their own frozen copies of these definitions; `alembic check` (run by the tests) proves
that the models and the migrations agree.

Column order in `livevox.contacts` is deliberate: `account`, `row_hash`, `deleted_at`, then
the data columns, so the loader's hash comparison reads the first three attributes of a
tuple without deforming its ~200 data columns.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from syncd.store.field_columns import FIELDS
from syncd.store.fields import FieldColumn

NAMING_CONVENTION: dict[str, str] = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIRROR_SCHEMA = "livevox"
BOOKKEEPING_SCHEMA = "syncd"
SOR_SCHEMA = "sor"
SCHEMAS: tuple[str, ...] = (MIRROR_SCHEMA, BOOKKEEPING_SCHEMA, SOR_SCHEMA)

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def sql_type(field: FieldColumn) -> sa.types.TypeEngine[Any]:
    """The Postgres type of a field's column (string → text, integer → bigint, ...)."""
    match field.type:
        case "string":
            return sa.Text()
        case "integer":
            return sa.BigInteger()
        case "decimal":
            return sa.Numeric()
        case "boolean":
            return sa.Boolean()
        case "date":
            return sa.Date()
        case "datetime":
            return sa.DateTime(timezone=True)
    raise ValueError(f"unknown field type {field.type!r}")


def _data_columns(fields: tuple[FieldColumn, ...]) -> list[sa.Column[Any]]:
    return [sa.Column(f.column, sql_type(f), comment=f.key) for f in fields if f.key != "account"]


def _tstz() -> sa.DateTime:
    return sa.DateTime(timezone=True)


# --- syncd: bookkeeping -------------------------------------------------------------------

runs = sa.Table(
    "runs",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("status", sa.Text, nullable=False, server_default="running"),
    sa.Column("started_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("finished_at", _tstz()),
    sa.Column("counts", pg.JSONB),
    sa.Column("error", sa.Text),
    sa.Column("requested_by", sa.Text),
    sa.Column("messages", pg.JSONB),
    sa.CheckConstraint(
        "status IN ('running', 'succeeded', 'failed', 'held', 'dry_run', 'skipped')",
        name="status",
    ),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(None, runs.c.kind, runs.c.started_at)

watermarks = sa.Table(
    "watermarks",
    metadata,
    sa.Column("name", sa.Text, primary_key=True),
    sa.Column("value", _tstz(), nullable=False),
    sa.Column("updated_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("run_id", sa.BigInteger, sa.ForeignKey(runs.c.id)),
    schema=BOOKKEEPING_SCHEMA,
)

rejected_rows = sa.Table(
    "rejected_rows",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("run_id", sa.BigInteger, sa.ForeignKey(runs.c.id), nullable=False),
    sa.Column("line_number", sa.BigInteger),
    sa.Column("raw", sa.Text),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("created_at", _tstz(), nullable=False, server_default=sa.func.now()),
    schema=BOOKKEEPING_SCHEMA,
)
sa.Index(None, rejected_rows.c.run_id)

# --- livevox: the mirror ------------------------------------------------------------------
# Mirror rows carry `run_id` (lineage: the run that last changed the row) without a foreign
# key: the loader writes millions of them per run and the check would only repeat one lookup.

contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("row_hash", sa.BigInteger, comment="hash of the raw export line; NULL = unknown"),
    sa.Column("deleted_at", _tstz(), comment="tombstone: absent from a full export"),
    *_data_columns(FIELDS),
    sa.Column("run_id", sa.BigInteger, comment="run that last changed this row"),
    sa.Column("first_seen_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("changed_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.Column("last_operation", sa.Text, comment="last push operation (filled by the pusher)"),
    sa.Column("last_error", sa.Text, comment="last push error (filled by the pusher)"),
    # Covering primary key: the loader's hash join and the tombstone anti-join can read the
    # index alone instead of the ~200-column heap rows.
    sa.PrimaryKeyConstraint("account", postgresql_include=["row_hash", "deleted_at"]),
    schema=MIRROR_SCHEMA,
)
sa.Index(None, contacts.c.modify_date)
sa.Index(None, contacts.c.lv_account_id)

# Phone lookups: `livevox.contact_phones` is a view with one branch per ordinal
# (`WHERE phone<n> IS NOT NULL`), so each branch is answered by its partial index.
for _ordinal in range(1, 11):
    _phone = contacts.c[f"phone{_ordinal}"]
    sa.Index(None, _phone, postgresql_where=_phone.isnot(None))

# `livevox.contact_phones` and `livevox.contact_custom_values` are views over `contacts`
# (migration 0004), not tables: they have no model here.

custom_fields = sa.Table(
    "custom_fields",
    metadata,
    sa.Column("field", sa.Text, primary_key=True, comment="COL1..COL100"),
    sa.Column("label", sa.Text, nullable=False),
    sa.Column("data_type", sa.Text),
    sa.Column("list_values", pg.JSONB),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("updated_at", _tstz(), nullable=False, server_default=sa.func.now()),
    schema=MIRROR_SCHEMA,
)

contact_groups = sa.Table(
    "contact_groups",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("created_by", sa.Text),
    sa.Column("modified_by", sa.Text),
    sa.Column("created_at", _tstz()),
    sa.Column("modified_at", _tstz()),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("updated_at", _tstz(), nullable=False, server_default=sa.func.now()),
    schema=MIRROR_SCHEMA,
)

contact_history = sa.Table(
    "contact_history",
    metadata,
    sa.Column("id", sa.BigInteger, sa.Identity(always=False), primary_key=True),
    sa.Column("account", sa.Text, nullable=False),
    sa.Column("operation", sa.Text, nullable=False),
    sa.Column("valid_from", _tstz(), nullable=False),
    sa.Column("valid_to", _tstz()),
    sa.Column("changed_columns", pg.ARRAY(sa.Text)),
    sa.Column("old_values", pg.JSONB),
    sa.Column("new_values", pg.JSONB),
    sa.Column("row_hash", sa.BigInteger),
    sa.Column("run_id", sa.BigInteger),
    sa.Column("recorded_at", _tstz(), nullable=False, server_default=sa.func.now()),
    sa.CheckConstraint("operation IN ('insert', 'update', 'delete', 'restore')", name="operation"),
    schema=MIRROR_SCHEMA,
)
# One index serves both "history of an account" and "its open version" (few rows each).
sa.Index(None, contact_history.c.account, contact_history.c.valid_from)

# --- sor: the demo system of record -------------------------------------------------------

sor_contacts = sa.Table(
    "contacts",
    metadata,
    sa.Column("account", sa.Text, nullable=False),
    *_data_columns(tuple(f for f in FIELDS if f.sor_writable)),
    schema=SOR_SCHEMA,
)

CONTACT_DATA_FIELDS: tuple[FieldColumn, ...] = tuple(f for f in FIELDS if f.key != "account")
"""Every field but the key, in export order: the data columns of livevox.contacts."""
