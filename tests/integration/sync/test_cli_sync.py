"""`syncd sync`, `syncd conflicts`, `syncd dead-letters` through the CLI (typer's runner,
configured by environment variables as an operator would)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from syncd.cli import app
from tests.integration.sync.conftest import SyncHarness, cycle, started

DEFAULT_PROFILE = Path("config/profiles/default.toml")


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[..., tuple[int, str]]:
    runner = CliRunner()

    def run(h: SyncHarness, *args: str, profile: Path | None = None) -> tuple[int, str]:
        monkeypatch.setenv("SYNCD_DATABASE_URL", h.db_url)
        monkeypatch.setenv("SYNCD_LIVEVOX_BASE_URL", h.base_url)
        if profile is not None:
            monkeypatch.setenv("SYNCD_SOR_PROFILE", str(profile))
        logging_config = structlog.get_config()
        try:
            result = runner.invoke(app, list(args))
        finally:
            # the CLI configures logging onto the runner's stream, closed after the call
            structlog.configure(**logging_config)
        return result.exit_code, result.output

    return run


def test_sync_prints_a_summary_and_exit_codes_follow_the_outcome(
    harness_factory: Callable[..., SyncHarness], cli: Callable[..., tuple[int, str]]
) -> None:
    h = harness_factory(contacts=200)
    code, out = cli(h, "sync", "--full")
    assert code == 0, out
    assert "succeeded" in out and "pulled 200 contacts" in out
    h.seed_sor_from_mirror()
    assert cli(h, "sync")[0] == 0

    h.sql("UPDATE sor.contacts SET first_name = 'Cli' WHERE account = 'ACC0000004'")
    h.sql("DELETE FROM sor.contacts WHERE account > 'ACC0000050'")
    h.stats.reset()
    code, out = cli(h, "sync", "--dry-run")
    assert code == 0, out
    assert "dry_run" in out and "would send:" in out and "guard would hold" in out
    assert "update ACC0000004 firstName:" in out
    assert h.stats.total == 0

    code, out = cli(h, "sync")
    assert code == 3, out
    assert "held: plan removes" in out and "--confirm" in out

    code, out = cli(h, "sync", "--confirm", "--account", "ACC0000004")
    assert code == 0, out
    assert h.lv("ACC0000004")["firstName"] == "Cli"
    assert h.lv("ACC0000199")["active"]  # the held removals were not part of this run


def test_conflicts_are_listed_and_resolved_from_the_cli(
    harness_factory: Callable[..., SyncHarness],
    cli: Callable[..., tuple[int, str]],
    tmp_path: Path,
) -> None:
    profile = tmp_path / "profile.toml"
    profile.write_text(
        DEFAULT_PROFILE.read_text()
        + '\n[[rule]]\nfields = ["email"]\nownership = "both"\npolicy = "manual"\n'
        "write_back = true\n"
    )
    h = harness_factory(contacts=5, profile=profile)
    service = started(h)
    h.sql("UPDATE sor.contacts SET email = 'sor@example.com' WHERE account = 'ACC0000001'")
    h.store.agent_edit("ACC0000001", {"email": "lv@example.com"})
    assert cycle(service).counts["conflicts"] == 1

    code, out = cli(h, "conflicts", "list", profile=profile)
    assert code == 0, out
    assert "ACC0000001" in out and "sor@example.com" in out and "lv@example.com" in out
    conflict_id = h.scalar("SELECT id FROM syncd.conflicts")

    code, out = cli(h, "conflicts", "resolve", str(conflict_id), "--use", "value", profile=profile)
    assert code != 0  # --use value needs --value
    code, out = cli(
        h, "conflicts", "resolve", str(conflict_id), "--use", "value", "--value",
        "both@example.com", "--by", "ops", profile=profile,
    )  # fmt: skip
    assert code == 0, out
    assert "resolved" in out
    cycle(service)
    assert h.lv("ACC0000001")["email"] == "both@example.com"
    assert h.sor("ACC0000001", "email") == "both@example.com"
    assert cli(h, "conflicts", "list", profile=profile)[1].strip() == "no conflicts"
    code, out = cli(h, "conflicts", "resolve", "999", "--use", "sor", profile=profile)
    assert code == 2 and "no conflict 999" in out


def test_dead_letters_are_listed_and_retried_from_the_cli(
    harness_factory: Callable[..., SyncHarness], cli: Callable[..., tuple[int, str]]
) -> None:
    h = harness_factory(contacts=5)
    service = started(h)
    h.sql("UPDATE sor.contacts SET col6 = 'Platinum' WHERE account = 'ACC0000002'")
    cycle(service)
    code, out = cli(h, "dead-letters", "list")
    assert code == 0, out
    assert "ACC0000002" in out and "Platinum" in out and "invalid" in out
    assert cli(h, "dead-letters", "retry")[0] != 0  # ids or --all
    code, out = cli(h, "dead-letters", "retry", "--all")
    assert code == 0 and "1 dead letters retried" in out, out
    assert cycle(service).counts["invalid"] == 1  # planned again: still invalid


def test_configuration_problems_exit_2_and_cycle_failures_exit_1(
    harness_factory: Callable[..., SyncHarness],
    cli: Callable[..., tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness_factory(contacts=1)
    monkeypatch.setenv("SYNCD_SOR_TABLE", "crm.missing")
    code, out = cli(h, "sync")
    assert code == 2 and "SoR table crm.missing does not exist" in out
    monkeypatch.delenv("SYNCD_SOR_TABLE")
    monkeypatch.setenv("SYNCD_LIVEVOX_RETRY_DEADLINE_SECONDS", "0.5")
    h.app.state.emulator.faults.configure("error_rate=1,seed=1")
    code, out = cli(h, "sync")
    assert code == 1 and "failed" in out
