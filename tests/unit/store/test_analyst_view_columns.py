from __future__ import annotations

from syncd.store.analyst import contacts_view_columns, contacts_view_sql


def _names(labels: dict[str, str]) -> dict[str, str]:
    return dict(contacts_view_columns(labels))


def test_pii_columns_are_not_in_the_view() -> None:
    names = _names({})
    assert "ssn" not in names and "date_of_birth" not in names
    assert names["first_name"] == "first_name"
    assert names["col7"] == "col7"


def test_configured_labels_name_custom_columns() -> None:
    names = _names({"COL7": "Company", "COL9": "Score Type"})
    assert names["col7"] == "Company"
    assert names["col9"] == "Score Type"
    assert '"col7" AS "Company"' in contacts_view_sql({"COL7": "Company"})


def test_colliding_labels_fall_back_to_unique_names() -> None:
    names = _names({"COL1": "city", "COL2": "Tier", "COL3": "Tier", "COL4": "col5"})
    assert names["col1"] == "city (COL1)"  # `city` is a standard column
    assert names["col2"] == "Tier"
    assert names["col3"] == "Tier (COL3)"
    assert names["col4"] == "col5 (COL4)"
    assert names["col5"] == "col5"  # unlabelled columns keep their names
    view_names = [name for _, name in contacts_view_columns({"COL1": "city", "COL4": "col5"})]
    assert len(view_names) == len(set(view_names))


def test_long_labels_are_cut_to_postgres_identifier_length() -> None:
    names = _names({"COL8": "é" * 40})
    assert len(names["col8"].encode()) <= 63
