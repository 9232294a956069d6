"""Transient failures (emulated 429 / 5xx): rows go FAILED with backoff, are retried on a
later drain once due, and die with an `exhausted` dead letter after `max_attempts`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Engine

from syncd.livevox import LiveVoxClient
from syncd.service.push import drain_outbox
from syncd.settings import SyncSettings
from tests.integration.push.helpers import (
    Emulator,
    account,
    add_outbox,
    client_config,
    mirror_values,
    new_run,
    rows,
    scalar,
    states,
)


def _at(moment: datetime) -> Callable[[], datetime]:
    return lambda: moment


def _updates(engine: Engine, numbers: range) -> list[dict[str, Any]]:
    return [
        {
            "account": account(n),
            "operation": "update",
            "payload": {"fields": {"city": f"Retry {n}"}},
            "expected": mirror_values(engine, account(n), ["city"]),
        }
        for n in numbers
    ]


def test_server_errors_fail_rows_with_backoff_and_a_later_drain_finishes_them(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(mirror, _updates(mirror, range(1, 21)))
    t0 = datetime.now(UTC)  # after the rows: they are due from their insertion on
    # a burst of 5xx over the first 8 requests: 4 batches of 5, each tried twice by the
    # client (max_attempts=2), then LiveVox answers again
    emulator.state.faults.configure("error_rate=1.0,seed=5,burst=8")
    settings = SyncSettings(update_batch_size=5)
    first = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=settings, now=lambda: t0
    )
    assert (first.sent, first.failed, first.applied) == (20, 20, 0)
    assert states(mirror) == {"FAILED": 20}
    retry_at = {r[0] for r in rows(mirror, "SELECT next_attempt_at FROM syncd.outbox")}
    assert retry_at == {t0 + timedelta(seconds=30)}
    assert scalar(mirror, "SELECT count(*) FROM syncd.audit_log WHERE outcome = 'failed'") == 20
    assert scalar(
        mirror, "SELECT count(*) FROM livevox.contacts WHERE last_error LIKE '%HTTP 5%'"
    ) == 20

    # not due yet: nothing is sent
    idle = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=settings,
        now=lambda: t0 + timedelta(seconds=29),
    )
    assert (idle.sent, idle.requests) == (0, 0)

    later = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=settings,
        now=lambda: t0 + timedelta(seconds=31),
    )
    assert (later.sent, later.applied) == (20, 20)
    assert states(mirror) == {"DONE": 20}
    assert client.read_contact(account(7)).city == "Retry 7"
    assert scalar(mirror, "SELECT max(attempts) FROM syncd.outbox") == 2
    assert scalar(
        mirror, "SELECT count(*) FROM livevox.contacts WHERE last_error IS NOT NULL"
    ) == 0


def test_rate_limits_wait_at_least_the_servers_retry_after(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(mirror, _updates(mirror, range(1, 4)))
    t0 = datetime.now(UTC)
    emulator.state.faults.configure("rate_limit=1.0,retry_after=120")
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings(),
                          now=lambda: t0)
    assert report.failed == 3
    assert {r.http_status for r in rows(mirror, "SELECT http_status FROM syncd.outbox")} == {429}
    assert scalar(mirror, "SELECT min(next_attempt_at) FROM syncd.outbox") == t0 + timedelta(
        seconds=120
    )


def test_attempts_run_out_into_an_exhausted_dead_letter(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(mirror, _updates(mirror, range(1, 3)))
    t0 = datetime.now(UTC)
    emulator.state.faults.configure("error_rate=1.0,error_status=502")
    for moment in (t0, t0 + timedelta(hours=1)):
        drain_outbox(
            mirror, client, run_id=new_run(mirror), settings=SyncSettings(), max_attempts=2,
            now=_at(moment),
        )
    assert states(mirror) == {"DEAD": 2}
    letters = rows(mirror, "SELECT kind, reason, http_status FROM syncd.dead_letters")
    assert [(r.kind, r.http_status) for r in letters] == [("exhausted", 502)] * 2
    assert all("after 2 attempts" in r.reason for r in letters)
    outcomes = [
        r.outcome for r in rows(mirror, "SELECT outcome FROM syncd.audit_log ORDER BY id")
    ]
    assert outcomes == ["failed", "failed", "dead", "dead"]
    # a dead row is never picked up again
    emulator.state.faults.clear()
    again = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings(),
                         now=lambda: t0 + timedelta(days=1))
    assert again.sent == 0


def test_a_role_without_permission_aborts_the_drain_after_one_batch(
    mirror: Engine, emulator: Emulator
) -> None:
    add_outbox(mirror, _updates(mirror, range(1, 7)))
    config = client_config(emulator.base_url, username="manager", password="manager")
    with LiveVoxClient(config) as manager:  # a Manager may not update contacts
        report = drain_outbox(
            mirror, manager, run_id=new_run(mirror), settings=SyncSettings(update_batch_size=3)
        )
    assert report.aborted is not None and "403" in report.aborted
    assert (report.sent, report.failed) == (3, 3)
    assert states(mirror) == {"FAILED": 3, "NEW": 3}
    assert scalar(mirror, "SELECT count(*) FROM syncd.dead_letters") == 0


def test_a_short_retry_after_is_honoured_and_rate_limits_never_exhaust_a_row(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    """More 429s than max_attempts: the rows wait the server's 10 s (under the 30 s base
    backoff) each time, and never die. 10 s is beyond the client's own retry deadline, so
    each 429 reaches the pusher at once."""
    add_outbox(mirror, _updates(mirror, range(1, 3)))
    t0 = datetime.now(UTC)
    emulator.state.faults.configure("rate_limit=1.0,retry_after=10")
    moment = t0
    for _ in range(4):  # twice max_attempts
        drain_outbox(
            mirror, client, run_id=new_run(mirror), settings=SyncSettings(), max_attempts=2,
            now=_at(moment),
        )
        assert states(mirror) == {"FAILED": 2}
        due = scalar(mirror, "SELECT min(next_attempt_at) FROM syncd.outbox")
        assert due == moment + timedelta(seconds=10)
        assert scalar(mirror, "SELECT max(attempts) FROM syncd.outbox") == 0
        moment = due
    assert scalar(mirror, "SELECT count(*) FROM syncd.dead_letters") == 0
    assert scalar(
        mirror, "SELECT count(*) FROM syncd.audit_log WHERE outcome = 'failed'"
    ) == 8  # each rate-limited attempt is still audited

    # LiveVox answers again: the rows go through; a 5xx after that still counts attempts.
    emulator.state.faults.clear()
    done = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=SyncSettings(), max_attempts=2,
        now=_at(moment),
    )
    assert (done.applied, states(mirror)) == (2, {"DONE": 2})
    assert scalar(mirror, "SELECT max(attempts) FROM syncd.outbox") == 1


def test_a_drain_ends_after_one_pass_while_rate_limits_go_on(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    """Rows refused with a 1 s Retry-After come due again while the drain still runs; they
    wait for the next drain instead of being claimed again, so the cycle gets to its pull."""
    add_outbox(mirror, _updates(mirror, range(1, 4)))
    # 600 ms per answer: three batches of one take longer than the first row's 1 s wait
    emulator.state.faults.configure("rate_limit=1.0,retry_after=1,latency_ms=600")
    started = datetime.now(UTC)
    report = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=SyncSettings(update_batch_size=1)
    )
    assert (report.sent, report.failed, report.requests) == (3, 3, 3)  # each row once
    assert states(mirror) == {"FAILED": 3}
    # the first row was due again before the drain ended: the next drain sends it
    first_due = scalar(mirror, "SELECT min(next_attempt_at) FROM syncd.outbox")
    assert first_due < datetime.now(UTC) and first_due > started
    emulator.state.faults.clear()
    later = datetime.now(UTC) + timedelta(seconds=2)  # every row's 1 s has run out
    again = drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=SyncSettings(), now=_at(later)
    )
    assert (again.applied, states(mirror)) == (3, {"DONE": 3})
