"""The bulk CSV export as a stream: incremental gunzip, header mapping, truncation checks.

The export can hold millions of rows, so nothing here holds the body: compressed bytes are
read from the socket as they come (``httpx.Response.iter_raw``, no transparent decoding),
inflated by ``zlib`` with a bounded output size per step (a highly compressible body cannot
balloon one chunk), and handed on. Only the header line is parsed here; ``iter_raw`` gives
the bytes after it, for a ``COPY``.

A stream that stops early must never look complete. Three checks catch it: HTTP framing
(h11 raises when a ``Content-Length`` or chunked body ends early or the connection drops),
gzip framing (a member that has not reached its trailer, whose CRC and length zlib checks),
and an empty body (an export always has a header). Any of them raises
``ExportTruncatedError`` *after* the data already handed out, so a consumer that loads into a
transaction must roll back on that error. Gzip is recognised by the
``Content-Encoding`` header or by its magic bytes (the spec shows the compressed reply with
only a vague content type).
"""

from __future__ import annotations

import codecs
import csv
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from syncd.livevox._errors import (
    ExportConsumedError,
    ExportCorruptError,
    ExportHeaderError,
    ExportRowError,
    ExportTruncatedError,
)
from syncd.livevox._fields import FieldSpec, FieldTable, resolve_header

_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_WBITS = 16 + zlib.MAX_WBITS
MAX_HEADER_BYTES = 1024 * 1024
"""A header line longer than this is not a CSV header (guards memory)."""


class _Inflater:
    """Incremental gunzip of a (possibly multi-member) gzip stream with bounded output."""

    def __init__(self, max_out: int) -> None:
        self._max_out = max_out
        self._d = zlib.decompressobj(_GZIP_WBITS)
        self._in_member = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        while data:
            self._in_member = True
            out = self._d.decompress(data, self._max_out)
            if out:
                yield out
            if self._d.eof:
                # a member ended; whatever follows is the next member
                self._in_member = False
                data = self._d.unused_data
                self._d = zlib.decompressobj(_GZIP_WBITS)
            else:
                data = self._d.unconsumed_tail

    def finish(self) -> bytes:
        """Remaining output; ``EOFError`` when the last member stops before its trailer."""
        tail = self._d.flush() if self._in_member else b""
        if self._in_member and not self._d.eof:
            raise EOFError("gzip member ends before its trailer")
        return tail


def _decoded_chunks(response: httpx.Response, max_out: int, counter: list[int]) -> Iterator[bytes]:
    """Decompressed body chunks; ``counter[0]`` tracks compressed bytes received."""
    declared_gzip = "gzip" in response.headers.get("content-encoding", "").lower()
    inflater: _Inflater | None = _Inflater(max_out) if declared_gzip else None
    sniffed = declared_gzip
    produced = False
    try:
        for raw in response.iter_raw():
            if not raw:
                continue
            counter[0] += len(raw)
            if not sniffed:
                sniffed = True
                if raw.startswith(_GZIP_MAGIC):
                    inflater = _Inflater(max_out)
            if inflater is None:
                for start in range(0, len(raw), max_out):
                    produced = True
                    yield raw[start : start + max_out]
                continue
            for out in inflater.feed(raw):
                produced = True
                yield out
        if inflater is not None:
            tail = inflater.finish()
            if tail:
                produced = True
                yield tail
    except (httpx.TransportError, httpx.StreamError) as exc:
        raise ExportTruncatedError(
            f"connection ended early ({type(exc).__name__})", bytes_received=counter[0]
        ) from exc
    except EOFError as exc:
        raise ExportTruncatedError(str(exc), bytes_received=counter[0]) from exc
    except zlib.error as exc:
        raise ExportCorruptError(str(exc), bytes_received=counter[0]) from exc
    if not produced:
        raise ExportTruncatedError("empty body (no header line)", bytes_received=counter[0])


class ExportStream:
    """An open bulk export: the header is read, the rows wait on the socket.

    ``header_labels`` are the CSV headers as sent, ``columns`` the field keys they map to, in
    CSV order. Read the data once, with ``iter_raw`` (bytes after the header line) or
    ``iter_rows`` (typed dicts). Either raises ``ExportTruncatedError`` at the point the
    stream proves incomplete.
    """

    def __init__(
        self,
        response: httpx.Response,
        *,
        table: FieldTable,
        custom_labels: Mapping[str, str],
        expected: Sequence[str],
        chunk_bytes: int,
    ) -> None:
        self._response = response
        self._table = table
        self._counter = [0]
        self._chunks = _decoded_chunks(response, chunk_bytes, self._counter)
        self._consumed = False
        self.bytes_decoded = 0
        header, rest = self._read_header()
        self._pending = rest
        self.header_labels: list[str] = header
        self.columns: list[str] = resolve_header(header, table, custom_labels, expected)
        duplicates = sorted({c for c in self.columns if self.columns.count(c) > 1})
        if duplicates:
            raise ExportHeaderError(f"export header lists fields twice: {', '.join(duplicates)}")

    @property
    def bytes_received(self) -> int:
        """Bytes read off the wire so far (compressed, when gzip)."""
        return self._counter[0]

    @property
    def content_encoding(self) -> str:
        encoding: str = self._response.headers.get("content-encoding", "identity")
        return encoding

    def _read_header(self) -> tuple[list[str], bytes]:
        buffer = b""
        for chunk in self._chunks:
            self.bytes_decoded += len(chunk)
            buffer += chunk
            end = buffer.find(b"\n")
            if end >= 0:
                return self._parse_header(buffer[:end]), buffer[end + 1 :]
            if len(buffer) > MAX_HEADER_BYTES:
                raise ExportHeaderError("export header line exceeds 1 MiB")
        # the whole body is one line without a newline: a header-only export
        return self._parse_header(buffer), b""

    @staticmethod
    def _parse_header(line: bytes) -> list[str]:
        text = line.decode("utf-8-sig").rstrip("\r")
        rows = list(csv.reader([text]))
        if not rows or not rows[0] or rows[0] == [""]:
            raise ExportHeaderError("export header line is empty")
        return rows[0]

    def iter_raw(self) -> Iterator[bytes]:
        """Decompressed CSV bytes after the header line, in chunks (single pass)."""
        if self._consumed:
            raise ExportConsumedError()
        self._consumed = True
        if self._pending:
            pending, self._pending = self._pending, b""
            yield pending
        for chunk in self._chunks:
            self.bytes_decoded += len(chunk)
            yield chunk

    def iter_rows(self) -> Iterator[dict[str, Any]]:
        """Rows as ``{field key: typed value}``; empty cells are None (single pass)."""
        specs = self._table.by_key()
        parsers = [_parser_for(specs[c]) for c in self.columns]
        width = len(self.columns)
        reader = csv.reader(_text_lines(self.iter_raw()))
        for row in reader:
            line = reader.line_num + 1  # +1: the header line was read before
            if row == []:
                continue
            if len(row) != width:
                raise ExportRowError(
                    line=line, column=None, reason=f"{len(row)} values for {width} columns"
                )
            record: dict[str, Any] = {}
            for key, parse, raw in zip(self.columns, parsers, row, strict=True):
                try:
                    record[key] = parse(raw)
                except (ValueError, InvalidOperation) as exc:
                    raise ExportRowError(
                        line=line, column=key, reason=f"not a valid {specs[key].type}"
                    ) from exc
            yield record

    def close(self) -> None:
        self._response.close()


def _text_lines(chunks: Iterator[bytes]) -> Iterator[str]:
    """Lines (newline kept) of UTF-8 text arriving in arbitrary byte chunks."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    carry = ""
    for chunk in chunks:
        carry += decoder.decode(chunk)
        start = 0
        while (end := carry.find("\n", start)) >= 0:
            yield carry[start : end + 1]
            start = end + 1
        carry = carry[start:]
    carry += decoder.decode(b"", final=True)
    if carry:
        yield carry


# --- typed values (iter_rows) ---------------------------------------------------------

_TRUE = frozenset({"true", "t", "1", "yes", "y"})
_FALSE = frozenset({"false", "f", "0", "no", "n"})


def parse_bool(text: str) -> bool:
    folded = text.strip().lower()
    if folded in _TRUE:
        return True
    if folded in _FALSE:
        return False
    raise ValueError("not a boolean")


def parse_datetime(text: str) -> datetime:
    """``MM/DD/YYYY HH:MM:SS`` (UTC), ``MM/DD/YYYY``, epoch milliseconds or ISO 8601."""
    text = text.strip()
    if text.lstrip("-").isdigit():
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    for fmt in ("%m/%d/%Y %H:%M:%S", "%m/%d/%Y"):
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def parse_date(text: str) -> date:
    """``MM/DD/YYYY`` (a time part is ignored), epoch milliseconds (UTC) or ISO 8601."""
    return parse_datetime(text).date()


def parse_decimal(text: str) -> Decimal:
    value = Decimal(text.strip())
    if not value.is_finite():
        raise ValueError("not a finite number")
    return value


def _optional(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse_or_none(text: str) -> Any:
        return None if text == "" else parse(text)

    return parse_or_none


_PARSERS: dict[str, Callable[[str], Any]] = {
    "string": str,
    "integer": lambda t: int(t.strip()),
    "decimal": parse_decimal,
    "boolean": parse_bool,
    "date": parse_date,
    "datetime": parse_datetime,
}


def _parser_for(spec: FieldSpec) -> Callable[[str], Any]:
    # custom field values are stored as text by LiveVox whatever their declared dataType
    return _optional(_PARSERS["string" if spec.group == "custom" else spec.type])
