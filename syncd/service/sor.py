"""The system of record as the sync sees it: which column feeds which LiveVox field, checked
against the database catalog at start-up.

Mapping rules (`SorSettings`): the key column holds the account; a column named as a field's
snake_case column (`first_name`, `phone3_block`, `col7`) maps to that field; `columns`
(column → field key) maps the others and overrides the default for the columns it names.
Every problem is a `SorMappingError` that names the offending column, raised before any cycle
runs: an unknown field, a phone ordinal outside 1..10, two columns for one field, a type that
cannot hold the field (a boolean column for `dueDate`), a field LiveVox does not accept from a
client mapped with an owner other than LiveVox, and a write-back field whose column cannot be
updated (a read-only view). Text columns are accepted for any field type; their values are
parsed row by row and a value that does not parse becomes an `invalid` dead letter.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import Connection

from syncd.domain.merge import FieldRule, Ownership
from syncd.domain.profile import ProfileError, build_rules
from syncd.domain.values import FieldKind
from syncd.errors import ConfigError
from syncd.settings import SorSettings
from syncd.store.canonical_sql import COMPATIBLE, SourceType, quote_ident, source_type_of
from syncd.store.catalog import CatalogColumn, Relation, read_relation
from syncd.store.field_columns import FIELDS
from syncd.store.fields import FieldColumn

_PHONE_KEY = re.compile(r"^phone(\d+)(.*)$", re.IGNORECASE)
_KEY_SOURCES: frozenset[SourceType] = frozenset({"text", "integer"})
_DND_SUFFIXES = ("Block", "BlockDaily", "SmsConsent", "CellConsent")


class SorMappingError(ConfigError):
    """The SoR table or its mapping cannot be used; the message names the column."""


@dataclass(frozen=True, slots=True)
class MappedField:
    """One SoR column feeding one LiveVox field."""

    key: str
    """LiveVox field key (`firstName`, `phone3Block`, `COL7`)."""
    column: str
    """SoR column name."""
    kind: FieldKind
    source: SourceType
    """Category of the SoR column's type (`text` for a date kept as text, ...)."""
    sql_type: str
    """The SoR column's declared type, for casts on write-back."""
    mirror_column: str
    """Column of `livevox.contacts`."""
    rule: FieldRule
    group: str
    ordinal: int | None
    is_phone_number: bool
    """`phoneN` itself (compared without formatting characters)."""
    to_livevox: bool
    """LiveVox accepts the field from a client (create / update / DND bodies)."""
    updatable: bool
    """The SoR column can be written (write-back)."""

    @property
    def restriction(self) -> bool:
        return self.rule.is_restriction

    @property
    def via_dnd(self) -> bool:
        """Moved by the multi-contact DND endpoint rather than by update."""
        if self.key in ("accountBlock", "accountBlockDaily"):
            return True
        return self.group == "phone" and self.key.endswith(_DND_SUFFIXES)

    @property
    def writes_back(self) -> bool:
        return self.rule.write_back and self.rule.ownership is not Ownership.SOR


@dataclass(frozen=True, slots=True)
class SorMapping:
    schema: str
    table: str
    kind: str
    """`table`, `view`, ..."""
    key_column: str
    key_source: SourceType
    key_sql_type: str
    key_unique: bool
    """A unique index guarantees one row per account (else duplicates are checked per cycle)."""
    fields: tuple[MappedField, ...]

    @property
    def relation_sql(self) -> str:
        return f"{quote_ident(self.schema)}.{quote_ident(self.table)}"

    @property
    def by_key(self) -> dict[str, MappedField]:
        return {f.key: f for f in self.fields}

    def key_equals(self, alias: str, account_sql: str) -> str:
        """SQL: the SoR row `alias` has the account given by the text expression."""
        key = f"{alias}.{quote_ident(self.key_column)}"
        if self.key_source == "text":
            return f"{key} = {account_sql}"
        return f"{key} = CAST({account_sql} AS {self.key_sql_type})"


# --- the profile -----------------------------------------------------------------------------


def load_rules(path: Path, fields: Iterable[FieldColumn] = FIELDS) -> dict[str, FieldRule]:
    """One `FieldRule` per LiveVox field from a profile TOML file."""
    try:
        profile = tomllib.loads(path.read_text("utf-8"))
    except OSError as exc:
        message = f"cannot read the profile {path}: {exc.strerror}"
        raise ConfigError(message, path=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"profile {path} is not valid TOML: {exc}", path=str(path)) from exc
    try:
        return build_rules(profile, [f.key for f in fields])
    except ProfileError as exc:
        raise ConfigError(f"{path}: {exc}", path=str(path)) from exc


# --- the mapping -----------------------------------------------------------------------------


def split_table(name: str) -> tuple[str, str]:
    """`schema.table` → (schema, table); an unqualified name is in `public`."""
    parts = name.split(".")
    if len(parts) == 1:
        return "public", parts[0]
    if len(parts) == 2 and all(parts):
        return parts[0], parts[1]
    raise SorMappingError(f"SoR table {name!r} is not `schema.table`", table=name)


def load_mapping(
    conn: Connection, settings: SorSettings, rules: Mapping[str, FieldRule]
) -> SorMapping:
    """Read the SoR relation from the catalog and check the mapping against it."""
    schema, table = split_table(settings.table)
    relation = read_relation(conn, schema, table)
    if relation is None:
        raise SorMappingError(
            f"SoR table {schema}.{table} does not exist (sor.table in the configuration)",
            table=settings.table,
        )
    return build_mapping(relation, settings, rules)


def build_mapping(
    relation: Relation,
    settings: SorSettings,
    rules: Mapping[str, FieldRule],
    fields: Iterable[FieldColumn] = FIELDS,
) -> SorMapping:
    """Check and build the mapping (pure: the catalog is already read)."""
    catalog = {f.key: f for f in fields}
    where = f"{relation.schema}.{relation.name}"
    key = relation.column(settings.key_column)
    if key is None:
        raise SorMappingError(
            f"SoR table {where} has no key column {settings.key_column!r} (sor.key_column)",
            column=settings.key_column,
        )
    key_source = source_type_of(key.base_type, is_enum=key.is_enum)
    if key_source not in _KEY_SOURCES:
        raise SorMappingError(
            f"SoR key column {where}.{key.name} is {key.sql_type}; the account needs a text "
            "or integer column",
            column=key.name,
        )
    chosen: dict[str, str] = {}  # field key -> column
    for column, field_key in settings.columns.items():
        if column == key.name:
            raise SorMappingError(
                f"SoR column {where}.{column} is the key column; it cannot also map to "
                f"{field_key!r}",
                column=column,
            )
        if relation.column(column) is None:
            raise SorMappingError(
                f"sor.columns names {column!r}, which {where} does not have", column=column
            )
        resolved = _field_key(field_key, catalog, column, where)
        if resolved in chosen:
            raise SorMappingError(
                f"SoR columns {chosen[resolved]!r} and {column!r} both map to {resolved!r}",
                column=column,
            )
        chosen[resolved] = column
    explicit = set(settings.columns)
    for f in catalog.values():
        if f.key == "account" or f.key in chosen:
            continue
        col = relation.column(f.column)
        if col is None or col.name in explicit or col.name == key.name:
            continue
        if not f.sor_writable and rules[f.key].ownership is not Ownership.LIVEVOX:
            continue  # a read-only LiveVox field by name only: not mapped unless asked for
        chosen[f.key] = col.name
    mapped = tuple(
        _mapped_field(catalog[k], relation.column(c), rules[k], where) for k, c in chosen.items()
    )
    order = {f.key: i for i, f in enumerate(catalog.values())}
    return SorMapping(
        schema=relation.schema,
        table=relation.name,
        kind=relation.kind,
        key_column=key.name,
        key_source=key_source,
        key_sql_type=key.sql_type,
        key_unique=key.name in relation.unique_columns,
        fields=tuple(sorted(mapped, key=lambda m: order[m.key])),
    )


def _field_key(name: str, catalog: Mapping[str, FieldColumn], column: str, where: str) -> str:
    if name in catalog and name != "account":
        return name
    phone = _PHONE_KEY.match(name)
    if phone and not 1 <= int(phone.group(1)) <= 10:
        raise SorMappingError(
            f"SoR column {where}.{column} maps to {name!r}: phone ordinal {int(phone.group(1))} "
            "is outside 1..10",
            column=column,
        )
    if name == "account":
        raise SorMappingError(
            f"SoR column {where}.{column} maps to 'account'; set sor.key_column instead",
            column=column,
        )
    raise SorMappingError(
        f"SoR column {where}.{column} maps to {name!r}, which is not a LiveVox field",
        column=column,
    )


def _mapped_field(
    field: FieldColumn,
    column: CatalogColumn | None,
    rule: FieldRule,
    where: str,
) -> MappedField:
    assert column is not None
    source = source_type_of(column.base_type, is_enum=column.is_enum)
    if source is None or source not in COMPATIBLE[field.type]:
        accepted = ", ".join(sorted(COMPATIBLE[field.type]))
        raise SorMappingError(
            f"SoR column {where}.{column.name} is {column.sql_type}, which cannot hold "
            f"{field.key} ({field.type}; accepted column types: {accepted})",
            column=column.name,
        )
    if not field.sor_writable and rule.ownership is not Ownership.LIVEVOX:
        raise SorMappingError(
            f"SoR column {where}.{column.name} maps to {field.key}, which LiveVox does not "
            "accept from a client; give it ownership 'livevox' in the profile or unmap it",
            column=column.name,
        )
    mapped = MappedField(
        key=field.key,
        column=column.name,
        kind=field.type,
        source=source,
        sql_type=column.sql_type,
        mirror_column=field.column,
        rule=rule,
        group=field.group,
        ordinal=field.ordinal,
        is_phone_number=field.group == "phone" and field.key == f"phone{field.ordinal}",
        to_livevox=field.sor_writable,
        updatable=column.updatable,
    )
    if mapped.writes_back and not column.updatable:
        raise SorMappingError(
            f"SoR column {where}.{column.name} ({field.key}) has write_back in the profile but "
            f"cannot be updated (is {where} a read-only view?)",
            column=column.name,
        )
    return mapped
