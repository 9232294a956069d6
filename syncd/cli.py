"""The `syncd` command line: thin wrappers that build what a command needs and call it."""

from __future__ import annotations

from typing import Annotated

import typer

from syncd.errors import SyncdError

app = typer.Typer(no_args_is_help=True, add_completion=False, help=__doc__)
db_app = typer.Typer(no_args_is_help=True, help="Database schema commands.")
app.add_typer(db_app, name="db")


def _fail(exc: SyncdError) -> None:
    typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=2)


@app.command()
def emulator(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port.")] = 8089,
    contacts: Annotated[int, typer.Option(help="Deterministic generated contacts.")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 1,
    faults: Annotated[
        str, typer.Option(help="Fault spec, e.g. 'rate_limit=0.1,retry_after=1,error_rate=0.05'.")
    ] = "",
) -> None:
    """Serve the LiveVox Contact API emulator."""
    # Imported here: the daemon's commands never load the emulator.
    from syncd.emulator.config import EmulatorConfig
    from syncd.emulator.main import run

    run(EmulatorConfig(contacts=contacts, seed=seed, faults=faults), host=host, port=port)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations (alembic upgrade head) to the configured database."""
    from syncd.logging import configure_logging
    from syncd.settings import load_settings
    from syncd.store.migrate import upgrade_to_head

    configure_logging()
    try:
        settings = load_settings()
        revision = upgrade_to_head(settings)
    except SyncdError as exc:
        _fail(exc)
        return
    typer.echo(f"database at revision {revision}")


if __name__ == "__main__":  # pragma: no cover
    app()
