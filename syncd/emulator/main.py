"""Serve an emulator with uvicorn (the `syncd emulator` command calls `run`)."""

from __future__ import annotations

import uvicorn

from .app import create_app
from .config import EmulatorConfig


def run(config: EmulatorConfig, host: str = "127.0.0.1", port: int = 8089) -> None:
    uvicorn.run(create_app(config), host=host, port=port, log_level="info")
