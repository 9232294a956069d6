"""The first load into an empty mirror: the export COPYed straight into `livevox.contacts`.

Why: with nothing to diff against, staging every row as text and casting it again costs a
second pass over the whole export (the staging COPY alone takes as long as a raw COPY). Here
Postgres' own input functions cast while they parse, and the indexes are built once at the
end (sorted builds beat maintaining them row by row).

It is optimistic. It runs under a savepoint and gives up — rolls back to it and returns
None, so the loader loads the export through the staging path, which rejects bad rows one by
one — as soon as anything is not clean:

* a row the stager would reject (wrong column count, invalid UTF-8, ...) or an account over
  255 characters (`DirectStagingAborted`);
* a date, datetime or decimal field holding a special word (`now`, `infinity`, `NaN`, ...)
  that the input functions take but `typed_sql` refuses (`_SpecialValueGuard`);
* a value Postgres cannot parse, a missing account (NOT NULL) or a repeated one (the
  primary key's build): the COPY or the build raises.

The caller keeps what was read (`spool.ChunkSpool`), so the fallback reads the same bytes.
Both paths accept exactly the same values: `typed_sql` documents them, and the session
settings the input functions read are pinned (`typed_sql.SESSION_SETTINGS`).
"""

from __future__ import annotations

import csv
import io
import itertools
import operator
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import structlog
from psycopg import Connection
from psycopg import sql as pgsql

from syncd.store.fields import FieldColumn
from syncd.store.raw_sql import BoundedQueuedWriter, execute, fetch_one
from syncd.store.records import DirectStagingAborted, RecordStager
from syncd.store.typed_sql import SPECIAL_WORDS, sql_literal

# The tables whose indexes a first load drops and rebuilds.
MIRROR_TABLES: tuple[str, ...] = ("livevox.contacts",)

# Words a typed field may not be (as tokens), lowercased; "nan"/"inf" for decimals.
_TOKENS: tuple[bytes, ...] = (*(w.encode() for w in SPECIAL_WORDS), b"nan", b"inf")
# The same test as typed_sql's SQL, on one date or datetime value.
_SPECIAL = re.compile(r"(^|[^a-z])(" + "|".join(SPECIAL_WORDS) + r")([^a-z]|$)", re.IGNORECASE)
_PREFIX_FIELDS = 2  # <hash>,<run_id>, before the record's own fields
# Deleting these from a field leaves its ASCII letters: every special word is made of them.
_NOT_LETTERS = bytes(b for b in range(256) if not bytes([b]).isalpha())


@dataclass(frozen=True, slots=True)
class InitialLoadOutcome:
    inserted: int
    max_modify_date: datetime | None


class SpecialValueFound(Exception):
    """A typed field holds a value the input functions take but `typed_sql` refuses."""

    def __init__(self, field: str) -> None:
        super().__init__(f"special value in {field}")
        self.field = field


class _SpecialValueGuard:
    """Finds special words in date/datetime fields and NaN/infinities in decimal fields.

    A cheap look at each line finds candidates; only a chunk with a candidate is parsed as
    CSV to see whether a typed field really holds one. A line without quotes is a whole
    record (or the inside of a multi-line quoted value, which holds no typed field): its
    typed fields sit at their positions, and one without an ASCII letter can hold no special
    word. A line with quotes is searched for the words themselves (`bytes.find`, C speed).
    Per line, the typed fields only: searching every staged byte for each of nine words cost
    as much Python time as the staging itself, and Python shares the two cores with the COPY.
    """

    def __init__(self, fields: Sequence[FieldColumn]) -> None:
        # Direct loads have no unknown columns: field i is the record's field i.
        positions = [(i + _PREFIX_FIELDS, f) for i, f in enumerate(fields)]
        self._temporal = [(i, f.key) for i, f in positions if f.type in ("date", "datetime")]
        self._decimal = [(i, f.key) for i, f in positions if f.type == "decimal"]
        self._width = _PREFIX_FIELDS + len(fields)
        typed = sorted(i for i, _ in (*self._temporal, *self._decimal))
        self._split = typed[-1] + 1 if typed else 0
        self._typed: Callable[[list[bytes]], Iterable[bytes]] = (
            operator.itemgetter(*typed) if len(typed) > 1 else lambda row: (row[typed[0]],)
        )

    def check(self, staged: bytes) -> None:
        if self._split and self._has_candidate(staged):
            self._check_fields(staged)

    def _has_candidate(self, staged: bytes) -> bool:
        split, typed = self._split, self._typed
        for line in staged.split(b"\n"):
            if b'"' in line:
                if _has_token(line.lower()):
                    return True
                continue
            fields = line.split(b",", split)
            # A shorter line is no whole record: the inside of a quoted value, or a row COPY
            # refuses (and `_check_fields` skips).
            if len(fields) >= split and b"".join(typed(fields)).translate(None, _NOT_LETTERS):
                return True
        return False

    def _check_fields(self, staged: bytes) -> None:
        for row in csv.reader(io.StringIO(staged.decode("utf-8"), newline="")):
            if len(row) != self._width:
                continue  # COPY refuses the row, and the staging path rejects it
            for index, key in self._temporal:
                if _SPECIAL.search(row[index]):
                    raise SpecialValueFound(key)
            for index, key in self._decimal:
                # As typed_sql's strict decimal cast: NaN and the infinities all hold an "n".
                if "n" in row[index].lower():
                    raise SpecialValueFound(key)


def _has_token(lowered: bytes) -> bool:
    """Does any of `_TOKENS` occur with no ASCII letter right before or after it?"""
    for word in _TOKENS:
        start = lowered.find(word)
        while start >= 0:
            end = start + len(word)
            if not lowered[start - 1 : start].isalpha() and not lowered[end : end + 1].isalpha():
                return True
            start = lowered.find(word, start + 1)
    return False


Timer = Callable[[str], AbstractContextManager[None]]


class DirectInitialLoad:
    """One optimistic first load; `run()` returns None when the staging path must do it."""

    def __init__(
        self,
        conn: Connection[Any],
        *,
        run_id: int,
        columns: Sequence[str],
        fields: Sequence[FieldColumn],
        options: Any,
        timed: Timer,
    ) -> None:
        self.conn = conn
        self.run_id = run_id
        self.columns = list(columns)
        self.fields = list(fields)
        self._has_modify_date = any(f.column == "modify_date" for f in self.fields)
        self.options = options
        self.timed = timed
        self.records = 0
        self.bad_values = False
        """After a fallback: a value failed to cast (the staging path can go straight to its
        checked casts)."""
        self.log = structlog.get_logger(__name__).bind(run_id=run_id)

    def run(self, chunks: Iterable[bytes]) -> InitialLoadOutcome | None:
        execute(self.conn, "SAVEPOINT syncd_initial")
        try:
            locked = self._lock_mirror()
            if locked and not mirror_is_empty(self.conn):
                # Filled since the first look (by a writer that does not take the pull lock).
                self._give_up("mirror no longer empty")
                return None
            chunks, empty = _sample_empty_columns(chunks, self.fields)
            rebuild = self._drop_indexes(keep_partial_on=empty) if locked else []
            freeze = locked and self._truncate_for_freeze()
            with self.timed("copy"):
                self._copy(chunks, freeze=freeze)
            if self.options.history_on_insert:
                self._insert_history()
            if rebuild:
                with self.timed("indexes"):
                    self._rebuild(rebuild)
            max_modify_date = self._max_modify_date()
        except (DirectStagingAborted, SpecialValueFound) as exc:
            self._give_up(type(exc).__name__, detail=getattr(exc, "reason", None))
            return None
        except (psycopg.errors.DataError, psycopg.errors.IntegrityError) as exc:
            # The message may quote a value (a date of birth, say): log only its class.
            self.bad_values = isinstance(exc, psycopg.errors.DataError)
            self._give_up("database", sqlstate=exc.sqlstate)
            return None
        except (
            psycopg.errors.InvalidTransactionState,
            psycopg.errors.ObjectNotInPrerequisiteState,
        ) as exc:
            # COPY FREEZE refused after all (`_truncate_for_freeze` checks what it can): the
            # staging path loads the same bytes, only slower.
            self._give_up("freeze refused", sqlstate=exc.sqlstate)
            return None
        execute(self.conn, "RELEASE SAVEPOINT syncd_initial")
        return InitialLoadOutcome(self.records, max_modify_date)

    def _max_modify_date(self) -> datetime | None:
        """The watermark candidate: every row was stored, so the typed column says it."""
        if not self._has_modify_date:
            return None
        (value,) = fetch_one(self.conn, "SELECT max(modify_date) FROM livevox.contacts")
        return value if isinstance(value, datetime) else None

    def _give_up(self, reason: str, **context: Any) -> None:
        execute(self.conn, "ROLLBACK TO SAVEPOINT syncd_initial")
        execute(self.conn, "RELEASE SAVEPOINT syncd_initial")
        self.log.info("loader.initial_fallback", reason=reason, **context)

    def _truncate_for_freeze(self) -> bool:
        """Truncate the (empty) contact table so the COPY may write its rows frozen.

        Why: rows COPYed `FREEZE` are written frozen and their pages marked all-visible.
        Otherwise the first readers set a hint bit on every row (rewriting every page), the
        first vacuum rewrites the whole table again to freeze it, and until then the covering
        primary key cannot answer the next load's hash join by an index-only scan.

        Postgres allows FREEZE only on a table truncated in the same subtransaction, under
        READ COMMITTED (no older snapshot). A table another one references cannot be
        truncated: then the load goes on without FREEZE.
        """
        (isolation,) = fetch_one(self.conn, "SHOW transaction_isolation")
        if isolation != "read committed":
            return False
        truncate = f"TRUNCATE {', '.join(MIRROR_TABLES)}"
        # Released, the truncation belongs to syncd_initial's subtransaction, as the COPY.
        if self._attempt("syncd_truncate", truncate, psycopg.errors.FeatureNotSupported):
            return True
        self.log.info("loader.freeze_skipped", reason="mirror table referenced")
        return False

    def _attempt(self, savepoint: str, statement: str, refused: type[psycopg.Error]) -> bool:
        """Run `statement` under its own savepoint; False, and undone, if it raises `refused`.

        The savepoint is released either way, so what the statement did belongs to the
        enclosing subtransaction.
        """
        execute(self.conn, f"SAVEPOINT {savepoint}")
        try:
            execute(self.conn, statement)
        except refused:
            execute(self.conn, f"ROLLBACK TO SAVEPOINT {savepoint}")
            execute(self.conn, f"RELEASE SAVEPOINT {savepoint}")
            return False
        execute(self.conn, f"RELEASE SAVEPOINT {savepoint}")
        return True

    def _copy(self, chunks: Iterable[bytes], *, freeze: bool) -> None:
        names = [f.column for f in self.fields]
        statement = pgsql.SQL(
            "COPY livevox.contacts (row_hash, run_id, {}) FROM STDIN "
            "(FORMAT csv, FORCE_NULL ({}){})"
        ).format(
            pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names),
            pgsql.SQL(", ").join(pgsql.Identifier(n) for n in names),
            pgsql.SQL(", FREEZE" if freeze else ""),
        )
        stager = RecordStager(
            self.columns, account_index=self.columns.index("account"), direct_run_id=self.run_id
        )
        guard = _SpecialValueGuard(self.fields)
        with (
            self.conn.cursor() as cur,
            cur.copy(statement, writer=BoundedQueuedWriter(cur)) as pipe,
        ):
            for data in stager.stage(chunks):
                guard.check(data)
                pipe.write(data)
        self.records = stager.records

    def _insert_history(self) -> None:
        valid_from = "COALESCE(modify_date, now())" if self._has_modify_date else "now()"
        execute(
            self.conn,
            "INSERT INTO livevox.contact_history (account, operation, valid_from, row_hash, "
            f"run_id) SELECT account, 'insert', {valid_from}, row_hash, {self.run_id} "
            "FROM livevox.contacts",
        )

    def _rebuild(self, statements: Sequence[str]) -> None:
        execute(
            self.conn,
            "SET LOCAL maintenance_work_mem = " + sql_literal(self.options.maintenance_work_mem),
        )
        for statement in statements:
            execute(self.conn, statement)

    def _lock_mirror(self) -> bool:
        """Take the contact table for this transaction, unless another session uses it.

        Dropping its indexes needs ACCESS EXCLUSIVE, held until commit: readers of the (still
        empty) mirror wait for the load. A session already holding a lock (an analyst's query,
        say) is not waited for: the load then keeps the indexes and maintains them.
        """
        lock = f"LOCK TABLE {', '.join(MIRROR_TABLES)} IN ACCESS EXCLUSIVE MODE NOWAIT"
        if self._attempt("syncd_lock", lock, psycopg.errors.LockNotAvailable):
            return True
        self.log.info("loader.indexes_kept", reason="mirror tables in use")
        return False

    def _drop_indexes(self, *, keep_partial_on: frozenset[str] = frozenset()) -> list[str]:
        """Drop the contact table's indexes; returns the statements that recreate them.

        The definitions come from the catalog, so whatever a migration declares is rebuilt
        exactly (constraints as constraints, under their names). An index a foreign key relies
        on is left alone. The primary key goes first: a repeated account fails there, before
        the other builds.

        A partial index `WHERE <column> IS NOT NULL` on a column in `keep_partial_on` (empty
        in the sample of the export) stays: maintaining it costs a NULL test per row, while
        rebuilding it would scan the whole table (phone4..phone10 are empty in most books).
        """
        tables = f"ARRAY[{', '.join(sql_literal(t) for t in MIRROR_TABLES)}]::regclass[]"
        with self.conn.cursor() as cur:
            cur.execute(
                "SELECT CASE WHEN con.oid IS NULL "
                "THEN format('DROP INDEX %s', i.indexrelid::regclass) "
                "ELSE format('ALTER TABLE %s DROP CONSTRAINT %I', i.indrelid::regclass, "
                "con.conname) END, "
                "CASE WHEN con.oid IS NULL THEN pg_get_indexdef(i.indexrelid) "
                "ELSE format('ALTER TABLE %s ADD CONSTRAINT %I %s', i.indrelid::regclass, "
                "con.conname, pg_get_constraintdef(con.oid)) END "
                "FROM pg_index i LEFT JOIN pg_constraint con ON con.conindid = i.indexrelid "
                "AND con.conrelid = i.indrelid AND con.contype IN ('p', 'u', 'x') "
                f"WHERE i.indrelid = ANY ({tables}) AND NOT EXISTS (SELECT FROM pg_constraint fk "
                "WHERE fk.contype = 'f' AND fk.conindid = i.indexrelid) "
                f"ORDER BY array_position({tables}, i.indrelid), NOT i.indisprimary, "
                "i.indexrelid::regclass::text".encode()
            )
            rows = cur.fetchall()
        rows = [(d, c) for d, c in rows if _partial_column(c) not in keep_partial_on]
        for drop, _ in rows:
            execute(self.conn, drop)
        return [create for _, create in rows]


_PARTIAL_NOT_NULL = re.compile(r" WHERE \((\w+) IS NOT NULL\)$")
_SAMPLE_MIN_RECORDS = 20


def _partial_column(index_definition: str) -> str | None:
    """The column of a `... WHERE (column IS NOT NULL)` index definition, else None."""
    match = _PARTIAL_NOT_NULL.search(index_definition)
    return match.group(1) if match else None


def _sample_empty_columns(
    chunks: Iterable[bytes], fields: Sequence[FieldColumn]
) -> tuple[Iterator[bytes], frozenset[str]]:
    """(the same chunks, the columns empty in every record of the first chunk).

    Only a hint for which indexes to keep: a column that has values later is simply
    maintained row by row. A first chunk of too few whole records hints nothing.
    """
    stream = iter(chunks)
    first = next(stream, b"")
    whole = first[: first.rfind(b"\n") + 1]
    try:
        rows = list(csv.reader(io.StringIO(whole.decode("utf-8"), newline="")))
    except (UnicodeDecodeError, csv.Error):
        rows = []
    rows = [r for r in rows if len(r) == len(fields)]
    empty: frozenset[str] = frozenset()
    if len(rows) >= _SAMPLE_MIN_RECORDS:
        empty = frozenset(f.column for i, f in enumerate(fields) if not any(r[i] for r in rows))
    return itertools.chain([first], stream), empty


def mirror_is_empty(conn: Connection[Any]) -> bool:
    """No contact, live or tombstoned: the first-load path applies."""
    (empty,) = fetch_one(conn, "SELECT NOT EXISTS (SELECT FROM livevox.contacts)")
    return bool(empty)
