"""A byte stream that can be read twice: chunks pass through and are kept in a temporary file.

The first load into an empty mirror is optimistic (see `initial_load.py`): it streams the
export straight into `livevox.contacts` and, if one row is not clean, gives up and loads the
same export through the staging path. An export is a one-shot HTTP stream, so the optimistic
pass keeps what it read on disk (never in memory: a first load may be gigabytes); `replay()`
yields it again, then whatever of the stream the first pass did not read.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

_READ_SIZE = 256 * 1024


class ChunkSpool:
    """Pass chunks through (`__iter__`) while keeping a copy; `replay()` them later once."""

    def __init__(self, chunks: Iterable[bytes], directory: str | Path | None = None) -> None:
        self._source = iter(chunks)
        # Closed by close() / the context manager: it lives as long as the spool.
        self._file: IO[bytes] = tempfile.TemporaryFile(  # noqa: SIM115
            prefix="syncd-spool-", dir=directory
        )
        self.spooled_bytes = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._source:
            self._file.write(chunk)
            self.spooled_bytes += len(chunk)
            yield chunk

    def replay(self) -> Iterator[bytes]:
        """What was read so far, then the rest of the source (which is no longer kept)."""
        self._file.flush()
        self._file.seek(0)
        while data := self._file.read(_READ_SIZE):
            yield data
        self.close()
        yield from self._source

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> ChunkSpool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
