"""SQL expressions that build the canonical JSON value of a field from a typed column.

The diff compares the SoR, the mirror and `syncd.base` inside Postgres, so the canonical form
of `syncd.domain.values` has a SQL twin here: `canonical_expr` turns a column of any
compatible type into the same jsonb value `values.to_canonical` / `values.parse_value` give
in Python (an integration test feeds both the same values). The expressions never raise: text
that does not parse stays a JSON *string*, which the planner's `parse_value` then reports as
invalid, so one bad row can never fail the query for the others.

Source types are grouped into categories (`text`, `integer`, `numeric`, `float`, `boolean`,
`date`, `timestamp`, `timestamptz`); `COMPATIBLE` says which categories may feed which field
type. `write_expr` is the reverse direction: the SQL that stores a canonical value (given as
text) into a SoR column, for write-back.
"""

from __future__ import annotations

from typing import Literal

from syncd.domain.values import AMOUNT_STEP

FieldKind = Literal["string", "integer", "decimal", "boolean", "date", "datetime"]
SourceType = Literal[
    "text", "integer", "numeric", "float", "boolean", "date", "timestamp", "timestamptz"
]

_AMOUNT_PLACES = -int(AMOUNT_STEP.as_tuple().exponent)
"""Decimal places of `values.AMOUNT_STEP`: SQL's round() on numeric rounds half away from
zero, as the Python side's ROUND_HALF_UP."""

PHONE_FORMATTING_SQL = r"'[\s().-]'"
"""The regex of `values.PHONE_FORMATTING`, as a SQL literal."""

COMPATIBLE: dict[FieldKind, frozenset[SourceType]] = {
    "string": frozenset({"text", "integer", "numeric"}),
    "integer": frozenset({"integer", "numeric", "text"}),
    "decimal": frozenset({"integer", "numeric", "float", "text"}),
    "boolean": frozenset({"boolean", "integer", "text"}),
    "date": frozenset({"date", "timestamp", "timestamptz", "text"}),
    "datetime": frozenset({"timestamptz", "timestamp", "date", "text"}),
}

NATIVE_SOURCE: dict[FieldKind, SourceType] = {
    "string": "text",
    "integer": "integer",
    "decimal": "numeric",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}
"""The mirror's column type for each field type (see `schema.sql_type`)."""

_BASE_TYPES: dict[str, SourceType] = {
    "text": "text",
    "varchar": "text",
    "bpchar": "text",
    "name": "text",
    "citext": "text",
    "int2": "integer",
    "int4": "integer",
    "int8": "integer",
    "numeric": "numeric",
    "float4": "float",
    "float8": "float",
    "bool": "boolean",
    "date": "date",
    "timestamp": "timestamp",
    "timestamptz": "timestamptz",
}

_TRUE_WORDS = "('true', 't', 'yes', 'y', '1', 'on')"
_FALSE_WORDS = "('false', 'f', 'no', 'n', '0', 'off')"


def source_type_of(base_type: str, *, is_enum: bool = False) -> SourceType | None:
    """Category of a column from its (domain-resolved) `pg_type.typname`; enums read as text."""
    if is_enum:
        return "text"
    return _BASE_TYPES.get(base_type)


def quote_ident(name: str) -> str:
    """A Postgres identifier, always quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _us_date_as_iso(text: str) -> str:
    """SQL: `MM/DD/YYYY` text as `YYYY-MM-DD` when it is a calendar date, else NULL.

    Not a calendar date (02/30/2027), the text stays as the SoR wrote it, so the planner's
    dead letter quotes '02/30/2027' rather than a rewritten '2027-02-30'. Arithmetic only: a
    cast or make_date would raise on such a value and fail the whole diff.
    """
    last_day = (
        "CASE WHEN m = 2 THEN 28 + (y % 4 = 0 AND (y % 100 <> 0 OR y % 400 = 0))::int "
        "WHEN m IN (4, 6, 9, 11) THEN 30 ELSE 31 END"
    )
    return (
        f"(SELECT CASE WHEN y >= 1 AND m BETWEEN 1 AND 12 AND d BETWEEN 1 AND {last_day} "
        "THEN to_char(y, 'FM0000') || '-' || to_char(m, 'FM00') || '-' || to_char(d, 'FM00') "
        "END FROM (SELECT u[1]::int AS m, u[2]::int AS d, u[3]::int AS y "
        f"FROM regexp_match({text}, '^([0-9]{{1,2}})/([0-9]{{1,2}})/([0-9]{{4}})$') AS u) p)"
    )


def _value_expr(kind: FieldKind, source: SourceType, col: str, phone: bool) -> str:
    """jsonb of the value, SQL NULL when the column is NULL (or empty text)."""
    text = f"{col}::text"
    trimmed = f"btrim({col}::text)"
    loose = f"to_jsonb(NULLIF({trimmed}, ''))"
    match kind:
        case "string":
            if phone:
                # a number loses its formatting; anything else stays as written, for the
                # planner to report as it is
                stripped = f"regexp_replace({text}, {PHONE_FORMATTING_SQL}, '', 'g')"
                return (
                    f"CASE WHEN {stripped} ~ '^[+]?[0-9]{{4,15}}$' THEN to_jsonb({stripped}) "
                    f"WHEN {stripped} = '' THEN NULL ELSE to_jsonb({text}) END"
                )
            return f"to_jsonb(NULLIF({text}, ''))"
        case "integer":
            if source == "integer":
                return f"to_jsonb({col}::bigint)"
            if source == "numeric":
                return (
                    f"CASE WHEN {col} = trunc({col}) AND abs({col}) < 1e18 "
                    f"THEN to_jsonb({col}::bigint) ELSE to_jsonb({text}) END"
                )
            return (
                f"CASE WHEN {trimmed} ~ '^[+-]?[0-9]{{1,18}}$' "
                f"THEN to_jsonb({trimmed}::bigint) ELSE {loose} END"
            )
        case "decimal":
            if source == "integer":
                return f"to_jsonb({text})"
            if source in ("numeric", "float"):
                return f"to_jsonb(trim_scale(round({col}::numeric, {_AMOUNT_PLACES}))::text)"
            rounded = f"trim_scale(round({trimmed}::numeric, {_AMOUNT_PLACES}))"
            return (
                f"CASE WHEN {trimmed} ~ '^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)$' "
                f"THEN to_jsonb({rounded}::text) ELSE {loose} END"
            )
        case "boolean":
            if source == "boolean":
                return f"to_jsonb({col})"
            if source == "integer":
                return (
                    f"CASE WHEN {col} IN (0, 1) THEN to_jsonb({col} = 1) "
                    f"ELSE to_jsonb({text}) END"
                )
            return (
                f"CASE WHEN lower({trimmed}) IN {_TRUE_WORDS} THEN 'true'::jsonb "
                f"WHEN lower({trimmed}) IN {_FALSE_WORDS} THEN 'false'::jsonb ELSE {loose} END"
            )
        case "date":
            if source in ("date", "timestamp"):
                return f"to_jsonb(to_char({col}, 'YYYY-MM-DD'))"
            if source == "timestamptz":
                return f"to_jsonb(to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD'))"
            return (
                f"CASE WHEN {trimmed} ~ '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}$' "
                f"THEN to_jsonb({trimmed}) "
                f"ELSE coalesce(to_jsonb({_us_date_as_iso(trimmed)}), {loose}) END"
            )
        case "datetime":
            iso = 'YYYY-MM-DD"T"HH24:MI:SS"Z"'
            if source == "timestamptz":
                return f"to_jsonb(to_char({col} AT TIME ZONE 'UTC', '{iso}'))"
            if source == "timestamp":
                return f"to_jsonb(to_char({col}, '{iso}'))"
            if source == "date":
                return f"to_jsonb(to_char({col}, 'YYYY-MM-DD\"T00:00:00Z\"'))"
            return loose
    raise ValueError(f"unknown field type {kind!r}")


def canonical_expr(
    kind: FieldKind,
    source: SourceType,
    col: str,
    *,
    phone: bool = False,
    restriction: bool = False,
) -> str:
    """jsonb expression of a column's canonical value; never SQL NULL (`null`, or `false` for a
    restriction flag: LiveVox has no unset DND or consent)."""
    if source not in COMPATIBLE[kind]:
        raise ValueError(f"a {source} column cannot hold a {kind} field")
    missing = "'false'::jsonb" if restriction else "'null'::jsonb"
    return f"coalesce({_value_expr(kind, source, col, phone)}, {missing})"


def write_expr(kind: FieldKind, source: SourceType, sql_type: str, param: str) -> str:
    """SQL storing a canonical value (`param`: a text expression, NULL = clear) in a column."""
    if source == "text":
        return f"CAST({param} AS {sql_type})"
    if kind == "boolean" and source == "integer":
        return f"CASE CAST({param} AS boolean) WHEN true THEN 1 WHEN false THEN 0 END"
    if kind == "date" and source == "timestamptz":
        return f"CAST({param} || 'T00:00:00Z' AS {sql_type})"
    return f"CAST({param} AS {sql_type})"
