"""`syncd resync | status | audit | config check` in-process (typer's runner) on a real
database; `config check` also logs in to the emulator over real HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
import structlog
from typer.testing import CliRunner

from syncd.cli import app
from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.requests import CycleResult, RunStatus
from syncd.store import resync_queue
from tests.conftest import FreshDatabase
from tests.integration.daemon.conftest import make_daemon

runner = CliRunner()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, fresh_db: FreshDatabase) -> Iterator[None]:
    monkeypatch.setenv("SYNCD_DATABASE_URL", fresh_db.url)
    monkeypatch.delenv("SYNCD_CONFIG", raising=False)
    yield
    structlog.reset_defaults()  # the commands configure logging for the process


@pytest.fixture(scope="module")
def emulator() -> Iterator[str]:
    with ServerThread(create_app(EmulatorConfig(contacts=5))) as server:
        yield server.base_url


def test_resync_queues_a_request_and_prints_its_id(migrated: sa.Engine) -> None:
    result = runner.invoke(
        app, ["resync", "--account", "A1", "--account", "B2", "--since", "2024-05-01"]
    )
    assert result.exit_code == 0, result.output
    request_id = int(result.output.split()[2])
    request = resync_queue.get_request(migrated, request_id)
    assert request is not None and request.status == "pending"
    assert request.accounts == ("A1", "B2") and request.since is not None
    assert request.requested_by.startswith("cli:")


def test_resync_wait_reports_what_the_daemon_did(migrated: sa.Engine) -> None:
    answers = iter(
        [
            CycleResult(RunStatus.SUCCEEDED, run_id=None),
            CycleResult(RunStatus.HELD, messages=["would deactivate 60% of contacts"]),
        ]
    )
    daemon = make_daemon(migrated, lambda request: next(answers))
    daemon.start()
    try:
        done = runner.invoke(app, ["resync", "--full", "--wait", "--timeout", "30"])
        held = runner.invoke(app, ["resync", "--wait", "--timeout", "30"])
    finally:
        assert daemon.shutdown() == 0
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[-1].endswith("done (run None)")
    assert held.exit_code == 1
    assert "failed" in held.output and "would deactivate 60% of contacts" in held.output


def test_resync_wait_gives_up_when_no_daemon_serves_it(migrated: sa.Engine) -> None:
    result = runner.invoke(app, ["resync", "--wait", "--timeout", "0.2"])
    assert result.exit_code == 4
    assert "not finished after 0 s (status: pending)" in result.output


def test_a_bad_since_is_a_clear_error(migrated: sa.Engine) -> None:
    result = runner.invoke(app, ["resync", "--since", "yesterday"])
    assert result.exit_code == 2
    assert "not a date or date-time: 'yesterday'" in result.output


def test_status_shows_tables_and_json(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO syncd.runs (kind, status, messages) VALUES "
                "('incremental', 'held', '[\"would remove 60%\"]')"
            )
        )
    table = runner.invoke(app, ["status"])
    assert table.exit_code == 0, table.output
    for text in ("watermark", "last runs", "held plans", "would remove 60%", "unmanaged"):
        assert text in table.output
    as_json = runner.invoke(app, ["status", "--json"])
    assert json.loads(as_json.output)["held_runs"][0]["status"] == "held"


def test_audit_filters_and_masks(migrated: sa.Engine) -> None:
    with migrated.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO syncd.audit_log (direction, account, operation, field, old_value, "
                "new_value, outcome) VALUES "
                "('push', 'A1', 'update', 'ssn', '123-45-6789', '111-22-3333', 'applied'), "
                "('push', 'B2', 'update', 'city', 'Oslo', 'Bergen', 'applied')"
            )
        )
    result = runner.invoke(app, ["audit", "--account", "A1", "--json"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.output.splitlines()]
    assert [(r["account"], r["old_value"], r["new_value"]) for r in rows] == [("A1", "***", "***")]
    table = runner.invoke(app, ["audit", "--limit", "5"])
    assert "Bergen" in table.output and "123-45-6789" not in table.output


def test_config_check_passes_on_a_ready_installation(
    migrated: sa.Engine, emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_LIVEVOX_BASE_URL", emulator)
    monkeypatch.setenv("SYNCD_LIVEVOX_PASSWORD", "admin")
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    for name in ("configuration", "database", "livevox", "system of record"):
        assert f"ok   {name}" in result.output
    assert '"password": "**********"' in result.output  # effective config, secrets masked


def test_config_check_names_every_problem(
    fresh_db: FreshDatabase, emulator: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SYNCD_LIVEVOX_BASE_URL", emulator)
    monkeypatch.setenv("SYNCD_LIVEVOX_PASSWORD", "not-the-password")
    monkeypatch.setenv("SYNCD_SOR_TABLE", "sor.nope")
    result = runner.invoke(app, ["config", "check", "--no-show"])
    assert result.exit_code == 1
    assert "FAIL database: at revision none (empty)" in result.output
    assert "syncd db upgrade" in result.output
    assert "FAIL livevox: login to" in result.output
    assert "FAIL system of record: SoR table sor.nope does not exist" in result.output
    assert "not-the-password" not in result.output


def test_config_check_reports_a_bad_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYNCD_SYNC_INTERVAL", "soon")
    result = runner.invoke(app, ["config", "check"])
    assert result.exit_code == 1
    assert "FAIL configuration: invalid configuration: sync_interval" in result.output
    assert "not checked: the configuration is invalid" in result.output
