"""Several workers and drains at once never take (or send) the same row; the cycle lock is
checked before every batch, and `stop` ends a drain after the batch in flight."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.livevox import LiveVoxClient
from syncd.service.push import PushReport, drain_outbox
from syncd.settings import SyncSettings
from syncd.store.locks import LockLostError, cycle_lock
from syncd.store.outbox_drain import claim_due, mark_sent
from tests.integration.push.helpers import (
    Emulator,
    RecordingTransport,
    account,
    add_outbox,
    mirror_values,
    new_run,
    states,
)

ROWS = 400
BATCH = 10


def _updates(engine: Engine, n: int) -> list[dict[str, Any]]:
    return [
        {
            "account": account(i),
            "operation": "update",
            "payload": {"fields": {"address2": f"Suite {i}"}},
            "expected": mirror_values(engine, account(i), ["address2"]),
        }
        for i in range(1, n + 1)
    ]


def test_two_drains_with_two_workers_each_never_send_a_row_twice(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator, transport: RecordingTransport
) -> None:
    add_outbox(mirror, _updates(mirror, ROWS))
    emulator.state.faults.configure("latency_ms=15")  # keeps the drains overlapping
    transport.requests.clear()
    settings = SyncSettings(update_batch_size=BATCH)
    start = threading.Barrier(2)
    reports: list[PushReport] = []
    errors: list[BaseException] = []

    def drain() -> None:
        try:
            start.wait(timeout=10)
            reports.append(
                drain_outbox(mirror, client, run_id=new_run(mirror), settings=settings, workers=2)
            )
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)

    threads = [threading.Thread(target=drain) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert sum(r.sent for r in reports) == ROWS and sum(r.applied for r in reports) == ROWS
    assert all(r.sent > 0 for r in reports)  # both drains really took part
    assert states(mirror) == {"DONE": ROWS}

    # every row went out exactly once: one bulk request per batch, each account in one body
    assert emulator.stats()[("PUT", "/contact/contacts/bulk")] == ROWS // BATCH
    sent = Counter(
        u["account"]
        for body in transport.bodies("PUT", "/contact/contacts/bulk")
        for u in body["updateContactDetails"]
    )
    assert len(sent) == ROWS and set(sent.values()) == {1}


def test_concurrent_claims_skip_each_others_locked_rows(mirror: Engine) -> None:
    add_outbox(mirror, _updates(mirror, 12))
    now = datetime.now(UTC)
    with mirror.connect() as first, mirror.connect() as second:
        with first.begin():
            mine = claim_due(first, "update", 5, now)
            with second.begin():
                theirs = claim_due(second, "update", 5, now)  # does not wait on `first`
                mark_sent(second, [r.id for r in theirs], "push-00000002-000001")
            mark_sent(first, [r.id for r in mine], "push-00000001-000001")
        with second.begin():
            rest = claim_due(second, "update", 100, now)
    ids = [r.id for r in mine], [r.id for r in theirs], [r.id for r in rest]
    assert [len(i) for i in ids] == [5, 5, 2]
    assert len({i for group in ids for i in group}) == 12


def test_stop_finishes_the_batch_in_flight_and_leaves_the_rest_new(
    mirror: Engine, client: LiveVoxClient, transport: RecordingTransport
) -> None:
    add_outbox(mirror, _updates(mirror, 30))
    stop = threading.Event()

    def sigterm_during_first_batch(method: str, path: str) -> None:
        if (method, path) == ("PUT", "/contact/contacts/bulk"):
            stop.set()

    transport.on_request = sigterm_during_first_batch
    with cycle_lock(mirror) as lock:
        assert lock is not None
        report = drain_outbox(
            mirror, client, run_id=new_run(mirror), settings=SyncSettings(update_batch_size=10),
            lock=lock, stop=stop,
        )
    assert (report.sent, report.applied) == (10, 10)
    assert states(mirror) == {"DONE": 10, "NEW": 20}


def test_a_lost_cycle_lock_stops_the_drain_before_anything_is_sent(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(mirror, _updates(mirror, 5))
    with cycle_lock(mirror) as lock:
        assert lock is not None
        pid = lock._connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
        with mirror.connect() as other:
            other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(LockLostError):
            drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings(),
                         lock=lock)
    assert states(mirror) == {"NEW": 5}
    assert emulator.stats() == {}
