"""Whole cycles against the emulator over real HTTP, through bootstrap and the real client,
on real Postgres: the issue's "must show" list."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import structlog

from syncd.service.requests import CycleKind, RunStatus
from syncd.store.conflicts_repo import list_conflicts, resolve_conflict
from tests.integration.sync.conftest import SyncHarness, converge, cycle, started

DEFAULT_PROFILE = Path("config/profiles/default.toml")


def _plain_account(h: SyncHarness, *, phone: bool = True) -> str:
    """An account with no DND anywhere and (optionally) a first phone."""
    condition = "phone1 IS NOT NULL" if phone else "true"
    account: str = h.scalar(
        "SELECT account FROM livevox.contacts WHERE NOT account_block AND NOT phone1_block "
        f"AND NOT account_block_daily AND active AND {condition} ORDER BY account LIMIT 1"
    )
    return account


def _ops_planned(result_counts: dict[str, int]) -> int:
    keys = ("creates", "updates", "dnd_changes", "deactivations", "deletes", "write_backs")
    return sum(result_counts.get(k, 0) for k in keys)


def test_sor_edits_reach_livevox_and_the_next_clean_cycle_plans_nothing(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    account = _plain_account(h)
    h.sql(
        "UPDATE sor.contacts SET first_name = 'Zed', balance = 1234.50, col6 = 'Gold', "
        "phone2 = '(555) 010-2030', city = '' WHERE account = :a",
        a=account,
    )
    result = cycle(service)
    assert result.counts["updates"] == 1
    assert result.counts["push_applied"] == 1
    lv = h.lv(account)
    assert (lv["firstName"], lv["balance"], lv["COL6"], lv["phone2"], lv["city"]) == (
        "Zed",
        Decimal("1234.50"),
        "Gold",
        "5550102030",
        None,
    )
    audited = h.rows(
        "SELECT field, new_value, outcome FROM syncd.audit_log WHERE account = :a "
        "AND run_id = :r ORDER BY field",
        a=account,
        r=result.run_id,
    )
    assert {(f, o) for f, _, o in audited} >= {("firstName", "applied"), ("balance", "applied")}
    # the pull sees LiveVox's new values; they agree with the SoR, so nothing is planned...
    follow_up = cycle(service)
    assert _ops_planned(follow_up.counts) == 0
    # ...and once the base holds the new hashes, nothing is even compared
    assert cycle(service).counts["candidates"] == 0


def test_an_amount_with_more_places_than_cents_is_sent_once_rounded(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    """LiveVox keeps cents: 1234.5678 goes out as 1234.57, and the next cycles leave it (they
    used to send it again on every cycle, LiveVox's copy never equal to the SoR's)."""
    h = harness_factory()
    service = started(h)
    account = _plain_account(h)
    h.sql("UPDATE sor.contacts SET balance = 1234.5678 WHERE account = :a", a=account)
    result = cycle(service)
    assert (result.counts["updates"], result.counts["push_applied"]) == (1, 1)
    assert h.lv(account)["balance"] == Decimal("1234.57")
    audited = h.rows(
        "SELECT new_value FROM syncd.audit_log WHERE account = :a AND field = 'balance' "
        "AND run_id = :r",
        a=account,
        r=result.run_id,
    )
    assert [v for (v,) in audited] == ["1234.57"]  # the audit says what LiveVox was sent
    for _ in range(2):
        assert _ops_planned(cycle(service).counts) == 0
    # the SoR keeps its own precision: syncd never writes the rounded amount back
    assert h.scalar("SELECT balance FROM sor.contacts WHERE account = :a", a=account) == Decimal(
        "1234.5678"
    )


def test_an_agent_dnd_survives_every_later_cycle_and_is_written_back(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    account = _plain_account(h)
    h.store.agent_edit(account, {"accountBlock": True, "phone1Block": True})
    assert h.sor(account, "account_block") is False

    result = cycle(service)
    assert result.counts["write_backs"] == 1
    assert (h.sor(account, "account_block"), h.sor(account, "phone1_block")) == (True, True)
    written = h.rows(
        "SELECT field, old_value, new_value FROM syncd.audit_log WHERE account = :a "
        "AND direction = 'write_back' AND outcome = 'applied' ORDER BY field",
        a=account,
    )
    assert written == [("accountBlock", "false", "true"), ("phone1Block", "false", "true")]

    # the SoR keeps editing other fields; the DND is never undone
    h.sql("UPDATE sor.contacts SET first_name = 'Later' WHERE account = :a", a=account)
    for _ in range(3):
        cycle(service)
    cycle(service, kind=CycleKind.FULL)
    lv = h.lv(account)
    assert (lv["firstName"], lv["accountBlock"], lv["phone1Block"]) == ("Later", True, True)


def test_without_write_back_a_livevox_dnd_still_survives_sor_edits(
    harness_factory: Callable[..., SyncHarness], tmp_path: Path
) -> None:
    profile = tmp_path / "profile.toml"
    text = DEFAULT_PROFILE.read_text().replace("write_back = true", "write_back = false")
    profile.write_text(text)
    h = harness_factory(profile=profile)
    service = started(h)
    account = _plain_account(h)
    h.store.agent_edit(account, {"accountBlock": True})
    assert cycle(service).counts["write_backs"] == 0
    h.sql("UPDATE sor.contacts SET city = 'Elsewhere' WHERE account = :a", a=account)
    for _ in range(2):
        cycle(service)
    cycle(service, kind=CycleKind.FULL)
    lv = h.lv(account)
    assert (lv["city"], lv["accountBlock"]) == ("Elsewhere", True)
    assert h.sor(account, "account_block") is False  # the SoR was not asked to follow


def test_both_sides_editing_one_field_follows_its_policy_and_is_audited(
    harness_factory: Callable[..., SyncHarness], tmp_path: Path
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        DEFAULT_PROFILE.read_text()
        + '\n[[rule]]\nfields = ["city"]\nownership = "both"\npolicy = "livevox_wins"\n'
        "write_back = true\n"
        '\n[[rule]]\nfields = ["email"]\nownership = "both"\npolicy = "manual"\n'
    )
    h = harness_factory(profile=profile)
    service = started(h)
    account = _plain_account(h)
    h.sql(
        "UPDATE sor.contacts SET city = 'SorCity', email = 'sor@example.com', "
        "last_name = 'SorName' WHERE account = :a",
        a=account,
    )
    h.store.agent_edit(
        account, {"city": "LvCity", "email": "lv@example.com", "lastName": "LvName"}
    )
    result = cycle(service)

    # lastName is the SoR's: the agent's edit is reverted in LiveVox
    assert h.lv(account)["lastName"] == "SorName"
    # city is shared, LiveVox wins: written back into the SoR
    assert h.sor(account, "city") == "LvCity" and h.lv(account)["city"] == "LvCity"
    # email is manual: nothing moves, a conflict is opened and audited
    assert h.sor(account, "email") == "sor@example.com"
    assert h.lv(account)["email"] == "lv@example.com"
    audit = dict(
        h.rows(
            "SELECT field, outcome FROM syncd.audit_log WHERE account = :a AND run_id = :r",
            a=account,
            r=result.run_id,
        )
    )
    assert audit["lastName"] == "applied"
    assert audit["city"] == "applied"  # the write-back
    assert audit["email"] == "conflict"
    with h.engine.connect() as conn:
        (conflict,) = list_conflicts(conn, account=account)
    assert (conflict.field, conflict.sor_value, conflict.mirror_value) == (
        "email",
        "sor@example.com",
        "lv@example.com",
    )

    # later cycles leave it alone; the admin's resolution is applied by the next one
    cycle(service)
    assert h.lv(account)["email"] == "lv@example.com"
    with h.engine.begin() as conn:
        resolve_conflict(conn, conflict.id, use="sor", by="test")
    applied = cycle(service)
    assert applied.counts["conflicts_applied"] == 1
    assert h.lv(account)["email"] == "sor@example.com"
    assert h.scalar("SELECT status FROM syncd.conflicts WHERE id = :i", i=conflict.id) == (
        "applied"
    )
    assert _ops_planned(converge(service).counts) == 0


def test_removed_sor_rows_are_deactivated_by_default(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    gone = [r[0] for r in h.rows("SELECT account FROM sor.contacts ORDER BY account LIMIT 3")]
    h.sql("DELETE FROM sor.contacts WHERE account = ANY(:g)", g=gone)
    result = cycle(service)
    assert result.counts["deactivations"] == 3
    assert [h.lv(a)["active"] for a in gone] == [False, False, False]
    # once handled, the removal is not planned again
    assert _ops_planned(converge(service).counts) == 0
    # a returning row brings its contact back (the SoR maps `active`, so its value decides)
    h.sql(
        "INSERT INTO sor.contacts (account, first_name, active) VALUES (:a, 'Back', true)",
        a=gone[0],
    )
    cycle(service)
    assert (h.lv(gone[0])["active"], h.lv(gone[0])["firstName"]) == (True, "Back")


def test_removed_sor_rows_can_be_deleted_or_ignored(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    delete = started(h, on_removed="delete")
    first, second = (
        r[0] for r in h.rows("SELECT account FROM sor.contacts ORDER BY account LIMIT 2")
    )
    h.sql("DELETE FROM sor.contacts WHERE account = :a", a=first)
    assert cycle(delete).counts["deletes"] == 1
    assert h.store.get(first) is None

    ignore = h.build(on_removed="ignore")
    h.sql("DELETE FROM sor.contacts WHERE account = :a", a=second)
    result = cycle(ignore)
    assert result.counts["deactivations"] == result.counts["deletes"] == 0
    assert h.lv(second)["active"] is True


def test_new_sor_rows_are_created_with_their_dnd(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    h.sql(
        "INSERT INTO sor.contacts (account, first_name, balance, phone1, phone1_block, "
        "account_block_daily, col6) VALUES ('NEW0000001', 'New', 10.5, '555-123-4567', true, "
        "true, 'Silver')"
    )
    result = cycle(service)
    assert result.counts["creates"] == 1 and result.counts["push_applied"] == 1
    lv = h.lv("NEW0000001")
    assert (lv["firstName"], lv["phone1"], lv["phone1Block"], lv["accountBlockDaily"]) == (
        "New",
        "5551234567",
        True,
        True,
    )
    assert _ops_planned(converge(service).counts) == 0


def test_the_guard_holds_a_plan_deactivating_most_contacts_until_confirmed(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=200)
    service = started(h)
    removed = "(SELECT account FROM sor.contacts ORDER BY account LIMIT 120)"
    active = h.scalar(
        f"SELECT count(*) FROM livevox.contacts WHERE active AND account IN {removed}"
    )
    assert active > 100  # the generated book has a few inactive contacts already
    h.sql(f"DELETE FROM sor.contacts WHERE account IN {removed}")
    active_before = _active_in_livevox(h)
    h.stats.reset()
    with structlog.testing.capture_logs() as logs:
        held = service.run_cycle(_request())
    assert held.status is RunStatus.HELD
    assert any(f"removes {active} of 200" in m for m in held.messages)
    assert any(e["event"] == "plan.held" for e in logs)
    assert h.scalar("SELECT status FROM syncd.runs WHERE id = :r", r=held.run_id) == "held"
    assert h.scalar("SELECT messages FROM syncd.runs WHERE id = :r", r=held.run_id)
    assert h.scalar("SELECT count(*) FROM syncd.outbox") == 0
    assert h.stats.count(method="PUT") == h.stats.count(method="DELETE") == 0
    assert _active_in_livevox(h) == active_before

    # held again next time (nothing was recorded as handled) until an admin confirms
    assert service.run_cycle(_request()).status is RunStatus.HELD
    confirmed = cycle(service, confirm=True)
    assert confirmed.counts["deactivations"] == confirmed.counts["push_applied"] == active
    assert confirmed.counts["push_requests"] < 5  # bulk updates, not one call per contact
    assert h.lv("ACC0000001")["active"] is False


def _active_in_livevox(h: SyncHarness) -> int:
    return sum(1 for record in h.store.snapshot().records() if record["active"])


def _request(**kwargs: object) -> object:
    from syncd.service.requests import CycleRequest

    return CycleRequest(**kwargs)  # type: ignore[arg-type]


def test_a_dry_run_sends_nothing_and_writes_only_the_preview(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory()
    service = started(h)
    account = _plain_account(h)
    h.sql("UPDATE sor.contacts SET first_name = 'Preview' WHERE account = :a", a=account)
    h.sql("DELETE FROM sor.contacts WHERE account = 'ACC0000002'")
    outbox_before = h.scalar("SELECT count(*) FROM syncd.outbox")
    h.stats.reset()

    result = cycle(service, dry_run=True)

    assert result.status is RunStatus.DRY_RUN
    assert h.stats.total == 0
    assert h.scalar("SELECT count(*) FROM syncd.outbox") == outbox_before
    assert h.scalar("SELECT status FROM syncd.runs WHERE id = :r", r=result.run_id) == "dry_run"
    preview = h.rows(
        "SELECT account, operation, field, old_value, new_value FROM syncd.audit_log "
        "WHERE run_id = :r AND outcome = 'dry_run' ORDER BY account",
        r=result.run_id,
    )
    assert ("ACC0000002", "deactivate", "active", "true", "false") in preview
    assert any(r[0] == account and r[2] == "firstName" and r[4] == "Preview" for r in preview)
    assert any("Preview" in m for m in result.messages)
    assert any("guard would" in m for m in result.messages)
    assert h.lv(account)["firstName"] != "Preview"
    # the real cycle afterwards sends what the preview showed
    assert cycle(service).counts["updates"] == 1


def test_a_cycle_is_skipped_while_another_holds_the_lock(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    from syncd.store.locks import cycle_lock

    h = harness_factory(contacts=5)
    service = h.build()
    with cycle_lock(h.engine) as held:
        assert held is not None
        result = service.run_cycle(_request())
    assert result.status is RunStatus.SKIPPED and result.ok
    assert h.scalar("SELECT status FROM syncd.runs WHERE id = :r", r=result.run_id) == "skipped"


def test_one_summary_line_per_cycle_with_the_run_id(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=5)
    service = h.build()
    with structlog.testing.capture_logs() as logs:
        result = cycle(service)
    completed = [e for e in logs if e["event"] == "cycle.completed"]
    assert len(completed) == 1
    assert completed[0]["run_id"] == result.run_id
    assert completed[0]["status"] == "succeeded"
