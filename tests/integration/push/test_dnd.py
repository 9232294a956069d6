"""DND and consent through multi-contact DND: two-step moves keep their order per contact and
end in the desired state on the emulator; a phone LiveVox no longer holds is dead-lettered
with the reason of the single-contact DND endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from syncd.livevox import DndState, LiveVoxClient
from syncd.service.pull import PullService
from syncd.service.push import drain_outbox
from syncd.settings import SyncSettings
from tests.integration.push.helpers import (
    Emulator,
    RecordingTransport,
    account,
    add_outbox,
    mirror_values,
    new_run,
    rows,
    scalar,
    states,
)

PERMANENT = DndState(permanent=True, daily=False)
DAILY = DndState(permanent=False, daily=True)


def _phone_expected(engine: Engine, acct: str, n: int) -> dict[str, Any]:
    keys = [f"phone{n}", f"phone{n}Block", f"phone{n}BlockDaily", f"phone{n}SmsConsent",
            f"phone{n}CellConsent"]
    v = mirror_values(engine, acct, keys)
    return {
        "phone": v[keys[0]],
        "bits": [bool(v[keys[1]]), bool(v[keys[2]])],
        "sms_consent": v[keys[3]],
        "cell_consent": v[keys[4]],
    }


def _account_bits(engine: Engine, acct: str) -> list[bool]:
    v = mirror_values(engine, acct, ["accountBlock", "accountBlockDaily"])
    return [bool(v["accountBlock"]), bool(v["accountBlockDaily"])]


def _phone_state(client: LiveVoxClient, acct: str, ordinal: int) -> Any:
    return next(p for p in client.read_contact(acct).phone if p.ordinal == ordinal)


def test_two_step_moves_arrive_in_order_and_consents_go_through_multi_dnd(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator, transport: RecordingTransport
) -> None:
    store = emulator.state.store
    a1, a2, a3, a4, a5 = (account(n) for n in (11, 12, 13, 14, 15))
    store.agent_edit(a1, {"accountBlock": False, "accountBlockDaily": True})  # DAILY
    store.agent_edit(a2, {"phone1Block": False, "phone1BlockDaily": True, "phone1SmsConsent": True})
    store.agent_edit(a3, {"accountBlock": True, "accountBlockDaily": False})  # PERMANENT
    store.agent_edit(a5, {"phone1Block": False, "phone1BlockDaily": False})
    PullService(mirror, client).pull_incremental()
    p2 = _phone_expected(mirror, a2, 1)
    p4 = _phone_expected(mirror, a4, 1)
    p5 = _phone_expected(mirror, a5, 1)
    # after the plan, an agent replaces a5's first number: LiveVox will refuse the old one
    store.agent_edit(a5, {"phone1": "4045550199"})
    emulator.reset_stats()
    transport.requests.clear()

    add_outbox(
        mirror,
        [
            {"account": a1, "operation": "dnd", "payload": {"account": {"to": [True, False]}},
             "expected": {"account": _account_bits(mirror, a1)}},
            {"account": a2, "operation": "dnd",
             "payload": {"phones": {"1": {"phone": p2["phone"], "to": [True, False],
                                          "sms_consent": False}}},
             "expected": {"phones": {"1": p2}}},
            {"account": a3, "operation": "dnd", "payload": {"account": {"to": [False, True]}},
             "expected": {"account": _account_bits(mirror, a3)}},
            {"account": a4, "operation": "dnd",
             "payload": {"phones": {"1": {"phone": p4["phone"], "cell_consent": False}}},
             "expected": {"phones": {"1": p4}}},
            {"account": a5, "operation": "dnd",
             "payload": {"phones": {"1": {"phone": p5["phone"], "to": [True, False]}}},
             "expected": {"phones": {"1": p5}}},
        ],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert (report.applied, report.rejected, report.failed) == (4, 1, 0)
    assert states(mirror) == {"DONE": 4, "DEAD": 1}

    # order per contact: step 1 (PERMANENT / DAILY) in an earlier request than step 2
    bodies = transport.bodies("POST", "/contact/contacts/dnd")
    sent = [
        (i, entry["account"], entry.get("accountBlock"),
         [p.get("phoneBlock") for p in entry.get("updateContactDND") or []])
        for i, body in enumerate(bodies) for entry in body["contactDnd"]
    ]
    first = {acct: (i, block, phones) for i, acct, block, phones in reversed(sent)}
    last = {acct: (i, block, phones) for i, acct, block, phones in sent}
    assert first[a1][1:] == ("PERMANENT", []) and last[a1][1:] == ("DAILY_OFF", [])
    assert first[a1][0] < last[a1][0]
    assert first[a2][2] == ["PERMANENT"] and last[a2][2] == ["DAILY_OFF"]
    assert first[a2][0] < last[a2][0]
    assert first[a3][1] == "DAILY" and last[a3][1] == "PERMANENT_OFF"
    assert {acct for _, acct, _, _ in sent if acct == a4} == {a4}
    step2 = bodies[-1]["contactDnd"]
    assert sorted(e["account"] for e in step2) == [a1, a2, a3]

    # the emulator ends in the desired states (read back with the client)
    assert client.read_contact(a1).account_dnd == PERMANENT
    assert client.read_contact(a3).account_dnd == DAILY
    phone2 = _phone_state(client, a2, 1)
    assert phone2.dnd_state == PERMANENT and phone2.sms_consent is False
    assert _phone_state(client, a4, 1).cell_consent is False

    # the refused phone: LiveVox's reason from the single-contact DND endpoint
    stats = emulator.stats()
    assert stats.get(("PUT", "/contact/contacts/{account}/dnd")) == 1
    letter = rows(mirror, "SELECT account, kind, reason, http_status FROM syncd.dead_letters")
    assert [(r.account, r.kind, r.http_status) for r in letter] == [(a5, "rejected", 400)]
    assert "not the number stored" in letter[0].reason

    # mirror, phones table, base and audit follow
    assert rows(
        mirror, "SELECT account_block, account_block_daily, last_operation FROM "
        "livevox.contacts WHERE account = :a", a=a1
    )[0] == (True, False, "dnd")
    assert rows(
        mirror, "SELECT dnd, dnd_daily, sms_consent FROM livevox.contact_phones "
        "WHERE account = :a AND ordinal = 1", a=a2
    )[0] == (True, False, False)
    assert scalar(
        mirror, "SELECT agreed FROM syncd.base WHERE account = :a", a=a1
    ) == {"accountBlock": True, "accountBlockDaily": False}
    audit = rows(
        mirror, "SELECT account, field, old_value, new_value, outcome FROM syncd.audit_log "
        "ORDER BY account, field"
    )
    assert [tuple(r) for r in audit if r.account == a1] == [
        (a1, "accountBlock", "false", "true", "applied"),
        (a1, "accountBlockDaily", "true", "false", "applied"),
    ]
    assert {r.field for r in audit if r.account == a2} == {
        "phone1Block", "phone1BlockDaily", "phone1SmsConsent"
    }
    assert [(r.field, r.outcome) for r in audit if r.account == a5] == [
        ("phone1Block", "rejected")
    ]
    assert "not the number stored" in scalar(
        mirror, "SELECT last_error FROM livevox.contacts WHERE account = :a", a=a5
    )


def test_a_move_cut_after_its_first_step_is_finished_not_superseded(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    """Step 1 landed (the mirror shows BOTH, on the way from DAILY to PERMANENT): that is the
    row's own progress, so only the remaining step goes out."""
    store = emulator.state.store
    acct = account(21)
    store.agent_edit(acct, {"accountBlock": True, "accountBlockDaily": True})
    PullService(mirror, client).pull_incremental()
    emulator.reset_stats()
    add_outbox(
        mirror,
        [{"account": acct, "operation": "dnd", "payload": {"account": {"to": [True, False]}},
          "expected": {"account": [False, True]}}],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert (report.applied, report.superseded) == (1, 0)
    assert emulator.stats() == {("POST", "/contact/contacts/dnd"): 1}
    assert client.read_contact(acct).account_dnd == PERMANENT
