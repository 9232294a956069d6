"""The `syncd` command line: thin wrappers that build what a command needs and call it.

One module per command group; this package only assembles them.
"""

from __future__ import annotations

import typer

from syncd.cli import admin, daemon, db, demo, emulator, sync

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("emulator")(emulator.emulator)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")
app.command("run")(daemon.run)
app.command("resync")(admin.resync)
app.command("status")(admin.status)
app.command("audit")(admin.audit)
app.add_typer(admin.config_app, name="config")
app.command("sync")(sync.sync)
app.add_typer(sync.conflicts_app, name="conflicts")
app.add_typer(sync.dead_letters_app, name="dead-letters")


def main() -> None:
    app()
