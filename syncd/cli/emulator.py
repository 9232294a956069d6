"""`syncd emulator`: serve the LiveVox Contact API emulator."""

from __future__ import annotations

from typing import Annotated

import typer


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
    from syncd.emulator.faults import FaultConfig
    from syncd.emulator.main import run

    try:
        FaultConfig.parse(faults)  # a bad spec is a usage error, before anything starts
        config = EmulatorConfig(contacts=contacts, seed=seed, faults=faults)
    except ValueError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        raise typer.Exit(code=2) from exc
    run(config, host=host, port=port)
