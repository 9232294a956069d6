"""Creates by bulk create (a short count resolved by an existence search, "already exists"
counted as applied, a refused row dead-lettered with LiveVox's reason), deactivation by bulk
update, deletes one by one."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.engine import Engine

from syncd.livevox import ContactCreate, DndState, LiveVoxClient
from syncd.service.push import drain_outbox
from syncd.settings import SyncSettings
from tests.integration.push.helpers import (
    Emulator,
    account,
    add_outbox,
    new_run,
    rows,
    scalar,
    states,
)

NEW_FIELDS = {
    "firstName": "Ada",
    "lastName": "Lovelace",
    "city": "London",
    "balance": "120.5",
    "dueDate": "2025-03-01",
    "COL3": "Czech",
    "accountBlock": False,
    "accountBlockDaily": True,
    "phone1": "3125550100",
    "phone1Block": True,
    "phone1BlockDaily": False,
    "phone1SmsConsent": False,
    "phone1CellConsent": True,
    "ssn": None,
}


def test_bulk_create_with_a_refused_row_and_one_that_already_exists(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    new = ["NEW-1", "NEW-2", "NEW-3", "NEW-4"]
    bad, existing = "NEW-BAD", "ALREADY-THERE"
    # created in LiveVox after the pull: the mirror does not know it yet
    client.create_contact(ContactCreate(account=existing, city="Elsewhere"))
    emulator.reset_stats()
    add_outbox(
        mirror,
        [
            {"account": a, "operation": "create",
             "payload": {"fields": {**NEW_FIELDS, "city": "x" * 300 if a == bad else "London"}},
             "expected": None}
            for a in [*new[:2], bad, *new[2:], existing]
        ],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert (report.applied, report.rejected) == (5, 1)
    assert emulator.stats() == {
        ("POST", "/contact/contacts/bulk"): 1,
        ("POST", "/contact/contacts/search"): 1,
        ("POST", "/contact/contacts/"): 1,
    }
    assert report.requests == 3
    letter = rows(mirror, "SELECT account, kind, reason, http_status FROM syncd.dead_letters")
    assert [(r.account, r.kind, r.http_status) for r in letter] == [(bad, "rejected", 400)]
    assert "city" in letter[0].reason
    assert states(mirror) == {"DONE": 5, "DEAD": 1}

    contact = client.read_contact("NEW-1")
    assert contact.account_dnd == DndState(permanent=False, daily=True)
    assert contact.balance == Decimal("120.5")
    phone = next(p for p in contact.phone if p.ordinal == 1)
    assert phone.dnd_state == DndState(permanent=True, daily=False)
    assert (phone.sms_consent, phone.cell_consent) == (False, True)
    assert {c.field: c.value for c in contact.custom_fields}.get("COL3") == "Czech"
    assert client.read_contact(existing).city == "Elsewhere"  # never overwritten

    # the mirror knows the new contacts at once (so the next diff sees no phantom change)
    mirrored = rows(
        mirror, "SELECT first_name, balance, phone1_block, last_operation, deleted_at "
        "FROM livevox.contacts WHERE account = 'NEW-1'"
    )
    assert [tuple(r) for r in mirrored] == [("Ada", Decimal("120.5"), True, "create", None)]
    assert scalar(
        mirror, "SELECT dnd FROM livevox.contact_phones WHERE account = 'NEW-1' AND ordinal = 1"
    ) is True
    assert scalar(mirror, "SELECT agreed->>'city' FROM syncd.base WHERE account = 'NEW-2'") == (
        "London"
    )
    audited = {
        r.field
        for r in rows(mirror, "SELECT field FROM syncd.audit_log WHERE account = 'NEW-1'")
    }
    assert audited == {k for k, v in NEW_FIELDS.items() if v is not None}


def test_deactivate_and_delete(mirror: Engine, client: LiveVoxClient, emulator: Emulator) -> None:
    gone, ghost, retired = account(60), "GHOST-ACCOUNT", account(61)
    with mirror.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO syncd.base (account, agreed) VALUES ('ACC0000060', '{\"city\": \"A\"}')"
        )
    add_outbox(
        mirror,
        [
            {"account": gone, "operation": "delete", "payload": {}, "expected": {}},
            {"account": ghost, "operation": "delete", "payload": {}, "expected": {}},
            {"account": retired, "operation": "deactivate",
             "payload": {"fields": {"active": False}}, "expected": {"active": True}},
        ],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert report.applied == 3
    assert emulator.stats() == {
        ("DELETE", "/contact/contacts/{account}"): 2,
        ("PUT", "/contact/contacts/bulk"): 1,
    }
    assert emulator.state.store.get(gone) is None
    assert emulator.state.store.get(retired)["active"] is False
    assert scalar(
        mirror, "SELECT deleted_at IS NOT NULL FROM livevox.contacts WHERE account = :a", a=gone
    )
    assert scalar(mirror, "SELECT count(*) FROM syncd.base WHERE account = :a", a=gone) == 0
    assert scalar(
        mirror, "SELECT active FROM livevox.contacts WHERE account = :a", a=retired
    ) is False
    assert [
        (r.account, r.field, r.error)
        for r in rows(
            mirror,
            "SELECT account, field, error FROM syncd.audit_log WHERE operation = 'delete' "
            "ORDER BY account",
        )
    ] == [(gone, None, None), (ghost, None, "already gone")]


def test_a_create_whose_reply_was_lost_counts_as_applied_on_the_retry(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(
        mirror,
        [
            {"account": a, "operation": "create", "payload": {"fields": {"city": "Dropped"}},
             "expected": None}
            for a in ("LOST-1", "LOST-2")
        ],
    )
    # LiveVox applies the bulk create, then the connection breaks before the reply
    emulator.state.faults.configure("drop_rate=1.0,burst=1")
    t0 = datetime.now(UTC)
    first = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings(),
                         now=lambda: t0)
    assert (first.failed, first.applied) == (2, 0)
    assert "OutcomeUnknownError" in scalar(mirror, "SELECT min(last_error) FROM syncd.outbox")
    assert emulator.state.store.get("LOST-1") is not None  # it did land

    retry = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings(),
                         now=lambda: t0 + timedelta(minutes=5))
    assert (retry.applied, retry.rejected) == (2, 0)  # duplicates found by the search
    assert states(mirror) == {"DONE": 2}
    assert emulator.state.store.count() == 602  # created once each, not twice
