from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.store.analyst import (
    ANALYST_ROLE,
    ENSURE_ROLE_SQL,
    ensure_analyst_role,
    ensure_role_sql,
)
from syncd.store.engine import libpq_conninfo
from syncd.store.loader import load_export
from syncd.store.runs import RunRepository
from tests.conftest import FreshDatabase
from tests.integration.store.exports import ALL_KEYS, body, contact


@pytest.fixture
def loaded(engine: Engine) -> Engine:
    rows = [
        contact("P-1", firstName="Pat", ssn="123-45-6789", dateOfBirth="01/02/1970"),
    ]
    run_id = RunRepository(engine).start("test")
    with engine.begin() as conn:
        load_export(conn, list(ALL_KEYS), [body(rows)], run_id=run_id, mode="full")
    changed = [contact("P-1", firstName="Pat", ssn="987-65-4321", dateOfBirth="01/02/1971")]
    with engine.begin() as conn:
        load_export(conn, list(ALL_KEYS), [body(changed)], run_id=run_id, mode="full")
    return engine


def _as_analyst(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        conn.execute(sa.text(f"SET ROLE {ANALYST_ROLE}"))
        try:
            return list(conn.execute(sa.text(sql)).all())
        finally:
            conn.rollback()


def test_the_analyst_role_cannot_read_ssn_or_date_of_birth(loaded: Engine) -> None:
    for sql in (
        "SELECT ssn FROM livevox.contacts",
        "SELECT date_of_birth FROM livevox.contacts",
        "SELECT account FROM livevox.contacts",
        "SELECT old_values FROM livevox.contact_history",
        "SELECT * FROM syncd.runs",
        "SELECT * FROM sor.contacts",
    ):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            _as_analyst(loaded, sql)


def test_the_analyst_role_reads_the_views_without_pii(loaded: Engine) -> None:
    (row,) = _as_analyst(loaded, "SELECT * FROM livevox.analyst_contacts")
    assert row._mapping["first_name"] == "Pat"
    assert "ssn" not in row._mapping and "date_of_birth" not in row._mapping
    (history,) = _as_analyst(
        loaded,
        "SELECT changed_columns, old_values, new_values FROM livevox.analyst_contact_history",
    )
    assert set(history.changed_columns) == {"ssn", "date_of_birth"}  # names only
    assert history.old_values == {} and history.new_values == {}
    for table in ("contact_phones", "contact_custom_values", "custom_fields", "contact_groups"):
        _as_analyst(loaded, f"SELECT * FROM livevox.{table}")


def test_role_creation_is_idempotent_across_databases(engine: Engine, pg_server_url: str) -> None:
    with engine.begin() as conn:
        assert ensure_analyst_role(conn)
        assert ensure_analyst_role(conn)
    other = FreshDatabase(pg_server_url).create()
    try:
        with psycopg.connect(other.conninfo, autocommit=True) as conn:
            conn.execute(ENSURE_ROLE_SQL.encode())
            conn.execute(ENSURE_ROLE_SQL.encode())
    finally:
        other.drop()


def test_concurrent_role_creation_from_several_databases_succeeds(pg_server_url: str) -> None:
    """Databases on one server racing to create the server-wide role all succeed.

    The race is run on a role of its own (the analyst role exists already and other tests'
    databases hold grants to it, so it cannot be dropped to race on).
    """
    role = f"syncd_test_role_{uuid.uuid4().hex[:8]}"
    dbs = [FreshDatabase(pg_server_url).create() for _ in range(4)]
    barrier = threading.Barrier(len(dbs))
    errors: list[BaseException] = []

    def create(db: FreshDatabase) -> None:
        try:
            with psycopg.connect(libpq_conninfo(db.url)) as conn:
                barrier.wait(timeout=30)
                conn.execute(ensure_role_sql(role).encode())
                conn.commit()
        except BaseException as exc:  # collected and re-raised in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=create, args=(db,)) for db in dbs]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    finally:
        for db in dbs:
            db.drop()
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            exists = conn.execute("SELECT count(*) FROM pg_roles WHERE rolname = %s", (role,))
            created = exists.fetchone()
            conn.execute(f"DROP ROLE IF EXISTS {role}".encode())
    assert errors == []
    assert created == (1,)
