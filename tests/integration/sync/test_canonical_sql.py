"""The diff's SQL builds the same canonical values as `syncd.domain.values` (real Postgres)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.domain.values import InvalidValueError, parse_value, to_canonical
from syncd.store.canonical_sql import canonical_expr, write_expr
from syncd.store.engine import create_engine_for
from tests.conftest import FreshDatabase

_RNG = random.Random(20261130)

TYPED: list[tuple[str, str, str, list[Any]]] = [
    ("string", "text", "text", ["Ann", "", None, "  spaced ", "Ünïcode ✓"]),
    ("string", "integer", "bigint", [0, 42, -7, None]),
    ("integer", "integer", "bigint", [0, 1, -9223372036854775807, None]),
    ("integer", "numeric", "numeric", [Decimal("12"), Decimal("12.000"), None]),
    ("decimal", "numeric", "numeric",
     [Decimal("100.50"), Decimal("0.000"), Decimal("-3.10"), Decimal("1E+3"), None]
     # to the cent, half away from zero, on both sides
     + [Decimal("10.005"), Decimal("-2.675"), Decimal("0.004"), Decimal("-0.005"),
        Decimal("99999999999999.995")]
     + [Decimal(_RNG.randint(-10**9, 10**9)).scaleb(-_RNG.randint(0, 6)) for _ in range(40)]),
    ("decimal", "numeric", "numeric(12,2)", [Decimal("7.5"), Decimal("7"), None]),
    ("decimal", "integer", "integer", [0, 15, None]),
    ("decimal", "float", "double precision", [1.5, 0.25, -2.0, None]),
    ("boolean", "boolean", "boolean", [True, False, None]),
    ("boolean", "integer", "smallint", [0, 1, 5, None]),
    ("date", "date", "date",
     [date(2024, 2, 29), date(1, 1, 1), None]
     + [date(1900, 1, 1) + timedelta(days=_RNG.randint(0, 80000)) for _ in range(20)]),
    ("date", "timestamp", "timestamp", [datetime(2024, 2, 29, 23, 59, 59), None]),
    ("date", "timestamptz", "timestamptz", [datetime(2024, 2, 29, 23, 30, tzinfo=UTC), None]),
    ("datetime", "timestamptz", "timestamptz",
     [datetime(2024, 2, 29, 13, 5, 7, 123456, tzinfo=UTC), None]
     + [datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=_RNG.randint(0, 10**9))
        for _ in range(20)]),
    ("datetime", "timestamp", "timestamp", [datetime(2024, 2, 29, 13, 5, 7), None]),
    ("datetime", "date", "date", [date(2024, 2, 29), None]),
]  # fmt: skip

TEXT: list[tuple[str, list[str | None]]] = [
    ("integer", ["12", " -3 ", "12.0", "1e3", "abc", "", None, "99999999999999999999"]),
    ("decimal", ["100.50", ".5", "5.", " +7 ", "1,5", "NaN", "", None, "1e3", "10.005", "-.125"]),
    ("boolean", ["true", "T", "yes", "0", "off", "maybe", "", None]),
    ("date", ["2024-02-29", "2/9/2024", "02/30/2024", "2024-13-01", "tomorrow", "", None,
              "02/29/2023", "02/29/2000", "02/29/1900", "04/31/2024", "12/31/2024",
              "13/01/2024", "00/10/2024", "01/00/2024", "01/02/0000", " 1/2/2027 "]),
    ("datetime", ["2024-02-29T13:05:07Z", "2024-02-29 13:05:07", "02/29/2024 13:05:07", "x"]),
    ("string", ["x", "", None, " y "]),
]


@pytest.fixture(scope="module")
def engine(pg_server_url: str) -> Iterator[Engine]:
    """One plain database for the module (no schema needed: temp tables only)."""
    db = FreshDatabase(pg_server_url).create()
    # temp tables of one name change type between tests: no prepared statements
    eng = create_engine_for(db.url, connect_args={"prepare_threshold": None})
    try:
        yield eng
    finally:
        eng.dispose()
        db.drop()


def _sql_values(engine: Engine, sql_type: str, expr: str, values: list[Any]) -> list[Any]:
    with engine.begin() as conn:
        conn.execute(sa.text(f"CREATE TEMP TABLE t (i int, c {sql_type}) ON COMMIT DROP"))
        for i, value in enumerate(values):
            conn.execute(sa.text("INSERT INTO t VALUES (:i, :v)"), {"i": i, "v": value})
        rows = conn.execute(sa.text(f"SELECT {expr} FROM t ORDER BY i")).scalars().all()
        typed = conn.execute(sa.text("SELECT c FROM t ORDER BY i")).scalars().all()
    return list(zip(typed, rows, strict=True))


@pytest.mark.parametrize(("kind", "source", "sql_type", "values"), TYPED)
def test_typed_columns_give_pythons_canonical_value(
    engine: Engine, kind: str, source: str, sql_type: str, values: list[Any]
) -> None:
    expr = canonical_expr(kind, source, "c")  # type: ignore[arg-type]
    for stored, canonical in _sql_values(engine, sql_type, expr, values):
        if source in ("integer", "float") and kind in ("decimal", "boolean"):
            assert _parsed(kind, canonical) == _parsed(kind, stored), (kind, source, stored)
            continue
        if kind == "datetime" and source == "date" and stored is not None:
            expected = to_canonical(kind, datetime(stored.year, stored.month, stored.day))
        elif kind == "string" and source == "integer" and stored is not None:
            expected = str(stored)
        else:
            expected = to_canonical(kind, stored)  # type: ignore[arg-type]
        assert canonical == expected, (kind, source, stored)


@pytest.mark.parametrize(("kind", "values"), TEXT)
def test_text_columns_parse_in_python_exactly_as_the_raw_text_would(
    engine: Engine, kind: str, values: list[str | None]
) -> None:
    """Invalid text too: the planner's reason (and the value it quotes) is the raw text's."""
    expr = canonical_expr(kind, "text", "c")  # type: ignore[arg-type]
    for raw, from_sql in _sql_values(engine, "text", expr, values):
        assert _parsed(kind, from_sql, exact=True) == _parsed(kind, raw, exact=True), (kind, raw)


def _parsed(kind: str, value: Any, *, exact: bool = False) -> Any:
    try:
        return parse_value("f", kind, value)  # type: ignore[arg-type]
    except InvalidValueError as exc:
        return ("invalid", exc.reason if exact else exc.reason.split(":")[0])


def test_phones_and_restriction_flags(engine: Engine) -> None:
    phone = canonical_expr("string", "text", "c", phone=True)
    got = _sql_values(engine, "text", phone, ["(555) 010-20.30", "  ", None, "+1 555 0102"])
    assert [c for _, c in got] == [
        to_canonical("string", v, phone=True) for v in ("(555) 010-20.30", "  ", None)
    ] + ["+15550102"]
    flag = canonical_expr("boolean", "boolean", "c", restriction=True)
    assert [c for _, c in _sql_values(engine, "boolean", flag, [None, True])] == [False, True]


@pytest.mark.parametrize(
    ("kind", "source", "sql_type", "canonical", "stored"),
    [
        ("boolean", "boolean", "boolean", True, True),
        ("boolean", "integer", "integer", True, 1),
        ("boolean", "text", "text", False, "false"),
        ("date", "date", "date", "2024-02-29", date(2024, 2, 29)),
        ("date", "timestamptz", "timestamptz", "2024-02-29",
         datetime(2024, 2, 29, tzinfo=UTC)),
        ("decimal", "numeric", "numeric(10,2)", "10.5", Decimal("10.50")),
        ("datetime", "timestamptz", "timestamptz", "2024-02-29T13:05:07Z",
         datetime(2024, 2, 29, 13, 5, 7, tzinfo=UTC)),
        ("string", "text", "varchar(20)", "Ann", "Ann"),
    ],
)  # fmt: skip
def test_write_back_stores_canonical_values_in_the_columns_type(
    engine: Engine, kind: str, source: str, sql_type: str, canonical: Any, stored: Any
) -> None:
    text = canonical if isinstance(canonical, str) else str(canonical).lower()
    expr = write_expr(kind, source, sql_type, ":v")  # type: ignore[arg-type]
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL TimeZone = 'America/New_York'"))
        value = conn.execute(sa.text(f"SELECT {expr}"), {"v": text}).scalar()
    assert value == stored
