"""``batched`` splits lazily into bounded lists."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from syncd.livevox import batched


def test_batches_are_bounded_and_complete() -> None:
    assert list(batched(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []
    assert list(batched(range(3), 3)) == [[0, 1, 2]]


def test_batching_is_lazy() -> None:
    pulled: list[int] = []

    def source() -> Iterator[int]:
        for i in range(10):
            pulled.append(i)
            yield i

    first = next(batched(source(), 4))
    assert first == [0, 1, 2, 3] and pulled == [0, 1, 2, 3]


def test_size_must_be_positive() -> None:
    with pytest.raises(ValueError):
        list(batched([1], 0))
