"""Test-side export fixtures: CSV in the data file's formats, and a fake export source.

Values are written as LiveVox writes them: dates `MM/DD/YYYY`, datetimes
`MM/DD/YYYY HH:MM:SS` (UTC), booleans `true`/`false`, empty = NULL; the header uses labels.
`FakeExportSource` is our own port (`syncd.service.pull.ExportSource`) holding contacts in
memory, filtering on modifyDate like the bulk download, and able to cut its stream.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from syncd.store.field_columns import FIELDS

ALL_KEYS: tuple[str, ...] = tuple(f.key for f in FIELDS)
LABELS: dict[str, str] = {f.key: f.label for f in FIELDS}


def lv_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%m/%d/%Y %H:%M:%S")


def parse_lv_datetime(text: str) -> datetime:
    return datetime.strptime(text, "%m/%d/%Y %H:%M:%S").replace(tzinfo=UTC)


def contact(account: str, **values: str | None) -> dict[str, str | None]:
    """A contact row: field key → CSV text (None/absent = empty)."""
    row: dict[str, str | None] = {"account": account}
    row.update(values)
    return row


def csv_text(
    rows: Sequence[Mapping[str, str | None]],
    keys: Sequence[str] = ALL_KEYS,
    *,
    header: bool = True,
    line_end: str = "\r\n",
) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    if header:
        writer.writerow([LABELS.get(k, k) for k in keys])
    for row in rows:
        writer.writerow(["" if row.get(k) is None else row[k] for k in keys])
    return out.getvalue()


def body(rows: Sequence[Mapping[str, str | None]], keys: Sequence[str] = ALL_KEYS) -> bytes:
    """The bytes after the header line, as the client's `iter_raw()` yields them."""
    return csv_text(rows, keys, header=False).encode()


def chunked(data: bytes, size: int = 64) -> Iterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


class StreamCutError(Exception):
    """Stands in for the client's ExportTruncatedError."""


@dataclass
class ExportStream:
    """An export's bytes in chunks of `chunk`; cut (StreamCutError) after `cut_after` bytes."""

    columns: list[str]
    data: bytes
    cut_after: int | None
    chunk: int

    def iter_raw(self) -> Iterator[bytes]:
        limit = len(self.data) if self.cut_after is None else self.cut_after
        yield from chunked(self.data[:limit], self.chunk)
        if self.cut_after is not None:
            raise StreamCutError(f"export cut after {self.cut_after} bytes")


@dataclass
class FakeExportSource:
    """Contacts in memory; `export_contacts` filters on modifyDate like the bulk download."""

    contacts: dict[str, dict[str, str | None]] = field(default_factory=dict)
    keys: Sequence[str] = ALL_KEYS
    cut_after: int | None = None
    chunk: int = 97
    calls: list[tuple[datetime | None, datetime | None]] = field(default_factory=list)

    def put(self, row: dict[str, str | None]) -> None:
        self.contacts[str(row["account"])] = row

    def edit(self, account: str, at: datetime, **values: str | None) -> None:
        self.contacts[account].update(values, modifyDate=lv_datetime(at))

    def delete(self, account: str) -> None:
        del self.contacts[account]

    @contextmanager
    def export_contacts(
        self,
        fields: Sequence[str] = ("allFields",),
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> Iterator[ExportStream]:
        assert tuple(fields) == ("allFields",)
        self.calls.append((start, end))
        rows = [
            row for row in self.contacts.values() if _in_range(row.get("modifyDate"), start, end)
        ]
        yield ExportStream(list(self.keys), body(rows, self.keys), self.cut_after, self.chunk)


def _in_range(modify: str | None, start: datetime | None, end: datetime | None) -> bool:
    if start is None and end is None:
        return True
    if modify is None:
        return False
    at = parse_lv_datetime(modify)
    return (start is None or at >= start) and (end is None or at <= end)
