"""ChunkSpool: what the first pass read comes back, then the rest of the one-shot stream."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from syncd.store.spool import ChunkSpool


def _stream(n: int) -> Iterator[bytes]:
    for i in range(n):
        yield b"chunk-%d;" % i


def test_a_replay_after_a_partial_read_yields_every_byte_once(tmp_path: Path) -> None:
    with ChunkSpool(_stream(10), tmp_path) as spool:
        first = iter(spool)
        read = [next(first) for _ in range(4)]  # the first pass stops early
        assert spool.spooled_bytes == sum(map(len, read))
        assert b"".join(spool.replay()) == b"".join(_stream(10))


def test_a_replay_after_a_full_read(tmp_path: Path) -> None:
    with ChunkSpool(_stream(3), tmp_path) as spool:
        assert list(spool) == list(_stream(3))
        assert b"".join(spool.replay()) == b"".join(_stream(3))


def test_the_spool_file_is_never_visible_in_its_directory(tmp_path: Path) -> None:
    with ChunkSpool(_stream(3), tmp_path) as spool:
        list(spool)
        assert list(tmp_path.iterdir()) == []  # an unlinked temporary file: nothing to leak
