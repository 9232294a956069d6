from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from syncd.store import migrate
from syncd.store.engine import create_engine_for
from syncd.store.sync_tables import RESYNC_CHANNEL
from tests.conftest import FreshDatabase


@pytest.fixture
def migrated(fresh_db: FreshDatabase) -> Iterator[sa.Engine]:
    engine = create_engine_for(fresh_db.url)
    migrate.upgrade(engine)
    try:
        yield engine
    finally:
        engine.dispose()


def _audit_row(conn: sa.Connection) -> None:
    conn.execute(
        sa.text(
            "INSERT INTO syncd.audit_log (direction, account, operation, field, old_value, "
            "new_value, outcome) VALUES ('push', 'A1', 'update', 'city', 'X', 'Y', 'applied')"
        )
    )


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE syncd.audit_log SET outcome = 'rejected'",
        "DELETE FROM syncd.audit_log",
        "TRUNCATE syncd.audit_log",
    ],
)
def test_the_audit_log_refuses_every_change_even_to_its_owner(
    migrated: sa.Engine, statement: str
) -> None:
    with migrated.begin() as conn:
        _audit_row(conn)
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), migrated.begin() as conn:
        conn.execute(sa.text(statement))
    with migrated.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM syncd.audit_log")).scalar_one() == 1


def test_one_open_outbox_row_per_account_and_operation(migrated: sa.Engine) -> None:
    insert = sa.text(
        "INSERT INTO syncd.outbox (run_id, account, operation, payload, state) "
        "VALUES (:run, 'A1', 'update', '{}', :state)"
    )
    with migrated.begin() as conn:
        run = conn.execute(
            sa.text("INSERT INTO syncd.runs (kind) VALUES ('incremental') RETURNING id")
        ).scalar_one()
        conn.execute(insert, {"run": run, "state": "DONE"})
        conn.execute(insert, {"run": run, "state": "NEW"})
    with pytest.raises(sa.exc.IntegrityError), migrated.begin() as conn:
        conn.execute(insert, {"run": run, "state": "FAILED"})


def test_a_new_resync_request_is_announced_on_its_channel(
    migrated: sa.Engine, fresh_db: FreshDatabase
) -> None:
    with psycopg.connect(fresh_db.conninfo, autocommit=True) as listener:
        listener.execute(f"LISTEN {RESYNC_CHANNEL}")
        with migrated.begin() as conn:
            request_id = conn.execute(
                sa.text(
                    "INSERT INTO syncd.resync_requests (requested_by, accounts) "
                    "VALUES ('test', ARRAY['A1']) RETURNING id"
                )
            ).scalar_one()
        notice = next(listener.notifies(timeout=10))
    assert notice.channel == RESYNC_CHANNEL
    assert notice.payload == str(request_id)
