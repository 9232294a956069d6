"""The SQL diff: hashes skip unchanged contacts, canonical values hide formatting, the base
records what both sides agree on, duplicated accounts are reported and never removed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from syncd.service.diff import Diff, DiffOptions
from syncd.service.requests import CycleKind
from tests.integration.sync.conftest import SyncHarness, cycle, started


def _stage(h: SyncHarness, service: Any, **options: Any) -> tuple[int, dict[str, Any]]:
    """Run the diff alone (rolled back): candidates, and account → diff of those to plan."""
    with h.engine.connect() as conn, conn.begin() as transaction:
        diff = Diff(conn, service.deps.queries)
        stats = diff.stage(DiffOptions(**options))
        rows = {r.account: dict(r.diff) for page in diff.pages() for r in page}
        transaction.rollback()
    return stats.candidates, rows


def test_only_contacts_that_moved_are_compared(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=30)
    service = started(h)
    cycle(service)
    assert _stage(h, service) == (0, {})

    h.sql("UPDATE sor.contacts SET first_name = 'Moved' WHERE account = 'ACC0000003'")
    h.sql("UPDATE livevox.contacts SET row_hash = row_hash + 1 WHERE account = 'ACC0000004'")
    candidates, rows = _stage(h, service)
    assert candidates == 2
    assert set(rows) == {"ACC0000003"}  # ACC0000004's values did not change: nothing to plan
    (sor, mirror, agreed) = rows["ACC0000003"]["firstName"]
    assert sor == "Moved" and mirror != "Moved" and agreed is None  # sor-owned: no base

    # a forced comparison (a targeted resync) looks at the named contacts whatever the hashes
    candidates, rows = _stage(h, service, force=True, accounts=("ACC0000001", "ACC0000003"))
    assert candidates == 2 and set(rows) == {"ACC0000003"}


def test_formatting_differences_are_not_changes_and_the_base_keeps_set_flags(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=10)
    service = h.build()
    cycle(service, kind=CycleKind.FULL)
    h.seed_sor_from_mirror()
    account = h.scalar(
        "SELECT account FROM livevox.contacts WHERE phone1 ~ '^[0-9]{10}$' ORDER BY account LIMIT 1"
    )
    h.sql(
        "UPDATE sor.contacts SET phone1 = substr(phone1, 1, 3) || '-' || substr(phone1, 4, 3) "
        "|| '-' || substr(phone1, 7), phone2_block = NULL, phone3_sms_consent = NULL, "
        "city = CASE WHEN city IS NULL THEN '' ELSE city END WHERE account = :a",
        a=account,
    )
    h.sql("UPDATE sor.contacts SET phone1_block = true WHERE account = :a", a=account)
    h.store.agent_edit(account, {"phone1Block": True})
    first = cycle(service)  # first contact: every field compared once
    assert first.counts["updates"] == first.counts["dnd_changes"] == 0
    assert first.counts["write_backs"] == 0
    agreed = h.scalar("SELECT agreed FROM syncd.base WHERE account = :a", a=account)
    assert agreed.get("phone1Block") is True
    assert "phone2Block" not in agreed and "firstName" not in agreed  # unset / sor-owned
    assert cycle(service).counts["candidates"] == 0


def test_a_duplicated_account_is_reported_not_removed(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=5)
    service = started(h)
    h.sql("ALTER TABLE sor.contacts DROP CONSTRAINT pk_contacts")
    h.sql(
        "INSERT INTO sor.contacts (account, first_name) "
        "SELECT account, 'Copy' FROM sor.contacts WHERE account = 'ACC0000002'"
    )
    service = h.build()  # the mapping sees the key is no longer unique
    result = cycle(service)
    assert result.counts["key_problems"] == 1
    assert result.counts["deactivations"] == result.counts["updates"] == 0
    assert h.lv("ACC0000002")["active"] is True
    assert h.scalar(
        "SELECT reason FROM syncd.dead_letters WHERE account = 'ACC0000002'"
    ) == "account appears 2 times in the SoR"
