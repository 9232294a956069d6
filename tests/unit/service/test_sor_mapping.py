"""SoR mapping start-up checks (pure part: the catalog is given as a `Relation`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from syncd.domain.merge import FieldRule, Ownership
from syncd.service.sor import SorMappingError, build_mapping, load_rules, split_table
from syncd.settings import SorSettings
from syncd.store.catalog import CatalogColumn, Relation
from syncd.store.field_columns import FIELDS

RULES = load_rules(Path("config/profiles/default.toml"))

_BASE_TYPES = {"text": "text", "bigint": "int8", "numeric": "numeric", "boolean": "bool",
               "date": "date", "timestamptz": "timestamptz", "integer": "int4"}  # fmt: skip


def _relation(*columns: tuple[str, str], unique: tuple[str, ...] = ("account",)) -> Relation:
    return Relation(
        schema="crm",
        name="people",
        kind="table",
        columns=tuple(
            CatalogColumn(name, sql_type, _BASE_TYPES[sql_type], False, True)
            for name, sql_type in columns
        ),
        unique_columns=frozenset(unique),
    )


def _settings(**kwargs: object) -> SorSettings:
    return SorSettings(table="crm.people", **kwargs)  # type: ignore[arg-type]


def test_columns_map_by_name_and_by_configuration() -> None:
    relation = _relation(
        ("account", "text"),
        ("first_name", "text"),
        ("cust_last", "text"),
        ("balance", "text"),  # a number kept as text: parsed row by row
        ("phone3_block", "boolean"),
        ("notes", "text"),  # not a field, not mapped: ignored
    )
    mapping = build_mapping(relation, _settings(columns={"cust_last": "lastName"}), RULES)
    by_key = mapping.by_key
    assert set(by_key) == {"firstName", "lastName", "balance", "phone3Block"}
    assert by_key["lastName"].column == "cust_last"
    assert by_key["balance"].source == "text"
    assert by_key["phone3Block"].via_dnd and by_key["phone3Block"].restriction
    assert mapping.key_unique


def test_an_override_replaces_the_default_column_of_its_field() -> None:
    relation = _relation(("account", "text"), ("first_name", "text"), ("given", "text"))
    mapping = build_mapping(relation, _settings(columns={"given": "firstName"}), RULES)
    assert mapping.by_key["firstName"].column == "given"


@pytest.mark.parametrize(
    ("columns", "mapping", "message"),
    [
        ([("account", "text"), ("due_date", "boolean")], {},
         "crm.people.due_date is boolean, which cannot hold dueDate (date"),
        ([("account", "text"), ("extra", "text")], {"extra": "phone11"},
         "crm.people.extra maps to 'phone11': phone ordinal 11 is outside 1..10"),
        ([("account", "text"), ("extra", "text")], {"extra": "nickname"},
         "crm.people.extra maps to 'nickname', which is not a LiveVox field"),
        ([("account", "text")], {"missing": "firstName"},
         "sor.columns names 'missing', which crm.people does not have"),
        ([("account", "text"), ("a", "text"), ("b", "text")], {"a": "city", "b": "city"},
         "SoR columns 'a' and 'b' both map to 'city'"),
        ([("acct", "text")], {}, "has no key column 'account'"),
        ([("account", "boolean")], {}, "the account needs a text or integer column"),
        ([("account", "text"), ("x", "boolean")], {"x": "accountEmailBlock"},
         "maps to accountEmailBlock, which LiveVox does not accept from a client"),
    ],
)  # fmt: skip
def test_problems_are_named_by_column(
    columns: list[tuple[str, str]], mapping: dict[str, str], message: str
) -> None:
    with pytest.raises(SorMappingError) as caught:
        build_mapping(_relation(*columns), _settings(columns=mapping), RULES)
    assert message in caught.value.message


def test_write_back_needs_an_updatable_column() -> None:
    relation = Relation(
        schema="crm",
        name="people_view",
        kind="view",
        columns=(
            CatalogColumn("account", "text", "text", False, False),
            CatalogColumn("account_block", "boolean", "bool", False, False),
        ),
        unique_columns=frozenset(),
    )
    with pytest.raises(SorMappingError, match=r"account_block .*cannot be updated"):
        build_mapping(relation, _settings(), RULES)
    read_only = {
        **RULES,
        "accountBlock": FieldRule(Ownership.BOTH, restrictive_value=True, write_back=False),
    }
    mapping = build_mapping(relation, _settings(), read_only)
    assert not mapping.key_unique and mapping.by_key["accountBlock"].updatable is False


def test_read_only_livevox_fields_are_mapped_only_when_owned_by_livevox() -> None:
    relation = _relation(("account", "text"), ("modify_date", "timestamptz"))
    assert build_mapping(relation, _settings(), RULES).by_key["modifyDate"].to_livevox is False
    sor_owned = {**RULES, "modifyDate": FieldRule(Ownership.SOR)}
    assert "modifyDate" not in build_mapping(relation, _settings(), sor_owned).by_key


def test_table_names() -> None:
    assert split_table("sor.contacts") == ("sor", "contacts")
    assert split_table("contacts") == ("public", "contacts")
    with pytest.raises(SorMappingError):
        split_table("a.b.c")


def test_every_field_of_the_default_sor_table_maps() -> None:
    writable = [f for f in FIELDS if f.sor_writable]
    relation = _relation(*[(f.column, "text") for f in writable])
    mapping = build_mapping(relation, _settings(), RULES)
    assert len(mapping.fields) == len(writable) - 1  # all but the key
