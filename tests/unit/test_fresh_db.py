from __future__ import annotations

import psycopg

from tests.conftest import FreshDatabase


def test_fresh_database_is_empty_and_usable(fresh_db: FreshDatabase) -> None:
    with psycopg.connect(fresh_db.conninfo) as conn:
        count = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()
    assert count == (0,)
