from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.store.errors import MissingKeyColumnError, TombstoneGuardError
from syncd.store.loader import LoadMode, LoadOptions, LoadResult, load_export
from syncd.store.runs import RunRepository
from tests.integration.store.exports import ALL_KEYS, body, chunked, contact


def _ann(**changes: str | None) -> dict[str, str | None]:
    row = contact(
        "A-1",
        firstName="Ann",
        lastName="Lee",
        dueDate="02/29/2024",
        balance="120.50",
        active="true",
        accountBlock="false",
        accountBlockDaily="false",
        modifyDate="11/01/2026 10:00:00",
        lvAccountId="9001",
        ssn="123-45-6789",
        dateOfBirth="07/04/1980",
        phone1="5551230001",
        phone1Block="true",
        phone1SmsConsent="false",
        phone1AttemptsTotal="3",
        phone3="5551230003",
        COL1="gold",
        COL5="note, with comma",
    )
    row.update(changes)
    return row


def _bob(**changes: str | None) -> dict[str, str | None]:
    row = contact(
        "B-2",
        firstName="Bob",
        address1='12 "Main" St\nApt 4',  # quotes and an embedded newline
        balance="0",
        modifyDate="11/02/2026 11:30:00",
        phone1="5559990001",
    )
    row.update(changes)
    return row


def load(
    engine: Engine,
    rows: list[dict[str, str | None]],
    *,
    mode: LoadMode = "incremental",
    keys: tuple[str, ...] | list[str] = ALL_KEYS,
    raw: bytes | None = None,
    options: LoadOptions | None = None,
    chunk: int = 61,
) -> LoadResult:
    run_id = RunRepository(engine).start(f"test_{mode}")
    data = body(rows, keys) if raw is None else raw
    with engine.begin() as conn:
        return load_export(
            conn, list(keys), chunked(data, chunk), run_id=run_id, mode=mode, options=options
        )


def one(engine: Engine, sql: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(sql), params).one()


def rows(engine: Engine, sql: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text(sql), params).all())


def test_first_load_inserts_typed_rows_phones_and_custom_values(engine: Engine) -> None:
    result = load(engine, [_ann(), _bob()])
    assert (result.rows_seen, result.inserted, result.updated, result.rejected) == (2, 2, 0, 0)
    assert result.max_modify_date == datetime(2026, 11, 2, 11, 30, tzinfo=UTC)

    ann = one(engine, "SELECT * FROM livevox.contacts WHERE account = 'A-1'")._mapping
    assert ann["first_name"] == "Ann"
    assert ann["due_date"] == date(2024, 2, 29)
    assert ann["balance"] == Decimal("120.50")
    assert ann["active"] is True and ann["account_block"] is False
    assert ann["modify_date"] == datetime(2026, 11, 1, 10, 0, tzinfo=UTC)
    assert ann["lv_account_id"] == 9001
    assert ann["col5"] == "note, with comma"
    assert ann["row_hash"] is not None and ann["deleted_at"] is None
    assert ann["email"] is None  # empty = NULL
    bob = one(engine, "SELECT address1 FROM livevox.contacts WHERE account = 'B-2'")
    assert bob.address1 == '12 "Main" St\nApt 4'

    phones = rows(
        engine,
        "SELECT account, ordinal, phone, dnd, sms_consent, attempts_total "
        "FROM livevox.contact_phones ORDER BY account, ordinal",
    )
    assert [tuple(p) for p in phones] == [
        ("A-1", 1, "5551230001", True, False, 3),
        ("A-1", 3, "5551230003", None, None, None),
        ("B-2", 1, "5559990001", None, None, None),
    ]
    custom = rows(
        engine, "SELECT account, field, value FROM livevox.contact_custom_values ORDER BY 1, 2"
    )
    assert [tuple(c) for c in custom] == [
        ("A-1", "COL1", "gold"),
        ("A-1", "COL5", "note, with comma"),
    ]
    # A first version is not a change: no history rows by default.
    assert one(engine, "SELECT count(*) FROM livevox.contact_history")[0] == 0


def test_reloading_the_same_export_changes_nothing(engine: Engine) -> None:
    load(engine, [_ann(), _bob()])
    before = rows(engine, "SELECT account, run_id, changed_at FROM livevox.contacts ORDER BY 1")
    again = load(engine, [_ann(), _bob()], chunk=7)  # other chunk boundaries, same lines
    assert (again.unchanged, again.inserted, again.updated) == (2, 0, 0)
    assert (
        rows(engine, "SELECT account, run_id, changed_at FROM livevox.contacts ORDER BY 1")
        == before
    )
    assert one(engine, "SELECT count(*) FROM livevox.contact_history")[0] == 0


def test_a_change_is_updated_with_one_history_row_of_what_changed(engine: Engine) -> None:
    load(engine, [_ann(), _bob()])
    result = load(
        engine,
        [
            _ann(balance="99.00", phone1Block="false", modifyDate="11/03/2026 09:00:00"),
            _bob(),
        ],
    )
    assert (result.updated, result.unchanged, result.inserted) == (1, 1, 0)
    ann = one(engine, "SELECT balance, phone1_block FROM livevox.contacts WHERE account = 'A-1'")
    assert ann == (Decimal("99.00"), False)
    history = one(
        engine,
        "SELECT operation, valid_from, valid_to, changed_columns, old_values, new_values "
        "FROM livevox.contact_history WHERE account = 'A-1'",
    )
    assert history.operation == "update"
    assert history.valid_from == datetime(2026, 11, 3, 9, 0, tzinfo=UTC)
    assert history.valid_to is None
    assert sorted(history.changed_columns) == ["balance", "modify_date", "phone1_block"]
    assert history.old_values["balance"] == 120.5 and history.new_values["balance"] == 99.0
    assert history.old_values["phone1_block"] is True
    assert history.new_values["phone1_block"] is False
    dnd = one(
        engine, "SELECT dnd FROM livevox.contact_phones WHERE account = 'A-1' AND ordinal = 1"
    )
    assert dnd == (False,)

    load(engine, [_ann(balance="80.00", modifyDate="11/04/2026 09:00:00")])
    versions = rows(
        engine,
        "SELECT valid_from, valid_to FROM livevox.contact_history "
        "WHERE account = 'A-1' ORDER BY valid_from",
    )
    assert versions[0].valid_to == versions[1].valid_from  # the older version was closed
    assert versions[1].valid_to is None


def test_a_changed_line_with_equal_values_only_refreshes_the_hash(engine: Engine) -> None:
    load(engine, [_ann()])
    (old_hash,) = one(engine, "SELECT row_hash FROM livevox.contacts")
    # Same values, different text: the decimal written with another quoting.
    raw = body([_ann()]).replace(b"120.50", b'"120.50"')
    result = load(engine, [], raw=raw)
    assert (result.updated, result.unchanged) == (0, 1)
    (new_hash,) = one(engine, "SELECT row_hash FROM livevox.contacts")
    assert new_hash != old_hash
    assert one(engine, "SELECT count(*) FROM livevox.contact_history")[0] == 0


def test_bad_rows_are_rejected_with_line_reason_and_raw_text(engine: Engine) -> None:
    good = _bob()
    bad_date = _ann(dueDate="02/30/2024")
    bad_number = contact("C-3", balance="12,5".replace(",", "."), agentId="seven")
    text = body([good, bad_date, bad_number])
    short = b"D-4,only two\r\n"
    result = load(engine, [], raw=text + short)
    assert (result.rows_seen, result.inserted, result.rejected) == (4, 1, 3)

    rejected = rows(
        engine, "SELECT line_number, reason, raw FROM syncd.rejected_rows ORDER BY line_number"
    )
    lines = [r.line_number for r in rejected]
    assert lines == [4, 5, 6]  # header = 1, Bob spans lines 2-3 (embedded newline)
    assert "dueDate: not a date MM/DD/YYYY: 02/30/2024" in rejected[0].reason
    assert rejected[0].raw.startswith("A-1,02/30/2024,")
    assert "agentId: not an integer: seven" in rejected[1].reason
    assert rejected[2].reason == f"wrong column count: expected {len(ALL_KEYS)}, got 2"
    assert rejected[2].raw == "D-4,only two"
    assert [a for (a,) in rows(engine, "SELECT account FROM livevox.contacts")] == ["B-2"]


def test_bad_values_do_not_change_how_good_rows_load(engine: Engine, fresh_db: Any) -> None:
    """The slow (checked) path yields the same rows as the fast path."""
    load(engine, [_ann(), _bob()])
    fast = rows(engine, "SELECT * FROM livevox.contacts ORDER BY account")
    with engine.begin() as conn:
        conn.execute(sa.text("TRUNCATE livevox.contacts"))
    result = load(engine, [_ann(), _bob(), contact("X-9", dueDate="not a date")])
    assert result.rejected == 1
    slow = rows(engine, "SELECT * FROM livevox.contacts ORDER BY account")
    drop = {"run_id", "first_seen_at", "changed_at"}
    strip = [{k: v for k, v in r._mapping.items() if k not in drop} for r in fast]
    assert strip == [{k: v for k, v in r._mapping.items() if k not in drop} for r in slow]


def test_labels_unknown_and_repeated_headers(engine: Engine) -> None:
    keys = ["Account", "First Name", "Favourite Colour", "Payment Balance", "firstName"]
    raw = b"L-1,Lia,blue,7.25,Lia again\r\n"
    result = load(engine, [], keys=keys, raw=raw)
    assert result.inserted == 1
    lia = one(engine, "SELECT first_name, balance FROM livevox.contacts")
    assert lia == ("Lia", Decimal("7.25"))
    reasons = [
        r.reason
        for r in rows(engine, "SELECT reason FROM syncd.rejected_rows WHERE line_number = 1")
    ]
    assert reasons == [
        "unknown column 'Favourite Colour' (position 3) ignored",
        "column 'firstName' repeats 'firstName'; repeat ignored",
    ]


def test_an_export_without_account_cannot_load(engine: Engine) -> None:
    with pytest.raises(MissingKeyColumnError):
        load(engine, [], keys=["firstName"], raw=b"x\r\n")


def test_duplicate_and_missing_accounts(engine: Engine) -> None:
    first = _bob(firstName="Bobby")
    second = _bob(firstName="Robert")
    nobody = contact("", firstName="Nobody")
    result = load(engine, [first, nobody, second])
    assert (result.inserted, result.rejected) == (1, 2)
    assert one(engine, "SELECT first_name FROM livevox.contacts") == ("Robert",)
    reasons = {r.reason for r in rows(engine, "SELECT reason FROM syncd.rejected_rows")}
    assert "missing account" in reasons
    assert any(r.startswith("duplicate account (last occurrence on line") for r in reasons)


def test_partial_exports_leave_other_columns_alone(engine: Engine) -> None:
    load(engine, [_ann()])
    keys = ("account", "balance", "modifyDate")
    result = load(
        engine,
        [contact("A-1", balance="5.00", modifyDate="11/05/2026 08:00:00")],
        keys=keys,
    )
    assert result.updated == 1
    ann = one(engine, "SELECT first_name, balance, phone1 FROM livevox.contacts")
    assert ann == ("Ann", Decimal("5.00"), "5551230001")
    assert one(engine, "SELECT count(*) FROM livevox.contact_phones")[0] == 2


def test_full_mode_tombstones_the_missing_and_restores_the_returning(engine: Engine) -> None:
    load(engine, [_ann(), _bob()], mode="full")
    gone = load(engine, [_bob()], mode="full")
    assert (gone.tombstoned, gone.unchanged) == (1, 1)
    (deleted_at,) = one(engine, "SELECT deleted_at FROM livevox.contacts WHERE account = 'A-1'")
    assert deleted_at is not None
    assert one(engine, "SELECT operation FROM livevox.contact_history")[0] == "delete"

    # Incremental pulls never tombstone.
    assert load(engine, [_bob()], mode="incremental").tombstoned == 0

    back = load(engine, [_ann(), _bob()], mode="full")
    assert (back.restored, back.tombstoned, back.inserted, back.updated) == (1, 0, 0, 0)
    assert one(engine, "SELECT deleted_at FROM livevox.contacts WHERE account = 'A-1'")[0] is None
    ops = [r[0] for r in rows(engine, "SELECT operation FROM livevox.contact_history ORDER BY id")]
    assert ops == ["delete", "restore"]
    closed = rows(engine, "SELECT valid_to FROM livevox.contact_history ORDER BY id")
    assert closed[0].valid_to is not None and closed[1].valid_to is None


def test_a_malformed_row_still_protects_its_contact_from_the_tombstone(engine: Engine) -> None:
    load(engine, [_ann(), _bob()], mode="full")
    raw = body([_bob()]) + b"A-1,cut short\r\n"
    result = load(engine, [], raw=raw, mode="full")
    assert (result.rejected, result.tombstoned) == (1, 0)


def test_tombstone_guards(engine: Engine) -> None:
    load(engine, [_ann(), _bob()], mode="full")
    with pytest.raises(TombstoneGuardError, match="without rows"):
        load(engine, [], mode="full")
    with pytest.raises(TombstoneGuardError, match="1 of 2"):
        load(engine, [_bob()], mode="full", options=LoadOptions(max_tombstone_fraction=0.25))
    assert one(engine, "SELECT count(*) FROM livevox.contacts WHERE deleted_at IS NULL")[0] == 2
    allowed = load(engine, [], mode="full", options=LoadOptions(allow_empty_full=True))
    assert allowed.tombstoned == 2


def test_a_broken_stream_leaves_nothing_behind(engine: Engine) -> None:
    load(engine, [_bob()])

    class Cut(Exception):
        pass

    def broken() -> Iterator[bytes]:
        yield body([_ann()])
        raise Cut("connection dropped")

    run_id = RunRepository(engine).start("test_broken")
    with pytest.raises(Cut), engine.begin() as conn:
        load_export(conn, list(ALL_KEYS), broken(), run_id=run_id, mode="full")
    assert [a for (a,) in rows(engine, "SELECT account FROM livevox.contacts")] == ["B-2"]
    assert one(engine, "SELECT count(*) FROM livevox.contact_history")[0] == 0


def test_history_on_insert_can_be_switched_on(engine: Engine) -> None:
    load(engine, [_ann()], options=LoadOptions(history_on_insert=True))
    row = one(engine, "SELECT operation, valid_from FROM livevox.contact_history")
    assert row == ("insert", datetime(2026, 11, 1, 10, 0, tzinfo=UTC))


def test_a_bad_pii_value_is_not_quoted_in_the_reason(engine: Engine) -> None:
    result = load(engine, [_ann(dateOfBirth="31/12/1980")])
    assert result.rejected == 1
    (reason,) = one(engine, "SELECT reason FROM syncd.rejected_rows")
    assert reason == "dateOfBirth: not a date MM/DD/YYYY"
