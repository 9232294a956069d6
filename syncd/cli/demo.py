"""`syncd demo`: embedded Postgres + emulator + the real client and mirror, start to finish."""

from __future__ import annotations

from typing import Annotated

import typer


def demo(
    contacts: Annotated[int, typer.Option(help="Contacts the emulator generates.")] = 3000,
    seed: Annotated[int, typer.Option(help="Seed of the generated data.")] = 42,
) -> None:
    """Run the demo: pull LiveVox into a mirror, make an agent edit, pull again, show it."""
    from rich.console import Console

    from syncd.demo import DemoOptions, run_demo
    from syncd.logging import configure_logging

    configure_logging(level="WARNING")
    run_demo(DemoOptions(contacts=contacts, seed=seed), Console())
