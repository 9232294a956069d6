"""Helpers shared by command modules: one way to report a failure and exit."""

from __future__ import annotations

from typing import NoReturn

import typer

from syncd.errors import SyncdError


def fail(exc: SyncdError, code: int = 2) -> NoReturn:
    """Print the error's message (never its context, which may hold values) and exit."""
    typer.secho(f"error: {exc.message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code=code)
