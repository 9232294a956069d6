"""`syncd demo`: the product on one machine with embedded defaults, start to finish.

It wires the two independent sides together (only the demo, tests and benches may): an
embedded Postgres in a temporary directory, the LiveVox emulator in this process, and the
real client, pull and mirror. It pulls everything, seeds a sample system of record,
runs a sync cycle, edits both sides (including an agent's Do-Not-Dial in LiveVox), runs again,
and shows what moved and why. Nothing outside the temporary
directory is touched.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from rich.console import Console
from rich.table import Table

from syncd.bootstrap import build_sync
from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.pull import PullOutcome, PullService
from syncd.service.requests import CycleKind, CycleRequest, CycleResult
from syncd.settings import LiveVoxSettings, Settings
from syncd.store import migrate
from syncd.store.embedded import EmbeddedPostgres
from syncd.store.engine import create_engine_for
from syncd.store.schema import sor_contacts


@dataclass(frozen=True)
class DemoOptions:
    contacts: int = 3000
    seed: int = 42


def run_demo(options: DemoOptions, console: Console) -> None:
    with tempfile.TemporaryDirectory(prefix="syncd-demo-") as tmp:
        console.rule("[bold]syncd demo")
        console.print(f"embedded Postgres in {tmp}; emulator with {options.contacts} contacts")
        with EmbeddedPostgres(Path(tmp) / "pgdata") as pg:
            engine = create_engine_for(pg.url)
            try:
                migrate.upgrade(engine)
                _with_emulator(engine, pg.url, options, console)
            finally:
                engine.dispose()


def _with_emulator(engine: sa.Engine, url: str, options: DemoOptions, console: Console) -> None:
    app = create_app(EmulatorConfig(contacts=options.contacts, seed=options.seed))
    with ServerThread(app) as server:
        settings = Settings(
            database_url=url,
            livevox=LiveVoxSettings(base_url=server.base_url),  # the emulator's defaults
        )
        with build_sync(settings) as sync:
            pull = PullService(engine, sync.client)
            pull.pull_reference(sync.client)
            _show_pull(console, "1. full pull: LiveVox → mirror", pull.pull_full())
            _show_mirror(console, engine)
            _seed_sor(engine, console)
            _show_cycle(console, "2. first sync cycle", sync.run_cycle(_request(CycleKind.FULL)))
            edits = _edit_both_sides(engine, app, console)
            result = sync.run_cycle(_request(CycleKind.INCREMENTAL))
            _show_cycle(console, "4. second sync cycle", result)
            _show_audit(console, engine, result.run_id)
            _show_outcome(console, engine, sync.client, edits)


def _request(kind: CycleKind) -> CycleRequest:
    return CycleRequest(kind=kind, requested_by="demo")


def _seed_sor(engine: sa.Engine, console: Console) -> None:
    """The sample system of record: the mirror's contacts, plus a few LiveVox has never seen."""
    columns = ", ".join(c.name for c in sor_contacts.columns)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"INSERT INTO sor.contacts ({columns}) SELECT {columns} FROM livevox.contacts "
                "WHERE deleted_at IS NULL"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO sor.contacts (account, first_name, last_name, city, active) "
                "SELECT 'NEW' || lpad(n::text, 4, '0'), 'New', 'Customer ' || n, 'Austin', true "
                "FROM generate_series(1, 3) AS n"
            )
        )
    console.print(
        "\nThe system of record (sor.contacts) starts as a copy of LiveVox plus 3 new customers."
    )


def _edit_both_sides(engine: sa.Engine, app: Any, console: Console) -> dict[str, str]:
    with engine.connect() as conn:
        accounts = (
            conn.execute(
                sa.text(
                    "SELECT account FROM sor.contacts WHERE account LIKE 'ACC%' "
                    "AND NOT coalesce(account_block, false) ORDER BY account LIMIT 3"
                )
            )
            .scalars()
            .all()
        )
    edited, removed, dnd = accounts
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE sor.contacts SET city = 'Springfield' WHERE account = :a"),
            {"a": edited},
        )
        conn.execute(sa.text("DELETE FROM sor.contacts WHERE account = :a"), {"a": removed})
    app.state.emulator.store.agent_edit(dnd, {"accountBlock": True})
    console.print(
        "\n3. edits on both sides:\n"
        f"   - SoR: {edited} moves to Springfield\n"
        f"   - SoR: {removed} is removed (policy: deactivate in LiveVox)\n"
        f"   - LiveVox: an agent puts {dnd} on permanent Do-Not-Dial (the SoR still says no)"
    )
    return {"edited": edited, "removed": removed, "dnd": dnd}


def _show_cycle(console: Console, title: str, result: CycleResult) -> None:
    table = Table(title=f"{title}: {result.status} (run {result.run_id})", title_justify="left")
    table.add_column("count")
    table.add_column("value", justify="right")
    for key, value in sorted(result.counts.items()):
        if value:
            table.add_row(key, str(value))
    console.print(table)
    for message in result.messages:
        console.print(f"   {message}")


def _show_audit(console: Console, engine: sa.Engine, run_id: int | None) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT direction, account, operation, field, old_value, new_value, outcome "
                "FROM syncd.audit_log WHERE run_id = :run AND field NOT IN ('modifyDate') "
                "ORDER BY id LIMIT 25"
            ),
            {"run": run_id},
        ).all()
    table = Table(title="what moved and why (syncd.audit_log)", title_justify="left")
    for column in ("direction", "account", "operation", "field", "old", "new", "outcome"):
        table.add_column(column)
    for row in rows:
        table.add_row(*(str(v) if v is not None else "" for v in row))
    console.print(table)


def _show_outcome(console: Console, engine: sa.Engine, client: Any, edits: dict[str, str]) -> None:
    edited = client.read_contact(edits["edited"])
    removed = client.read_contact(edits["removed"])
    with engine.connect() as conn:
        sor_dnd = conn.execute(
            sa.text("SELECT account_block FROM sor.contacts WHERE account = :a"),
            {"a": edits["dnd"]},
        ).scalar_one()
    console.print(
        "\n5. the result:\n"
        f"   - LiveVox city of {edits['edited']}: {edited.city}\n"
        f"   - LiveVox active flag of {edits['removed']}: {removed.active}\n"
        f"   - SoR Do-Not-Dial of {edits['dnd']} (written back, never undone): {sor_dnd}"
    )


def _show_pull(console: Console, title: str, outcome: PullOutcome) -> None:
    r = outcome.result
    table = Table(title=title, title_justify="left")
    for column in ("run", "rows seen", "inserted", "updated", "unchanged", "rejected"):
        table.add_column(column, justify="right")
    table.add_row(
        str(outcome.run_id),
        *(str(v) for v in (r.rows_seen, r.inserted, r.updated, r.unchanged, r.rejected)),
    )
    console.print(table)


def _scalar(engine: sa.Engine, query: str, **params: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.text(query), params).scalar_one()


def _show_mirror(console: Console, engine: sa.Engine) -> None:
    table = Table(title="the mirror (what analysts query)", title_justify="left")
    table.add_column("what")
    table.add_column("count", justify="right")
    for label, query in (
        ("contacts", "SELECT count(*) FROM livevox.contacts WHERE deleted_at IS NULL"),
        ("phones", "SELECT count(*) FROM livevox.contact_phones"),
        ("accounts with DND", "SELECT count(*) FROM livevox.contacts WHERE account_block"),
        ("phones with DND", "SELECT count(*) FROM livevox.contact_phones WHERE dnd"),
        ("custom values", "SELECT count(*) FROM livevox.contact_custom_values"),
    ):
        table.add_row(label, f"{_scalar(engine, query):,}")
    console.print(table)
