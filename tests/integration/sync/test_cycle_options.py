"""Cycle options: importing unmanaged contacts, `since` backfills, reference-only cycles, the
stop flag, and accounts the SoR never had."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

from syncd.service.requests import CycleKind, CycleRequest, RunStatus
from tests.integration.sync.conftest import SyncHarness, cycle, started


def test_unmanaged_contacts_are_counted_and_left_alone(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=8)
    service = h.build()
    result = cycle(service, kind=CycleKind.FULL)
    assert result.counts["unmanaged"] == 8
    assert result.counts["deactivations"] == result.counts["outbox_rows"] == 0
    assert h.scalar("SELECT count(*) FROM sor.contacts") == 0


def test_unmanaged_contacts_can_be_imported_into_the_sor(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=8)
    service = h.build(import_unmanaged=True)
    result = cycle(service, kind=CycleKind.FULL)
    assert result.counts["imported"] == 8 and result.counts["unmanaged"] == 0
    assert result.counts["updates"] == result.counts["creates"] == 0
    account = "ACC0000003"
    lv = h.lv(account)
    assert (h.sor(account, "first_name"), h.sor(account, "phone1")) == (
        lv["firstName"],
        lv["phone1"],
    )
    assert cycle(service).counts["candidates"] == 0


def test_since_pulls_livevox_changes_from_an_earlier_instant(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=12)
    service = started(h)
    assert cycle(service).counts["pulled"] < 12  # incremental: the lookback window only
    backfill = cycle(service, since=datetime(2000, 1, 1, tzinfo=UTC))
    assert backfill.counts["pulled"] == 12


def test_a_reference_cycle_pulls_reference_data_only(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=3)
    service = h.build()
    result = cycle(service, kind=CycleKind.REFERENCE)
    assert result.status is RunStatus.SUCCEEDED
    assert result.counts == {"custom_fields": 20}
    assert h.scalar("SELECT count(*) FROM livevox.contacts") == 0


def test_a_stop_request_ends_the_cycle_before_it_plans(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=3)
    service = h.build()
    stop = threading.Event()
    stop.set()
    result = service.run_cycle(CycleRequest(), stop=stop)
    assert result.status is RunStatus.FAILED
    assert any("stopped before" in m for m in result.messages)
    assert h.scalar("SELECT count(*) FROM syncd.outbox") == 0
