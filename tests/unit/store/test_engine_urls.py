from __future__ import annotations

import pytest

from syncd.store.engine import create_engine_for, libpq_conninfo, normalize_url
from syncd.store.errors import DatabaseUrlError


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h:5432/db", "postgresql+psycopg://u@h:5432/db"),
        ("postgres://u:p@h/db", "postgresql+psycopg://u:p@h/db"),
        ("postgresql+psycopg2://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("host=h port=5433 dbname=db user=u", "postgresql+psycopg://u@h:5433/db"),
        (
            "host=/run/pg dbname=db user=u",
            "postgresql+psycopg://u@/db?host=%2Frun%2Fpg",
        ),
    ],
)
def test_urls_and_conninfo_become_psycopg3_urls(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_libpq_form_drops_the_driver() -> None:
    assert libpq_conninfo("postgresql+psycopg://u@h/db") == "postgresql://u@h/db"


def test_other_databases_are_refused() -> None:
    with pytest.raises(DatabaseUrlError, match="mysql"):
        normalize_url("mysql://u@h/db")


def test_building_an_engine_does_not_connect() -> None:
    engine = create_engine_for("postgresql://nobody@127.0.0.1:1/none")
    assert engine.dialect.driver == "psycopg"
    engine.dispose()
