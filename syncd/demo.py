"""`syncd demo`: the product on one machine with embedded defaults, start to finish.

It wires the two independent sides together (only the demo, tests and benches may): an
embedded Postgres in a temporary directory, the LiveVox emulator in this process, and the
real client, pull and mirror. It pulls everything, lets a call-center agent set a Do-Not-Dial
in LiveVox, pulls again, and shows what moved and why. Nothing outside the temporary
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

from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.livevox import ClientConfig, LiveVoxClient
from syncd.service.pull import PullOutcome, PullService
from syncd.store import migrate
from syncd.store.embedded import EmbeddedPostgres
from syncd.store.engine import create_engine_for


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
                _with_emulator(engine, options, console)
            finally:
                engine.dispose()


def _with_emulator(engine: sa.Engine, options: DemoOptions, console: Console) -> None:
    app = create_app(EmulatorConfig(contacts=options.contacts, seed=options.seed))
    with ServerThread(app) as server:
        config = ClientConfig(
            base_url=server.base_url,
            access_token="demo-token",  # the emulator's documented default
            client_name="demo",
            username="admin",
            password="admin",
        )
        with LiveVoxClient(config) as client:
            pull = PullService(engine, client)
            pull.pull_reference(client)
            _show_pull(console, "1. full pull: LiveVox → mirror", pull.pull_full())
            _show_mirror(console, engine)
            account = _first_dialable_account(engine)
            console.print(
                f"\n2. an agent sets a permanent Do-Not-Dial on account [bold]{account}[/] "
                "in LiveVox"
            )
            app.state.emulator.store.agent_edit(account, {"accountBlock": True})
            _show_pull(console, "3. incremental pull", pull.pull_incremental())
            _show_history(console, engine, account)


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


def _first_dialable_account(engine: sa.Engine) -> str:
    account: str = _scalar(
        engine,
        "SELECT account FROM livevox.contacts WHERE NOT coalesce(account_block, false) "
        "AND deleted_at IS NULL ORDER BY account LIMIT 1",
    )
    return account


def _show_history(console: Console, engine: sa.Engine, account: str) -> None:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT operation, changed_columns, old_values, new_values, valid_from "
                "FROM livevox.contact_history WHERE account = :a ORDER BY id"
            ),
            {"a": account},
        ).all()
    table = Table(title=f"what moved for {account} (livevox.contact_history)", title_justify="left")
    for column in ("valid from", "operation", "column", "old", "new"):
        table.add_column(column)
    for op, changed, old, new, valid_from in rows:
        for column in changed or []:
            table.add_row(
                f"{valid_from:%Y-%m-%d %H:%M:%S}",
                op,
                column,
                str((old or {}).get(column)),
                str((new or {}).get(column)),
            )
    console.print(table)
