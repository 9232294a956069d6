"""A system of record of its own shape: start-up checks on the real catalog, text columns
parsed row by row, bad rows turned into `invalid` dead letters while the rest goes on."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from syncd.errors import ConfigError
from syncd.service.requests import CycleKind
from syncd.service.sor import SorMappingError
from syncd.store.dead_letters_repo import list_dead_letters, retry_dead_letters
from tests.integration.sync.conftest import SyncHarness, cycle

CRM = """
CREATE SCHEMA crm;
CREATE TABLE crm.people (
    acct text,
    given text,
    family text,
    owed text,
    due text,
    mobile text,
    mobile_dnd text,
    segment text,
    company text
)
"""
CRM_COLUMNS = {
    "given": "firstName",
    "family": "lastName",
    "owed": "balance",
    "due": "dueDate",
    "mobile": "phone1",
    "mobile_dnd": "phone1Block",
    "segment": "COL6",
    "company": "COL1",
}


def _crm(h: SyncHarness) -> None:
    for statement in CRM.split(";"):
        h.sql(statement)


def test_type_problems_are_reported_at_start_up_naming_the_column(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=0)
    h.sql("CREATE SCHEMA crm")
    h.sql("CREATE TABLE crm.t (account text PRIMARY KEY, due_date boolean)")
    with pytest.raises(SorMappingError, match=r"crm\.t\.due_date is boolean, which cannot hold"):
        h.build(table="crm.t")
    h.sql("CREATE TABLE crm.u (account text PRIMARY KEY, x text)")
    with pytest.raises(SorMappingError, match=r"phone ordinal 11 is outside 1\.\.10"):
        h.build(table="crm.u", columns={"x": "phone11"})
    with pytest.raises(SorMappingError, match="does not exist"):
        h.build(table="crm.nothing")
    h.sql("CREATE VIEW crm.v AS SELECT account, due_date::text AS flag, x FROM crm.t JOIN crm.u "
          "USING (account)")  # fmt: skip
    with pytest.raises(SorMappingError, match=r"crm\.v\.flag .*cannot be updated"):
        h.build(table="crm.v", columns={"flag": "accountBlock"})
    h.sql("DROP VIEW crm.v")
    assert issubclass(SorMappingError, ConfigError)


def test_bad_rows_become_invalid_dead_letters_and_the_rest_goes_on(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=3)
    _crm(h)
    service = h.build(table="crm.people", key_column="acct", columns=CRM_COLUMNS)
    h.sql(
        """
        INSERT INTO crm.people VALUES
          ('GOOD1', 'Ann', 'Lee', '10.50', '03/15/2025', '(555) 010-0001', 'yes', 'Gold', 'Acme'),
          ('BAD1', 'Bob', 'Ray', 'ten', '2025-02-30', 'call me', 'no', 'Platinum', NULL),
          ('BAD2', 'Cy', 'Ode', '1', '2025-01-01', NULL, 'true', NULL, repeat('x', 300)),
          (NULL, 'No', 'Key', '1', NULL, NULL, NULL, NULL, NULL),
          ('TWICE', 'One', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          ('TWICE', 'Two', NULL, NULL, NULL, NULL, NULL, NULL, NULL)
        """
    )
    result = cycle(service, kind=CycleKind.FULL)
    assert result.counts["creates"] == 3  # GOOD1, and what is valid of BAD1 and BAD2
    assert result.counts["invalid"] == 2
    assert result.counts["key_problems"] == 2
    assert result.counts["push_applied"] == 3 and result.counts["push_rejected"] == 0

    good = h.lv("GOOD1")
    assert (good["balance"], str(good["dueDate"])[:10], good["phone1"], good["phone1Block"]) == (
        10.5,
        "2025-03-15",
        "5550100001",
        True,
    )
    bad1 = h.lv("BAD1")
    assert (bad1["firstName"], bad1["balance"], bad1["dueDate"], bad1["COL6"]) == (
        "Bob",
        None,
        None,
        None,
    )
    assert h.lv("BAD2")["phone1Block"] is False  # a DND for a phone that does not exist
    assert h.store.get("TWICE") is None

    with h.engine.connect() as conn:
        letters = {(d.account, d.kind): d for d in list_dead_letters(conn)}
    reasons = letters[("BAD1", "invalid")].reason
    for expected in (
        "balance: not a number: 'ten'",
        "dueDate: not a calendar date: '2025-02-30'",
        "phone1: not a phone number (4-15 digits): 'call me'",
        "COL6: 'Platinum' is not one of the list values (Gold, Silver, Bronze)",
    ):
        assert expected in reasons
    assert "COL1: custom value of 300 characters" in letters[("BAD2", "invalid")].reason
    assert "phone1Block: no phone number at ordinal 1" in letters[("BAD2", "invalid")].reason
    assert letters[(None, "invalid")].reason == "missing account"
    assert letters[(None, "invalid")].payload["row"]["firstName"] == "No"
    assert letters[("TWICE", "invalid")].reason == "account appears 2 times in the SoR"
    assert h.scalar(
        "SELECT count(*) FROM syncd.audit_log WHERE outcome = 'invalid' AND account = 'BAD1'"
    ) == 4

    # the same bad data does not pile up letters; fixing the row closes its letter
    cycle(service, kind=CycleKind.FULL)
    with h.engine.connect() as conn:
        assert len(list_dead_letters(conn, kind="invalid")) == 4
    h.sql("UPDATE crm.people SET owed = '10', due = '2025-02-28', mobile = '5550109999', "
          "segment = 'Silver' WHERE acct = 'BAD1'")  # fmt: skip
    fixed = cycle(service)
    assert fixed.counts["updates"] == 1 and fixed.counts["invalid"] == 0
    assert (h.lv("BAD1")["balance"], h.lv("BAD1")["COL6"]) == (10, "Silver")
    with h.engine.connect() as conn:
        open_letters = {d.account for d in list_dead_letters(conn)}
    assert "BAD1" not in open_letters


def test_a_retried_dead_letter_is_planned_again(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=3)
    _crm(h)
    service = h.build(table="crm.people", key_column="acct", columns=CRM_COLUMNS)
    h.sql("INSERT INTO crm.people (acct, given, owed) VALUES ('R1', 'Rae', 'lots')")
    cycle(service)
    cycle(service)  # the pull brings the created contact back: compared once more
    assert cycle(service).counts["candidates"] == 0  # nothing changed: not looked at again
    with h.engine.begin() as conn:
        (letter,) = retry_dead_letters(conn)
    assert letter.account == "R1"
    again = cycle(service)
    assert again.counts["candidates"] == 1 and again.counts["invalid"] == 1
