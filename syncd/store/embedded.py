"""Embedded Postgres for machines without a database URL (pgserver in a local data directory).

`EmbeddedPostgres(data_dir)` initialises the directory on first use, starts a server that
listens on a Unix socket only, creates the `syncd` database, and stops the server on `stop()`
(or leaving the `with` block) unless another process still uses the same directory —
pgserver counts handles across processes, so a CLI command never stops a running daemon's
server.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from syncd.store.engine import libpq_conninfo, normalize_url
from syncd.store.errors import EmbeddedPostgresError

if TYPE_CHECKING:
    from syncd.settings import Settings

DEFAULT_DATA_DIR = Path("var/pgdata")
DEFAULT_DATABASE = "syncd"


class EmbeddedPostgres:
    """A pgserver instance in `data_dir` (relative paths are under the working directory)."""

    def __init__(self, data_dir: Path = DEFAULT_DATA_DIR, database: str = DEFAULT_DATABASE):
        self.data_dir = Path(data_dir).expanduser().resolve()
        self.database = database
        self._server: Any = None
        self._url: str | None = None

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        """SQLAlchemy URL (psycopg 3) of the `syncd` database on the running server."""
        if self._url is None:
            raise EmbeddedPostgresError("the embedded Postgres is not running")
        return self._url

    @property
    def pid(self) -> int | None:
        """Process id of the postmaster, None when stopped."""
        return None if self._server is None else int(self._server.get_pid())

    def start(self) -> str:
        """Start (initialising the directory if needed) and return the database URL."""
        if self._server is not None:
            return self.url
        import pgserver  # imported lazily: only needed without a configured database

        try:
            self.data_dir.parent.mkdir(parents=True, exist_ok=True)
            with warnings.catch_warnings():
                # pgserver asks platformdirs for a runtime dir it does not need; without
                # XDG_RUNTIME_DIR (services, containers) that is only noise.
                warnings.filterwarnings("ignore", module="platformdirs")
                self._server = pgserver.get_server(  # type: ignore[attr-defined]
                    self.data_dir, cleanup_mode="stop"
                )
            server_uri = self._server.get_uri()
            self._ensure_database(server_uri)
            self._url = normalize_url(self._server.get_uri(self.database))
        except EmbeddedPostgresError:
            raise
        except Exception as exc:
            self._server = None
            raise EmbeddedPostgresError(
                f"embedded Postgres did not start in {self.data_dir}: {exc}",
                data_dir=str(self.data_dir),
            ) from exc
        return self._url

    def _ensure_database(self, server_uri: str) -> None:
        with psycopg.connect(libpq_conninfo(server_uri), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)
            ).fetchone()
            if exists is None:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))

    def stop(self) -> None:
        """Stop the server if this process holds the last handle on it."""
        server, self._server, self._url = self._server, None, None
        if server is None:
            return
        try:
            server.cleanup()
        except Exception as exc:
            raise EmbeddedPostgresError(
                f"embedded Postgres did not stop cleanly: {exc}", data_dir=str(self.data_dir)
            ) from exc

    def __enter__(self) -> EmbeddedPostgres:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@contextmanager
def database_url_for(settings: Settings) -> Iterator[str]:
    """The configured database URL, or an embedded server's for the duration of the block."""
    if settings.database_url:
        yield normalize_url(settings.database_url)
        return
    with EmbeddedPostgres(settings.embedded_data_dir) as server:
        yield server.url
