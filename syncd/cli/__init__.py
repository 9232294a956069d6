"""The `syncd` command line: thin wrappers that build what a command needs and call it.

One module per command group; this package only assembles them.
"""

from __future__ import annotations

import typer

from syncd.cli import db, demo, emulator

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
app.command("emulator")(emulator.emulator)
app.command("demo")(demo.demo)
app.add_typer(db.app, name="db")


def main() -> None:
    app()
