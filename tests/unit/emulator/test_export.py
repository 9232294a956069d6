"""Bulk CSV download: format, filters, overlay, fast path, gzip and cut-off streams."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncd.emulator.clock import ManualClock
from syncd.emulator.dnd import DndAction
from syncd.emulator.export import (
    RowFormatter,
    csv_text,
    encode_body,
    export_rows,
    parse_export_request,
)
from syncd.emulator.fields import load_fields
from syncd.emulator.generator import ContactGenerator
from syncd.emulator.payloads import ContactPatch, PhonePatch
from syncd.emulator.seed_data import CUSTOM_FIELDS
from syncd.emulator.store import ContactStore

from .conftest import RunningEmulator

START = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
HISTORY_END = datetime(2025, 1, 1, tzinfo=UTC)
LABELS = {cf.field: cf.label for cf in CUSTOM_FIELDS}


class CountingGenerator(ContactGenerator):
    """A real generator that counts how often contacts are generated."""

    calls = 0

    def parts(self, index: int) -> tuple[dict[str, Any], int]:
        self.calls += 1
        return super().parts(index)

    def modify_date(self, index: int) -> datetime:
        self.calls += 1
        return super().modify_date(index)


def make_store(count: int = 50) -> tuple[ContactStore, ManualClock]:
    clock = ManualClock(START)
    generator = CountingGenerator(
        seed=4, count=count, account_prefix="ACC", client_id=1001, history_end=HISTORY_END
    )
    return ContactStore(generator, load_fields(), clock), clock


def export(store: ContactStore, body: dict[str, Any]) -> list[list[str]]:
    request = parse_export_request(body, store.catalog)
    formatter = RowFormatter(store.catalog, store.generator, request.keys, LABELS)
    text = "".join(csv_text(formatter.header, export_rows(store.snapshot(), request, formatter)))
    assert text.endswith("\r\n")
    return list(csv.reader(io.StringIO(text)))


def test_all_fields_in_data_file_order_with_labels() -> None:
    store, _ = make_store(count=3)

    rows = export(store, {"exportableFields": ["allFields"]})

    catalog = load_fields()
    expected = [LABELS.get(f.key, f.label) for f in catalog.fields]
    assert rows[0] == expected
    assert rows[0][:3] == ["Account", "Account Due Date", "Account To Speak"]
    assert "Zip/Postal Code" in rows[0] and "Payment Balance" in rows[0]
    assert rows[0][catalog.keys.index("COL1")] == "Company"
    assert rows[0][catalog.keys.index("COL99")] == "COL99"  # unconfigured: its name
    assert len(rows) == 4 and all(len(r) == len(catalog.fields) for r in rows)


def test_generated_fast_path_equals_the_generic_formatting() -> None:
    store, _ = make_store(count=300)
    catalog = store.catalog
    formatter = RowFormatter(catalog, store.generator, catalog.keys, LABELS)

    for index in range(300):
        assert formatter.generated_row(index) == formatter.record_row(
            store.generator.sparse(index)
        )


def test_values_are_formatted_per_the_data_file() -> None:
    store, clock = make_store(count=0)
    clock.set(datetime(2026, 7, 4, 9, 5, 7, 250_000, tzinfo=UTC))
    store.create(
        "A-1",
        ContactPatch(
            values={
                "dueDate": datetime(2026, 8, 1).date(),
                "balance": Decimal("1234.50"),
                "city": 'He said "hi", then\nleft',
                "active": True,
            },
            account_block=DndAction.DAILY,
            phones=[PhonePatch(2, "6505551234", True, DndAction.PERMANENT)],
        ),
        "admin",
    )
    keys = ["account", "dueDate", "balance", "city", "active", "accountBlock",
            "accountBlockDaily", "phone2", "phone2Block", "phone1", "modifyDate", "agentId"]

    rows = export(store, {"exportableFields": keys})

    assert rows[1] == [
        "A-1", "08/01/2026", "1234.50", 'He said "hi", then\nleft', "true", "false", "true",
        "6505551234", "true", "", "07/04/2026 09:05:07", "",
    ]


def test_changed_deleted_and_created_contacts() -> None:
    store, _ = make_store(count=5)
    store.update("ACC0000002", ContactPatch(values={"city": "Changed"}), "admin")
    store.delete("ACC0000003")
    store.create("NEW", ContactPatch(values={"city": "Created"}), "admin")

    rows = export(store, {"exportableFields": ["account", "city"]})

    assert [r[0] for r in rows[1:]] == ["ACC0000001", "ACC0000002", "ACC0000004",
                                       "ACC0000005", "NEW"]
    assert rows[2][1] == "Changed" and rows[5][1] == "Created"


def test_date_range_is_inclusive_whole_days_or_instants() -> None:
    store, clock = make_store(count=0)
    for day, account in ((9, "A"), (10, "B"), (11, "C")):
        clock.set(datetime(2026, 3, day, 23, 59, 59, tzinfo=UTC))
        store.create(account, ContactPatch(), "admin")

    def accounts(body: dict[str, Any]) -> list[str]:
        return [r[0] for r in export(store, {"exportableFields": ["account"], **body})[1:]]

    assert accounts({"startDate": "2026-03-10", "endDate": "2026-03-10"}) == ["B"]
    assert accounts({"startDate": "2026-03-10"}) == ["B", "C"]
    assert accounts({"endDate": "2026-03-10"}) == ["A", "B"]
    b_ms = int(datetime(2026, 3, 10, 23, 59, 59, tzinfo=UTC).timestamp() * 1000)
    assert accounts({"startDate": b_ms, "endDate": str(b_ms)}) == ["B"]
    assert accounts({"startDate": b_ms + 1}) == ["C"]


def test_a_range_after_the_generated_history_does_not_generate_contacts() -> None:
    store, _ = make_store(count=10_000)
    store.update("ACC0000007", ContactPatch(values={"city": "Fresh"}), "admin")
    generator = store.generator
    assert isinstance(generator, CountingGenerator)
    generator.calls = 0

    rows = export(store, {"exportableFields": ["account", "city"], "startDate": "2026-01-01"})

    assert rows[1:] == [["ACC0000007", "Fresh"]]
    assert generator.calls == 0


def test_a_range_inside_history_filters_generated_contacts() -> None:
    store, _ = make_store(count=200)
    start = datetime(2024, 6, 1, tzinfo=UTC)
    expected = [
        store.generator.account(i)
        for i in range(200)
        if store.generator.modify_date(i) >= start
    ]

    rows = export(store, {"exportableFields": ["account"], "startDate": "2024-06-01"})

    assert [r[0] for r in rows[1:]] == expected and 0 < len(expected) < 200


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"exportableFields": ["account", "nickname"]}, "exportableFields[1]"),
        ({"exportableFields": []}, "at least one"),
        ({"exportableFields": "account"}, "expected an array"),
        ({"exportableFields": ["account"], "startDate": "yesterday"}, "startDate"),
        ({"exportableFields": ["account"], "format": "xml"}, "format"),
    ],
)
def test_bad_export_requests_are_rejected(body: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        parse_export_request(body, load_fields())


def test_encode_body_cuts_after_exactly_n_bytes() -> None:
    pieces = ["a" * 100, "b" * 100, "c" * 100]

    received = b""
    with pytest.raises(Exception, match="cut after 150 bytes"):
        for chunk in encode_body(pieces, gzip=False, cut_after=150):
            received += chunk
    assert received == b"a" * 100 + b"b" * 50
    # a body shorter than the cut is sent whole
    whole = b"".join(encode_body(pieces, gzip=False, cut_after=300))
    assert whole == b"a" * 100 + b"b" * 100 + b"c" * 100


# -- over HTTP ---------------------------------------------------------------------------------


def test_http_export_gzip_and_identity(emu: RunningEmulator, admin: httpx.Client) -> None:
    body = {"exportableFields": ["account", "dueDate"]}

    plain = admin.post(
        "/contact/contacts/bulk", json=body, headers={"Accept-Encoding": "identity"}
    )
    with admin.stream(
        "POST", "/contact/contacts/bulk", json=body, headers={"Accept-Encoding": "gzip"}
    ) as response:
        raw = b"".join(response.iter_raw())
        compressed_headers = response.headers

    assert plain.status_code == 200
    assert plain.headers["content-type"].startswith("text/csv")
    assert "content-encoding" not in plain.headers
    assert compressed_headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw).decode() == plain.text
    lines = plain.text.split("\r\n")
    assert lines[0] == "Account,Account Due Date" and len(lines) == 30 + 2


def test_http_export_cut_by_fault_leaves_an_incomplete_body(
    emu: RunningEmulator, admin: httpx.Client
) -> None:
    emu.state.faults.configure("cut_export=1,cut_export_after=2000")
    received = b""

    with (
        pytest.raises(httpx.RemoteProtocolError),
        admin.stream(
            "POST",
            "/contact/contacts/bulk",
            json={"exportableFields": ["allFields"]},
            headers={"Accept-Encoding": "identity"},
        ) as response,
    ):
        assert response.status_code == 200
        for chunk in response.iter_raw():
            received += chunk
    assert len(received) == 2000


def test_http_export_needs_sysadmin_or_superuser(
    start_emulator: Callable[..., RunningEmulator],
) -> None:
    emu = start_emulator(contacts=2)
    body = {"exportableFields": ["account"]}

    assert emu.login("superuser").post("/contact/contacts/bulk", json=body).status_code == 200
    denied = emu.login("manager").post("/contact/contacts/bulk", json=body)
    assert denied.status_code == 403 and denied.json()["code"] == 403
    bad = emu.login("admin").post("/contact/contacts/bulk", json={"exportableFields": ["x"]})
    assert bad.status_code == 400 and "exportableFields[0]" in bad.json()["message"]
