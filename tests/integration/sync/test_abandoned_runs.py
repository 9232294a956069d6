"""A cycle whose process died (kill -9, or a lost connection at its last write) leaves its run
`running`; the next cycle, holding the cycle lock, closes it as abandoned."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.sync.conftest import SyncHarness, cycle, started


def test_the_next_cycle_closes_runs_left_running(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    h.sql("INSERT INTO syncd.runs (kind, status) VALUES ('sync_incremental', 'running')")
    h.sql("INSERT INTO syncd.runs (kind, status) VALUES ('pull_full', 'running')")
    dead = h.scalar("SELECT max(id) FROM syncd.runs WHERE kind = 'sync_incremental'")
    pull = h.scalar("SELECT max(id) FROM syncd.runs WHERE kind = 'pull_full'")

    result = cycle(service)

    assert result.status.value == "succeeded", result.messages
    assert result.counts["abandoned_runs_closed"] == 1
    status, error, finished = h.rows(
        "SELECT status, error, finished_at FROM syncd.runs WHERE id = :i", i=dead
    )[0]
    assert status == "failed" and finished is not None
    assert error.startswith("abandoned: its process stopped") and str(result.run_id) in error
    # A standalone pull is not the cycle's to judge: it may still be running.
    assert h.scalar("SELECT status FROM syncd.runs WHERE id = :i", i=pull) == "running"
    assert h.scalar("SELECT count(*) FROM syncd.runs WHERE status = 'running'") == 1
