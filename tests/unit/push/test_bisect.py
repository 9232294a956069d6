"""Bisection of short bulk counts, against an in-memory bulk endpoint that applies every row
but the bad ones (as LiveVox and the emulator do) and counts its requests."""

from __future__ import annotations

import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncd.livevox import (
    BadRequestError,
    BulkResult,
    ForbiddenError,
    InternalServerError,
    NotFoundError,
)
from syncd.service.push_bisect import (
    APPLIED,
    BatchAbortedError,
    BulkSender,
    RowOutcome,
    RowStatus,
)


class FakeBulk:
    """Applies good rows, skips bad ones, reports the count; single replays refuse bad rows."""

    def __init__(self, bad: set[int], *, failing_calls: frozenset[int] = frozenset(),
                 refuse_whole: bool = False) -> None:
        self.bad = bad
        self.failing_calls = failing_calls  # these bulk requests (1-based) answer 500
        self.refuse_whole = refuse_whole  # a bad row makes the whole request a 400
        self.bulk_calls: list[int] = []
        self.single_calls: list[int] = []
        self.applied: list[int] = []

    def send(self, items: Sequence[int]) -> BulkResult:
        self.bulk_calls.append(len(items))
        if len(self.bulk_calls) in self.failing_calls:
            raise InternalServerError(endpoint="/bulk", method="PUT", status=500)
        if self.refuse_whole and self.bad & set(items):
            raise BadRequestError(endpoint="/bulk", method="PUT", status=400, message="bad body")
        good = [i for i in items if i not in self.bad]
        self.applied += good
        return BulkResult(len(items), len(good), 200, f"Successfully updated contacts {len(good)}")

    def replay(self, item: int) -> RowOutcome:
        self.single_calls.append(item)
        if item in self.bad:
            raise NotFoundError(endpoint="/one", method="PUT", status=404,
                                message=f"row {item} refused")
        self.applied.append(item)
        return APPLIED


def _resolve(fake: FakeBulk, n: int) -> list[RowOutcome]:
    return BulkSender(fake.send, fake.replay).resolve(list(range(n)))


def test_one_bad_row_in_500_takes_about_log2_n_requests() -> None:
    fake = FakeBulk({321})
    outcomes = _resolve(fake, 500)
    assert [i for i, o in enumerate(outcomes) if o.status is not RowStatus.APPLIED] == [321]
    assert outcomes[321] == RowOutcome(RowStatus.REJECTED, 404, "row 321 refused")
    assert len(fake.bulk_calls) <= 1 + math.ceil(math.log2(500))
    assert fake.single_calls == [321]


def test_a_clean_batch_is_one_request_and_an_all_bad_one_replays_each_row() -> None:
    clean = FakeBulk(set())
    assert _resolve(clean, 50) == [RowOutcome(RowStatus.APPLIED, 200)] * 50
    assert (clean.bulk_calls, clean.single_calls) == ([50], [])
    dirty = FakeBulk(set(range(8)))
    assert all(o.status is RowStatus.REJECTED for o in _resolve(dirty, 8))
    assert (dirty.bulk_calls, dirty.single_calls) == ([8], list(range(8)))


def test_a_transient_failure_fails_only_the_rows_of_that_request() -> None:
    fake = FakeBulk({90}, failing_calls=frozenset({2}))  # the first probe (left 50) fails
    outcomes = _resolve(fake, 100)
    assert {o.status for o in outcomes[:50]} == {RowStatus.FAILED}
    assert [i for i, o in enumerate(outcomes[50:], 50) if o.status is RowStatus.REJECTED] == [90]
    assert {o.status for o in outcomes[50:90] + outcomes[91:]} == {RowStatus.APPLIED}


def test_a_request_refused_whole_is_split_and_both_halves_sent() -> None:
    fake = FakeBulk({5}, refuse_whole=True)
    outcomes = _resolve(fake, 16)
    assert [o.status for o in outcomes].count(RowStatus.REJECTED) == 1
    assert outcomes[5].status is RowStatus.REJECTED
    assert sorted(fake.applied) == [i for i in range(16) if i != 5]


def test_a_setup_error_aborts_the_batch() -> None:
    def forbidden(items: Sequence[int]) -> BulkResult:
        raise ForbiddenError(endpoint="/bulk", method="PUT", status=403)

    with pytest.raises(BatchAbortedError):
        BulkSender(forbidden, FakeBulk(set()).replay).resolve([1, 2, 3])


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(min_value=1, max_value=300),
    data=st.data(),
)
def test_exactly_the_bad_rows_are_found_and_every_good_row_is_applied(
    n: int, data: st.DataObject
) -> None:
    bad = data.draw(st.sets(st.integers(min_value=0, max_value=n - 1), max_size=min(n, 12)))
    fake = FakeBulk(bad)
    outcomes = _resolve(fake, n)
    assert {i for i, o in enumerate(outcomes) if o.status is RowStatus.REJECTED} == bad
    assert all(o.status in (RowStatus.APPLIED, RowStatus.REJECTED) for o in outcomes)
    assert set(fake.applied) == set(range(n)) - bad
    assert sorted(fake.single_calls) == sorted(bad)
    # k bad rows cost at most about k * log2(n) probes, never one per row
    assert len(fake.bulk_calls) <= 1 + 2 * max(1, len(bad)) * math.ceil(math.log2(n + 1))
