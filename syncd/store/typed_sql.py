"""SQL for checking and casting the export's text values to the mirror's column types.

Postgres 15 has no `pg_input_is_valid`, and a failed cast aborts the whole statement. The
loader therefore casts in ways that accept exactly the same values:

* Postgres' own input functions, when the first load into an empty mirror COPYs the export
  straight into the typed table (`initial_load.py`); a guard in front of it sends the special
  words below, which those functions would take, to the staging path instead.
* `strict_cast_sql` — the staging path's fast way: the same input functions, the special
  words refused. It *raises* on a bad value; the loader runs it under a savepoint, and on a
  clean export (the normal case) no value is checked twice.
* `checked_cast_sql` — the slow way, after the fast one raised: NULL for a bad value, so
  bad rows can be singled out and rejected. A strict regex accepts the common case cheaply;
  anything else is decided by a per-type PL/pgSQL function that runs the *strict cast itself*
  under an exception handler (`try_function_sql`), so both ways agree by construction.

The loader pins the session settings the input functions read (`SESSION_SETTINGS`: DateStyle
`ISO, MDY`, TimeZone `UTC`), so what is accepted does not depend on the server's defaults.
Accepted text (empty = NULL):

| type     | accepted                                                            | column      |
|----------|---------------------------------------------------------------------|-------------|
| string   | anything                                                            | text        |
| integer  | Postgres bigint input (`-12`, `+7`)                                 | bigint      |
| decimal  | Postgres numeric input, except NaN and infinities                   | numeric     |
| boolean  | Postgres boolean input (`true`/`false`, also `t`, `yes`…)           | boolean     |
| date     | Postgres date input, month first (`MM/DD/YYYY` as exported; also    | date        |
|          | `YYYY-MM-DD`, `1/2/2027`), except the special words                 |             |
| datetime | Postgres timestamptz input, month first, UTC unless an offset is    | timestamptz |
|          | given (`MM/DD/YYYY HH:MM:SS` as exported), or epoch milliseconds    |             |
|          | (10-13 digits), except the special words                            |             |

The special words (`now`, `today`, `tomorrow`, `yesterday`, `epoch`, `infinity`,
`allballs`) name no fixed point in time (or none at all): a contact's date is never "today".
"""

from __future__ import annotations

from syncd.store.fields import FieldType

_INT_SHAPE = r"^[+-]?[0-9]{1,19}$"
_DECIMAL_SHAPE = r"^[+-]?([0-9]+[.]?[0-9]*|[.][0-9]+)([eE][+-]?[0-9]{1,4})?$"
_DATE_SHAPE = r"^[0-9]{2}/[0-9]{2}/[0-9]{4}$"
_DATETIME_SHAPE = r"^[0-9]{2}/[0-9]{2}/[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2}$"
_EPOCH_MS_SHAPE = r"^[0-9]{10,13}$"
SPECIAL_WORDS: tuple[str, ...] = (
    "now", "today", "tomorrow", "yesterday", "epoch", "infinity", "allballs",
)  # fmt: skip
# A special word as a token: no letter right before or after it (case-insensitive match).
_SPECIAL_SHAPE = r"(^|[^a-z])(" + "|".join(SPECIAL_WORDS) + r")([^a-z]|$)"

SESSION_SETTINGS: tuple[str, ...] = (
    "SET LOCAL DateStyle = 'ISO, MDY'",
    "SET LOCAL TimeZone = 'UTC'",
)
"""What the loader runs first in its transaction: the input functions read these settings."""

COLUMN_TYPES: dict[FieldType, str] = {
    "string": "text",
    "integer": "bigint",
    "decimal": "numeric",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}
"""The mirror's Postgres column type of each field type (the last column of the table above)."""

EXPECTED: dict[FieldType, str] = {
    "string": "text",
    "integer": "an integer",
    "decimal": "a decimal number",
    "boolean": "true or false",
    "date": "a date MM/DD/YYYY",
    "datetime": "a datetime MM/DD/YYYY HH:MM:SS or epoch milliseconds",
}


def _month(ref: str) -> str:
    return f"substr({ref}, 1, 2)::int"


def _day(ref: str) -> str:
    return f"substr({ref}, 4, 2)::int"


def _year(ref: str) -> str:
    return f"substr({ref}, 7, 4)::int"


def _calendar_ok(ref: str) -> str:
    """Month 1..12, year >= 1, day within the month (leap years included)."""
    m, d, y = _month(ref), _day(ref), _year(ref)
    days_in_month = (
        f"CASE WHEN {m} = 2 THEN "
        f"CASE WHEN {y} % 4 = 0 AND ({y} % 100 <> 0 OR {y} % 400 = 0) THEN 29 ELSE 28 END "
        # 31 for Jan, Mar, May, Jul, Aug, Oct, Dec; 30 for the others.
        f"ELSE 31 - ({m} - 1) % 7 % 2 END"
    )
    return f"({m} BETWEEN 1 AND 12 AND {y} >= 1 AND {d} BETWEEN 1 AND {days_in_month})"


def _clock_ok(ref: str) -> str:
    return (
        f"(substr({ref}, 12, 2)::int < 24 AND substr({ref}, 15, 2)::int < 60 "
        f"AND substr({ref}, 18, 2)::int < 60)"
    )


def valid_sql(kind: FieldType, ref: str) -> str:
    """Boolean SQL: is the (non-NULL) text `ref` a valid value of `kind`?"""
    if kind == "string":
        return "true"
    if kind == "integer":
        return (
            f"(CASE WHEN {ref} ~ '{_INT_SHAPE}' "
            f"THEN {ref}::numeric BETWEEN -9223372036854775808 AND 9223372036854775807 "
            f"ELSE false END)"
        )
    if kind == "decimal":
        return f"({ref} ~ '{_DECIMAL_SHAPE}')"
    if kind == "boolean":
        return f"(lower({ref}) IN ('true', 'false'))"
    if kind == "date":
        return f"(CASE WHEN {ref} ~ '{_DATE_SHAPE}' THEN {_calendar_ok(ref)} ELSE false END)"
    if kind == "datetime":
        return (
            f"(CASE WHEN {ref} ~ '{_DATETIME_SHAPE}' "
            f"THEN {_calendar_ok(ref)} AND {_clock_ok(ref)} "
            f"WHEN {ref} ~ '{_EPOCH_MS_SHAPE}' THEN true ELSE false END)"
        )
    raise ValueError(f"unknown field type {kind!r}")


def cast_sql(kind: FieldType, ref: str) -> str:
    """Typed SQL value of `ref`; only defined (never raises) when `valid_sql` holds."""
    if kind == "string":
        return ref
    if kind == "integer":
        return f"{ref}::bigint"
    if kind == "decimal":
        return f"{ref}::numeric"
    if kind == "boolean":
        return f"(lower({ref}) = 'true')"
    if kind == "date":
        return f"make_date({_year(ref)}, {_month(ref)}, {_day(ref)})"
    if kind == "datetime":
        # Seconds since the epoch, so neither TimeZone nor DateStyle of the session matter.
        seconds = (
            f"(make_date({_year(ref)}, {_month(ref)}, {_day(ref)}) - DATE '1970-01-01') * 86400"
            f" + substr({ref}, 12, 2)::int * 3600 + substr({ref}, 15, 2)::int * 60"
            f" + substr({ref}, 18, 2)::int"
        )
        return (
            f"(CASE WHEN length({ref}) = 19 THEN to_timestamp({seconds}) "
            f"ELSE to_timestamp({ref}::bigint / 1000.0) END)"
        )
    raise ValueError(f"unknown field type {kind!r}")


def safe_cast_sql(kind: FieldType, ref: str) -> str:
    """Typed value, or NULL when `ref` is NULL or fails the strict regex (never raises)."""
    if kind == "string":
        return ref
    return f"(CASE WHEN {valid_sql(kind, ref)} THEN {cast_sql(kind, ref)} END)"


def strict_cast_sql(kind: FieldType, ref: str) -> str:
    """Typed value of `ref` (NULL for NULL); raises a data exception for a bad value."""
    if kind == "string":
        return ref
    if kind == "integer":
        return f"{ref}::bigint"
    if kind == "decimal":
        # NaN and the infinities are numeric input too, but no balance or amount.
        return (
            f"(CASE WHEN strpos(lower({ref}), 'n') > 0 "
            f"THEN ('[not a decimal] ' || {ref})::numeric ELSE {ref}::numeric END)"
        )
    if kind == "boolean":
        return f"{ref}::boolean"
    if kind == "date":
        return (
            f"(CASE WHEN {ref} ~* '{_SPECIAL_SHAPE}' THEN ('[special word] ' || {ref})::date "
            f"ELSE {ref}::date END)"
        )
    if kind == "datetime":
        return (
            f"(CASE WHEN {ref} ~ '{_EPOCH_MS_SHAPE}' THEN to_timestamp({ref}::bigint / 1000.0) "
            f"WHEN {ref} ~* '{_SPECIAL_SHAPE}' THEN ('[special word] ' || {ref})::timestamptz "
            f"ELSE {ref}::timestamptz END)"
        )
    raise ValueError(f"unknown field type {kind!r}")


def try_function_name(kind: FieldType) -> str:
    return f"pg_temp.syncd_try_{kind}"


def try_function_sql(kind: FieldType) -> str:
    """`CREATE FUNCTION` of a session-local boolean: does the strict cast accept the text?"""
    return (
        f"CREATE OR REPLACE FUNCTION {try_function_name(kind)}(value text) RETURNS boolean "
        "LANGUAGE plpgsql IMMUTABLE AS $syncd$ BEGIN "
        f"PERFORM {strict_cast_sql(kind, 'value')}; RETURN true; "
        "EXCEPTION WHEN data_exception THEN RETURN false; END $syncd$"
    )


def checked_cast_sql(kind: FieldType, ref: str) -> str:
    """Typed value, or NULL for NULL or a value the strict cast would reject (never raises).

    The strict regex (`valid_sql`) only accepts text the strict cast accepts too, so the
    PL/pgSQL function — a subtransaction per call — runs for unusual values only.
    """
    if kind == "string":
        return ref
    strict = strict_cast_sql(kind, ref)
    return (
        f"(CASE WHEN {ref} IS NULL THEN NULL WHEN {valid_sql(kind, ref)} THEN {strict} "
        f"WHEN {try_function_name(kind)}({ref}) THEN {strict} END)"
    )


def sql_literal(text: str) -> str:
    """A standard-conforming SQL string literal."""
    return "'" + text.replace("'", "''") + "'"
