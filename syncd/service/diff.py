"""Three-way diff in SQL: which contacts need a look, and which of their fields differ.

Two statements, both inside the cycle's planning transaction (REPEATABLE READ, so every
statement and the base written at the end see one snapshot of the SoR and the mirror):

1. **Candidates** (`_sync_cand`). One pass over the SoR hashes each row's mapped columns
   (`hash_record_extended`, 64 bits) and joins it to `syncd.base` and to the mirror's covering
   primary key. A contact is a candidate when its SoR hash differs from `base.sor_hash`, its
   mirror `row_hash` from `base.mirror_hash` (a tombstoned or vanished contact reads as NULL),
   it has no base (new or first contact), its SoR row vanished after agreement (removal), or
   an admin resolved one of its conflicts. Everything else is skipped without reading its
   columns again. `force` (a full reconcile, a targeted resync) makes every selected contact a
   candidate.
2. **Per field** (`_sync_diff`), for candidates only: the canonical value of every mapped
   field on both sides (`store.canonical_sql`), compared with `IS DISTINCT FROM`. A row whose
   raw columns all match is equal without building a single canonical value (the common case
   of a first contact or a forced comparison). Fields that differ come back as jsonb
   `{key: [sor, mirror, agreed]}` for the planner; the set values of jointly owned fields are
   collected too, and those not in `diff` become the new base in SQL — Python never sees a
   value both sides already share.

The expressions span ~200 columns: JIT is switched off for the transaction (compiling them
costs seconds and saves nothing). Rows the key cannot address (no account, over 255
characters) and accounts the SoR holds twice are left out and reported (`KeyProblem`); the
rest of the cycle goes on.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from syncd.crashpoints import crashpoint
from syncd.domain.merge import Ownership
from syncd.domain.values import CUSTOM_VALUE_MAX
from syncd.service.plan import CandidateRow, ConflictState, CustomFieldDef
from syncd.service.sor import MappedField, SorMapping
from syncd.store.base_repo import REMOVED
from syncd.store.canonical_sql import (
    NATIVE_SOURCE,
    canonical_expr,
    quote_ident,
    quote_literal,
    write_expr,
)
from syncd.store.field_columns import FIELDS

_OBJECT_PAIRS = 45  # jsonb_build_object takes at most 100 arguments
_DND_SUFFIXES = ("", "Block", "BlockDaily", "SmsConsent", "CellConsent")


@dataclass(frozen=True, slots=True)
class DiffOptions:
    force: bool = False
    """Compare every selected contact field by field, whatever the hashes say."""
    accounts: tuple[str, ...] = ()
    """Only these accounts (empty: all)."""


@dataclass(frozen=True, slots=True)
class KeyProblem:
    """A SoR row the sync cannot address, or an account held by several rows."""

    account: str | None
    reason: str
    row: dict[str, Any] | None = None
    """The row's canonical values (PII masked) when it has no usable account."""


@dataclass(frozen=True, slots=True)
class DiffStats:
    candidates: int
    to_plan: int
    """Candidates that need the planner (some field differs, or a create / removal)."""


def _object(pairs: Sequence[tuple[str, str]]) -> str:
    """`jsonb_build_object` over any number of (key, value SQL) pairs."""
    if not pairs:
        return "'{}'::jsonb"
    parts = []
    for i in range(0, len(pairs), _OBJECT_PAIRS):
        chunk = pairs[i : i + _OBJECT_PAIRS]
        parts.append(
            "jsonb_build_object(" + ", ".join(f"{quote_literal(k)}, {v}" for k, v in chunk) + ")"
        )
    return " || ".join(parts)


class DiffQueries:
    """The diff's SQL for one SoR mapping, built once."""

    def __init__(self, mapping: SorMapping) -> None:
        self.mapping = mapping
        self.sor = mapping.relation_sql
        self.key = quote_ident(mapping.key_column)
        cols = [f"s.{quote_ident(f.column)}" for f in mapping.fields]
        # A 64-bit hash of the typed values: the function hash partitioning relies on (stable
        # across upgrades), and twice as fast as md5 of the row's text.
        self.sor_hash = f"hash_record_extended(ROW({', '.join(cols) or 'NULL::text'}), 0)::text"

    # The account as text, and the rule that makes it usable.
    def _account(self, alias: str = "s") -> str:
        return f"{alias}.{self.key}::text"

    def _usable(self, alias: str = "s") -> str:
        account = self._account(alias)
        return (
            f"{alias}.{self.key} IS NOT NULL AND btrim({account}) <> '' "
            f"AND length({account}) <= {CUSTOM_VALUE_MAX}"
        )

    def sor_values(self, alias: str = "s") -> list[tuple[str, str]]:
        """(field key, canonical SoR value SQL) of every mapped field."""
        return [
            (
                f.key,
                canonical_expr(
                    f.kind,
                    f.source,
                    f"{alias}.{quote_ident(f.column)}",
                    phone=f.is_phone_number,
                    restriction=f.restriction,
                ),
            )
            for f in self.mapping.fields
        ]

    def mirror_values(self, alias: str = "m") -> list[tuple[str, str]]:
        return [
            (
                f.key,
                canonical_expr(
                    f.kind,
                    NATIVE_SOURCE[f.kind],
                    f"{alias}.{quote_ident(f.mirror_column)}",
                    phone=f.is_phone_number,
                    restriction=f.restriction,
                ),
            )
            for f in self.mapping.fields
        ]

    def key_problems_sql(self) -> str:
        row = _object([(k, v) for k, v in self.sor_values() if not _pii(k)])
        return (
            f"SELECT {self._account()} AS account, jsonb_strip_nulls({row}) AS row "
            f"FROM {self.sor} s WHERE NOT ({self._usable()}) LIMIT :limit"
        )

    def duplicates_sql(self) -> str:
        return (
            f"CREATE TEMP TABLE _sync_dups ON COMMIT DROP AS "
            f"SELECT {self._account()} AS account, count(*) AS n FROM {self.sor} s "
            f"WHERE {self._usable()} GROUP BY 1 HAVING count(*) > 1"
        )

    def candidates_sql(self, *, with_dups: bool, with_accounts: bool) -> str:
        filters = [self._usable()]
        if with_dups:
            filters.append(
                f"NOT EXISTS (SELECT 1 FROM _sync_dups d WHERE d.account = {self._account()})"
            )
        if with_accounts:
            filters.append(f"{self._account()} = ANY(:accounts)")
        base_filters = []
        if with_accounts:
            base_filters.append("account = ANY(:accounts)")
        if with_dups:
            # a duplicated account is reported, not mistaken for a removed one
            base_filters.append("account NOT IN (SELECT account FROM _sync_dups)")
        base_filter = f"WHERE {' AND '.join(base_filters)}" if base_filters else ""
        return f"""
        CREATE TEMP TABLE _sync_cand ON COMMIT DROP AS
        WITH s AS (
            SELECT {self._account()} AS account, {self.sor_hash} AS sor_hash
            FROM {self.sor} s WHERE {" AND ".join(filters)}
        ), b AS (
            SELECT account, sor_hash, mirror_hash FROM syncd.base {base_filter}
        ), j AS (
            SELECT coalesce(s.account, b.account) AS account,
                   s.account IS NOT NULL AS sor_present,
                   b.account IS NOT NULL AS base_present,
                   coalesce(b.sor_hash = '{REMOVED}', false) AS base_removed,
                   s.sor_hash, b.sor_hash AS old_sor_hash, b.mirror_hash AS old_mirror_hash
            FROM s FULL JOIN b ON b.account = s.account
        )
        SELECT j.account, j.sor_present, j.base_present, j.base_removed, j.sor_hash,
               m.account IS NOT NULL AS mirror_live, m.row_hash AS mirror_hash
        FROM j
        LEFT JOIN livevox.contacts m ON m.account = j.account AND m.deleted_at IS NULL
        WHERE NOT (NOT j.sor_present AND j.base_removed)
          AND (:force
               OR NOT j.base_present
               OR NOT j.sor_present
               OR j.old_sor_hash IS DISTINCT FROM j.sor_hash
               OR j.old_mirror_hash IS DISTINCT FROM m.row_hash
               OR j.account IN (SELECT account FROM syncd.conflicts WHERE status = 'resolved'))
        """

    @property
    def joint(self) -> list[MappedField]:
        return [f for f in self.mapping.fields if f.rule.ownership is Ownership.BOTH]

    def _set_value(self, f: MappedField, canonical: str) -> str:
        """The canonical value when set, else NULL (cheap for a boolean flag column)."""
        if f.restriction and f.source == "boolean":
            return f"CASE WHEN s.{quote_ident(f.column)} THEN 'true'::jsonb END"
        unset = "'false'::jsonb" if f.restriction else "'null'::jsonb"
        return f"CASE WHEN {canonical} <> {unset} THEN {canonical} END"

    def _typed_equal(self, f: MappedField) -> str | None:
        """SQL true when the raw columns are equal, for pairs where that implies equal
        canonical values (None: only the canonical values can be compared)."""
        s_col, m_col = f"s.{quote_ident(f.column)}", f"m.{quote_ident(f.mirror_column)}"
        if f.kind == "string" and f.source == "text":
            return f"{s_col}::text IS NOT DISTINCT FROM {m_col}"
        if f.source == NATIVE_SOURCE[f.kind] or (
            f.kind in ("integer", "decimal") and f.source in ("integer", "numeric")
        ):
            return f"{s_col} IS NOT DISTINCT FROM {m_col}"
        return None

    def diff_sql(self) -> str:
        """Per candidate: `diff` (fields whose canonical values differ, with the agreed
        value) and `agree` (the SoR's set values of jointly owned fields; those not in
        `diff` are agreed on both sides and become the base)."""
        fields = self.mapping.fields
        sor, mirror = dict(self.sor_values()), dict(self.mirror_values())
        typed = {f.key: self._typed_equal(f) for f in fields}
        # Fast path: rows whose raw columns all match (most rows of a first contact or a
        # forced comparison) are equal without building a single canonical value.
        fast = [f for f in fields if typed[f.key] is not None]
        slow = [f for f in fields if typed[f.key] is None]
        checks = [f"{sor[f.key]} = {mirror[f.key]}" for f in slow]
        if fast:
            left = ", ".join(
                f"s.{quote_ident(f.column)}" + ("::text" if f.kind == "string" else "")
                for f in fast
            )
            right = ", ".join(f"m.{quote_ident(f.mirror_column)}" for f in fast)
            checks.insert(0, f"ROW({left}) IS NOT DISTINCT FROM ROW({right})")
        row_equal = " AND ".join(checks) or "true"
        differ = _object(
            [
                (
                    f.key,
                    (f"CASE WHEN {typed[f.key]} THEN NULL " if typed[f.key] else "CASE ")
                    + f"WHEN {sor[f.key]} IS DISTINCT FROM {mirror[f.key]} "
                    f"THEN jsonb_build_array({sor[f.key]}, {mirror[f.key]}, "
                    f"b.agreed -> {quote_literal(f.key)}) END",
                )
                for f in fields
            ]
        )
        # The base keeps only what three-way decisions read: jointly owned fields, and of
        # those only set values (an absent key reads as null, or as false for a flag).
        agree = _object([(f.key, self._set_value(f, sor[f.key])) for f in self.joint])
        return f"""
        CREATE TEMP TABLE _sync_diff ON COMMIT DROP AS
        SELECT c.account, c.sor_present, c.base_present, c.base_removed, c.sor_hash,
               c.mirror_live, c.mirror_hash,
               CASE WHEN NOT c.sor_present THEN '{{}}'::jsonb
                    WHEN c.mirror_live AND {row_equal} THEN '{{}}'::jsonb
                    ELSE jsonb_strip_nulls({differ}) END AS diff,
               CASE WHEN c.sor_present AND c.mirror_live THEN jsonb_strip_nulls({agree})
                    ELSE '{{}}'::jsonb END AS agree
        FROM _sync_cand c
        LEFT JOIN {self.sor} s ON c.sor_present AND {self.mapping.key_equals("s", "c.account")}
        LEFT JOIN livevox.contacts m ON c.mirror_live AND m.account = c.account
        LEFT JOIN syncd.base b ON b.account = c.account
        """

    def write_back_sql(self, keys: Sequence[str]) -> str:
        """UPDATE the SoR from `_sync_wb` (account, patch jsonb) for these field keys."""
        by_key = self.mapping.by_key
        sets = []
        for key in keys:
            f = by_key[key]
            col = quote_ident(f.column)
            lit = quote_literal(key)
            value = write_expr(f.kind, f.source, f.sql_type, f"w.patch ->> {lit}")
            sets.append(f"{col} = CASE WHEN w.patch ? {lit} THEN {value} ELSE t.{col} END")
        return (
            f"UPDATE {self.sor} t SET {', '.join(sets)} FROM _sync_wb w "
            f"WHERE {self.mapping.key_equals('t', 'w.account')}"
        )

    def upsert_base_sql(self) -> str:
        """Base of every candidate: agreed values updated with what both sides now share and
        with the planner's patch; hashes of what this plan saw (the SoR's re-read for
        contacts it wrote back to)."""
        rehash = (
            f"(SELECT {self.sor_hash} FROM {self.sor} s "
            f"WHERE {self.mapping.key_equals('s', 'd.account')} LIMIT 1)"
        )
        joint = ", ".join(quote_literal(f.key) for f in self.joint)
        joint_keys = f"ARRAY[{joint}]::text[]"
        # Jointly owned fields not in `diff` are equal on both sides: their old agreed values
        # go, the set ones of `agree` come in. Fields in `diff` keep their last agreement.
        agreed = f"""
            CASE WHEN d.sor_present AND d.mirror_live THEN
                (coalesce(ob.agreed, '{{}}'::jsonb)
                 - CASE WHEN d.diff = '{{}}'::jsonb THEN {joint_keys}
                        ELSE ARRAY(SELECT k FROM unnest({joint_keys}) k WHERE NOT d.diff ? k)
                   END)
                || CASE WHEN d.diff = '{{}}'::jsonb THEN d.agree
                        ELSE d.agree - ARRAY(SELECT jsonb_object_keys(d.diff)) END
            ELSE coalesce(ob.agreed, '{{}}'::jsonb) END"""
        return f"""
        INSERT INTO syncd.base AS b (account, agreed, sor_hash, mirror_hash, run_id, updated_at)
        SELECT d.account,
               jsonb_strip_nulls(({agreed}) || coalesce(p.patch, '{{}}'::jsonb)),
               CASE WHEN NOT d.sor_present THEN '{REMOVED}'
                    WHEN w.account IS NOT NULL THEN {rehash}
                    ELSE d.sor_hash END,
               d.mirror_hash, :run, now()
        FROM _sync_diff d
        LEFT JOIN syncd.base ob ON ob.account = d.account
        LEFT JOIN _sync_base_patch p ON p.account = d.account
        LEFT JOIN _sync_wb w ON w.account = d.account
        ON CONFLICT (account) DO UPDATE
        SET agreed = EXCLUDED.agreed, sor_hash = EXCLUDED.sor_hash,
            mirror_hash = EXCLUDED.mirror_hash, run_id = EXCLUDED.run_id,
            updated_at = EXCLUDED.updated_at
        """

    def unmanaged_sql(self, *, insert: bool) -> str:
        """Count (or copy into the SoR) live LiveVox contacts the SoR never had."""
        where = (
            "m.deleted_at IS NULL "
            "AND NOT EXISTS (SELECT 1 FROM syncd.base b WHERE b.account = m.account) "
            f"AND NOT EXISTS (SELECT 1 FROM {self.sor} s "
            f"WHERE {self.mapping.key_equals('s', 'm.account')})"
        )
        if self.mapping.key_source != "text":
            where = f"m.account ~ '^[0-9]{{1,18}}$' AND {where}"
        if not insert:
            return f"SELECT count(*) FROM livevox.contacts m WHERE {where}"
        fields = [f for f in self.mapping.fields if f.updatable]
        mirror = dict(self.mirror_values())
        columns = [self.key] + [quote_ident(f.column) for f in fields]
        key_value = (
            "m.account"
            if self.mapping.key_source == "text"
            else f"CAST(m.account AS {self.mapping.key_sql_type})"
        )
        values = [key_value] + [
            write_expr(f.kind, f.source, f.sql_type, f"({mirror[f.key]}) #>> '{{}}'")
            for f in fields
        ]
        return (
            f"INSERT INTO {self.sor} ({', '.join(columns)}) "
            f"SELECT {', '.join(values)} FROM livevox.contacts m WHERE {where}"
        )

    def page_sql(self) -> str:
        return f"""
        SELECT d.account, d.sor_present, d.mirror_live, d.base_present, d.base_removed, d.diff,
               m.lv_account_id, m.active AS mirror_active, {_mirror_dnd("m")} AS mirror_dnd
        FROM _sync_diff d
        LEFT JOIN livevox.contacts m ON d.mirror_live AND m.account = d.account
        WHERE d.account > :after AND ({_TO_PLAN})
        ORDER BY d.account
        LIMIT :limit
        """


_TO_PLAN = (
    "d.diff <> '{}'::jsonb OR NOT d.sor_present OR NOT d.mirror_live OR d.base_removed "
    "OR d.account IN (SELECT account FROM syncd.conflicts WHERE status = 'resolved')"
)


def _pii(key: str) -> bool:
    return key in ("ssn", "dateOfBirth")


def _mirror_dnd(alias: str) -> str:
    """jsonb of the mirror's account DND bits and each phone's number, bits and consents."""
    by_key = {f.key: f for f in FIELDS}
    pairs = []
    phones = [f"phone{n}{s}" for n in range(1, 11) for s in _DND_SUFFIXES]
    for key in ["accountBlock", "accountBlockDaily", *phones]:
        f = by_key[key]
        pairs.append(
            (
                key,
                canonical_expr(
                    f.type,
                    NATIVE_SOURCE[f.type],
                    f"{alias}.{quote_ident(f.column)}",
                    phone=f.key == f"phone{f.ordinal}",
                    restriction=f.type == "boolean",
                ),
            )
        )
    return _object(pairs)


class Diff:
    """Runs the diff on one connection (inside the planning transaction)."""

    def __init__(self, conn: Connection, queries: DiffQueries) -> None:
        self.conn = conn
        self.queries = queries

    def key_problems(self, limit: int = 1000) -> list[KeyProblem]:
        """SoR rows without a usable account, and accounts held by several rows."""
        problems = []
        for row in self.conn.execute(sa.text(self.queries.key_problems_sql()), {"limit": limit}):
            account = row.account
            if account is None or not account.strip():
                problems.append(KeyProblem(None, "missing account", row.row))
            else:
                problems.append(
                    KeyProblem(
                        account[:CUSTOM_VALUE_MAX] + "...",
                        f"account of {len(account)} characters (LiveVox allows "
                        f"{CUSTOM_VALUE_MAX})",
                        row.row,
                    )
                )
        if not self.queries.mapping.key_unique:
            self.conn.execute(sa.text(self.queries.duplicates_sql()))
            for row in self.conn.execute(sa.text("SELECT account, n FROM _sync_dups")):
                problems.append(
                    KeyProblem(row.account, f"account appears {row.n} times in the SoR")
                )
        return problems

    def stage(self, options: DiffOptions) -> DiffStats:
        """Create `_sync_cand` and `_sync_diff` for this transaction."""
        # JIT compiling expressions over ~200 columns costs seconds and saves nothing here.
        self.conn.execute(sa.text("SET LOCAL jit = off"))
        sql = self.queries.candidates_sql(
            with_dups=not self.queries.mapping.key_unique,
            with_accounts=bool(options.accounts),
        )
        params: dict[str, Any] = {"force": options.force}
        if options.accounts:
            params["accounts"] = list(options.accounts)
        self.conn.execute(sa.text(sql), params)
        self.conn.execute(sa.text("CREATE UNIQUE INDEX ON _sync_cand (account)"))
        self.conn.execute(sa.text("ANALYZE _sync_cand"))
        self.conn.execute(sa.text(self.queries.diff_sql()))
        self.conn.execute(sa.text("CREATE UNIQUE INDEX ON _sync_diff (account)"))
        self.conn.execute(sa.text("ANALYZE _sync_diff"))
        candidates = self.conn.execute(sa.text("SELECT count(*) FROM _sync_diff")).scalar_one()
        to_plan = self.conn.execute(
            sa.text(f"SELECT count(*) FROM _sync_diff d WHERE {_TO_PLAN}")
        ).scalar_one()
        crashpoint("plan.after_diff")
        return DiffStats(candidates=int(candidates), to_plan=int(to_plan))

    def pages(self, page_size: int = 2000) -> Iterator[list[CandidateRow]]:
        """Rows for the planner, in account order, a page at a time (memory stays flat)."""
        after = ""
        statement = sa.text(self.queries.page_sql())
        while True:
            rows = self.conn.execute(statement, {"after": after, "limit": page_size}).all()
            if not rows:
                return
            yield [
                CandidateRow(
                    account=r.account,
                    sor_present=r.sor_present,
                    mirror_live=r.mirror_live,
                    base_present=r.base_present,
                    base_removed=r.base_removed,
                    diff={k: tuple(v) for k, v in r.diff.items()},
                    lv_account_id=r.lv_account_id,
                    mirror_active=r.mirror_active,
                    mirror_dnd=r.mirror_dnd or {},
                )
                for r in rows
            ]
            after = rows[-1].account

    def conflicts(self) -> dict[str, dict[str, ConflictState]]:
        """Open and admin-resolved conflicts of the candidates: account → field → state."""
        out: dict[str, dict[str, ConflictState]] = {}
        rows = self.conn.execute(
            sa.text(
                "SELECT id, account, field, status, resolution, resolved_value "
                "FROM syncd.conflicts WHERE status IN ('open', 'resolved') "
                "AND account IN (SELECT account FROM _sync_cand)"
            )
        )
        for r in rows:
            out.setdefault(r.account, {})[r.field] = ConflictState(
                r.id, r.field, r.status, r.resolution, r.resolved_value
            )
        return out


def custom_field_defs(conn: Connection) -> dict[str, CustomFieldDef]:
    """The mirrored custom-field definitions (type and list values) for validation."""
    rows = conn.execute(sa.text("SELECT field, data_type, list_values FROM livevox.custom_fields"))
    return {
        r.field: CustomFieldDef(
            r.data_type, tuple(str(v) for v in r.list_values) if r.list_values else None
        )
        for r in rows
    }
