"""The cycle's progress callback (stages and counts as they go) and `syncd sync`'s display of
it: a rich progress display on a terminal only, never on a pipe."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import structlog
from typer.testing import CliRunner

from syncd.bootstrap import build_sync
from syncd.cli import app
from syncd.cli import sync as sync_cli
from syncd.service.requests import CycleRequest, RunStatus
from syncd.settings import SyncSettings
from tests.integration.sync.conftest import SyncHarness, started

EDITED = 12
BATCH = 5

Call = tuple[str, int, "int | None"]


def _edit(h: SyncHarness) -> None:
    h.sql(
        "UPDATE sor.contacts SET first_name = 'Prog' WHERE account IN "
        "(SELECT account FROM sor.contacts ORDER BY account LIMIT :n)",
        n=EDITED,
    )


def _by_stage(calls: list[Call], stage: str) -> list[Call]:
    return [c for c in calls if c[0] == stage]


def test_the_cycle_reports_each_stage_with_its_counts(
    harness_factory: Callable[..., SyncHarness],
) -> None:
    h = harness_factory(contacts=60)
    started(h)
    _edit(h)
    settings = h.settings().model_copy(update={"sync": SyncSettings(update_batch_size=BATCH)})
    calls: list[Call] = []
    with build_sync(settings) as service:
        result = service.run_cycle(
            CycleRequest(confirm=True),
            progress=lambda stage, done, total: calls.append((stage, done, total)),
        )
    assert result.status is RunStatus.SUCCEEDED, result.messages

    stages = list(dict.fromkeys(stage for stage, _, _ in calls))
    assert stages == ["pull", "plan", "push"]
    assert [c[0] for c in calls] == sorted((c[0] for c in calls), key=stages.index)

    pull = _by_stage(calls, "pull")
    pulled = result.counts["pulled"]
    assert pull[0] == ("pull", 0, None) and pull[-1] == ("pull", pulled, pulled)

    plan = _by_stage(calls, "plan")
    candidates = result.counts["candidates"]
    assert candidates >= EDITED
    assert plan[0] == ("plan", 0, candidates) and plan[-1] == ("plan", candidates, candidates)

    push = _by_stage(calls, "push")
    assert result.counts["push_applied"] == EDITED
    # one report before the first batch, then one per batch of BATCH rows
    assert push == [("push", 0, EDITED), ("push", 5, EDITED), ("push", 10, EDITED),
                    ("push", EDITED, EDITED)]  # fmt: skip
    assert h.lv(h.rows("SELECT min(account) AS a FROM sor.contacts")[0].a)["firstName"] == "Prog"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> Callable[[SyncHarness], tuple[int, str]]:
    runner = CliRunner()

    def run(h: SyncHarness) -> tuple[int, str]:
        monkeypatch.setenv("SYNCD_DATABASE_URL", h.db_url)
        monkeypatch.setenv("SYNCD_LIVEVOX_BASE_URL", h.base_url)
        monkeypatch.setenv("SYNCD_SYNC_UPDATE_BATCH_SIZE", str(BATCH))
        logging_config = structlog.get_config()
        try:
            result = runner.invoke(app, ["sync", "--confirm"])
        finally:
            # the CLI configures logging onto the runner's stream, closed after the call
            structlog.configure(**logging_config)
        return result.exit_code, result.output

    return run


BAR = re.compile("[━╸╺─█▏▎▍▌▋▊▉]|\x1b\\[|\r")
"""What a progress display leaves in its output: bar glyphs, ANSI escapes, carriage returns."""


def test_a_sync_to_a_pipe_prints_no_progress_display(
    harness_factory: Callable[..., SyncHarness], cli: Callable[[SyncHarness], tuple[int, str]]
) -> None:
    h = harness_factory(contacts=60)
    started(h)
    _edit(h)
    code, out = cli(h)
    assert code == 0, out
    assert f"pushed {EDITED} applied" in out
    assert "cycle.completed" in out  # the plain log lines instead
    assert not BAR.search(out), out


def test_a_sync_on_a_terminal_shows_each_stage(
    harness_factory: Callable[..., SyncHarness],
    cli: Callable[[SyncHarness], tuple[int, str]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    h = harness_factory(contacts=60)
    started(h)
    _edit(h)
    monkeypatch.setattr(sync_cli, "_stdout_is_terminal", lambda: True)
    code, out = cli(h)
    assert code == 0, out
    assert f"pushed {EDITED} applied" in out
    assert "cycle.completed" not in out  # info lines would tear the display
    assert re.search(rf"^push\s+━+\s+{EDITED}/{EDITED}\b", out, re.MULTILINE), out
    assert re.search(r"^diff / plan\s+━+\s+(\d+)/\1\b", out, re.MULTILINE), out
    assert re.search(r"^pull\s+━+\s+(\d+)/\1\b", out, re.MULTILINE), out
