"""`syncd db ...`: database schema commands."""

from __future__ import annotations

import typer

from syncd.cli._common import fail
from syncd.errors import SyncdError

app = typer.Typer(no_args_is_help=True, help="Database schema commands.")


@app.command("upgrade")
def upgrade() -> None:
    """Apply all migrations (alembic upgrade head) to the configured database."""
    from syncd.logging import configure_logging
    from syncd.settings import load_settings
    from syncd.store.migrate import upgrade_to_head

    configure_logging()
    try:
        revision = upgrade_to_head(load_settings())
    except SyncdError as exc:
        fail(exc)
    typer.echo(f"database at revision {revision}")
