from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.service.pull import PULL_LOCK_KEY, PullService
from syncd.store.errors import PullInProgressError
from syncd.store.runs import RunRepository
from syncd.store.watermarks import CONTACTS_WATERMARK
from tests.integration.store.exports import FakeExportSource, StreamCutError, contact, lv_datetime

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def _source(n: int = 6) -> FakeExportSource:
    source = FakeExportSource()
    for i in range(n):
        source.put(
            contact(
                f"C{i}",
                firstName=f"Name{i}",
                balance=f"{i}.00",
                phone1=f"555000{i:04d}",
                # C0 is the newest: modified minutes before the others' hour steps.
                modifyDate=lv_datetime(T0 - timedelta(hours=i)),
            )
        )
    return source


def _service(engine: Engine, source: FakeExportSource, now: datetime = NOW) -> PullService:
    return PullService(engine, source, clock=lambda: now)


def _scalar(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).scalar_one()


def _watermark(engine: Engine) -> datetime | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.text("SELECT value FROM syncd.watermarks WHERE name = :n"),
            {"n": CONTACTS_WATERMARK},
        ).scalar_one_or_none()


def test_incremental_pull_picks_up_exactly_the_changed_contacts(engine: Engine) -> None:
    source = _source()
    service = _service(engine, source)
    first = service.pull_incremental()
    assert first.start is None  # no watermark yet: everything
    assert first.result.inserted == 6
    assert first.watermark == T0 == _watermark(engine)

    source.edit("C3", T0 + timedelta(minutes=5), balance="33.00")
    source.edit("C5", T0 + timedelta(minutes=7), firstName="Renamed")
    second = service.pull_incremental()

    assert source.calls[-1] == (T0 - timedelta(minutes=15), None)
    # C0 (at T0) is inside the lookback window: exported again, recognised as unchanged.
    assert (second.result.rows_seen, second.result.updated) == (3, 2)
    assert (second.result.unchanged, second.result.inserted) == (1, 0)
    assert second.watermark == T0 + timedelta(minutes=7)
    changed = _scalar(
        engine,
        "SELECT array_agg(account ORDER BY account) FROM livevox.contacts WHERE run_id = :r",
        r=second.run_id,
    )
    assert changed == ["C3", "C5"]
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_history") == 2
    assert _scalar(engine, "SELECT balance FROM livevox.contacts WHERE account = 'C3'") == 33


def test_the_lookback_overlap_creates_no_duplicates_or_history(engine: Engine) -> None:
    source = _source()
    service = _service(engine, source)
    service.pull_incremental()
    for _ in range(3):
        again = service.pull_incremental()
        assert (again.result.updated, again.result.inserted) == (0, 0)
        assert again.result.unchanged == again.result.rows_seen == 1
    assert _scalar(engine, "SELECT count(*) FROM livevox.contacts") == 6
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_phones") == 6
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_history") == 0
    assert _watermark(engine) == T0


def test_a_failed_pull_leaves_the_watermark_and_the_mirror_unchanged(engine: Engine) -> None:
    source = _source()
    service = _service(engine, source)
    service.pull_incremental()
    source.edit("C1", T0 + timedelta(hours=1), balance="999.00")
    source.put(contact("NEW", modifyDate=lv_datetime(T0 + timedelta(hours=2))))
    source.cut_after = 150  # the stream breaks after the first record

    with pytest.raises(StreamCutError):
        service.pull_incremental()

    assert _watermark(engine) == T0
    assert _scalar(engine, "SELECT balance FROM livevox.contacts WHERE account = 'C1'") == 1
    assert _scalar(engine, "SELECT count(*) FROM livevox.contacts WHERE account = 'NEW'") == 0
    failed = _scalar(engine, "SELECT max(id) FROM syncd.runs")
    run = RunRepository(engine).get(failed)
    assert run.status == "failed" and run.finished_at is not None
    assert run.error is not None and "StreamCutError" in run.error

    source.cut_after = None
    recovered = service.pull_incremental()
    assert (recovered.result.updated, recovered.result.inserted) == (1, 1)
    assert recovered.watermark == T0 + timedelta(hours=2)


def test_full_reconcile_tombstones_and_restores(engine: Engine) -> None:
    source = _source()
    service = _service(engine, source)
    service.pull_full()
    removed = source.contacts["C2"]
    source.delete("C2")
    gone = service.pull_full()
    assert gone.start is None and gone.result.tombstoned == 1
    assert _scalar(
        engine, "SELECT deleted_at IS NOT NULL FROM livevox.contacts WHERE account = 'C2'"
    )
    source.put(removed)
    back = service.pull_full()
    assert (back.result.restored, back.result.tombstoned) == (1, 0)
    assert _scalar(engine, "SELECT count(*) FROM livevox.contacts WHERE deleted_at IS NULL") == 6
    runs = _scalar(
        engine, "SELECT array_agg(status ORDER BY id) FROM syncd.runs WHERE kind = 'pull_full'"
    )
    assert runs == ["succeeded"] * 3


def test_the_watermark_never_passes_the_start_of_the_pull(engine: Engine) -> None:
    source = _source()
    early = T0 - timedelta(minutes=30)  # rows modified "after" the pull began
    outcome = _service(engine, source, now=early).pull_incremental()
    assert outcome.result.max_modify_date == T0
    assert outcome.watermark == early


def test_a_second_pull_does_not_interleave_with_a_running_one(engine: Engine) -> None:
    service = _service(engine, _source())
    with engine.connect() as holder:
        holder.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": PULL_LOCK_KEY})
        with pytest.raises(PullInProgressError):
            service.pull_incremental()
        holder.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": PULL_LOCK_KEY})
    assert _scalar(engine, "SELECT status FROM syncd.runs ORDER BY id DESC LIMIT 1") == "failed"
    assert service.pull_incremental().result.inserted == 6


class _Reference:
    def __init__(self) -> None:
        self.fields: list[dict[str, Any]] = [
            {"field": "COL1", "label": "Company", "dataType": "STRING"},
            {"field": "COL2", "label": "Score", "dataType": "NUMBER"},
            {"field": "COL3", "label": "Tier", "dataType": "LIST", "listValues": ["a", "b"]},
        ]
        self.groups: list[dict[str, Any]] = [
            {"id": 1120, "name": "Old Group", "createdBy": "x", "createdAt": 1427119248000},
            {"id": 2000, "name": "Group-1", "modifiedAt": 1505108737000},
        ]

    def list_custom_fields(self) -> list[dict[str, Any]]:
        return self.fields

    def iter_contact_groups(self) -> list[dict[str, Any]]:
        return self.groups


def _view_columns(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(
            conn.execute(
                sa.text(
                    "SELECT column_name FROM information_schema.columns "
                    "WHERE table_schema = 'livevox' AND table_name = 'analyst_contacts' "
                    "ORDER BY ordinal_position"
                )
            ).scalars()
        )


def test_reference_pull_mirrors_definitions_and_relabels_the_analyst_view(
    engine: Engine,
) -> None:
    service = _service(engine, _source())
    reference = _Reference()
    first = service.pull_reference(reference)
    assert (first.custom_fields, first.groups, first.views_regenerated) == (3, 2, True)
    columns = _view_columns(engine)
    assert {"Company", "Score", "Tier", "col4"} <= set(columns)
    assert "col1" not in columns
    tier = _scalar(engine, "SELECT list_values FROM livevox.custom_fields WHERE field = 'COL3'")
    assert tier == ["a", "b"]
    created = _scalar(engine, "SELECT created_at FROM livevox.contact_groups WHERE id = 1120")
    assert created == datetime(2015, 3, 23, 14, 0, 48, tzinfo=UTC)

    assert service.pull_reference(reference).views_regenerated is False

    reference.fields = [{"field": "COL1", "label": "Employer", "dataType": "STRING"}]
    reference.groups = [{"id": 2000, "name": "Renamed"}]
    changed = service.pull_reference(reference)
    assert (changed.custom_fields_removed, changed.views_regenerated) == (2, True)
    columns = _view_columns(engine)
    assert "Employer" in columns and "Company" not in columns and "col2" in columns
    assert _scalar(engine, "SELECT name FROM livevox.contact_groups WHERE id = 2000") == "Renamed"
    assert _scalar(engine, "SELECT count(*) FROM livevox.contact_groups") == 2

    service.pull_incremental()
    employer = _scalar(engine, 'SELECT count("Employer") FROM livevox.analyst_contacts')
    assert employer == 0  # the view reads the mirror's col1


def test_custom_labels_in_the_header_are_understood(engine: Engine) -> None:
    service = _service(engine, _source(1))
    service.pull_reference(_Reference())
    source = FakeExportSource(keys=("account", "Company", "modifyDate"))
    source.put(contact("L1", Company="Acme", modifyDate=lv_datetime(T0)))
    _service(engine, source).pull_full()
    assert _scalar(engine, "SELECT col1 FROM livevox.contacts WHERE account = 'L1'") == "Acme"
    assert (
        _scalar(engine, "SELECT \"Company\" FROM livevox.analyst_contacts WHERE account = 'L1'")
        == "Acme"
    )
