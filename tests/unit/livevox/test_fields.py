"""The packaged field table and mapping export headers (labels or keys) onto field keys."""

from __future__ import annotations

import pytest

from syncd.livevox import (
    AmbiguousExportColumnError,
    FieldTableError,
    UnknownExportColumnError,
    load_field_table,
)
from syncd.livevox._fields import expected_columns, parse_field_table, resolve_header


def test_field_table_loads_in_spec_order() -> None:
    table = load_field_table()
    assert table.keys[:3] == ("account", "dueDate", "accountToSpeak")
    assert table.keys[-1] == "COL100"
    assert len(table.keys) == 214
    by_key = table.by_key()
    assert by_key["ssn"].is_pii and by_key["dateOfBirth"].is_pii
    assert by_key["phone3BlockDaily"].ordinal == 3
    assert by_key["balance"].label == "Payment Balance"


def test_labels_keys_and_custom_labels_map_to_keys() -> None:
    table = load_field_table()
    columns = resolve_header(
        ["Account", "Account Due Date", "dueDate", "Zip/Postal Code", "Company", "COL10"],
        table,
        {"COL9": "Company"},
    )
    assert columns == ["account", "dueDate", "dueDate", "zipCode", "COL9", "COL10"]


def test_case_insensitive_label_fallback() -> None:
    assert resolve_header(["ACCOUNT DUE DATE"], load_field_table(), {}) == ["dueDate"]


def test_unknown_header_is_named() -> None:
    with pytest.raises(UnknownExportColumnError) as info:
        resolve_header(["Account", "Shoe Size"], load_field_table(), {})
    assert info.value.header == "Shoe Size"
    assert info.value.position == 1


def test_label_shared_by_two_fields_is_settled_by_position_or_rejected() -> None:
    table = load_field_table()
    custom = {"COL5": "City"}
    assert resolve_header(["City"], table, custom, expected=["COL5"]) == ["COL5"]
    assert resolve_header(["City"], table, custom, expected=["city"]) == ["city"]
    with pytest.raises(AmbiguousExportColumnError) as info:
        resolve_header(["City"], table, custom)
    assert set(info.value.candidates) == {"city", "COL5"}


def test_configured_custom_label_replaces_the_colN_default() -> None:
    table = load_field_table()
    # COL9 relabelled: a header "COL9" is still the key, "Company" is the label
    assert resolve_header(["COL9", "Company"], table, {"COL9": "Company"}) == ["COL9", "COL9"]


def test_label_overrides() -> None:
    table = load_field_table().with_labels({"balance": "Balance Due"})
    assert resolve_header(["Balance Due"], table, {}) == ["balance"]
    with pytest.raises(FieldTableError):
        load_field_table().with_labels({"nope": "x"})


def test_expected_columns() -> None:
    table = load_field_table()
    assert expected_columns(table, ["allFields"]) == table.keys
    assert expected_columns(table, ["account", "dueDate"]) == ("account", "dueDate")


def test_malformed_table_is_rejected() -> None:
    with pytest.raises(FieldTableError):
        parse_field_table("key,label\nx,y\n")
    header = "key,label,column,type,csv_format,group,ordinal,sensitivity\n"
    with pytest.raises(FieldTableError):
        parse_field_table(header + "a,A,a,blob,,standard,,\n")
    with pytest.raises(FieldTableError):
        parse_field_table(header + "a,A,a,string,,standard,,\na,B,b,string,,standard,,\n")
