"""Bad SoR rows through a real cycle: each invalid value becomes a specific dead letter, and
the rest of the cycle — other rows, and the valid fields of the same row — is pushed.

The SoR is a system of record of its own shape (`crm.people`, every column text, no unique
key, read through a view in one variant), so every wrong type a text column can hold reaches
the sync. One cycle creates the contacts (the planner's create path), a second changes agreed
contacts (its update path): both must refuse the same values with the same reasons while the
emulator receives everything else.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.requests import CycleKind
from syncd.store.dead_letters_repo import DeadLetterRow, list_dead_letters
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from tests.conftest import FreshDatabase
from tests.integration.sync.conftest import SyncHarness, cycle
from tests.reliability.corpus import SOR_CASES, SorCase
from tests.reliability.results import Outcome, record

COLUMNS = {
    "given": "firstName",
    "family": "lastName",
    "mail": "email",
    "owed": "balance",
    "due": "dueDate",
    "mobile": "phone1",
    "mobile_dnd": "phone1Block",
    "segment": "COL6",
    "company": "COL1",
}
PEOPLE = (
    "CREATE TABLE crm.people (acct text, " + ", ".join(f"{column} text" for column in COLUMNS) + ")"
)
GOOD = {
    "S-GOOD1": {"given": "Ann", "family": "Lee", "mail": "ann@example.com", "owed": "10.50",
                "due": "03/15/2027", "mobile": "(555) 010-0001", "mobile_dnd": "yes",
                "segment": "Gold", "company": "Acme"},
    "S-GOOD2": {"given": "Bob", "owed": "0", "due": "2027-01-31", "mobile": "555.010.0002",
                "mobile_dnd": "no"},
    "S-GOOD3": {"given": "Cy", "company": "Initech", "segment": "Bronze"},
}  # fmt: skip
"""Valid rows of the same cycle, and the LiveVox values each must end up with."""
GOOD_IN_LIVEVOX = {
    "S-GOOD1": {"firstName": "Ann", "lastName": "Lee", "email": "ann@example.com",
                "balance": 10.5, "phone1": "5550100001", "phone1Block": True, "COL6": "Gold",
                "COL1": "Acme"},
    "S-GOOD2": {"firstName": "Bob", "balance": 0, "phone1": "5550100002", "phone1Block": False},
    "S-GOOD3": {"firstName": "Cy", "COL1": "Initech", "COL6": "Bronze"},
}  # fmt: skip
KEY_PROBLEMS = {"SoR: NULL account", "SoR: over-long account", "SoR: duplicate account"}


@pytest.fixture
def second_db(pg_server_url: str) -> Iterator[FreshDatabase]:
    """Another database of this test's own (the table and the view variant each get one)."""
    db = FreshDatabase(pg_server_url).create()
    try:
        yield db
    finally:
        db.drop()


@contextmanager
def running(db: FreshDatabase) -> Iterator[SyncHarness]:
    """The emulator over HTTP (no generated contacts) and a migrated database."""
    engine = create_engine_for(db.url)
    upgrade(engine)
    app = create_app(EmulatorConfig(contacts=0, seed=3))
    server = ServerThread(app).start()
    h = SyncHarness(engine, db.url, app, server.base_url)
    try:
        yield h
    finally:
        h.close()
        server.stop()
        engine.dispose()


def _insert(h: SyncHarness, account: str | None, values: dict[str, str | None]) -> None:
    columns = ["acct", *values]
    h.sql(
        f"INSERT INTO crm.people ({', '.join(columns)}) "
        f"VALUES ({', '.join(':' + c for c in columns)})",
        acct=account,
        **values,
    )


def _row_values(case: SorCase) -> tuple[str | None, dict[str, str | None]]:
    values = {k: v for k, v in case.row.items() if k != "acct"}
    return case.row["acct"], values


def _letters(engine: Engine) -> dict[tuple[str | None, str], DeadLetterRow]:
    with engine.connect() as conn:
        letters = list_dead_letters(conn, limit=1000)
    return {(d.account, d.kind): d for d in letters}


def _letter_for(letters: dict[tuple[str | None, str], DeadLetterRow], case: SorCase) -> Any:
    account = case.row["acct"]
    if case.name == "SoR: over-long account":
        assert account is not None
        account = account[:255] + "..."
    return letters.get((account, case.kind))


def _assert_case(h: SyncHarness, case: SorCase, letters: Any) -> None:
    letter = _letter_for(letters, case)
    if case.kind == "none":
        assert not [k for k in letters if k[0] == case.row["acct"]], case.name
    else:
        assert letter is not None, f"{case.name}: no {case.kind} dead letter in {list(letters)}"
        for reason in case.reasons:
            assert reason in letter.reason, (case.name, letter.reason)
    account = case.row["acct"]
    if case.pushed:
        assert account is not None
        lv = h.lv(account)
        for key, value in case.pushed.items():
            assert lv[key] == value, (case.name, key, lv[key])


def _assert_good(h: SyncHarness, expected: dict[str, dict[str, Any]]) -> None:
    for account, values in expected.items():
        lv = h.lv(account)
        assert {k: lv[k] for k in values} == values, account


def _sor_relation(h: SyncHarness, as_view: bool) -> str:
    h.sql("CREATE SCHEMA crm")
    h.sql(PEOPLE)
    if not as_view:
        return "crm.people"
    # A plain view: updatable, so DND write-backs still reach the table underneath.
    h.sql("CREATE VIEW crm.people_v AS SELECT * FROM crm.people")
    return "crm.people_v"


def test_every_invalid_sor_value_is_a_dead_letter_and_the_rest_is_pushed(
    fresh_db: FreshDatabase, second_db: FreshDatabase
) -> None:
    letters: dict[tuple[str | None, str], DeadLetterRow] = {}
    for db, as_view in ((fresh_db, False), (second_db, True)):
        with running(db) as h:
            letters = check_sor(h, as_view=as_view)
    for case in SOR_CASES:
        record(_outcome(case, letters))


def check_sor(h: SyncHarness, *, as_view: bool) -> dict[tuple[str | None, str], DeadLetterRow]:
    """Two cycles over the corpus rows and the good rows; returns the open dead letters."""
    table = _sor_relation(h, as_view)
    service = h.build(table=table, key_column="acct", columns=COLUMNS)
    for account, values in GOOD.items():
        _insert(h, account, dict(values))
    for case in SOR_CASES:
        account, values = _row_values(case)
        _insert(h, account, values)
        if case.name == "SoR: duplicate account":
            _insert(h, account, {**values, "given": "Twice again"})

    created = cycle(service, kind=CycleKind.FULL)
    planner_cases = [c for c in SOR_CASES if c.kind == "invalid" and c.name not in KEY_PROBLEMS]
    assert created.counts["invalid"] == len(planner_cases)
    assert created.counts["key_problems"] == len(KEY_PROBLEMS)
    # Everything valid went out: the good rows and each bad row's valid fields.
    creatable = len(GOOD) + len([c for c in SOR_CASES if c.name not in KEY_PROBLEMS])
    assert created.counts["creates"] == creatable
    rejected = [c for c in SOR_CASES if c.kind == "rejected"]
    assert created.counts["push_applied"] == creatable - len(rejected)
    assert created.counts["push_rejected"] == len(rejected)

    letters = _letters(h.engine)
    for case in SOR_CASES:
        _assert_case(h, case, letters)
    _assert_good(h, GOOD_IN_LIVEVOX)
    assert h.store.get("S-TWICE") is None
    for case in planner_cases:  # the refused value never reached LiveVox
        account = case.row["acct"]
        assert account is not None
        lv = h.lv(account)
        refused = {r.split(":")[0] for r in case.reasons}
        assert all(not lv.get(key) for key in refused), (case.name, refused)

    # The update path: agreed contacts take bad values next to good changes.
    h.sql("UPDATE crm.people SET owed = 'lots', due = '02/30/2027' WHERE acct = 'S-GOOD2'")
    h.sql("UPDATE crm.people SET given = 'Annie', mobile_dnd = 'perhaps' WHERE acct = 'S-GOOD1'")
    h.sql("UPDATE crm.people SET given = 'Cyrus', company = repeat('z', 256) "
          "WHERE acct = 'S-GOOD3'")  # fmt: skip
    updated = cycle(service)
    assert updated.counts["updates"] == 2  # Annie and Cyrus; S-GOOD2 has nothing valid to send
    letters = _letters(h.engine)
    # One open letter per contact with invalid values: the old ones did not pile up.
    invalid_letters = [k for k in letters if k[1] == "invalid" and k[0] is not None]
    # The corpus rows, the three good rows just broken, the over-long and the repeated account.
    assert len(invalid_letters) == len(planner_cases) + 3 + 2
    assert "balance: not a number: 'lots'" in letters[("S-GOOD2", "invalid")].reason
    # The value as the SoR wrote it (the diff's SQL rewrites only real dates as YYYY-MM-DD).
    assert "dueDate: not a calendar date: '02/30/2027'" in letters[("S-GOOD2", "invalid")].reason
    assert "phone1Block: not true/false: 'perhaps'" in letters[("S-GOOD1", "invalid")].reason
    assert "COL1: custom value of 256 characters" in letters[("S-GOOD3", "invalid")].reason
    _assert_good(
        h,
        {
            "S-GOOD1": {**GOOD_IN_LIVEVOX["S-GOOD1"], "firstName": "Annie"},
            "S-GOOD2": GOOD_IN_LIVEVOX["S-GOOD2"],
            "S-GOOD3": {**GOOD_IN_LIVEVOX["S-GOOD3"], "firstName": "Cyrus"},
        },
    )
    with h.engine.connect() as conn:
        invalid_audits = conn.execute(
            sa.text("SELECT count(*) FROM syncd.audit_log WHERE outcome = 'invalid'")
        ).scalar_one()
    assert invalid_audits >= len(planner_cases) + 4
    return letters


def _outcome(case: SorCase, letters: Any) -> Outcome:
    if case.kind == "none":
        text = "accepted: no check on either side (the spec types it as a free string)"
    else:
        letter = _letter_for(letters, case)
        text = f"{case.kind} dead letter: {letter.reason}" if letter else case.reasons[0]
    return Outcome(
        category="input",
        name=case.name,
        done=f"{case.what}; one cycle with valid rows, through a text table and a view",
        runs=2,
        lost=0,
        duplicates=None,
        outcome=text[:200],
    )
