from __future__ import annotations

import pytest
import sqlalchemy as sa

from syncd.store.locks import LockLostError, cycle_lock
from tests.conftest import FreshDatabase


def test_only_one_holder_at_a_time_and_release_on_exit(fresh_db: FreshDatabase) -> None:
    engine = sa.create_engine(fresh_db.url)
    try:
        with cycle_lock(engine) as first:
            assert first is not None
            first.ensure_held()
            with cycle_lock(engine) as second:
                assert second is None
            with cycle_lock(engine, wait_seconds=0.2) as waited:
                assert waited is None
        with cycle_lock(engine) as again:
            assert again is not None
    finally:
        engine.dispose()


def test_a_killed_holder_connection_is_detected(fresh_db: FreshDatabase) -> None:
    engine = sa.create_engine(fresh_db.url)
    try:
        with cycle_lock(engine) as lock:
            assert lock is not None
            with engine.connect() as admin:
                admin.execute(
                    sa.text(
                        "SELECT pg_terminate_backend(pid) FROM pg_locks "
                        "WHERE locktype = 'advisory' AND objid = :key AND database = "
                        "(SELECT oid FROM pg_database WHERE datname = current_database())"
                    ),
                    {"key": lock.key},
                )
            with pytest.raises(LockLostError):
                lock.ensure_held()
            with cycle_lock(engine) as other:
                assert other is not None  # the lock really was released
    finally:
        engine.dispose()
