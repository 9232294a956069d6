from __future__ import annotations

from sqlalchemy.dialects import postgresql

from syncd.store import codegen
from syncd.store.field_columns import FIELDS
from syncd.store.fields import FIELD_TYPES, FieldColumn, read_field_file
from syncd.store.schema import contacts, sor_contacts, sql_type
from syncd.store.typed_sql import COLUMN_TYPES


def test_generated_field_module_matches_the_data_file() -> None:
    fields = read_field_file()
    assert fields == FIELDS
    assert codegen.GENERATED_PATH.read_text(encoding="utf-8") == codegen.render_field_module(fields)


def test_mirror_has_a_typed_column_per_field_with_the_hash_early() -> None:
    names = [c.name for c in contacts.columns]
    assert names[:3] == ["account", "row_hash", "deleted_at"]
    types = {c.name: c.type.compile(dialect=postgresql.dialect()) for c in contacts.columns}
    assert types["due_date"] == "DATE"
    assert types["modify_date"] == "TIMESTAMP WITH TIME ZONE"
    assert types["balance"] == "NUMERIC"
    assert types["agent_id"] == "BIGINT"
    assert types["phone1_block"] == "BOOLEAN"
    assert types["col100"] == "TEXT"
    assert {f.column for f in FIELDS} <= set(names)


def test_sor_table_has_the_writable_fields_only() -> None:
    names = {c.name for c in sor_contacts.columns}
    assert {"account", "first_name", "ssn", "account_block", "phone3_block_daily"} <= names
    assert {"col1", "col100", "phone10_sms_consent", "due_date"} <= names
    assert not {"modify_date", "create_user", "lv_account_id", "phone1_attempts_total"} & names


def test_phone_fields_map_to_contact_phone_columns() -> None:
    by_key = {f.key: f for f in FIELDS}
    assert by_key["phone3BlockDaily"].phone_attribute == "dnd_daily"
    assert by_key["phone10"].phone_attribute == "phone"
    assert by_key["phone1AttemptsToday"].phone_attribute == "attempts_today"
    assert by_key["balance"].phone_attribute is None
    assert {f.column for f in FIELDS if f.is_pii} == {"ssn", "date_of_birth"}


def test_the_loaders_column_types_are_the_schemas() -> None:
    """The loader spells column types in SQL (phone records); they must be the models' types."""
    compiled = {
        "text": "TEXT",
        "bigint": "BIGINT",
        "numeric": "NUMERIC",
        "boolean": "BOOLEAN",
        "date": "DATE",
        "timestamptz": "TIMESTAMP WITH TIME ZONE",
    }
    for kind in FIELD_TYPES:
        field = FieldColumn("x", "X", "x", kind, "", "standard")
        assert sql_type(field).compile(dialect=postgresql.dialect()) == compiled[COLUMN_TYPES[kind]]
