"""A systemd-style NOTIFY_SOCKET for tests that read a daemon's READY/WATCHDOG/STOPPING."""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


def next_message(sock: socket.socket, prefix: bytes) -> bytes:
    """The next notify datagram starting with `prefix` (STATUS= updates come in between)."""
    while True:
        message = sock.recv(4096)
        if message.startswith(prefix):
            return message


@pytest.fixture
def notify_socket() -> Iterator[tuple[socket.socket, str]]:
    """A systemd-style NOTIFY_SOCKET the test reads the daemon's READY/STOPPING from."""
    directory = tempfile.mkdtemp(prefix="sdn-", dir="/tmp")
    path = str(Path(directory) / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(120)
    try:
        yield sock, path
    finally:
        sock.close()
        os.unlink(path)
        os.rmdir(directory)
