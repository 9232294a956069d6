"""A drain killed after its request landed leaves SENT rows; the next cycle's plan re-plans
those contacts (the pull brought their change back) and supersedes their open rows. Before
that, the cycle settles the leftovers against the fresh mirror: what landed is closed DONE and
audited `applied`, never superseded unrecorded, and never sent twice (found by the crash
suite, `tests/reliability/test_crash_recovery.py`, at `push.after_send`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from syncd.service.cycle import run_cycle
from syncd.service.requests import CycleRequest
from tests.integration.sync.conftest import SyncHarness, cycle, started

DEAD_DRAIN = "push-0badf00d-000001"  # a request id whose drain holds no live token


def _plan_only(h: SyncHarness, service: object) -> None:
    """A cycle that writes its plan and dies before the pusher sends anything."""
    deps = dataclasses.replace(service.deps, push=None)  # type: ignore[attr-defined]
    result = run_cycle(deps, CycleRequest())
    assert result.status.value == "succeeded", result.messages


def _crashed_after_send(h: SyncHarness, account: str) -> None:
    """The dead drain had marked the row SENT (its request then landed, see the caller)."""
    h.sql(
        "UPDATE syncd.outbox SET state = 'SENT', attempts = 1, request_id = :r "
        "WHERE account = :a AND state = 'NEW'",
        a=account,
        r=DEAD_DRAIN,
    )


def test_a_landed_leftover_is_closed_and_audited_not_superseded(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    account = h.rows("SELECT account FROM sor.contacts ORDER BY account LIMIT 1")[0].account
    h.sql("UPDATE sor.contacts SET first_name = 'Landed' WHERE account = :a", a=account)
    _plan_only(h, service)
    _crashed_after_send(h, account)
    h.store.agent_edit(account, {"firstName": "Landed"})  # the dead drain's update landed
    h.stats.reset()

    result = cycle(service)

    rows = h.rows("SELECT state FROM syncd.outbox WHERE account = :a", a=account)
    assert [r.state for r in rows] == ["DONE"]  # not SUPERSEDED by the re-plan
    audit = h.rows(
        "SELECT field, new_value, outcome, error FROM syncd.audit_log "
        "WHERE account = :a AND direction = 'push' ORDER BY id",
        a=account,
    )
    assert [(r.field, r.new_value, r.outcome) for r in audit] == [
        ("firstName", "Landed", "applied")
    ]
    assert "interrupted" in audit[0].error
    assert h.stats.count("PUT") == 0  # nothing sent again
    assert h.lv(account)["firstName"] == "Landed"
    assert result.counts.get("recovered_applied") == 1, result.counts


def test_the_landed_step_of_a_cut_dnd_move_is_audited(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    account = sorted(r["account"] for r in h.store.snapshot().records())[0]
    h.store.agent_edit(account, {"phone1BlockDaily": True})  # DAILY, agreed below
    service = started(h)
    # DAILY -> PERMANENT takes two actions: PERMANENT (to BOTH), then DAILY_OFF
    h.sql(
        "UPDATE sor.contacts SET phone1_block = true, phone1_block_daily = false "
        "WHERE account = :a",
        a=account,
    )
    _plan_only(h, service)
    _crashed_after_send(h, account)
    h.store.agent_edit(account, {"phone1Block": True})  # step 1 landed, then the crash
    h.stats.reset()

    result = cycle(service)

    record = h.lv(account)
    assert (record["phone1Block"], record["phone1BlockDaily"]) == (True, False)
    applied = h.rows(
        "SELECT field, old_value, new_value, error FROM syncd.audit_log "
        "WHERE account = :a AND direction = 'push' AND outcome = 'applied' ORDER BY id",
        a=account,
    )
    assert [(r.field, r.old_value, r.new_value) for r in applied] == [
        ("phone1Block", "false", "true"),  # the step that landed before the crash
        ("phone1BlockDaily", "true", "false"),  # the rest, re-planned from BOTH
    ]
    assert "interrupted" in applied[0].error
    assert h.stats.count("POST", "/contact/contacts/dnd") == 1  # only DAILY_OFF went out
    assert result.counts.get("recovered_requeued") == 1, result.counts
