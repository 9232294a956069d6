"""Property: random edit sequences on both sides converge, restrictions are never lost, and a
clean cycle after convergence plans nothing (Hypothesis state machine over the real cycle:
emulator over HTTP, real client, real Postgres; a fresh database per example)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import sql

from syncd.bootstrap import SyncService, build_sync
from syncd.emulator.app import create_app
from syncd.emulator.clock import ManualClock
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.requests import CycleKind, CycleRequest
from syncd.settings import LiveVoxSettings, Settings
from syncd.store.engine import create_engine_for
from syncd.store.migrate import upgrade
from tests.conftest import FreshDatabase, _with_database, sqlalchemy_url
from tests.integration.sync.conftest import SOR_COLUMNS

CONTACTS = 6
# flag -> (SoR column, the value that restricts dialing)
FLAGS = {
    "accountBlock": ("account_block", True),
    "phone1Block": ("phone1_block", True),
    "phone1SmsConsent": ("phone1_sms_consent", False),
}
NAMES = ("Ann", "Bo", "Cy")
BALANCES = (Decimal("0"), Decimal("10.50"), Decimal("99.99"))


@pytest.fixture(scope="module")
def template(pg_server_url: str) -> Iterator[str]:
    """A migrated database to copy for each example (CREATE DATABASE ... TEMPLATE)."""
    db = FreshDatabase(pg_server_url).create()
    engine = create_engine_for(db.url)
    upgrade(engine)
    engine.dispose()
    try:
        yield db.name
    finally:
        db.drop()


class _World:
    """One example's database, emulator and sync."""

    def __init__(self, server_url: str, template: str) -> None:
        self.server_url = server_url
        self.name = f"syncd_prop_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(self.name), sql.Identifier(template)
                )
            )
        url = sqlalchemy_url(_with_database(server_url, self.name))
        # a clock that never crosses the day boundary: daily flags are not under test here
        clock = ManualClock(datetime(2026, 6, 1, 12, tzinfo=UTC))
        self.app = create_app(EmulatorConfig(contacts=CONTACTS, seed=5), clock=clock)
        self.server = ServerThread(self.app).start()
        settings_ = Settings(
            database_url=url,
            livevox=LiveVoxSettings(base_url=self.server.base_url, retry_deadline_seconds=5),
        )
        self.service: SyncService = build_sync(settings_)
        self.engine = self.service.engine

    def close(self) -> None:
        self.service.close()
        self.server.stop()
        with psycopg.connect(self.server_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(self.name)
                )
            )


class Convergence(RuleBasedStateMachine):
    server_url = ""
    template = ""

    def __init__(self) -> None:
        super().__init__()
        self.world = _World(self.server_url, self.template)
        self.accounts: list[str] = []
        self.with_phone: list[str] = []
        self.agreed: dict[tuple[str, str], bool] = {}
        self.dirty = False

    # --- set-up ----------------------------------------------------------------------------

    @initialize()
    def start(self) -> None:
        w = self.world
        self._cycle(kind=CycleKind.FULL)
        cols = ", ".join(SOR_COLUMNS)
        self._sql(f"INSERT INTO sor.contacts ({cols}) SELECT {cols} FROM livevox.contacts")
        self._cycle()
        records = w.app.state.emulator.store.snapshot().records()
        self.accounts = sorted(r["account"] for r in records)
        self.with_phone = [a for a in self.accounts if self._lv(a)["phone1"]]
        for account in self.accounts:
            for flag in FLAGS:
                self.agreed[(account, flag)] = bool(self._lv(account)[flag])

    def teardown(self) -> None:
        self.world.close()

    # --- edits -------------------------------------------------------------------------------

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def sor_renames(self, data: st.DataObject, name: str) -> None:
        account = data.draw(st.sampled_from(self.accounts))
        self._sql("UPDATE sor.contacts SET first_name = :n WHERE account = :a", n=name, a=account)
        self.dirty = True

    @rule(data=st.data(), balance=st.sampled_from(BALANCES))
    def sor_rebalances(self, data: st.DataObject, balance: Decimal) -> None:
        account = data.draw(st.sampled_from(self.accounts))
        self._sql("UPDATE sor.contacts SET balance = :b WHERE account = :a", b=balance, a=account)
        self.dirty = True

    @rule(data=st.data(), name=st.sampled_from(NAMES))
    def agent_renames(self, data: st.DataObject, name: str) -> None:
        account = data.draw(st.sampled_from(self.accounts))
        self.world.app.state.emulator.store.agent_edit(account, {"firstName": name + "!"})
        self.dirty = True

    @rule(data=st.data(), flag=st.sampled_from(sorted(FLAGS)), value=st.booleans())
    def sor_sets_flag(self, data: st.DataObject, flag: str, value: bool) -> None:
        account = data.draw(st.sampled_from(self._flag_accounts(flag)))
        column = FLAGS[flag][0]
        self._sql(f"UPDATE sor.contacts SET {column} = :v WHERE account = :a", v=value, a=account)
        self.dirty = True

    @rule(data=st.data(), flag=st.sampled_from(sorted(FLAGS)), value=st.booleans())
    def agent_sets_flag(self, data: st.DataObject, flag: str, value: bool) -> None:
        account = data.draw(st.sampled_from(self._flag_accounts(flag)))
        self.world.app.state.emulator.store.agent_edit(account, {flag: value})
        self.dirty = True

    # --- the cycle and its properties -----------------------------------------------------------

    @precondition(lambda self: self.dirty)
    @rule()
    def sync(self) -> None:
        before = {key: (self._sor_flag(*key), self._lv(key[0])[key[1]]) for key in self.agreed}
        self._cycle()
        for (account, flag), (sor, lv) in before.items():
            agreed, restrictive = self.agreed[(account, flag)], FLAGS[flag][1]
            sor_changed, lv_changed = sor != agreed, lv != agreed
            if sor_changed and lv_changed and sor != lv:
                expected = restrictive  # both moved apart: the restriction wins
            elif sor_changed:
                expected = sor
            elif lv_changed:
                expected = lv
            else:
                expected = agreed
            now_sor, now_lv = self._sor_flag(account, flag), bool(self._lv(account)[flag])
            assert (now_sor, now_lv) == (expected, expected), (account, flag, sor, lv, agreed)
            if restrictive in (sor, lv) and restrictive not in (agreed,):
                assert now_lv == restrictive  # a new restriction on either side is never lost
            self.agreed[(account, flag)] = expected
        for account in self.accounts:
            record = self._lv(account)
            row = self._sor_row(account)
            assert record["firstName"] == row.first_name, account  # SoR-owned: converged
            assert Decimal(record["balance"] or 0) == Decimal(row.balance or 0), account
        for _ in range(2):
            quiet = self._cycle()
            planned = {k: quiet.counts[k] for k in ("creates", "updates", "dnd_changes",
                                                     "write_backs", "conflicts")}  # fmt: skip
            assert not any(planned.values()), planned
        self.dirty = False

    @invariant()
    def nothing_is_stuck(self) -> None:
        if not self.accounts:
            return
        with self.world.engine.connect() as conn:
            open_rows = conn.execute(
                sa.text("SELECT count(*) FROM syncd.outbox WHERE state IN ('NEW','SENT','FAILED')")
            ).scalar_one()
            dead = conn.execute(sa.text("SELECT count(*) FROM syncd.dead_letters")).scalar_one()
        assert (open_rows, dead) == (0, 0)

    # --- helpers -------------------------------------------------------------------------------

    def _flag_accounts(self, flag: str) -> list[str]:
        return self.with_phone if flag.startswith("phone1") else self.accounts

    def _cycle(self, **request: Any) -> Any:
        result = self.world.service.run_cycle(CycleRequest(**request))
        assert result.status.value == "succeeded", result.messages
        return result

    def _sql(self, statement: str, **params: Any) -> None:
        with self.world.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def _sor_row(self, account: str) -> Any:
        with self.world.engine.connect() as conn:
            return conn.execute(
                sa.text("SELECT * FROM sor.contacts WHERE account = :a"), {"a": account}
            ).one()

    def _sor_flag(self, account: str, flag: str) -> bool:
        return bool(getattr(self._sor_row(account), FLAGS[flag][0]))

    def _lv(self, account: str) -> dict[str, Any]:
        record = self.world.app.state.emulator.store.get(account)
        assert record is not None
        return dict(record)


@pytest.mark.slow
def test_random_edits_on_both_sides_converge_without_losing_restrictions(
    pg_server_url: str, template: str
) -> None:
    Convergence.server_url = pg_server_url
    Convergence.template = template
    run_state_machine_as_test(
        Convergence,
        settings=settings(
            max_examples=6,
            stateful_step_count=7,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
            derandomize=True,
        ),
    )
