"""The loader's initial path (empty mirror): same rows as the general path, same indexes after.

An export into an empty mirror is COPYed straight into the contact table with its indexes
dropped and rebuilt; anything unusual (a bad value, a special word in a date, a missing,
over-long or repeated account, a malformed row) rolls that back and the general path loads
the same bytes again. These tests pin both halves: the initial path yields exactly what the
general path yields, and every way out of it is clean.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from structlog.testing import capture_logs

from syncd.store import migrate
from syncd.store.loader import LoadMode, LoadOptions, LoadResult, load_export
from syncd.store.runs import RunRepository
from tests.conftest import FreshDatabase
from tests.integration.store.exports import ALL_KEYS, body, chunked, contact

_LOADED = "loader.loaded"
_REBUILD = LoadOptions()


def _rows_export() -> list[dict[str, str | None]]:
    """Contacts with every phone attribute, custom values that need care, and odd text."""
    rows = [
        contact(
            "A-1",
            firstName="Ann",
            dueDate="02/29/2024",
            balance="120.50",
            active="true",
            modifyDate="11/01/2026 10:00:00",
            createDate="11/14/2023 22:13:20",
            lvAccountId="9001",
            phone1="5551230001",
            phone1Block="true",
            phone1BlockDaily="false",
            phone1SmsConsent="false",
            phone1CellConsent="true",
            phone1AttemptsTotal="3",
            phone1AttemptsToday="1",
            phone10="5551230010",
            phone10AttemptsToday="7",
            COL1="gold",
            COL2="a:b:c",  # the tag separator inside a value
            COL10="note, with comma",
            COL100="last",
        ),
        contact(
            "B-2",
            address1='12 "Main" St\nApt 4',  # quotes and an embedded newline
            modifyDate="11/02/2026 11:30:00",
            phone3BlockDaily="true",  # flags without a number: no phone row
            COL11="",  # empty = NULL: no custom value row
        ),
        contact("C-3"),  # nothing but the account
    ]
    for i in range(4, 40):
        rows.append(
            contact(
                f"N-{i:03d}",
                balance=f"{i}.25",
                modifyDate=f"10/{i % 28 + 1:02d}/2026 0{i % 10}:15:00",
                phone2=f"555{i:07d}",
                phone2Block="false" if i % 2 else "true",
                COL3=f"v{i}",
            )
        )
    return rows


def _load(
    engine: Engine,
    rows: list[dict[str, str | None]],
    *,
    keys: tuple[str, ...] | list[str] = ALL_KEYS,
    mode: LoadMode = "incremental",
    raw: bytes | None = None,
    options: LoadOptions | None = None,
) -> tuple[LoadResult, Mapping[str, Any]]:
    """Load and return the result and the loader's summary log event."""
    run_id = RunRepository(engine).start(f"test_{mode}")
    data = body(rows, keys) if raw is None else raw
    with capture_logs() as logs, engine.begin() as conn:
        result = load_export(
            conn, list(keys), chunked(data, 113), run_id=run_id, mode=mode, options=options
        )
    (summary,) = [e for e in logs if e["event"] == _LOADED]
    return result, summary


def _took_initial_path(summary: Mapping[str, Any]) -> bool:
    steps = summary["seconds"]
    return "initial" in steps and "candidates" not in steps


def _snapshot(engine: Engine, exclude: tuple[str, ...] = ()) -> dict[str, list[dict[str, Any]]]:
    """Every mirror row but `exclude`d accounts, without lineage and timestamps."""
    drop = {"run_id", "first_seen_at", "changed_at"}
    tables = {
        "contacts": "SELECT * FROM livevox.contacts ORDER BY account",
        "phones": "SELECT * FROM livevox.contact_phones ORDER BY account, ordinal",
        "custom": "SELECT * FROM livevox.contact_custom_values ORDER BY account, field",
    }
    with engine.connect() as conn:
        return {
            name: [
                {k: v for k, v in row._mapping.items() if k not in drop}
                for row in conn.execute(sa.text(query))
                if row._mapping["account"] not in exclude
            ]
            for name, query in tables.items()
        }


def _empty_mirror(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text("TRUNCATE livevox.contacts, livevox.contact_history, syncd.rejected_rows")
        )


def _index_definitions(engine: Engine) -> list[tuple[str, str, str | None, bool]]:
    """(table, index definition, constraint definition, valid) of the contact table."""
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                sa.text(
                    "SELECT i.indrelid::regclass::text, pg_get_indexdef(i.indexrelid), "
                    "pg_get_constraintdef(c.oid), i.indisvalid FROM pg_index i "
                    "LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid "
                    "AND c.conrelid = i.indrelid "
                    "WHERE i.indrelid = 'livevox.contacts'::regclass ORDER BY 1, 2"
                )
            )
        ]


@pytest.mark.parametrize(
    "keys",
    [
        ALL_KEYS,
        # A partial export: some phone attributes and custom fields, no modifyDate.
        ("account", "firstName", "phone1", "phone1Block", "phone10", "COL2", "COL100"),
    ],
    ids=["all-fields", "partial"],
)
def test_the_initial_path_loads_what_the_general_path_loads(
    engine: Engine, keys: tuple[str, ...]
) -> None:
    rows = _rows_export()
    initial, summary = _load(engine, rows, keys=keys, options=_REBUILD)
    assert _took_initial_path(summary) and "indexes" in summary["seconds"]
    by_initial = _snapshot(engine)

    # The same export into a mirror that is not empty goes the general way.
    _empty_mirror(engine)
    _load(engine, [contact("Z-0", firstName="Zed", phone1="5550000000", COL1="z")])
    general, summary = _load(engine, rows, keys=keys)
    assert not _took_initial_path(summary)
    assert _snapshot(engine, exclude=("Z-0",)) == by_initial

    assert initial == general
    assert (initial.rows_seen, initial.inserted, initial.rejected) == (39, 39, 0)
    expected_max = datetime(2026, 11, 2, 11, 30, tzinfo=UTC) if "modifyDate" in keys else None
    assert initial.max_modify_date == expected_max


def test_phone_and_custom_rows_of_the_initial_path(engine: Engine) -> None:
    """Every phone attribute lands in its column; custom values keep their text."""
    _, summary = _load(engine, _rows_export(), options=_REBUILD)
    assert _took_initial_path(summary)
    with engine.connect() as conn:
        phones = conn.execute(
            sa.text(
                "SELECT ordinal, phone, dnd, dnd_daily, sms_consent, cell_consent, "
                "attempts_total, attempts_today FROM livevox.contact_phones "
                "WHERE account = 'A-1' ORDER BY ordinal"
            )
        ).all()
        custom = conn.execute(
            sa.text(
                "SELECT field, value FROM livevox.contact_custom_values "
                "WHERE account = 'A-1' ORDER BY value"
            )
        ).all()
        counts = conn.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM livevox.contact_phones WHERE account = 'B-2'), "
                "(SELECT count(*) FROM livevox.contact_custom_values WHERE account = 'B-2')"
            )
        ).one()
    assert [tuple(p) for p in phones] == [
        (1, "5551230001", True, False, False, True, 3, 1),
        (10, "5551230010", None, None, None, None, None, 7),
    ]
    assert [tuple(c) for c in custom] == [
        ("COL2", "a:b:c"),
        ("COL1", "gold"),
        ("COL100", "last"),
        ("COL10", "note, with comma"),
    ]
    assert tuple(counts) == (0, 0)


def test_the_initial_path_rebuilds_exactly_the_indexes_it_dropped(
    engine: Engine, fresh_db: FreshDatabase
) -> None:
    before = _index_definitions(engine)
    assert len(before) >= 6
    _, summary = _load(engine, _rows_export(), mode="full", options=_REBUILD)
    assert _took_initial_path(summary) and "indexes" in summary["seconds"]
    assert _index_definitions(engine) == before
    migrate.check(engine)  # the models and the database still agree

    # The rebuilt keys hold: a later load finds and updates the rows through them.
    result, _ = _load(engine, [contact("A-1", firstName="Anna")])
    assert (result.updated, result.inserted) == (1, 0)


@pytest.mark.parametrize(
    ("bad_row", "reason"),
    [
        (contact("X" * 256, firstName="Long"), "account longer than 255 characters"),
        (contact("Q," + "X" * 254, firstName="Quoted"), "account longer than 255 characters"),
        (contact("", firstName="Nobody"), "missing account"),
        (contact("N-004", firstName="Again"), "duplicate account (last occurrence on line"),
        (contact("Y-1", dueDate="02/30/2024"), "dueDate: not a date MM/DD/YYYY: 02/30/2024"),
    ],
    ids=["long-account", "quoted-long-account", "missing-account", "duplicate", "bad-date"],
)
def test_an_unusual_row_sends_the_initial_load_down_the_general_path(
    engine: Engine, bad_row: dict[str, str | None], reason: str
) -> None:
    before = _index_definitions(engine)
    rows = [bad_row, *_rows_export()]
    result, summary = _load(engine, rows, options=_REBUILD)
    assert "candidates" in summary["seconds"]  # the general path did the work
    assert (result.rows_seen, result.inserted, result.rejected) == (40, 39, 1)
    with engine.connect() as conn:
        (reasons,) = conn.execute(
            sa.text("SELECT array_agg(reason) FROM syncd.rejected_rows")
        ).one()
    assert len(reasons) == 1 and reasons[0].startswith(reason)
    assert _index_definitions(engine) == before  # the rollback restored what was dropped

    # The same good rows through the initial path give the same mirror.
    loaded = _snapshot(engine)
    _empty_mirror(engine)
    _load(engine, _rows_export())
    assert _snapshot(engine) == loaded


@pytest.fixture
def reader(fresh_db: FreshDatabase, engine: Engine) -> Iterator[psycopg.Connection[Any]]:
    """Another session with an open transaction that has read the (empty) mirror."""
    with psycopg.connect(fresh_db.conninfo) as conn:
        conn.execute("SELECT count(*) FROM livevox.contact_phones")
        yield conn
        conn.rollback()


def test_an_initial_load_does_not_wait_for_a_reader_of_the_mirror(
    engine: Engine, reader: psycopg.Connection[Any]
) -> None:
    """The reader's lock would block dropping indexes: the load keeps them instead."""
    before = _index_definitions(engine)
    run_id = RunRepository(engine).start("test_reader")
    started = time.monotonic()
    with capture_logs() as logs, engine.begin() as conn:
        # Had the load queued for the reader's lock, it would wait these 10 s (then give up).
        conn.exec_driver_sql("SET LOCAL lock_timeout = '10s'")
        result = load_export(
            conn,
            list(ALL_KEYS),
            chunked(body(_rows_export())),
            run_id=run_id,
            mode="full",
            options=_REBUILD,
        )
    assert time.monotonic() - started < 8
    events = [e["event"] for e in logs]
    assert "loader.indexes_kept" in events
    (summary,) = [e for e in logs if e["event"] == _LOADED]
    assert _took_initial_path(summary) and "indexes" not in summary["seconds"]
    assert result.inserted == 39
    assert _index_definitions(engine) == before


def test_history_on_insert_in_the_initial_path_without_modify_date(engine: Engine) -> None:
    started = datetime.now(UTC)
    _, summary = _load(
        engine,
        [contact("H-1", firstName="Hal")],
        keys=("account", "firstName"),
        options=LoadOptions(history_on_insert=True),
    )
    assert _took_initial_path(summary)
    with engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT account, operation, valid_from, row_hash FROM livevox.contact_history")
        ).one()
        (row_hash,) = conn.execute(sa.text("SELECT row_hash FROM livevox.contacts")).one()
    assert (row.account, row.operation, row.row_hash) == ("H-1", "insert", row_hash)
    assert row.valid_from >= started  # no modifyDate: the time of the load


def test_the_fallback_log_names_no_value(engine: Engine) -> None:
    """The fallback logs the error class only, never the rejected value (a date of birth)."""
    run_id = RunRepository(engine).start("test_fallback_log")
    with capture_logs() as logs, engine.begin() as conn:
        load_export(
            conn,
            list(ALL_KEYS),
            chunked(body([contact("P-1", dateOfBirth="31/12/1980")])),
            run_id=run_id,
            mode="incremental",
        )
    (fallback,) = [e for e in logs if e["event"] == "loader.initial_fallback"]
    assert set(fallback) == {"event", "log_level", "reason", "sqlstate", "run_id"}
    assert "31/12/1980" not in repr(logs)


def _fallback_reasons(logs: list[Mapping[str, Any]]) -> list[str]:
    return [e["reason"] for e in logs if e["event"] == "loader.initial_fallback"]


@pytest.mark.parametrize(
    ("odd_row", "rejected", "reason"),
    [
        # Input functions reject epoch milliseconds; staging's casts take them.
        (contact("E-1", createDate="1700000000000"), None, "database"),
        # Special words: the input functions would take them, typed_sql refuses them.
        (contact("S-1", dueDate="today"), "dueDate: not a date", "SpecialValueFound"),
        (contact("S-2", modifyDate=" Epoch "), "modifyDate: not a datetime", "SpecialValueFound"),
        (contact("S-3", balance="NaN"), "balance: not a decimal", "SpecialValueFound"),
        (contact("S-4", balance="-Infinity"), "balance: not a decimal", "SpecialValueFound"),
        (contact("S-5", dueDate="2024-13-01"), "dueDate: not a date", "database"),
        # COPY would end the data at a line `\.` inside a quoted value: never sent to it.
        (
            contact("S-6", address1="a\n\\.\nb"),
            "quoted value contains a line starting with",
            "DirectStagingAborted",
        ),
        (contact("S-7", firstName="Bad\x00Nul"), "NUL byte in row", "database"),
    ],
    ids=["epoch-ms", "today", "epoch", "nan", "infinity", "bad-iso-date", "end-marker", "nul"],
)
def test_values_the_input_functions_treat_differently_go_the_general_way(
    engine: Engine, odd_row: dict[str, str | None], rejected: str | None, reason: str
) -> None:
    run_id = RunRepository(engine).start("test_odd")
    with capture_logs() as logs, engine.begin() as conn:
        result = load_export(
            conn,
            list(ALL_KEYS),
            chunked(body([*_rows_export(), odd_row]), 113),
            run_id=run_id,
            mode="incremental",
        )
    assert _fallback_reasons(logs) == [reason]
    assert (result.inserted, result.rejected) == ((39, 1) if rejected else (40, 0))
    with engine.connect() as conn:
        reasons = conn.execute(sa.text("SELECT reason FROM syncd.rejected_rows")).scalars().all()
    assert [r.startswith(rejected) for r in reasons] == ([True] if rejected else [])


def test_special_words_in_text_fields_keep_the_direct_path(engine: Engine) -> None:
    """A first name "Nan" or a note "call today" is text: the guard looks at typed fields only."""
    rows = [*_rows_export(), contact("T-1", firstName="Nan", lastName="Today", COL5="now")]
    result, summary = _load(engine, rows)
    assert _took_initial_path(summary)
    assert result.inserted == 40


def test_other_spellings_of_a_date_load_alike_on_both_paths(engine: Engine) -> None:
    """Both paths use Postgres' input functions (month first): ISO and short forms too."""
    rows = [
        contact("D-1", dueDate="2027-01-02", modifyDate="2026-11-30T10:00:00Z"),
        contact("D-2", dueDate="1/2/2027", modifyDate="11/30/2026 10:00:00"),
    ]
    _, summary = _load(engine, rows)
    assert _took_initial_path(summary)
    first = _snapshot(engine)
    _empty_mirror(engine)
    _load(engine, [contact("Z-0")])
    _, summary = _load(engine, rows)
    assert not _took_initial_path(summary)
    assert _snapshot(engine, exclude=("Z-0",)) == first
    with engine.connect() as conn:
        dues = conn.execute(
            sa.text("SELECT DISTINCT due_date::text FROM livevox.contacts WHERE account <> 'Z-0'")
        ).scalars()
        assert list(dues) == ["2027-01-02"]


def test_a_late_bad_row_replays_the_whole_export(engine: Engine) -> None:
    """The fallback reads again what the direct COPY consumed, then the rest of the stream."""
    rows = [contact(f"R-{i:05d}", firstName=f"n{i}") for i in range(3000)]
    rows.insert(2500, contact("R-BAD", firstName="x", dueDate="02/30/2027"))
    run_id = RunRepository(engine).start("test_replay")
    with capture_logs() as logs, engine.begin() as conn:
        result = load_export(
            conn,
            list(ALL_KEYS),
            chunked(body(rows), 4096),
            run_id=run_id,
            mode="incremental",
        )
    assert _fallback_reasons(logs) == ["database"]
    assert (result.rows_seen, result.inserted, result.rejected) == (3001, 3000, 1)
    with engine.connect() as conn:
        (count,) = conn.execute(sa.text("SELECT count(*) FROM livevox.contacts")).one()
    assert count == 3000


def test_a_malformed_row_sends_the_initial_load_down_the_general_path(engine: Engine) -> None:
    good = body(_rows_export())
    raw = good + b"M-1,too,few\r\n"
    run_id = RunRepository(engine).start("test_malformed")
    with capture_logs() as logs, engine.begin() as conn:
        result = load_export(
            conn, list(ALL_KEYS), chunked(raw, 113), run_id=run_id, mode="incremental"
        )
    # COPY itself refuses the row's field count; the staging path rejects it alone.
    assert _fallback_reasons(logs) == ["database"]
    assert (result.inserted, result.rejected) == (39, 1)


def _index_oids(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT c.relname, c.oid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE i.indrelid = 'livevox.contacts'::regclass"
            )
        ).all()
    return {name: int(oid) for name, oid in rows}


def test_partial_indexes_of_columns_empty_in_the_sample_are_kept_and_maintained(
    engine: Engine,
) -> None:
    """phone5 is empty in the first chunk: its index stays and takes the late row's number."""
    rows = [contact(f"P-{i:04d}", phone1=f"555{i:07d}") for i in range(300)]
    rows.append(contact("P-LATE", phone5="5559990005"))
    before = _index_oids(engine)
    run_id = RunRepository(engine).start("test_partial")
    with engine.begin() as conn:
        load_export(
            conn, list(ALL_KEYS), chunked(body(rows), 64 * 1024), run_id=run_id, mode="full"
        )
    after = _index_oids(engine)
    assert after["ix_contacts_phone5"] == before["ix_contacts_phone5"]  # kept
    assert after["ix_contacts_phone1"] != before["ix_contacts_phone1"]  # dropped, rebuilt
    assert set(after) == set(before)
    with engine.begin() as conn:
        conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
        found = conn.execute(
            sa.text("SELECT account, ordinal FROM livevox.contact_phones WHERE phone = :p"),
            {"p": "5559990005"},
        ).all()
    assert [tuple(r) for r in found] == [("P-LATE", 5)]


def _visibility(engine: Engine) -> tuple[int, int]:
    """(pages, all-visible pages) of the contact table, as a fresh ANALYZE counts them."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE livevox.contacts")
        pages, visible = conn.execute(
            sa.text(
                "SELECT relpages, relallvisible FROM pg_class "
                "WHERE oid = 'livevox.contacts'::regclass"
            )
        ).one()
    return int(pages), int(visible)


def _many(n: int) -> list[dict[str, str | None]]:
    return [contact(f"F-{i:05d}", firstName="Fay", phone1=f"555{i:07d}") for i in range(n)]


def test_the_initial_load_writes_its_rows_frozen_and_all_visible(engine: Engine) -> None:
    """No later hint-bit or freeze rewrite of the whole mirror; index-only scans at once."""
    _, summary = _load(engine, _many(3000), mode="full")
    assert _took_initial_path(summary)
    pages, visible = _visibility(engine)
    assert pages > 10 and visible == pages

    # An ordinary later load leaves the rows it changed not all-visible: the check can fail.
    _load(engine, [contact("F-00001", firstName="Faye")])
    pages, visible = _visibility(engine)
    assert visible < pages


def test_a_referenced_mirror_table_is_loaded_without_freeze(
    engine: Engine, fresh_db: FreshDatabase
) -> None:
    """A foreign key to the contact table forbids TRUNCATE: the load goes on, unfrozen."""
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TABLE public.notes (account text REFERENCES livevox.contacts (account))"
        )
    run_id = RunRepository(engine).start("test_referenced")
    with capture_logs() as logs, engine.begin() as conn:
        result = load_export(
            conn, list(ALL_KEYS), chunked(body(_many(3000))), run_id=run_id, mode="full"
        )
    (summary,) = [e for e in logs if e["event"] == _LOADED]
    assert _took_initial_path(summary) and result.inserted == 3000
    assert "loader.freeze_skipped" in [e["event"] for e in logs]
    pages, visible = _visibility(engine)
    assert visible < pages


def test_a_repeatable_read_load_takes_the_initial_path_without_freeze(engine: Engine) -> None:
    run_id = RunRepository(engine).start("test_rr")
    with capture_logs() as logs, engine.begin() as conn:
        conn.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        result = load_export(
            conn, list(ALL_KEYS), chunked(body(_many(3000))), run_id=run_id, mode="full"
        )
    (summary,) = [e for e in logs if e["event"] == _LOADED]
    assert _took_initial_path(summary) and result.inserted == 3000
    pages, visible = _visibility(engine)
    assert visible < pages


def test_the_first_load_analyzes_its_key_columns_from_a_small_sample(engine: Engine) -> None:
    """The next load's joins are planned on real statistics at once; the other ~200 columns
    are left to autovacuum (off here, so what the load analyzed is all there is)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE livevox.contacts SET (autovacuum_enabled = false)")
    run_id = RunRepository(engine).start("test_full")
    with capture_logs() as logs, engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL default_statistics_target = 250")
        load_export(
            conn,
            list(ALL_KEYS),
            chunked(body(_many(3000), ALL_KEYS), 4096),
            run_id=run_id,
            mode="full",
        )
        (target,) = conn.exec_driver_sql("SHOW default_statistics_target").one()
    assert _took_initial_path(next(e for e in logs if e["event"] == _LOADED))
    assert target == "250"  # the caller's setting is back for the rest of its transaction
    with engine.connect() as conn:
        stats = {
            row.attname: row
            for row in conn.execute(
                sa.text(
                    "SELECT attname, n_distinct, null_frac, "
                    "cardinality(histogram_bounds::text::text[]) AS bounds FROM pg_stats "
                    "WHERE schemaname = 'livevox' AND tablename = 'contacts'"
                )
            )
        }
    assert set(stats) == {"account", "row_hash", "deleted_at"}
    assert stats["account"].n_distinct == -1 and stats["row_hash"].n_distinct == -1
    assert stats["deleted_at"].null_frac == 1
    assert stats["account"].bounds == 11  # target 10: 10 buckets, not the session's 250
