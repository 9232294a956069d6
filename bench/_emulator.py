"""Start `syncd emulator` as a real subprocess for a bench, as users run it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class EmulatorProcess:
    base_url: str
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def emulator_process(
    contacts: int, seed: int = 7, timeout: float = 120
) -> Iterator[EmulatorProcess]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    cmd = [
        sys.executable,
        "-m",
        "syncd.cli",
        "emulator",
        "--port",
        str(port),
        "--contacts",
        str(contacts),
        "--seed",
        str(seed),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                httpx.get(f"{base}/_emulator/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("emulator did not start") from None
                time.sleep(0.2)  # another process's port: there is no event to await
        yield EmulatorProcess(base, proc.pid)
    finally:
        proc.terminate()
        proc.wait(30)
