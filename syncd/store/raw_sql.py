"""Small helpers for the loader's raw psycopg connection: statements, one row, COPY writer.

The loader builds its SQL as text (generated over ~200 columns) and runs it on the psycopg
connection under SQLAlchemy's, in the caller's transaction.
"""

from __future__ import annotations

import queue
from typing import Any

import psycopg
from psycopg import Connection
from psycopg.copy import QueuedLibpqWriter

from syncd.store.errors import LoaderError


def execute(conn: Connection[Any], statement: str) -> int:
    """Run one statement; its row count."""
    with conn.cursor() as cur:
        cur.execute(statement.encode())
        return cur.rowcount


def fetch_one(conn: Connection[Any], statement: str) -> tuple[Any, ...]:
    """The first row of a query that must return one."""
    with conn.cursor() as cur:
        cur.execute(statement.encode())
        row = cur.fetchone()
    if row is None:
        raise LoaderError("query returned no row")
    return tuple(row)


class BoundedQueuedWriter(QueuedLibpqWriter):
    """psycopg's threaded COPY writer with a short queue: ~1 MiB in flight, not ~100 MiB.

    The thread sends while the caller prepares the next chunk, so Python's work overlaps
    the server's parsing.
    """

    def __init__(self, cursor: psycopg.Cursor[Any], maxsize: int = 8) -> None:
        super().__init__(cursor)
        # psycopg sizes its queue for throughput (1024 buffers); we want flat memory.
        self._queue = queue.Queue(maxsize=maxsize)  # type: ignore[assignment]
