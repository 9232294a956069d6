"""Bulk CSV download: the rows of a store snapshot as a streamed, optionally gzipped CSV.

The body is produced by a generator in batches of rows (never the whole file in memory) and
served by a StreamingResponse. Throughput matters (an incremental sync may read a million
rows), so generated contacts take a fast path: their non-custom fields come from
`ContactGenerator.parts` and are formatted straight into a row template, and each of the
generator's shared custom-value blocks is formatted once per export. Changed and created
contacts go through the same formatters from their sparse records.

Values follow the data file's csv_format: dates MM/DD/YYYY, datetimes MM/DD/YYYY HH:MM:SS
(UTC), booleans true/false, empty for absent; quoting is RFC 4180 (the csv module).

`startDate`/`endDate` filter on modifyDate, inclusive: a `CCYY-MM-DD` date covers that whole
UTC day, epoch milliseconds name an instant. When the range starts after the newest generated
modifyDate, generated contacts are skipped without being generated.
"""

from __future__ import annotations

import csv
import functools
import io
import re
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from operator import itemgetter
from typing import Any

from . import coerce
from .errors import ExportCut, InvalidValue
from .fields import FieldCatalog
from .generator import CUSTOM_BLOCKS, ContactGenerator
from .payloads import require_list, require_object
from .store import Snapshot

ALL_FIELDS = "allFields"
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
BATCH_ROWS = 1000
GZIP_LEVEL = 1  # speed over ratio: CSV still shrinks to about a quarter

Formatter = Callable[[Any], str] | None  # None: the value is already text


@dataclass(frozen=True)
class ExportRequest:
    keys: tuple[str, ...]
    start: datetime | None  # inclusive
    end: datetime | None  # exclusive

    def matches(self, modified: datetime | None) -> bool:
        if self.start is None and self.end is None:
            return True
        if modified is None:
            return False
        return (self.start is None or modified >= self.start) and (
            self.end is None or modified < self.end
        )


def parse_export_request(body: Any, catalog: FieldCatalog) -> ExportRequest:
    obj = require_object(body, "body")
    unknown = sorted(set(obj) - {"exportableFields", "startDate", "endDate"})
    if unknown:
        raise InvalidValue(unknown[0], "unknown field")
    if "exportableFields" not in obj:
        raise InvalidValue("exportableFields", "is required")
    names = require_list(obj["exportableFields"], "exportableFields")
    if not names:
        raise InvalidValue("exportableFields", "must name at least one field")
    keys: list[str] = []
    for i, name in enumerate(names):
        if name == ALL_FIELDS:
            keys = list(catalog.keys)
            break
        if not isinstance(name, str) or name not in catalog.by_key:
            raise InvalidValue(f"exportableFields[{i}]", f"unknown exportable field {name!r}")
        keys.append(name)
    return ExportRequest(
        keys=tuple(keys),
        start=_bound(obj.get("startDate"), "startDate", end=False),
        end=_bound(obj.get("endDate"), "endDate", end=True),
    )


def _bound(value: Any, where: str, *, end: bool) -> datetime | None:
    if value is None:
        return None
    instant = coerce.to_instant(where, value)
    assert instant is not None
    whole_day = isinstance(value, str) and _DAY_RE.fullmatch(value.strip()) is not None
    if end:
        # inclusive end: the whole day for a date, the whole millisecond for a timestamp
        return instant + (timedelta(days=1) if whole_day else timedelta(milliseconds=1))
    return instant


def _fmt_bool(value: Any) -> str:
    return "true" if value else "false"


def _fmt_int(value: Any) -> str:
    return "" if value is None else str(value)


def _fmt_decimal(value: Any) -> str:
    return "" if value is None else f"{value:f}"


@functools.lru_cache(maxsize=65536)
def _fmt_day(value: date) -> str:
    # a few thousand distinct days cover most values; caching them halves the date cost
    return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"


def _fmt_date(value: date | None) -> str:
    return "" if value is None else _fmt_day(value)


def _fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{_fmt_day(value.date())} {value.hour:02d}:{value.minute:02d}:{value.second:02d}"


def _fmt_text(value: Any) -> str:
    return "" if value is None else str(value)


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "string": _fmt_text,
    "integer": _fmt_int,
    "decimal": _fmt_decimal,
    "boolean": _fmt_bool,
    "date": _fmt_date,
    "datetime": _fmt_datetime,
}


class RowFormatter:
    """Formats records as CSV rows of the requested keys."""

    def __init__(
        self,
        catalog: FieldCatalog,
        generator: ContactGenerator,
        keys: tuple[str, ...],
        custom_labels: Mapping[str, str],
    ) -> None:
        self._generator = generator
        self.header = [
            custom_labels.get(k, k) if catalog.by_key[k].group == "custom" else
            catalog.by_key[k].label
            for k in keys
        ]
        # Rows are built over *all* fields, then projected onto the requested keys.
        self._info: dict[str, tuple[int, Formatter]] = {}
        template = []
        for pos, field in enumerate(catalog.fields):
            fmt = _FORMATTERS[field.type]
            template.append(fmt(catalog.defaults[field.key]))
            # text values are written as they are; None never appears in a sparse record
            # of a text field, whose default is None
            self._info[field.key] = (pos, None if field.type == "string" else fmt)
        self._template = template
        positions = [self._info[k][0] for k in keys]
        self._project: Callable[[list[str]], list[str]] | None
        if positions == list(range(len(catalog.fields))):
            self._project = None
        elif len(positions) == 1:
            only = positions[0]
            self._project = lambda row: [row[only]]
        else:
            getter = itemgetter(*positions)
            self._project = lambda row: list(getter(row))
        self._blocks: list[list[tuple[int, str]] | None] = [None] * CUSTOM_BLOCKS

    def _fill(self, row: list[str], sparse: Mapping[str, Any]) -> None:
        info = self._info
        for key, value in sparse.items():
            pos, fmt = info[key]
            row[pos] = value if fmt is None else fmt(value)

    def record_row(self, sparse: Mapping[str, Any]) -> list[str]:
        row = self._template.copy()
        self._fill(row, sparse)
        return row if self._project is None else self._project(row)

    def generated_row(self, index: int) -> list[str]:
        standard, block = self._generator.parts(index)
        row = self._template.copy()
        self._fill(row, standard)
        cells = self._blocks[block]
        if cells is None:
            info = self._info
            cells = [
                (info[k][0], v) for k, v in self._generator.custom_block(block).items()
            ]
            self._blocks[block] = cells
        for pos, text in cells:
            row[pos] = text
        return row if self._project is None else self._project(row)


def export_rows(
    snapshot: Snapshot, request: ExportRequest, formatter: RowFormatter
) -> Iterator[list[str]]:
    """The rows of every live contact the request selects, in list order."""
    generator = snapshot.generator
    filtered = request.start is not None or request.end is not None
    skip_generated = (
        request.start is not None and request.start >= generator.newest_modify_date
    )
    if skip_generated:
        for _index, sparse in snapshot.changed_in_order():
            if request.matches(sparse.get("modifyDate")):
                yield formatter.record_row(sparse)
    else:
        changed = snapshot.changed
        deleted = snapshot.deleted
        for index in range(generator.count):
            if index in deleted:
                continue
            overlay = changed.get(index)
            if overlay is not None:
                if request.matches(overlay.get("modifyDate")):
                    yield formatter.record_row(overlay)
            elif not filtered or request.matches(generator.modify_date(index)):
                yield formatter.generated_row(index)
    for sparse in snapshot.created:
        if request.matches(sparse.get("modifyDate")):
            yield formatter.record_row(sparse)


def csv_text(
    header: list[str], rows: Iterable[list[str]], batch: int = BATCH_ROWS
) -> Iterator[str]:
    """CSV text (RFC 4180: CRLF line ends, quoting where needed) in pieces of `batch` rows.

    Most rows need no quoting, and a plain join is three times faster than `csv.writer`; a
    row is joined, checked (one comma per gap, no quote or line break) and only written by
    the csv module when the check fails.
    """
    quoting_buf = io.StringIO()
    quoting_writer = csv.writer(quoting_buf)

    def line(row: list[str]) -> str:
        text = ",".join(row)
        if (
            text.count(",") == len(row) - 1
            and '"' not in text
            and "\n" not in text
            and "\r" not in text
        ):
            return text
        quoting_buf.seek(0)
        quoting_buf.truncate()
        quoting_writer.writerow(row)
        return quoting_buf.getvalue()[:-2]  # without the writer's CRLF

    lines = [line(header)]
    for row in rows:
        lines.append(line(row))
        if len(lines) >= batch:
            lines.append("")
            yield "\r\n".join(lines)
            lines = []
    if lines:
        lines.append("")
        yield "\r\n".join(lines)


def encode_body(
    pieces: Iterable[str], *, gzip: bool, cut_after: int | None
) -> Iterator[bytes]:
    """UTF-8 (optionally gzip) bytes; with `cut_after`, stop after that many bytes on the
    wire and raise `ExportCut`, so the server drops the connection mid-body."""
    compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31) if gzip else None
    sent = 0

    def out(data: bytes) -> Iterator[bytes]:
        nonlocal sent
        if cut_after is not None and sent + len(data) > cut_after:
            head = data[: cut_after - sent]
            if head:
                yield head
            raise ExportCut(cut_after)
        sent += len(data)
        if data:
            yield data

    for piece in pieces:
        data = piece.encode("utf-8")
        if compressor is not None:
            data = compressor.compress(data)
        yield from out(data)
    if compressor is not None:
        yield from out(compressor.flush())
