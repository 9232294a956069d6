from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from syncd.store import resync_queue


def test_enqueue_claim_finish_and_the_done_notification(migrated: sa.Engine) -> None:
    since = datetime(2024, 5, 1, tzinfo=UTC)
    request_id = resync_queue.enqueue(
        migrated, requested_by="cli:ann", accounts=("A1",), since=since, confirm=True
    )
    pending = resync_queue.get_request(migrated, request_id)
    assert pending is not None and pending.status == "pending" and pending.accounts == ("A1",)
    waiter: list[resync_queue.ResyncRequest | None] = []
    listening = threading.Thread(
        target=lambda: waiter.append(
            resync_queue.wait_finished(migrated, request_id, timeout=30, poll_seconds=60)
        )
    )
    with resync_queue.claim_next(migrated) as claimed:
        assert claimed is not None
        assert claimed.request.status == "running" and claimed.request.since == since
        assert claimed.request.confirm
        listening.start()
        claimed.finish("done", run_id=None, error=None)
    listening.join(30)
    assert waiter and waiter[0] is not None and waiter[0].status == "done"


def test_two_claimers_never_take_the_same_request(migrated: sa.Engine) -> None:
    first_id = resync_queue.enqueue(migrated, requested_by="t")
    second_id = resync_queue.enqueue(migrated, requested_by="t")
    with resync_queue.claim_next(migrated) as one, resync_queue.claim_next(migrated) as two:
        assert one is not None and two is not None
        assert {one.request.id, two.request.id} == {first_id, second_id}
        with resync_queue.claim_next(migrated) as three:
            assert three is None
        one.finish("done", run_id=None, error=None)
        two.finish("failed", run_id=None, error="x" * 5000)
    failed = resync_queue.get_request(migrated, second_id)
    assert failed is not None and failed.error is not None and len(failed.error) == 2000


def test_leaving_unfinished_puts_the_request_back(migrated: sa.Engine) -> None:
    request_id = resync_queue.enqueue(migrated, requested_by="t")
    with pytest.raises(RuntimeError), resync_queue.claim_next(migrated) as claimed:
        assert claimed is not None
        raise RuntimeError("daemon stopping")
    request = resync_queue.get_request(migrated, request_id)
    assert request is not None and request.status == "pending" and request.picked_at is None


def test_a_dead_claimer_is_detected_and_a_live_one_is_not(migrated: sa.Engine) -> None:
    request_id = resync_queue.enqueue(migrated, requested_by="t")
    with resync_queue.claim_next(migrated) as claimed:
        assert claimed is not None
        assert resync_queue.requeue_orphans(migrated) == []  # alive: its lock is held
        with migrated.begin() as conn:
            conn.execute(
                sa.text(
                    # Waits (up to 10 s) until the backend is gone and its locks with it.
                    "SELECT pg_terminate_backend(pid, 10000) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND classid = :cls AND objid = :id"
                ),
                {"cls": resync_queue.RESYNC_LOCK_CLASS, "id": request_id},
            )
        assert resync_queue.requeue_orphans(migrated) == [request_id]
        with pytest.raises(sa.exc.DBAPIError):
            claimed.finish("done", run_id=None, error=None)  # its connection is gone
    request = resync_queue.get_request(migrated, request_id)
    assert request is not None and request.status == "pending"
    assert request.error == "requeued: the daemon running it stopped"


def test_waiting_times_out_on_an_unserved_request(migrated: sa.Engine) -> None:
    request_id = resync_queue.enqueue(migrated, requested_by="t")
    ticks: list[str] = []
    request = resync_queue.wait_finished(
        migrated,
        request_id,
        timeout=0.3,
        poll_seconds=0.1,
        on_tick=lambda r, waited: ticks.append(r.status if r else "gone"),
    )
    assert request is not None and request.status == "pending"
    assert set(ticks) == {"pending"} and len(ticks) >= 2
