"""The loader's two cast paths accept exactly the same text (and give the same values)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest

from syncd.store.fields import FieldType
from syncd.store.typed_sql import (
    SESSION_SETTINGS,
    checked_cast_sql,
    sql_literal,
    strict_cast_sql,
    try_function_sql,
)

CASES: list[tuple[FieldType, str, Any]] = [
    ("integer", "42", 42),
    ("integer", "-7", -7),
    ("integer", "+7", 7),
    ("integer", "9223372036854775807", 9223372036854775807),
    ("integer", "9223372036854775808", None),
    ("integer", "4.5", None),
    ("integer", "abc", None),
    ("decimal", "12.50", Decimal("12.50")),
    ("decimal", "-.5", Decimal("-0.5")),
    ("decimal", "1e3", Decimal("1000")),
    ("decimal", "NaN", None),
    ("decimal", "Infinity", None),
    ("decimal", "1.2.3", None),
    ("boolean", "true", True),
    ("boolean", "FALSE", False),
    ("boolean", "maybe", None),
    ("date", "02/29/2024", date(2024, 2, 29)),
    ("date", "12/31/1999", date(1999, 12, 31)),
    ("date", "02/29/2023", None),
    ("date", "04/31/2024", None),
    ("date", "13/01/2024", None),
    ("date", "2024-01-02", date(2024, 1, 2)),  # other spellings: Postgres' date input
    ("date", "1/2/2024", date(2024, 1, 2)),
    ("date", "Jan 2 2024", date(2024, 1, 2)),
    ("date", "01/02/2024 junk", None),
    ("date", "today", None),  # special words name no fixed date
    ("date", "infinity", None),
    ("date", " Epoch ", None),
    ("datetime", "11/30/2026 23:59:59", datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)),
    ("datetime", "01/01/2020 00:00:00", datetime(2020, 1, 1, tzinfo=UTC)),
    ("datetime", "1700000000000", datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)),
    ("datetime", "11/30/2026 25:00:00", None),
    ("datetime", "11/30/2026 10:61:00", None),
    ("datetime", "02/30/2026 10:00:00", None),
    ("datetime", "11/30/2026", datetime(2026, 11, 30, tzinfo=UTC)),
    ("datetime", "11/30/2026 10:00:00+02", datetime(2026, 11, 30, 8, tzinfo=UTC)),
    ("datetime", "yesterday", None),
    ("datetime", "today 10:00", None),
    ("datetime", "-infinity", None),
    ("datetime", "nowhere", None),
]


@pytest.fixture(scope="module")
def conn(pg_server_url: str) -> Any:
    # Casts need no schema: any database will do, and temporary functions vanish with us.
    with psycopg.connect(pg_server_url) as connection:
        # Server defaults far from the loader's: its pinned settings must win.
        connection.execute("SET TimeZone = 'America/Los_Angeles'")
        connection.execute("SET DateStyle = 'ISO, DMY'")
        for setting in SESSION_SETTINGS:  # SET LOCAL: this test's one transaction
            connection.execute(setting.encode())
        for kind in ("integer", "decimal", "boolean", "date", "datetime"):
            connection.execute(try_function_sql(kind).encode())
        yield connection


def _cast(conn: psycopg.Connection[Any], expression: str, text: str) -> Any:
    # The value comes from a subquery, not a literal, as in the loader (no constant folding).
    query = f"SELECT {expression} FROM (SELECT {sql_literal(text)}::text AS v OFFSET 0) s"
    return conn.execute(query.encode()).fetchone()[0]  # type: ignore[index]


@pytest.mark.parametrize(("kind", "text", "expected"), CASES)
def test_strict_and_checked_casts_agree(
    conn: psycopg.Connection[Any], kind: FieldType, text: str, expected: Any
) -> None:
    checked = _cast(conn, checked_cast_sql(kind, "s.v"), text)
    conn.execute("SAVEPOINT strict")
    try:
        strict: Any = _cast(conn, strict_cast_sql(kind, "s.v"), text)
        raised = False
    except psycopg.errors.DataError:
        conn.execute("ROLLBACK TO SAVEPOINT strict")
        strict, raised = None, True
    assert checked == expected
    assert raised == (expected is None)
    assert strict == expected


def test_null_stays_null(conn: psycopg.Connection[Any]) -> None:
    for kind in ("integer", "decimal", "boolean", "date", "datetime"):
        value = conn.execute(
            f"SELECT {strict_cast_sql(kind, 's.v')}, {checked_cast_sql(kind, 's.v')} "  # type: ignore[arg-type]
            "FROM (SELECT NULL::text AS v OFFSET 0) s"
        ).fetchone()
        assert value == (None, None)
