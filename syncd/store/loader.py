"""Stream a LiveVox CSV export into the mirror: COPY into staging, then typed upserts in SQL.

Why this shape (see perf-floor.md): one Postgres backend parsing CSV is the ceiling, so the
bytes go straight into `COPY` and Python never parses a row. `RecordStager` only splits
records (quote-aware) and prefixes each with its line number and a 64-bit hash of the raw
line; a writer thread sends while the next chunk is split, so that work overlaps the
server's parsing. Everything else is set-based SQL in the caller's transaction:

0. An empty mirror (the first load) is loaded by `initial_load.py` instead: the export is
   COPYed straight into `livevox.contacts` (Postgres' input functions cast while they
   parse) and its indexes are rebuilt once. It is optimistic: any row that is not clean
   rolls it back to a savepoint, and the steps below load the same bytes (kept on disk by
   `spool.ChunkSpool`), rejecting the bad rows one by one.
1. COPY into a temporary all-text staging table (`ON COMMIT DROP`).
2. Candidates = staged rows whose hash differs from `livevox.contacts.row_hash` (new,
   changed, or tombstoned): one hash join on the stored hash, so unchanged rows — the
   lookback overlap, or 99 % of a full reconcile — cost one comparison each. In full mode
   the join is a full join and also yields the live accounts missing from the export.
3. Only candidates are cast, once: fast strict casts under a savepoint; if one raises, the
   checked casts of `typed_sql` redo the step and single out the bad rows. Bad values,
   missing or duplicate accounts become `syncd.rejected_rows` (line number, raw text).
4. For existing rows, a per-column IS DISTINCT FROM diff against the stored row decides
   whether anything changed: history rows (valid_from/valid_to, changed columns, old and
   new values as jsonb) are written only for real changes; a row whose line changed but
   whose values did not (e.g. other quoting) only gets its new hash.
5. Inserts and updates for touched rows only (`contact_phones` and `contact_custom_values`
   are views over the contact rows: nothing to keep in step).
6. Full mode: the missing accounts get a tombstone (`deleted_at`); a tombstoned account
   seen again is restored.

The caller owns the transaction: on any exception (a cut stream included) it rolls back and
nothing — rows, history, rejections, watermark — is kept.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
import structlog
from psycopg import Connection as PsycopgConnection
from psycopg import sql
from sqlalchemy.engine import Connection

from syncd.store.errors import LoaderError, MissingKeyColumnError, TombstoneGuardError
from syncd.store.field_columns import FIELDS
from syncd.store.fields import FieldColumn
from syncd.store.initial_load import DirectInitialLoad, InitialLoadOutcome, mirror_is_empty
from syncd.store.raw_sql import BoundedQueuedWriter
from syncd.store.records import REDACTED, RecordStager
from syncd.store.spool import ChunkSpool
from syncd.store.typed_sql import (
    EXPECTED,
    SESSION_SETTINGS,
    checked_cast_sql,
    safe_cast_sql,
    sql_literal,
    strict_cast_sql,
    try_function_sql,
)

LoadMode = Literal["incremental", "full"]

_log = structlog.get_logger(__name__)

_STAGE = "_syncd_stage"
_CAND = "_syncd_cand"
_DIFF = "_syncd_diff"
_GONE = "_syncd_gone"
# The statistics target of the key-column ANALYZEs (`_analyze_keys`): 300 x 10 sampled rows.
_KEY_STATISTICS_TARGET = 10

_BY_KEY: dict[str, FieldColumn] = {f.key: f for f in FIELDS}
_BY_LABEL: dict[str, FieldColumn] = {f.label: f for f in FIELDS}


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What one export did to the mirror."""

    rows_seen: int
    inserted: int
    updated: int
    unchanged: int
    rejected: int
    tombstoned: int
    restored: int
    max_modify_date: datetime | None

    def counts(self) -> dict[str, Any]:
        """JSON-ready counts for `syncd.runs.counts`."""
        data = asdict(self)
        data["max_modify_date"] = self.max_modify_date.isoformat() if self.max_modify_date else None
        return data


@dataclass(frozen=True, slots=True)
class LoadOptions:
    """Tuning and safety knobs of one load."""

    work_mem: str = "64MB"
    """`SET LOCAL work_mem` for the load's joins and sorts."""
    spool_dir: str | None = None
    """Where the first load into an empty mirror keeps the export it reads, in case it has to
    load it again through staging (None: the system's temporary directory)."""
    maintenance_work_mem: str = "256MB"
    """`SET LOCAL maintenance_work_mem` for rebuilding the mirror's indexes after a first
    load (sorts that fit in memory; at least 32MB per parallel worker)."""
    max_tombstone_fraction: float | None = None
    """Full mode: refuse (TombstoneGuardError) to tombstone more than this share of live rows."""
    allow_empty_full: bool = False
    """Full mode: allow an export without rows to tombstone the whole mirror."""
    history_on_insert: bool = False
    """Also write an `insert` history row for each new contact (off: a first version is
    not a change, and on an initial load of millions the rows cost seconds)."""
    analyze_fraction: float = 0.1
    """ANALYZE the key columns of the mirror when a load inserts more than this share of
    it, so the next load's joins are planned on real row counts (not autovacuum's timing)."""


@dataclass(frozen=True, slots=True)
class _StageColumn:
    name: str
    field: FieldColumn | None
    """None for a header that names no known field (loaded, then ignored)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _strict_account_sql(ref: str) -> str:
    """The account, raising a data exception when it is longer than 255 characters.

    (A missing account fails the NOT NULL constraint.) The cast fails on the row's own text,
    not on a constant the planner could fold and raise while planning.
    """
    return (
        f"CASE WHEN length({ref}) <= 255 THEN {ref} "
        f"ELSE ('[account longer than 255 characters] ' || {ref})::bigint::text END"
    )


def _reason_sql(field: FieldColumn) -> str:
    """Why a value of `field` was rejected; quotes the value unless it is PII."""
    message = f"{field.key}: not {EXPECTED[field.type]}"
    if field.is_pii:
        return sql_literal(message)
    return f"{sql_literal(message + ': ')} || left({_q('_raw_' + field.column)}, 60)"


def _nonnull_count(refs: list[str]) -> str:
    """SQL counting the non-NULL values of `refs` (num_nonnulls takes at most 100 arguments)."""
    parts = [f"num_nonnulls({', '.join(refs[i : i + 90])})" for i in range(0, len(refs), 90)]
    return "(" + " + ".join(parts) + ")"


def resolve_columns(
    columns: Sequence[str], custom_labels: dict[str, str] | None = None
) -> tuple[list[_StageColumn], list[str]]:
    """Map export columns (field keys, default labels or custom labels) to stage columns.

    Returns the stage columns and the problems (unknown or repeated headers) to record.
    """
    custom = custom_labels or {}
    result: list[_StageColumn] = []
    problems: list[str] = []
    seen: set[str] = set()
    for index, name in enumerate(columns):
        field = _BY_KEY.get(name) or _BY_LABEL.get(name)
        if field is None and name in custom:
            field = _BY_KEY.get(custom[name])
        if field is None:
            problems.append(f"unknown column {name!r} (position {index + 1}) ignored")
            result.append(_StageColumn(f"_unknown_{index}", None))
        elif field.column in seen:
            problems.append(f"column {name!r} repeats {field.key!r}; repeat ignored")
            result.append(_StageColumn(f"_repeat_{index}", None))
        else:
            seen.add(field.column)
            result.append(_StageColumn(field.column, field))
    return result, problems


def load_export(
    conn: Connection,
    columns: list[str],
    chunks: Iterable[bytes],
    *,
    run_id: int,
    mode: LoadMode,
    options: LoadOptions | None = None,
) -> LoadResult:
    """Load one CSV export (header already consumed) into the mirror, in `conn`'s transaction.

    `columns` are the export's field keys in CSV order (labels are accepted too) and
    `chunks` its raw bytes after the header line. `mode="full"` also tombstones accounts
    absent from the export. Raises on a broken stream; the caller must roll back.
    """
    if mode not in ("incremental", "full"):
        raise LoaderError(f"unknown load mode {mode!r}", mode=mode)
    options = options or LoadOptions()
    loader = _Loader(conn, run_id=int(run_id), mode=mode, options=options)
    return loader.run(columns, chunks)


class _Loader:
    def __init__(self, conn: Connection, *, run_id: int, mode: LoadMode, options: LoadOptions):
        raw = conn.connection.driver_connection
        if not isinstance(raw, PsycopgConnection):
            raise LoaderError("the loader needs a psycopg 3 connection")
        self.raw: PsycopgConnection[Any] = raw
        self.run_id = run_id
        self.mode = mode
        self.options = options
        self.log = _log.bind(run_id=run_id, mode=mode)
        self.fields: list[FieldColumn] = []
        """The export's known fields, in CSV order."""
        self.has_diff = False
        self.timings: dict[str, float] = {}

    @contextmanager
    def _timed(self, step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.timings[step] = self.timings.get(step, 0.0) + time.perf_counter() - started

    def _exec(self, statement: str) -> int:
        with self.raw.cursor() as cur:
            cur.execute(statement.encode())
            return cur.rowcount

    def _one(self, statement: str) -> tuple[Any, ...]:
        with self.raw.cursor() as cur:
            cur.execute(statement.encode())
            row = cur.fetchone()
        if row is None:
            raise LoaderError("query returned no row")
        return tuple(row)

    # -- the steps -------------------------------------------------------------------------

    def run(self, columns: list[str], chunks: Iterable[bytes]) -> LoadResult:
        stage_columns, header_problems = resolve_columns(columns, self._custom_labels())
        names = [c.name for c in stage_columns]
        if "account" not in names:
            raise MissingKeyColumnError("the export has no account column", columns=list(columns))
        self.fields = [c.field for c in stage_columns if c.field is not None]
        for setting in SESSION_SETTINGS:
            self._exec(setting)
        self._exec(f"SET LOCAL work_mem = {sql_literal(self.options.work_mem)}")
        for problem in header_problems:
            self._reject_header(problem, ",".join(columns))

        bad_values = False
        # Unknown or repeated headers have no column in the mirror: only staging can skip them.
        if not header_problems and mirror_is_empty(self.raw):
            with ChunkSpool(chunks, self.options.spool_dir) as spool:
                first = DirectInitialLoad(
                    self.raw,
                    run_id=self.run_id,
                    columns=names,
                    fields=self.fields,
                    options=self.options,
                    timed=self._timed,
                )
                with self._timed("initial"):
                    outcome = first.run(spool)
                if outcome is not None:
                    return self._initial_result(outcome)
                bad_values = first.bad_values
                return self._staged(names, stage_columns, spool.replay(), bad_values=bad_values)
        return self._staged(names, stage_columns, chunks, bad_values=bad_values)

    def _initial_result(self, outcome: InitialLoadOutcome) -> LoadResult:
        """An empty mirror filled directly: nothing to diff, update or tombstone."""
        if outcome.inserted:
            with self._timed("analyze"):
                self._analyze_if_grown(outcome.inserted)
        return self._finish(
            LoadResult(
                rows_seen=outcome.inserted,
                inserted=outcome.inserted,
                updated=0,
                unchanged=0,
                rejected=0,
                tombstoned=0,
                restored=0,
                max_modify_date=outcome.max_modify_date,
            )
        )

    def _staged(
        self,
        names: list[str],
        stage_columns: list[_StageColumn],
        chunks: Iterable[bytes],
        *,
        bad_values: bool,
    ) -> LoadResult:
        """The general path: COPY into staging, then set-based casts, diff and upserts."""
        stager = RecordStager(
            names,
            account_index=names.index("account"),
            pii_indexes=[i for i, c in enumerate(stage_columns) if c.field and c.field.is_pii],
        )
        with self._timed("copy"):
            self._copy(stage_columns, stager, chunks)
        updated = restored = tombstoned = 0
        with self._timed("candidates"):
            bad, new, existing = self._candidates(bad_values=bad_values)
        if existing:
            with self._timed("changes"):
                updated, restored = self._apply_changes()
        if new:
            with self._timed("inserts"):
                self._insert_new()
        rejected = stager.rejected + bad
        if stager.rejected or bad:
            with self._timed("rejections"):
                self._record_rejections(names, staged_rejects=stager.rejected > 0, bad=bad > 0)
        if new:
            with self._timed("analyze"):
                self._analyze_if_grown(new)
        if self.mode == "full":
            with self._timed("tombstones"):
                tombstoned = self._tombstone(stager.records)
        max_modify = None
        if "modify_date" in names:
            with self._timed("watermark"):
                max_modify = self._max_modify_date()
        return self._finish(
            LoadResult(
                rows_seen=stager.records,
                inserted=new,
                updated=updated,
                unchanged=stager.records - rejected - new - updated - restored,
                rejected=rejected,
                tombstoned=tombstoned,
                restored=restored,
                max_modify_date=max_modify,
            )
        )

    def _finish(self, result: LoadResult) -> LoadResult:
        self.log.info(
            "loader.loaded",
            **result.counts(),
            seconds={k: round(v, 3) for k, v in self.timings.items()},
        )
        return result

    def _custom_labels(self) -> dict[str, str]:
        with self.raw.cursor() as cur:
            cur.execute(b"SELECT label, field FROM livevox.custom_fields")
            return {label: field for label, field in cur.fetchall()}

    def _reject_header(self, reason: str, raw: str) -> None:
        self._exec(
            "INSERT INTO syncd.rejected_rows (run_id, line_number, raw, reason) "
            f"VALUES ({self.run_id}, 1, {sql_literal(raw)}, {sql_literal(reason)})"
        )

    def _copy(
        self, stage_columns: list[_StageColumn], stager: RecordStager, chunks: Iterable[bytes]
    ) -> None:
        data_cols = ", ".join(f"{_q(c.name)} text" for c in stage_columns)
        self._exec(f"DROP TABLE IF EXISTS pg_temp.{_STAGE}")
        self._exec(
            f"CREATE TEMP TABLE {_STAGE} (line_no bigint, row_hash bigint, reject text, "
            f"raw text, {data_cols}) ON COMMIT DROP"
        )
        # FORCE_NULL: a quoted empty field is NULL too ("empty = NULL" in the data file).
        copy = sql.SQL("COPY {} FROM STDIN (FORMAT csv, FORCE_NULL ({}))").format(
            sql.Identifier(_STAGE),
            sql.SQL(", ").join(sql.Identifier(c.name) for c in stage_columns),
        )
        # A writer thread sends while this thread splits and hashes the next chunk, so the
        # Python work overlaps the server's parsing (the queue is bounded: memory stays flat).
        with self.raw.cursor() as cur, cur.copy(copy, writer=BoundedQueuedWriter(cur)) as pipe:
            for data in stager.stage(chunks):
                pipe.write(data)

    def _candidates(self, *, bad_values: bool = False) -> tuple[int, int, int]:
        """Typed candidate rows (new, changed, tombstoned); returns (bad, new, existing).

        `bad_values`: a strict cast already failed on this export, go straight to checked casts.
        """
        self._analyze_keys(_STAGE, "account, row_hash, reject")
        self._exec(f"DROP TABLE IF EXISTS pg_temp.{_CAND}")
        self._exec("SAVEPOINT syncd_fast_cast")
        checked = bad_values
        if not checked:
            try:
                self._exec(self._candidates_sql(checked=False))
            except psycopg.errors.DataError as exc:
                # A bad value somewhere: redo with checked casts that single the bad rows out.
                self._exec("ROLLBACK TO SAVEPOINT syncd_fast_cast")
                # The message may quote the value (a date of birth, say): log only its class.
                self.log.info("loader.bad_values", sqlstate=exc.sqlstate)
                checked = True
        if checked:
            for kind in {f.type for f in self.fields if f.type != "string"}:
                self._exec(try_function_sql(kind))
            self._exec(self._candidates_sql(checked=True))
        self._exec("RELEASE SAVEPOINT syncd_fast_cast")
        if self.mode == "full":
            # The full join also found the live contacts missing from the export.
            self._exec(f"DROP TABLE IF EXISTS pg_temp.{_GONE}")
            self._exec(
                f"CREATE TEMP TABLE {_GONE} ON COMMIT DROP AS "
                f"SELECT account FROM {_CAND} WHERE is_gone"
            )
            self._exec(f"DELETE FROM {_CAND} WHERE is_gone")
        self._exec(f"ANALYZE {_CAND} (account)")
        # The same account twice in one export: the last line wins, earlier ones are rejected.
        self._exec(
            f"UPDATE {_CAND} c SET reason = 'duplicate account (last occurrence on line ' "
            "|| d.keep || ' used)' "
            f"FROM (SELECT account, max(line_no) AS keep FROM {_CAND} WHERE reason IS NULL "
            "GROUP BY account HAVING count(*) > 1) d "
            "WHERE c.account = d.account AND c.line_no <> d.keep AND c.reason IS NULL"
        )
        bad, new, existing = self._one(
            "SELECT count(*) FILTER (WHERE reason IS NOT NULL), "
            "count(*) FILTER (WHERE reason IS NULL AND is_new), "
            f"count(*) FILTER (WHERE reason IS NULL AND NOT is_new) FROM {_CAND}"
        )
        return int(bad), int(new), int(existing)

    def _candidates_sql(self, *, checked: bool) -> str:
        """CREATE TABLE AS of the typed candidates; `checked` casts yield NULL, never raise."""
        inner = [
            "s.line_no",
            "s.row_hash",
            "c.account IS NULL AS is_new",
            "c.deleted_at IS NOT NULL AS was_deleted",
            "s.line_no IS NULL AS is_gone",
        ]
        outer = ["line_no", "row_hash", "is_new", "was_deleted", "is_gone"]
        typed = [f for f in self.fields if f.type != "string"]
        for field in self.fields:
            ref = f"s.{_q(field.column)}"
            if field.key == "account":
                inner.append("COALESCE(s.account, c.account) AS account")
            elif field.type == "string":
                inner.append(ref)
            elif checked:
                inner.append(f"{ref} AS {_q('_raw_' + field.column)}")
                inner.append(f"{checked_cast_sql(field.type, ref)} AS {_q(field.column)}")
            else:
                inner.append(f"{strict_cast_sql(field.type, ref)} AS {_q(field.column)}")
            outer.append(_q(field.column))
        account_problem = (
            "CASE WHEN account IS NULL THEN 'missing account' "
            "WHEN length(account) > 255 THEN 'account longer than 255 characters' END"
        )
        if checked and typed:
            # A value is bad where the text is there but the typed value is not: compare the
            # non-NULL counts first, and spell out the reasons only for the bad rows.
            raw_count = _nonnull_count([_q("_raw_" + f.column) for f in typed])
            typed_count = _nonnull_count([_q(f.column) for f in typed])
            reasons = [account_problem] + [
                f"CASE WHEN {_q('_raw_' + f.column)} IS NOT NULL AND {_q(f.column)} IS NULL "
                f"THEN {_reason_sql(f)} END"
                for f in typed
            ]
            reason = (
                f"CASE WHEN {raw_count} <> {typed_count} "
                f"THEN array_to_string(ARRAY[{', '.join(reasons)}], '; ') "
                f"ELSE {account_problem} END"
            )
        else:
            reason = account_problem
        changed = (
            "(s.line_no IS NOT NULL AND s.reject IS NULL AND (c.account IS NULL "
            "OR c.row_hash IS DISTINCT FROM s.row_hash OR c.deleted_at IS NOT NULL))"
        )
        if self.mode == "full":
            # One hash join serves both: changed rows, and live contacts the export lacks
            # (a rejected row still names its account, so that contact is not tombstoned).
            join = "FULL JOIN"
            where = f"{changed} OR (s.line_no IS NULL AND c.deleted_at IS NULL)"
        else:
            join, where = "LEFT JOIN", changed
        return (
            f"CREATE TEMP TABLE {_CAND} ON COMMIT DROP AS "
            f"SELECT {', '.join(outer)}, {reason} AS reason FROM ("
            f"SELECT {', '.join(inner)} FROM {_STAGE} s "
            f"{join} livevox.contacts c ON c.account = s.account WHERE {where} "
            # OFFSET 0 keeps the subquery, so each cast is computed once, not per reference.
            "OFFSET 0) t"
        )

    def _record_rejections(self, names: list[str], *, staged_rejects: bool, bad: bool) -> None:
        if staged_rejects:
            self._exec(
                "INSERT INTO syncd.rejected_rows (run_id, line_number, raw, reason) "
                f"SELECT {self.run_id}, line_no, raw, reject FROM {_STAGE} "
                # An empty reject only protects an account (see records.py): no rejection.
                "WHERE reject <> '' ORDER BY line_no"
            )
        if bad:
            # Raw text rebuilt from the staged fields: CSV quoting where a value needs it.
            # PII (SSN, date of birth) is masked: rejected rows are read by operators.
            pii = {f.column for f in self.fields if f.is_pii}
            parts = [
                f"CASE WHEN s.{_q(n)} IS NULL THEN '' ELSE '{REDACTED}' END"
                if n in pii
                else f"COALESCE(CASE WHEN s.{_q(n)} ~ '[\",\\r\\n]' OR s.{_q(n)} = '' "
                f"THEN '\"' || replace(s.{_q(n)}, '\"', '\"\"') || '\"' "
                f"ELSE s.{_q(n)} END, '')"
                for n in names
            ]
            raw = " || ',' || ".join(parts)
            self._exec(
                "INSERT INTO syncd.rejected_rows (run_id, line_number, raw, reason) "
                f"SELECT {self.run_id}, c.line_no, {raw}, c.reason "
                f"FROM {_CAND} c JOIN {_STAGE} s ON s.line_no = c.line_no "
                "WHERE c.reason IS NOT NULL ORDER BY c.line_no"
            )

    def _apply_changes(self) -> tuple[int, int]:
        """Diff, history and updates for candidates that already exist; (updated, restored)."""
        diffs = ", ".join(
            f"CASE WHEN o.{_q(f.column)} IS DISTINCT FROM n.{_q(f.column)} "
            f"THEN {sql_literal(f.column)} END"
            for f in self.fields
            if f.key != "account"
        )
        self._exec(f"DROP TABLE IF EXISTS pg_temp.{_DIFF}")
        self._exec(
            f"CREATE TEMP TABLE {_DIFF} ON COMMIT DROP AS "
            "SELECT n.account, n.was_deleted, "
            f"array_remove(ARRAY[{diffs or 'NULL'}]::text[], NULL) AS changed "
            f"FROM {_CAND} n JOIN livevox.contacts o ON o.account = n.account "
            "WHERE n.reason IS NULL AND NOT n.is_new"
        )
        self._exec(f"ANALYZE {_DIFF} (account)")
        self.has_diff = True
        updated, restored = self._one(
            "SELECT count(*) FILTER (WHERE cardinality(changed) > 0 AND NOT was_deleted), "
            f"count(*) FILTER (WHERE was_deleted) FROM {_DIFF}"
        )
        touched = "(cardinality(d.changed) > 0 OR d.was_deleted)"
        valid_from = "COALESCE(n.modify_date, now())" if self._has("modify_date") else "now()"
        if updated or restored:
            # Old and new values of the changed columns only. jsonb is built just for the
            # columns that changed in some row of this load (usually a handful), not for all.
            columns = [
                row[0]
                for row in self.raw.execute(
                    f"SELECT DISTINCT unnest(changed) FROM {_DIFF}".encode()
                ).fetchall()
            ]
            old_values, new_values = (
                "(SELECT jsonb_object_agg(v.name, v.value) FROM (VALUES "
                + ", ".join(f"({sql_literal(c)}, to_jsonb({alias}.{_q(c)}))" for c in columns)
                + ") AS v(name, value) WHERE v.name = ANY (d.changed))"
                if columns
                else "NULL::jsonb"
                for alias in ("o", "n")
            )
            self._exec(
                f"UPDATE livevox.contact_history h SET valid_to = {valid_from} "
                f"FROM {_DIFF} d JOIN {_CAND} n ON n.account = d.account "
                f"WHERE h.account = d.account AND h.valid_to IS NULL AND {touched}"
            )
            self._exec(
                "INSERT INTO livevox.contact_history (account, operation, valid_from, "
                "changed_columns, old_values, new_values, row_hash, run_id) "
                "SELECT d.account, CASE WHEN d.was_deleted THEN 'restore' ELSE 'update' END, "
                f"{valid_from}, d.changed, {old_values}, {new_values}, "
                f"n.row_hash, {self.run_id} "
                f"FROM {_DIFF} d JOIN {_CAND} n ON n.account = d.account "
                "JOIN livevox.contacts o ON o.account = d.account "
                f"WHERE {touched} ORDER BY n.line_no"
            )
            assignments = ", ".join(
                f"{_q(f.column)} = n.{_q(f.column)}" for f in self.fields if f.key != "account"
            )
            self._exec(
                f"UPDATE livevox.contacts o SET row_hash = n.row_hash, "
                f"{assignments + ', ' if assignments else ''}"
                f"deleted_at = NULL, run_id = {self.run_id}, changed_at = now() "
                f"FROM {_CAND} n JOIN {_DIFF} d ON d.account = n.account "
                f"WHERE o.account = n.account AND {touched}"
            )
        # Same values, different line (quoting, column order): only remember the new hash.
        self._exec(
            "UPDATE livevox.contacts o SET row_hash = n.row_hash "
            f"FROM {_CAND} n JOIN {_DIFF} d ON d.account = n.account "
            "WHERE o.account = n.account AND cardinality(d.changed) = 0 AND NOT d.was_deleted"
        )
        return int(updated), int(restored)

    def _has(self, column: str) -> bool:
        return any(f.column == column for f in self.fields)

    def _insert_new(self) -> None:
        data = [_q(f.column) for f in self.fields]
        self._exec(
            f"INSERT INTO livevox.contacts (row_hash, {', '.join(data)}, run_id) "
            f"SELECT row_hash, {', '.join(data)}, {self.run_id} FROM {_CAND} "
            "WHERE reason IS NULL AND is_new"
        )
        if self.options.history_on_insert:
            valid_from = "COALESCE(modify_date, now())" if self._has("modify_date") else "now()"
            self._exec(
                "INSERT INTO livevox.contact_history (account, operation, valid_from, "
                f"row_hash, run_id) SELECT account, 'insert', {valid_from}, row_hash, "
                f"{self.run_id} FROM {_CAND} WHERE reason IS NULL AND is_new"
            )

    def _analyze_if_grown(self, inserted: int) -> None:
        """Refresh planner statistics of the mirror after a large insert (e.g. the first)."""
        (estimate,) = self._one(
            "SELECT reltuples FROM pg_class WHERE oid = 'livevox.contacts'::regclass"
        )
        if (
            estimate is None
            or estimate < 0
            or inserted > self.options.analyze_fraction * max(float(estimate), 1.0)
        ):
            self._analyze_keys("livevox.contacts", "account, row_hash, deleted_at")

    def _analyze_keys(self, table: str, columns: str) -> None:
        """Planner statistics for the columns a load's joins use, from a small sample.

        Those columns only: a full ANALYZE of ~200 columns would cost seconds. And a small
        sample: accounts and row hashes are unique and deleted_at / reject mostly NULL, which
        3,000 rows show as well as 30,000, in a tenth of the time (~0.15 s of a 100k first
        load). An ANALYZE of some columns leaves the table's change count standing, so
        autovacuum still analyzes every column of the mirror at its own target soon after.
        """
        (target,) = self._one("SHOW default_statistics_target")
        self._exec(f"SET LOCAL default_statistics_target = {_KEY_STATISTICS_TARGET}")
        self._exec(f"ANALYZE {table} ({columns})")
        self._exec(f"SET LOCAL default_statistics_target = {int(target)}")

    def _tombstone(self, rows_seen: int) -> int:
        (gone,) = self._one(f"SELECT count(*) FROM {_GONE}")
        if not gone:
            return 0
        (live,) = self._one("SELECT count(*) FROM livevox.contacts WHERE deleted_at IS NULL")
        if rows_seen == 0 and not self.options.allow_empty_full:
            raise TombstoneGuardError(
                "a full export without rows would tombstone every contact", live=int(live)
            )
        limit = self.options.max_tombstone_fraction
        if limit is not None and live and gone / live > limit:
            raise TombstoneGuardError(
                f"full reconcile would tombstone {gone} of {live} live contacts "
                f"(limit {limit:.0%})",
                gone=int(gone),
                live=int(live),
            )
        self._exec(
            "UPDATE livevox.contact_history h SET valid_to = now() "
            f"FROM {_GONE} g WHERE h.account = g.account AND h.valid_to IS NULL"
        )
        self._exec(
            "INSERT INTO livevox.contact_history (account, operation, valid_from, run_id) "
            f"SELECT account, 'delete', now(), {self.run_id} FROM {_GONE}"
        )
        return self._exec(
            f"UPDATE livevox.contacts c SET deleted_at = now(), run_id = {self.run_id}, "
            f"changed_at = now() FROM {_GONE} g WHERE c.account = g.account"
        )

    def _max_modify_date(self) -> datetime | None:
        """Largest valid modifyDate among the well-formed staged rows.

        One cheap scan: well-shaped `MM/DD/YYYY HH:MM:SS` values compare as text once
        rearranged to `YYYYMM/DD HH:MM:SS`, so only the winner is validated; other shapes
        (epoch milliseconds) are cast where found. A winner that is no real datetime sends
        us to the exact (slower) scan.
        """
        shape = "'__/__/____ __:__:__'"
        key = (
            "substr(s.modify_date, 7, 4) || substr(s.modify_date, 1, 5) "
            "|| substr(s.modify_date, 11)"
        )
        winner, other = self._one(
            f"SELECT max({key}) FILTER (WHERE s.modify_date LIKE {shape}), "
            f"max({safe_cast_sql('datetime', 's.modify_date')}) "
            f"FILTER (WHERE s.modify_date NOT LIKE {shape}) "
            f"FROM {_STAGE} s WHERE s.reject IS NULL"
        )
        best: datetime | None = None
        if winner is not None:
            text = f"{winner[4:9]}/{winner[:4]}{winner[9:]}"
            # A subquery, not a literal: the planner would fold the CASE's other branches
            # over a constant and raise while planning.
            (best,) = self._one(
                f"SELECT {safe_cast_sql('datetime', 's.modify_date')} "
                f"FROM (SELECT {sql_literal(text)}::text AS modify_date OFFSET 0) s"
            )
            if best is None:
                (best,) = self._one(
                    f"SELECT max({safe_cast_sql('datetime', 's.modify_date')}) "
                    f"FROM {_STAGE} s WHERE s.reject IS NULL AND s.modify_date LIKE {shape}"
                )
        candidates = [v for v in (best, other) if isinstance(v, datetime)]
        return max(candidates) if candidates else None
