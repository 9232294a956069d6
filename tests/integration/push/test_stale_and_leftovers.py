"""Never overwrite blind: rows whose `expected` no longer matches the mirror are superseded
without a request; SENT rows left by a dead drain are re-checked against the mirror (closed
when they landed, sent again when not), while a live drain's SENT rows are left alone."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from syncd.livevox import ContactCreate, ContactUpdate, LiveVoxClient
from syncd.service.pull import PullService
from syncd.service.push import drain_outbox
from syncd.settings import SyncSettings
from syncd.store.drain_owner import drain_owner
from tests.integration.push.helpers import (
    Emulator,
    RecordingTransport,
    account,
    add_outbox,
    mirror_values,
    new_run,
    rows,
    scalar,
)

DEAD_DRAIN = "push-0badf00d-000001"


def test_stale_expected_values_supersede_rows_and_nothing_is_sent(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    a1, a2, a3 = account(1), account(2), account(3)
    with mirror.begin() as conn:
        conn.exec_driver_sql(
            "UPDATE livevox.contacts SET deleted_at = now() WHERE account = 'ACC0000004'"
        )
    current = mirror_values(mirror, a1, ["city", "firstName"])
    add_outbox(
        mirror,
        [
            # LiveVox's city moved since the plan (an agent edited it)
            {"account": a1, "operation": "update",
             "payload": {"fields": {"city": "Planned", "firstName": "Plan"}},
             "expected": {"city": "Somewhere Else", "firstName": current["firstName"]}},
            # planned as new, but LiveVox has the contact now
            {"account": a2, "operation": "create", "payload": {"fields": {"firstName": "X"}},
             "expected": None},
            # DND planned from a state LiveVox no longer shows (BOTH; the mirror has none)
            {"account": a3, "operation": "dnd", "payload": {"account": {"to": [True, False]}},
             "expected": {"account": [True, True]}},
            # the contact is gone from LiveVox
            {"account": account(4), "operation": "deactivate",
             "payload": {"fields": {"active": False}}, "expected": {"active": True}},
        ],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert (report.superseded, report.sent, report.requests) == (4, 0, 0)
    assert emulator.stats() == {}
    assert scalar(mirror, "SELECT count(*) FROM syncd.outbox WHERE state = 'SUPERSEDED'") == 4
    assert scalar(
        mirror, "SELECT last_error FROM syncd.outbox WHERE account = :a", a=a1
    ) == "LiveVox changed city since the plan"
    audit = rows(
        mirror, "SELECT field, old_value, new_value, outcome FROM syncd.audit_log "
        "WHERE account = :a ORDER BY field", a=a1
    )
    assert [tuple(r) for r in audit] == [
        ("city", "Somewhere Else", "Planned", "superseded"),
        ("firstName", current["firstName"], "Plan", "superseded"),
    ]
    assert client.read_contact(a1).city != "Planned"


def _leftover(acct: str, city: str, request_id: str, engine: Engine) -> dict[str, Any]:
    return {
        "account": acct,
        "operation": "update",
        "payload": {"fields": {"city": city}},
        "expected": mirror_values(engine, acct, ["city"]),
        "state": "SENT",
        "attempts": 1,
        "request_id": request_id,
    }


def test_sent_leftovers_of_a_dead_drain_are_closed_or_sent_again(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator, transport: RecordingTransport
) -> None:
    landed, lost, busy = account(31), account(32), account(33)
    created, not_created = "NEW-LANDED", "NEW-LOST"
    rows_in: list[dict[str, Any]] = [
        _leftover(landed, "Landed", DEAD_DRAIN, mirror),
        _leftover(lost, "Lost On The Way", DEAD_DRAIN, mirror),
        *(
            {"account": a, "operation": "create",
             "payload": {"fields": {"firstName": "New", "city": "Fresh"}}, "expected": None,
             "state": "SENT", "attempts": 1, "request_id": DEAD_DRAIN}
            for a in (created, not_created)
        ),
    ]
    # the dead drain's requests that did land before the crash
    client.update_contact(ContactUpdate(account=landed, city="Landed"))
    client.create_contact(ContactCreate(account=created, city="Fresh"))
    with drain_owner(mirror) as alive:
        rows_in.append(_leftover(busy, "In Flight", alive.request_id(), mirror))
        add_outbox(mirror, rows_in)
        PullService(mirror, client).pull_incremental()  # the cycle pulls before it pushes
        emulator.reset_stats()
        transport.requests.clear()
        report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())

    state = {r.account: r.state for r in rows(mirror, "SELECT account, state FROM syncd.outbox")}
    assert state == {
        landed: "DONE", lost: "DONE", created: "DONE", not_created: "DONE", busy: "SENT"
    }
    # only what had not landed went out again
    stats = emulator.stats()
    assert stats.get(("PUT", "/contact/contacts/bulk")) == 1
    assert stats.get(("POST", "/contact/contacts/bulk")) == 1
    assert report.by_operation["update"] == {"applied": 2, "requeued": 1, "sent": 1}
    assert client.read_contact(lost).city == "Lost On The Way"
    assert client.read_contact(not_created).city == "Fresh"
    assert client.read_contact(busy).city != "In Flight"  # a live drain's row: untouched
    [update_body] = transport.bodies("PUT", "/contact/contacts/bulk")
    assert [u["account"] for u in update_body["updateContactDetails"]] == [lost]
    create_bodies = transport.bodies("POST", "/contact/contacts/bulk")
    created_sent = [c["account"] for b in create_bodies for c in b.get("createContactDetails", [])]
    assert created_sent == [not_created]
    notes = rows(
        mirror, "SELECT account, error FROM syncd.audit_log WHERE outcome = 'applied' "
        "AND error IS NOT NULL ORDER BY account"
    )
    assert sorted({r.account for r in notes}) == [landed, created]
    assert all("interrupted" in r.error for r in notes)
    assert scalar(
        mirror, "SELECT agreed->>'city' FROM syncd.base WHERE account = :a", a=landed
    ) == "Landed"
    assert scalar(
        mirror, "SELECT last_operation FROM livevox.contacts WHERE account = :a", a=not_created
    ) == "create"
