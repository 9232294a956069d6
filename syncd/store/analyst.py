"""The analyst surface: PII-free views with custom-field labels, and the read-only role.

`livevox.analyst_contacts` has one row per contact: every mirror column except SSN and date
of birth, with each configured custom field (`COL7`) named by its label ("Company"); an
unconfigured one keeps its column name (`col7`). `livevox.analyst_contact_history` is the
history with SSN and date of birth removed from the old/new values.

The role `syncd_analyst` (NOLOGIN; grant it to people) may read those views and the mirror
tables that hold no PII, and nothing else: not `livevox.contacts` nor `contact_history`.
Roles are server-wide while grants are per database, so creating the role tolerates another
database (or a concurrent migration) having created it first.

`refresh_analyst_views` is what the reference pull calls: it regenerates the contacts view
when the labelled column list differs from the one in the database, in the same transaction.
"""

from __future__ import annotations

from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.store.field_columns import FIELDS
from syncd.store.schema import MIRROR_SCHEMA
from syncd.store.typed_sql import sql_literal

ANALYST_ROLE = "syncd_analyst"
CONTACTS_VIEW = "analyst_contacts"
HISTORY_VIEW = "analyst_contact_history"
PII_COLUMNS: tuple[str, ...] = tuple(f.column for f in FIELDS if f.is_pii)
# Mirror tables without PII the role may read directly.
READABLE_TABLES: tuple[str, ...] = (
    "contact_phones",
    "contact_custom_values",
    "custom_fields",
    "contact_groups",
)
_TRAILING_COLUMNS = ("deleted_at", "run_id", "first_seen_at", "changed_at")
_MAX_IDENTIFIER_BYTES = 63  # NAMEDATALEN - 1


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _truncate(name: str) -> str:
    encoded = name.encode("utf-8")[:_MAX_IDENTIFIER_BYTES]
    return encoded.decode("utf-8", errors="ignore")


def contacts_view_columns(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    """(mirror column, view column) pairs; `labels` maps custom field keys to labels.

    A label colliding with another view column (after truncation to Postgres' 63-byte
    identifiers) becomes "label (COLn)"; an empty or still colliding one keeps the mirror
    column name.
    """
    standard = [("account", "account")] + [
        (f.column, f.column)
        for f in FIELDS
        if f.key != "account" and not f.is_pii and f.group != "custom"
    ]
    trailing = [(c, c) for c in _TRAILING_COLUMNS]
    customs = [f for f in FIELDS if f.group == "custom"]
    wanted = {f.key: _truncate(labels.get(f.key, "").strip()) for f in customs}
    # Names no label may take: standard columns and the unlabelled custom columns.
    taken = {name for _, name in standard + trailing}
    taken |= {f.column for f in customs if not wanted[f.key]}
    custom: list[tuple[str, str]] = []
    for f in customs:
        label = wanted[f.key]
        if not label:
            custom.append((f.column, f.column))
            continue
        for name in (label, _truncate(f"{label} ({f.key})"), f.column):
            if name not in taken:
                break
        taken.add(name)
        custom.append((f.column, name))
    return standard + custom + trailing


def contacts_view_sql(labels: Mapping[str, str]) -> str:
    select = ",\n    ".join(
        quote_ident(column) if column == name else f"{quote_ident(column)} AS {quote_ident(name)}"
        for column, name in contacts_view_columns(labels)
    )
    return (
        f"CREATE VIEW {MIRROR_SCHEMA}.{CONTACTS_VIEW} AS\nSELECT\n    {select}\n"
        f"FROM {MIRROR_SCHEMA}.contacts"
    )


def history_view_sql() -> str:
    strip = "".join(f" - {sql_literal(c)}" for c in PII_COLUMNS)
    return (
        f"CREATE VIEW {MIRROR_SCHEMA}.{HISTORY_VIEW} AS\n"
        "SELECT id, account, operation, valid_from, valid_to, changed_columns,\n"
        f"    old_values{strip} AS old_values,\n"
        f"    new_values{strip} AS new_values,\n"
        "    run_id, recorded_at\n"
        f"FROM {MIRROR_SCHEMA}.contact_history"
    )


def ensure_role_sql(role: str = ANALYST_ROLE) -> str:
    """A DO block creating NOLOGIN `role` unless it exists; safe against concurrent creators."""
    return f"""
DO $role$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{role}') THEN
        BEGIN
            CREATE ROLE {role} NOLOGIN;
        EXCEPTION
            -- Another database's migration created it meanwhile (roles are server-wide).
            WHEN duplicate_object OR unique_violation THEN NULL;
            -- Not allowed to create roles: a DBA creates it once; grants are then skipped.
            WHEN insufficient_privilege THEN
                RAISE NOTICE 'cannot create role {role}; analyst grants skipped';
        END;
    END IF;
END
$role$
"""


ENSURE_ROLE_SQL = ensure_role_sql()


def role_exists(conn: Connection) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :name)"),
            {"name": ANALYST_ROLE},
        ).scalar_one()
    )


def ensure_analyst_role(conn: Connection) -> bool:
    """Create the role if missing (idempotent, race-safe); True when it exists afterwards."""
    conn.exec_driver_sql(ENSURE_ROLE_SQL)
    return role_exists(conn)


def grant_statements() -> list[str]:
    objects = [f"{MIRROR_SCHEMA}.{t}" for t in (CONTACTS_VIEW, HISTORY_VIEW, *READABLE_TABLES)]
    return [
        f"GRANT USAGE ON SCHEMA {MIRROR_SCHEMA} TO {ANALYST_ROLE}",
        f"GRANT SELECT ON {', '.join(objects)} TO {ANALYST_ROLE}",
    ]


def grant_analyst_privileges(conn: Connection) -> bool:
    """Grant the role its reads when it exists; False when there is no role to grant to."""
    if not role_exists(conn):
        return False
    for statement in grant_statements():
        conn.exec_driver_sql(statement)
    return True


def _current_view_columns(conn: Connection) -> list[str]:
    rows = conn.execute(
        sa.text(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = :schema AND table_name = :view ORDER BY ordinal_position"
        ),
        {"schema": MIRROR_SCHEMA, "view": CONTACTS_VIEW},
    )
    return [r[0] for r in rows]


def custom_labels(conn: Connection) -> dict[str, str]:
    rows = conn.execute(sa.text(f"SELECT field, label FROM {MIRROR_SCHEMA}.custom_fields"))
    return {field: label for field, label in rows}


def refresh_analyst_views(conn: Connection) -> bool:
    """Regenerate the contacts view if its labelled columns changed; True when it did."""
    wanted = contacts_view_columns(custom_labels(conn))
    if _current_view_columns(conn) == [name for _, name in wanted]:
        return False
    conn.exec_driver_sql(f"DROP VIEW IF EXISTS {MIRROR_SCHEMA}.{CONTACTS_VIEW}")
    conn.exec_driver_sql(contacts_view_sql(custom_labels(conn)))
    if not _exists(conn, HISTORY_VIEW):
        conn.exec_driver_sql(history_view_sql())
    grant_analyst_privileges(conn)
    return True


def _exists(conn: Connection, view: str) -> bool:
    return bool(
        conn.execute(
            sa.text("SELECT to_regclass(:name) IS NOT NULL"),
            {"name": f"{MIRROR_SCHEMA}.{view}"},
        ).scalar_one()
    )
