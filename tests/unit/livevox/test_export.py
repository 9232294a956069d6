"""Bulk export stream: gzip on the wire, flat memory, header mapping, truncation detection."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from syncd.livevox import (
    ExportConsumedError,
    ExportCorruptError,
    ExportRowError,
    ExportTruncatedError,
    InvalidDateRangeError,
    LiveVoxClient,
    ServiceUnavailableError,
    UnknownExportColumnError,
    UnknownExportFieldError,
)
from tests.unit.livevox.conftest import FakeLiveVox, body_of, json_response

Factory = Callable[..., tuple[LiveVoxClient, FakeLiveVox]]

CSV = (
    b"Account,Account Due Date,Payment Balance,Account DND,Modify Date,Company\r\n"
    b"MF1234,08/27/2018,100.50,true,01/02/2020 03:04:05,Acme\r\n"
    b"101243,,,false,1577934245000,\r\n"
    b'"Q,1","12/31/1999",0,FALSE,12/31/1999 23:59:59,"multi\nline"\r\n'
)
BODY = CSV.split(b"\n", 1)[1]
CUSTOM = {"customFields": [{"field": "COL9", "label": "Company", "dataType": "STRING"}]}


def chunks(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


def exporter(
    body: Iterable[bytes] | Callable[[], Iterator[bytes]],
    *,
    gzip_header: bool = True,
    seen: list[httpx.Request] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/customFields"):
            return json_response(200, CUSTOM)
        if seen is not None:
            seen.append(request)
        headers = {"Content-Type": "text/csv"}
        if gzip_header:
            headers["Content-Encoding"] = "gzip"
        stream = body() if callable(body) else iter(list(body))
        return httpx.Response(200, headers=headers, content=stream)

    return handler


def read_all(client: LiveVoxClient, **kwargs: Any) -> tuple[list[str], bytes]:
    with client.export_contacts(**kwargs) as export:
        return export.columns, b"".join(export.iter_raw())


@pytest.mark.parametrize("chunk", [1, 7, 4096])
def test_gzip_stream_is_decompressed_incrementally(make_client: Factory, chunk: int) -> None:
    seen: list[httpx.Request] = []
    client, _ = make_client(exporter(chunks(gzip.compress(CSV), chunk), seen=seen))
    with client.export_contacts() as export:
        assert export.header_labels[0] == "Account"
        assert export.columns == ["account", "dueDate", "balance", "accountBlock", "modifyDate",
                                  "COL9"]
        assert b"".join(export.iter_raw()) == BODY
    request = seen[0]
    assert request.headers["Accept-Encoding"] == "gzip"
    assert body_of(request) == {"exportableFields": ["allFields"]}


def test_identity_body_and_sniffed_gzip(make_client: Factory) -> None:
    client, _ = make_client(exporter(chunks(CSV, 5), gzip_header=False))
    assert read_all(client)[1] == BODY
    client, _ = make_client(exporter(chunks(gzip.compress(CSV), 9), gzip_header=False))
    assert read_all(client)[1] == BODY


def test_multi_member_gzip(make_client: Factory) -> None:
    data = gzip.compress(CSV[:50]) + gzip.compress(CSV[50:])
    client, _ = make_client(exporter(chunks(data, 11)))
    assert read_all(client)[1] == BODY


@pytest.mark.parametrize("cut", [5, 40, -9, -1])
def test_cut_gzip_raises_truncated(make_client: Factory, cut: int) -> None:
    data = gzip.compress(CSV * 50)
    client, _ = make_client(exporter([data[:cut]]))
    with pytest.raises(ExportTruncatedError) as info, client.export_contacts() as export:
        for _ in export.iter_raw():
            pass
    assert info.value.bytes_received == len(data[:cut])


def test_dropped_connection_raises_truncated_after_data(make_client: Factory) -> None:
    data = gzip.compress(CSV * 100)

    def body() -> Iterator[bytes]:
        yield data[:200]
        raise httpx.RemoteProtocolError("peer closed connection without sending complete body")

    client, _ = make_client(exporter(body))
    received = b""
    with pytest.raises(ExportTruncatedError), client.export_contacts() as export:
        for piece in export.iter_raw():
            received += piece
    assert received  # data was handed out, and the stream still ended in an error


def test_rows_also_raise_truncated(make_client: Factory) -> None:
    data = gzip.compress(CSV * 50)
    client, _ = make_client(exporter([data[: len(data) // 2]]))
    with pytest.raises(ExportTruncatedError), client.export_contacts() as export:
        list(export.iter_rows())


def test_corrupt_gzip_checksum(make_client: Factory) -> None:
    data = bytearray(gzip.compress(CSV))
    data[-6] ^= 0xFF  # inside the CRC32 trailer
    client, _ = make_client(exporter([bytes(data)]))
    with pytest.raises(ExportCorruptError), client.export_contacts() as export:
        list(export.iter_raw())


def test_empty_body_is_truncated(make_client: Factory) -> None:
    client, _ = make_client(exporter([], gzip_header=False))
    with pytest.raises(ExportTruncatedError), client.export_contacts():
        pass


def test_header_only_export(make_client: Factory) -> None:
    client, _ = make_client(exporter([gzip.compress(b"Account,Account Due Date\r\n")]))
    assert read_all(client, fields=["account", "dueDate"]) == (["account", "dueDate"], b"")


def test_unknown_header_names_it(make_client: Factory) -> None:
    client, _ = make_client(exporter([b"Account,Hat Size\n1,2\n"], gzip_header=False))
    with pytest.raises(UnknownExportColumnError) as info, client.export_contacts():
        pass
    assert info.value.header == "Hat Size"


def test_rows_are_typed(make_client: Factory) -> None:
    client, _ = make_client(exporter(chunks(gzip.compress(CSV), 3)))
    with client.export_contacts() as export:
        rows = list(export.iter_rows())
    assert rows[0] == {
        "account": "MF1234",
        "dueDate": date(2018, 8, 27),
        "balance": Decimal("100.50"),
        "accountBlock": True,
        "modifyDate": datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC),
        "COL9": "Acme",
    }
    assert rows[1]["dueDate"] is None and rows[1]["COL9"] is None
    assert rows[1]["modifyDate"] == datetime(2020, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert rows[2]["account"] == "Q,1" and rows[2]["COL9"] == "multi\nline"
    assert rows[2]["accountBlock"] is False


def test_bad_value_names_line_and_column_not_value(make_client: Factory) -> None:
    csv = b"Account,SSN,Date Of Birth\r\na,123-45-6789,13/45/1999\r\n"
    client, _ = make_client(exporter([csv], gzip_header=False))
    with pytest.raises(ExportRowError) as info, client.export_contacts() as export:
        list(export.iter_rows())
    assert (info.value.line, info.value.column) == (2, "dateOfBirth")
    assert "13/45" not in str(info.value) and "6789" not in str(info.value)
    client, _ = make_client(exporter([b"Account,City\r\na\r\n"], gzip_header=False))
    with pytest.raises(ExportRowError), client.export_contacts() as export:
        list(export.iter_rows())


def test_memory_stays_flat_on_a_highly_compressible_body(make_client: Factory) -> None:
    row = b"A" * 60 + b",01/01/2020\n"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def body() -> Iterator[bytes]:
        yield compressor.compress(b"Account,Account Due Date\n")
        for _ in range(200):
            yield compressor.compress(row * 1000)
        yield compressor.flush()

    client, _ = make_client(exporter(body), export_chunk_bytes=4096)
    total = 0
    with client.export_contacts(fields=["account", "dueDate"]) as export:
        for piece in export.iter_raw():
            assert len(piece) <= 4096
            total += len(piece)
        assert export.bytes_received < total / 50
    assert total == len(row) * 200_000


def test_stream_is_single_pass(make_client: Factory) -> None:
    client, _ = make_client(exporter([CSV], gzip_header=False))
    with client.export_contacts() as export:
        list(export.iter_raw())
        with pytest.raises(ExportConsumedError):
            list(export.iter_rows())


def test_date_range_forms(make_client: Factory) -> None:
    seen: list[httpx.Request] = []
    client, _ = make_client(exporter(lambda: iter([CSV]), gzip_header=False, seen=seen))
    read_all(client, start="2019-05-01", end="2020-01-13")
    read_all(client, start=date(2020, 1, 1), end=date(2020, 1, 1))
    read_all(client, start=datetime(2020, 1, 1, 4, tzinfo=UTC), end=1577858400000)
    bodies = [body_of(r) for r in seen]
    assert bodies[0] == {"exportableFields": ["allFields"], "startDate": "2019-05-01",
                         "endDate": "2020-01-13"}
    assert (bodies[1]["startDate"], bodies[1]["endDate"]) == (1577836800000, 1577923199999)
    assert (bodies[2]["startDate"], bodies[2]["endDate"]) == (1577851200000, 1577858400000)


@pytest.mark.parametrize("bad", ["2020/01/01", "2020-02-30", "yesterday", True])
def test_bad_dates_fail_before_any_request(make_client: Factory, bad: Any) -> None:
    client, fake = make_client(exporter([CSV]))
    with pytest.raises(InvalidDateRangeError), client.export_contacts(start=bad):
        pass
    assert fake.requests == []


def test_unknown_export_field_fails_before_any_request(make_client: Factory) -> None:
    client, fake = make_client(exporter([CSV]))
    with pytest.raises(UnknownExportFieldError), client.export_contacts(fields=["shoeSize"]):
        pass
    assert fake.requests == []


def test_opening_is_retried_but_not_forever(make_client: Factory) -> None:
    attempts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/customFields"):
            return json_response(200, CUSTOM)
        attempts.append(1)
        if len(attempts) == 1:
            return json_response(503, {"code": 503, "message": "busy"})
        return httpx.Response(200, headers={"Content-Encoding": "gzip"},
                              content=iter([gzip.compress(CSV)]))

    client, _ = make_client(handler)
    assert read_all(client)[1] == BODY
    assert len(attempts) == 2
    client, _ = make_client(lambda r: json_response(503, {"code": 503}), max_attempts=2)
    with pytest.raises(ServiceUnavailableError), client.export_contacts():
        pass
