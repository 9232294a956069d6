"""Fixtures for store tests: a fresh database migrated to head, and its engine."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.engine import Engine

from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from tests.conftest import FreshDatabase


@pytest.fixture
def engine(fresh_db: FreshDatabase) -> Iterator[Engine]:
    """An engine on an empty database migrated to head."""
    eng = create_engine_for(fresh_db.url)
    upgrade(eng)
    try:
        yield eng
    finally:
        eng.dispose()
