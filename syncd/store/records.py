"""Quote-aware CSV record splitting and line hashing for the COPY stream (no row parsing).

The loader never parses CSV rows in Python (one Postgres backend parsing CSV is the ceiling,
see perf-floor.md). This module only finds record boundaries and prefixes each record with
bookkeeping columns, so Postgres still does all the parsing:

    <line>,<hash>,<reject>,<raw>,<the record's own fields...>

* Boundaries: a newline ends a record unless it lies inside quotes. Postgres' CSV reader
  toggles "in quotes" on every quote character (a doubled quote toggles twice), so the parity
  of quote characters seen so far decides, exactly as Postgres will; `bytes.split` and
  `bytes.count` keep the common case (no quotes) in C.
* Hash: a 64-bit BLAKE2b of the record's bytes (without its line ending), salted with the
  column list, so a re-exported unchanged contact hashes the same and a different column set
  never matches. Stored in `livevox.contacts.row_hash`; unchanged rows are skipped by a join.
* Rows Postgres would choke on — wrong field count, invalid UTF-8, NUL bytes, a bare carriage
  return outside quotes, the `\\.` end marker inside a quoted value, an unterminated quote at
  the end — are not passed through: they become a row with `reject` (the reason) and `raw`
  (the original text) set and empty fields, so one bad row never fails the COPY.
  The account field is still extracted when it can be, so a full reconcile does not
  tombstone a contact whose row was malformed; when an open quote swallowed the lines after
  it, the account each of those lines starts with is staged too (`reject` empty: protected,
  neither a rejection nor a candidate).

Direct mode (`direct_run_id` set; the first load into an empty mirror, see
`initial_load.py`): records go straight into `livevox.contacts` as

    <hash>,<run_id>,<the record's own fields...>

and a row that would be rejected — or whose account is over 255 characters — raises
`DirectStagingAborted` instead: that path has no place for rejections, the loader falls back
to the staging path, which records them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Iterable, Iterator, Sequence

REDACTED = "***"
"""What a rejected row's raw text shows instead of a PII value (SSN, date of birth)."""
# A misaligned row's fields cannot be trusted to be where the header says: mask every
# SSN-shaped (nine digits, dashes optional) and date-shaped token instead.
_SSN_SHAPE = re.compile(r"(?<!\d)\d{3}-?\d{2}-?\d{4}(?!\d)")
_DATE_SHAPE = re.compile(r"(?<!\d)(\d{1,2}/\d{1,2}/\d{2,4}|\d{4}-\d{2}-\d{2})(?!\d)")

# Stray quotes inside the lines another stray quote swallowed are read again up to this depth;
# deeper, the whole swallowed record is rejected (its lines' accounts still protected).
_MAX_RECOVERY = 8

MAX_ACCOUNT_LENGTH = 255
"""Longest account the mirror accepts (characters); longer ones are rejected rows."""

# 64-bit digests: the chance that a changed row hashes like its previous version is 2**-64.
_DIGEST_SIZE = 8


def column_salt(columns: Sequence[str]) -> bytes:
    """16-byte salt naming the column list (BLAKE2b's salt parameter is at most 16 bytes)."""
    return hashlib.blake2b("\x1f".join(columns).encode(), digest_size=16).digest()


def record_hash(record: bytes, salt: bytes) -> int:
    """Signed 64-bit hash of one record (its bytes without the line ending)."""
    digest = hashlib.blake2b(record, digest_size=_DIGEST_SIZE, salt=salt).digest()
    return int.from_bytes(digest, "big", signed=True)


def count_fields(record: bytes) -> int:
    """Number of CSV fields in one record, counting delimiters outside quotes."""
    if b'"' not in record:
        return record.count(b",") + 1
    # Splitting on quotes alternates outside/inside segments (a doubled quote leaves an empty
    # inside segment), so commas in the even segments are delimiters.
    return sum(seg.count(b",") for seg in record.split(b'"')[::2]) + 1


def mask_shapes(text: str) -> str:
    """Every SSN-shaped and date-shaped token of `text` replaced by `REDACTED`."""
    return _DATE_SHAPE.sub(REDACTED, _SSN_SHAPE.sub(REDACTED, text))


class DirectStagingAborted(Exception):
    """Direct mode met a row it cannot pass on; `reason` says which kind (no row content)."""

    def __init__(self, reason: str, line: int) -> None:
        super().__init__(f"{reason} (line {line})")
        self.reason = reason
        self.line = line


def _quote(value: bytes) -> bytes:
    return b'"' + value.replace(b'"', b'""') + b'"'


class RecordStager:
    """Turn raw CSV chunks (after the header line) into COPY input for the staging table.

    `feed(chunk)` returns the staged bytes for every record completed by the chunk;
    `finish()` flushes the last one. Line numbers are physical lines of the file with the
    header as line 1; a record spanning several lines gets the number of its first line.
    """

    def __init__(
        self,
        columns: Sequence[str],
        account_index: int,
        first_line: int = 2,
        *,
        direct_run_id: int | None = None,
        pii_indexes: Sequence[int] = (),
    ) -> None:
        if not columns:
            raise ValueError("an export needs at least one column")
        self.ncols = len(columns)
        self.account_index = account_index
        self.salt = column_salt(columns)
        self.records = 0
        """Records seen (blank lines are not records)."""
        self.rejected = 0
        """Records staged as rejected (reason and raw text set)."""
        self._next_line = first_line
        self._tail = b""
        self._pending: list[bytes] | None = None
        self._pending_line = 0
        self._pending_quotes = 0
        self._run_id = direct_run_id
        self._pii = tuple(pii_indexes)
        self._recovery_depth = 0

    # -- streaming -------------------------------------------------------------------------

    def feed(self, chunk: bytes) -> bytes:
        pieces = (self._tail + chunk).split(b"\n")
        self._tail = pieces.pop()
        out: list[bytes] = []
        line = self._next_line
        self._next_line += len(pieces)
        self._process(pieces, line, out)
        return b"".join(out)

    def _process(self, pieces: list[bytes], line: int, out: list[bytes]) -> None:
        """Stage whole physical lines (`pieces`, the first being line number `line`)."""
        commas = self.ncols - 1
        salt = self.salt
        blake2b = hashlib.blake2b
        from_bytes = int.from_bytes
        append = out.append
        run_id = self._run_id
        account_index = self.account_index
        account_end = account_index + 1
        for offset, piece in enumerate(pieces):
            if self._pending is not None:
                self._continue_pending(piece, out)
                continue
            if b'"' in piece:
                # Quotes: the newline may be inside a value, so the \r stays for now.
                self._slow_path(piece, line + offset, out)
                continue
            if piece[-1:] == b"\r":
                piece = piece[:-1]
            if (
                not piece
                or piece.count(b",") != commas
                or b"\r" in piece
                or b"\x00" in piece
                or not piece.isascii()
            ):
                self._slow_path(piece, line + offset, out)
                continue
            self.records += 1
            digest = blake2b(piece, digest_size=_DIGEST_SIZE, salt=salt).digest()
            row_hash = from_bytes(digest, "big", signed=True)
            if run_id is None:
                append(b"%d,%d,,,%b\n" % (line + offset, row_hash, piece))
            else:
                self._check_account(piece.split(b",", account_end)[account_index], line + offset)
                append(b"%d,%d,%b\n" % (row_hash, run_id, piece))

    def finish(self) -> bytes:
        """Flush the last record (a final line without a newline, or an open quote)."""
        out: list[bytes] = []
        tail, self._tail = self._tail, b""
        if self._pending is not None:
            if tail:
                self._pending.append(tail)
        elif tail:
            self._slow_path(tail, self._next_line, out)
        while self._pending is not None:
            # An open quote at the end of the data: nothing closes it any more.
            pieces, line = self._pending, self._pending_line
            self._pending = None
            if self._recoverable(pieces):
                self._recover(pieces, line, out)  # may open another quote: loop
                continue
            self.records += 1
            self._reject(b"\n".join(pieces), line, b"unterminated quoted field", out)
        return b"".join(out)

    def stage(self, chunks: Iterable[bytes]) -> Iterator[bytes]:
        """All staged output for an iterable of chunks (empty outputs skipped)."""
        for chunk in chunks:
            staged = self.feed(chunk)
            if staged:
                yield staged
        staged = self.finish()
        if staged:
            yield staged

    # -- the rare paths --------------------------------------------------------------------

    def _slow_path(self, piece: bytes, line: int, out: list[bytes]) -> None:
        """A line that has quotes, a wrong comma count or unusual bytes."""
        if piece.count(b'"') & 1:
            # An odd number of quotes: the record continues on the next line.
            self._pending = [piece]
            self._pending_line = line
            return
        if piece[-1:] == b"\r":
            piece = piece[:-1]
        if not piece:
            return  # a blank line holds no record
        self.records += 1
        self._check_and_emit(piece, line, out)

    def _continue_pending(self, piece: bytes, out: list[bytes]) -> None:
        assert self._pending is not None
        self._pending.append(piece)
        if piece.count(b'"') & 1:
            pieces, line = self._pending, self._pending_line
            record = b"\n".join(pieces)
            self._pending = None
            if record[-1:] == b"\r":
                record = record[:-1]
            if self._recoverable(pieces) and count_fields(record) > self.ncols:
                # The quote that closed it was the next stray one: it swallowed whole rows.
                self._recover(pieces, line, out)
                return
            self.records += 1
            self._check_and_emit(record, line, out)

    def _recoverable(self, pieces: list[bytes]) -> bool:
        return self._run_id is None and len(pieces) > 1 and self._recovery_depth < _MAX_RECOVERY

    def _recover(self, pieces: list[bytes], line: int, out: list[bytes]) -> None:
        """An open quote swallowed the lines after it: reject its own line only and read the
        others again as rows, so one stray quote does not cost the rows that follow it (they
        would neither load nor, on a full reconcile, stay protected from a tombstone)."""
        self.records += 1
        first = pieces[0][:-1] if pieces[0][-1:] == b"\r" else pieces[0]
        self._reject(first, line, b"unterminated quoted field", out)
        self._recovery_depth += 1
        try:
            self._process(pieces[1:], line + 1, out)
        finally:
            self._recovery_depth -= 1

    def _check_and_emit(self, record: bytes, line: int, out: list[bytes]) -> None:
        if self._run_id is not None:
            self._emit_direct(record, line, self._run_id, out)
            return
        reason = self._problem(record)
        if reason is not None:
            self._reject(record, line, reason, out)
            return
        out.append(b"%d,%d,,,%b\n" % (line, record_hash(record, self.salt), record))

    def _emit_direct(self, record: bytes, line: int, run_id: int, out: list[bytes]) -> None:
        """Direct mode: COPY itself refuses a wrong field count, invalid UTF-8, NUL bytes and
        a bare carriage return (the load then falls back to staging), so only what COPY
        would take silently is checked here: it saves ~40 % of the Python work per quoted
        record, and the Python side is what bounds a first load on two cores."""
        if b"\n\\." in record:
            # COPY would take a line `\.` inside a quoted value for the end of the data.
            raise DirectStagingAborted("quoted value contains a line starting with \\.", line)
        self._check_account(self._account_bytes(record), line)
        out.append(b"%d,%d,%b\n" % (record_hash(record, self.salt), run_id, record))

    def _account_bytes(self, record: bytes) -> bytes:
        """The account field of a record; parsed as CSV only if quotes precede it."""
        plain = self._unquoted_account(record)
        if plain is not None:
            return plain
        return (self._account_of(record.decode("utf-8", errors="replace")) or "").encode()

    def _unquoted_account(self, line: bytes) -> bytes | None:
        """The account field when no quote comes before its end (None: CSV must decide)."""
        pieces = line.split(b",", self.account_index + 1)
        if len(pieces) <= self.account_index or any(
            b'"' in piece for piece in pieces[: self.account_index + 1]
        ):
            return None
        return pieces[self.account_index]

    def _check_account(self, account: bytes, line: int) -> None:
        """Direct mode: an over-long account is a rejected row (an empty one fails NOT NULL)."""
        if len(account) > MAX_ACCOUNT_LENGTH and (
            len(account.decode("utf-8", errors="replace")) > MAX_ACCOUNT_LENGTH
        ):
            raise DirectStagingAborted("account longer than 255 characters", line)

    def _problem(self, record: bytes) -> bytes | None:
        fields = count_fields(record)
        if fields != self.ncols:
            return b"wrong column count: expected %d, got %d" % (self.ncols, fields)
        if b"\x00" in record:
            return b"NUL byte in row"
        if not record.isascii():
            try:
                record.decode("utf-8")
            except UnicodeDecodeError:
                return b"invalid UTF-8"
        outside = record.split(b'"')[::2] if b'"' in record else [record]
        if any(b"\r" in seg for seg in outside):
            return b"carriage return outside quotes"
        if b"\n\\." in record:
            # COPY would read a line `\.` inside a quoted value as the end of the data.
            return b"quoted value contains a line starting with \\."
        return None

    def _reject(self, raw: bytes, line: int, reason: bytes, out: list[bytes]) -> None:
        if self._run_id is not None:
            raise DirectStagingAborted(reason.decode(), line)
        self.rejected += 1
        text = raw.replace(b"\x00", b"").decode("utf-8", errors="replace")
        account = self._account_of(text)
        fields = [b""] * self.ncols
        if account:
            fields[self.account_index] = _quote(account.encode())
        shown = self._redacted(text).encode()
        out.append(b"%d,,%b,%b,%b\n" % (line, _quote(reason), _quote(shown), b",".join(fields)))
        for offset, physical in enumerate(raw.split(b"\n")[1:], start=1):
            self._protect(physical, line + offset, out)

    def _protect(self, physical: bytes, line: int, out: list[bytes]) -> None:
        """Stage the account a later physical line of a rejected record starts with.

        An open quote swallows every following line into one malformed record; each of those
        lines is most likely a whole row of its own. Its account is staged with an empty
        `reject` (not a rejection, not a candidate) so a full reconcile does not tombstone
        it. A line that really was part of a quoted value protects nothing that exists.
        """
        plain = self._unquoted_account(physical.replace(b"\x00", b"").rstrip(b"\r"))
        if plain is None:
            return
        account = plain.decode("utf-8", errors="replace").strip()
        if not account:
            return
        fields = [b""] * self.ncols
        fields[self.account_index] = _quote(account.encode())
        out.append(b'%d,,"",,%b\n' % (line, b",".join(fields)))

    def _redacted(self, text: str) -> str:
        """The raw text with PII masked: by position when the row parses to the header's
        field count, else every SSN- or date-shaped token."""
        if not self._pii:
            return text
        try:
            rows = list(csv.reader(io.StringIO(text.replace("\r\n", "\n"), newline="")))
        except csv.Error:
            rows = []
        if len(rows) == 1 and len(rows[0]) == self.ncols:
            row = rows[0]
            if not any(row[index] for index in self._pii):
                return text  # nothing to mask: keep the line exactly as it came
            for index in self._pii:
                if row[index]:
                    row[index] = REDACTED
            buffer = io.StringIO()
            csv.writer(buffer, lineterminator="").writerow(row)
            return buffer.getvalue()
        return mask_shapes(text)

    def _account_of(self, text: str) -> str | None:
        """The account field of a malformed record, when it has one at the usual position."""
        try:
            row = next(csv.reader([text.replace("\r", "")]), [])
        except csv.Error:
            return None
        if len(row) > self.account_index and row[self.account_index].strip():
            return row[self.account_index]
        return None
