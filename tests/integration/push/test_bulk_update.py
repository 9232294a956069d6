"""Bulk update through the pusher: a poisoned row is found by bisection in O(log n) requests
and dead-lettered with LiveVox's own reason; the other rows land, in LiveVox, the mirror,
`base` and the audit log."""

from __future__ import annotations

import math
from typing import Any

from sqlalchemy.engine import Engine

from syncd.livevox import LiveVoxClient
from syncd.service.push import drain_outbox
from syncd.settings import SyncSettings
from tests.integration.push.helpers import (
    Emulator,
    account,
    add_outbox,
    mirror_values,
    new_run,
    rows,
    scalar,
    states,
)

BATCH = 500
POISONED = 137  # index of the bad row inside the batch


def _update_rows(engine: Engine, n: int, poisoned: int | None) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        acct = account(i + 1)
        expected = mirror_values(engine, acct, ["city", "COL7"])
        lv_id = scalar(
            engine, "SELECT lv_account_id FROM livevox.contacts WHERE account = :a", a=acct
        )
        # LiveVox stores at most 255 characters in a text field; locally the value is fine
        city = "x" * 300 if i == poisoned else f"Pushville {i}"
        out.append(
            {
                "account": acct,
                "operation": "update",
                "payload": {"fields": {"city": city, "COL7": f"r{i}"}, "lv_account_id": lv_id},
                "expected": expected,
            }
        )
    return out


def test_one_poisoned_row_in_500_costs_log_n_requests_and_one_dead_letter(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    add_outbox(mirror, _update_rows(mirror, BATCH, POISONED))
    city_before = mirror_values(mirror, account(1), ["city"])["city"]
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())

    assert (report.sent, report.applied, report.rejected) == (BATCH, BATCH - 1, 1)
    assert (report.failed, report.dead, report.superseded) == (0, 0, 0)
    stats = emulator.stats()
    bulk = stats.get(("PUT", "/contact/contacts/bulk"), 0)
    single = stats.get(("PUT", "/contact/contacts/{account}"), 0)
    # the first bulk call, about log2(500) probes, one single replay for the reason
    assert bulk <= 1 + math.ceil(math.log2(BATCH)) + 1
    assert single == 1
    assert report.requests == bulk + single

    bad = account(POISONED + 1)
    letter = rows(mirror, "SELECT account, kind, reason, http_status FROM syncd.dead_letters")
    assert len(letter) == 1
    assert (letter[0].account, letter[0].kind, letter[0].http_status) == (bad, "rejected", 400)
    assert "255" in letter[0].reason and "city" in letter[0].reason  # LiveVox's message
    assert states(mirror) == {"DONE": BATCH - 1, "DEAD": 1}

    # LiveVox has the new values (read back through the client), the bad row is untouched
    assert client.read_contact(account(1)).city == "Pushville 0"
    assert client.read_contact(account(BATCH)).city == f"Pushville {BATCH - 1}"
    assert client.read_contact(bad).city != "x" * 300

    # mirror and base took what was sent; status columns tell analysts what happened
    mirror_row = rows(
        mirror,
        "SELECT city, col7, last_operation, last_error FROM livevox.contacts WHERE account = :a",
        a=account(1),
    )[0]
    assert tuple(mirror_row) == ("Pushville 0", "r0", "update", None)
    assert scalar(
        mirror, "SELECT agreed->>'city' FROM syncd.base WHERE account = :a", a=account(1)
    ) == "Pushville 0"
    assert scalar(mirror, "SELECT count(*) FROM syncd.base") == BATCH - 1
    bad_status = rows(
        mirror, "SELECT last_operation, last_error FROM livevox.contacts WHERE account = :a", a=bad
    )[0]
    assert bad_status.last_operation == "update" and "255" in bad_status.last_error
    assert scalar(
        mirror, "SELECT value FROM livevox.contact_custom_values WHERE account = :a AND "
        "field = 'COL7'", a=account(2)
    ) == "r1"

    # one audit row per field per row, with the outcome
    audit = {
        (r.outcome, r.field): r.n
        for r in rows(
            mirror,
            "SELECT outcome, field, count(*) AS n FROM syncd.audit_log GROUP BY outcome, field",
        )
    }
    assert audit == {
        ("applied", "city"): BATCH - 1,
        ("applied", "COL7"): BATCH - 1,
        ("rejected", "city"): 1,
        ("rejected", "COL7"): 1,
    }
    old, new, status, attempts = rows(
        mirror,
        "SELECT old_value, new_value, http_status, attempts FROM syncd.audit_log "
        "WHERE account = :a AND field = 'city'",
        a=account(1),
    )[0]
    assert (old, new, status, attempts) == (city_before, "Pushville 0", 200, 1)


def test_livevox_sees_the_request_id_the_audit_log_keeps(
    mirror: Engine, client: LiveVoxClient, emulator: Emulator
) -> None:
    """Every change LiveVox applied carries the X-Request-Id of its audited batch (the
    batch's first call sends the id itself, later calls of the batch `<id>.<n>`)."""
    add_outbox(mirror, _update_rows(mirror, 40, poisoned=7))
    after = int(emulator.state.store.journal.last_seq)
    drain_outbox(
        mirror, client, run_id=new_run(mirror), settings=SyncSettings(update_batch_size=20)
    )
    audited = {
        r.account: r.request_id
        for r in rows(mirror, "SELECT DISTINCT account, request_id FROM syncd.audit_log")
    }
    changes = [e for e in emulator.state.store.journal.entries(after) if e.op == "update"]
    assert {e.account for e in changes} == set(audited) - {account(8)}  # all but the poisoned
    batches = set(audited.values())
    assert len(batches) == 2 and all(b.startswith("push-") for b in batches)
    for change in changes:
        sent_as = change.request_id
        base = audited[change.account]
        assert sent_as == base or sent_as.startswith(base + "."), (sent_as, base)


def test_pii_values_never_reach_the_audit_log_or_dead_letters(
    mirror: Engine, client: LiveVoxClient
) -> None:
    acct = account(3)
    fields = {"ssn": "123456789", "dateOfBirth": "1980-02-29", "city": "x" * 300}
    add_outbox(
        mirror,
        [
            {
                "account": acct,
                "operation": "update",
                "payload": {"fields": fields},
                "expected": mirror_values(mirror, acct, list(fields)),
            }
        ],
    )
    report = drain_outbox(mirror, client, run_id=new_run(mirror), settings=SyncSettings())
    assert report.rejected == 1  # the long city makes LiveVox refuse the row: a dead letter
    values = rows(
        mirror, "SELECT field, old_value, new_value FROM syncd.audit_log WHERE account = :a",
        a=acct,
    )
    by_field = {v.field: (v.old_value, v.new_value) for v in values}
    assert by_field["dateOfBirth"] == ("***", "***")  # the generated contact has a birth date
    assert by_field["ssn"][1] == "***"
    letter = scalar(mirror, "SELECT payload::text FROM syncd.dead_letters")
    assert "***" in letter
    dump = " ".join(str(tuple(r)) for r in rows(mirror, "SELECT * FROM syncd.audit_log"))
    dump += letter
    assert "123456789" not in dump and "1980-02-29" not in dump
