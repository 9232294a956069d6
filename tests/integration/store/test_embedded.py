"""The embedded Postgres used when no database URL is configured."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from syncd.settings import Settings
from syncd.store import migrate
from syncd.store.embedded import EmbeddedPostgres, database_url_for
from syncd.store.engine import create_engine_for, libpq_conninfo
from syncd.store.errors import EmbeddedPostgresError


def test_starts_in_its_directory_migrates_stops_and_keeps_its_data(tmp_path: Path) -> None:
    data_dir = tmp_path / "var" / "pgdata"  # the parent is created too
    server = EmbeddedPostgres(data_dir)
    with pytest.raises(EmbeddedPostgresError):
        _ = server.url
    url = server.start()
    try:
        assert server.running and (data_dir / "PG_VERSION").is_file()
        engine = create_engine_for(url)
        assert migrate.upgrade(engine) == migrate.head_revision()
        engine.dispose()
    finally:
        server.stop()
    assert not server.running
    assert not (data_dir / "postmaster.pid").exists()
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(libpq_conninfo(url), connect_timeout=2)

    with EmbeddedPostgres(data_dir) as again:
        engine = create_engine_for(again.url)
        with engine.connect() as conn:
            assert migrate.current_revision(conn) == migrate.head_revision()
        engine.dispose()


def test_settings_without_a_url_use_the_embedded_server(tmp_path: Path) -> None:
    settings = Settings(database_url=None, embedded_data_dir=tmp_path / "pg")
    with database_url_for(settings) as url, psycopg.connect(libpq_conninfo(url)) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("syncd",)
    assert not (tmp_path / "pg" / "postmaster.pid").exists()

    explicit = Settings(database_url="postgresql://u@h/db")
    with database_url_for(explicit) as url:
        assert url == "postgresql+psycopg://u@h/db"
