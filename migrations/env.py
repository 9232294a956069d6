"""Alembic environment for syncd.

Online runs use the connection handed over in `config.attributes["connection"]` (that is how
`syncd.store.migrate` and the tests call it); otherwise `sqlalchemy.url` from the config or
`SYNCD_DATABASE_URL`. Only the schemas syncd owns are compared (`alembic check`), so other
objects in the database are never proposed for removal.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection

import syncd.store.sync_tables  # noqa: F401  (registers the sync core tables on `metadata`)
from syncd.store.engine import create_engine_for, normalize_url
from syncd.store.schema import SCHEMAS, metadata

config = context.config


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    if type_ == "schema":
        return name in SCHEMAS
    return True


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=metadata,
        include_schemas=True,
        include_name=include_name,
        compare_type=True,
        **kwargs,  # type: ignore[arg-type]
    )


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("SYNCD_DATABASE_URL")
    if not url:
        raise RuntimeError("no database: set SYNCD_DATABASE_URL or use `syncd db upgrade`")
    return normalize_url(url)


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_offline() -> None:
    _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    engine = create_engine_for(_url(), poolclass=pool.NullPool)
    try:
        with engine.connect() as conn:
            _run(conn)
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
