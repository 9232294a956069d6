"""Read a table's or view's columns from the Postgres catalog (for the SoR start-up checks)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection


@dataclass(frozen=True, slots=True)
class CatalogColumn:
    name: str
    sql_type: str
    """`format_type` of the column (`character varying(40)`, `numeric(12,2)`, a domain name)."""
    base_type: str
    """`typname` after resolving domains (`varchar`, `int8`, `timestamptz`, ...)."""
    is_enum: bool
    updatable: bool


@dataclass(frozen=True, slots=True)
class Relation:
    schema: str
    name: str
    kind: str
    """`table`, `view`, `materialized view`, `foreign table` or `partitioned table`."""
    columns: tuple[CatalogColumn, ...]
    unique_columns: frozenset[str]
    """Columns that alone carry a unique index or primary key."""

    def column(self, name: str) -> CatalogColumn | None:
        return next((c for c in self.columns if c.name == name), None)


_KINDS = {"r": "table", "v": "view", "m": "materialized view", "f": "foreign table",
          "p": "partitioned table"}  # fmt: skip


def read_relation(conn: Connection, schema: str, name: str) -> Relation | None:
    """The relation's columns in order, or None when it does not exist."""
    row = conn.execute(
        sa.text(
            "SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = :schema AND c.relname = :name"
        ),
        {"schema": schema, "name": name},
    ).one_or_none()
    if row is None or row.relkind not in _KINDS:
        return None
    columns = conn.execute(
        sa.text(
            """
            SELECT a.attname AS name,
                   format_type(a.atttypid, a.atttypmod) AS sql_type,
                   coalesce(bt.typname, t.typname) AS base_type,
                   coalesce(bt.typtype, t.typtype) = 'e' AS is_enum,
                   coalesce(ic.is_updatable = 'YES', false) AS updatable
            FROM pg_attribute a
            JOIN pg_type t ON t.oid = a.atttypid
            LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
            LEFT JOIN information_schema.columns ic
              ON ic.table_schema = :schema AND ic.table_name = :name
             AND ic.column_name = a.attname
            WHERE a.attrelid = :oid AND a.attnum > 0 AND NOT a.attisdropped
            ORDER BY a.attnum
            """
        ),
        {"oid": row.oid, "schema": schema, "name": name},
    ).all()
    unique = conn.execute(
        sa.text(
            "SELECT a.attname FROM pg_index i "
            "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0] "
            "WHERE i.indrelid = :oid AND i.indisunique AND i.indnkeyatts = 1 "
            "AND i.indpred IS NULL"
        ),
        {"oid": row.oid},
    ).scalars()
    return Relation(
        schema=schema,
        name=name,
        kind=_KINDS[row.relkind],
        columns=tuple(
            CatalogColumn(c.name, c.sql_type, c.base_type, bool(c.is_enum), bool(c.updatable))
            for c in columns
        ),
        unique_columns=frozenset(unique),
    )
