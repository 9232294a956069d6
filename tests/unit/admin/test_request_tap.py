from __future__ import annotations

import io
import json
import logging

import pytest
import structlog

from syncd.daemon import request_tap
from syncd.logging import configure_logging


@pytest.fixture
def log_output(monkeypatch: pytest.MonkeyPatch) -> io.StringIO:
    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    configure_logging(level="INFO", json=True)
    yield stream
    structlog.reset_defaults()


def _events(stream: io.StringIO) -> list[str]:
    return [json.loads(line)["event"] for line in stream.getvalue().splitlines()]


def test_request_events_are_observed_but_debug_stays_out_of_the_log(
    log_output: io.StringIO,
) -> None:
    seen: list[tuple[str, str, float]] = []
    uninstall = request_tap.install(lambda *args: seen.append(args))
    log = structlog.get_logger("syncd.livevox")
    log.debug("livevox.request", endpoint="/contact/contacts/bulk", status=200, elapsed_ms=250.0)
    log.debug("other.debug")
    log.info("kept.info")
    uninstall()
    log.debug("livevox.request", endpoint="/x", status=200, elapsed_ms=1.0)
    assert seen == [("/contact/contacts/bulk", "200", 0.25)]
    assert _events(log_output) == ["kept.info"]
    assert structlog.get_config()["wrapper_class"].get_effective_level(None) == logging.INFO


def test_two_taps_uninstall_in_any_order(log_output: io.StringIO) -> None:
    first: list[object] = []
    second: list[object] = []
    undo_first = request_tap.install(lambda *a: first.append(a))
    undo_second = request_tap.install(lambda *a: second.append(a))
    log = structlog.get_logger()
    log.debug("livevox.request", endpoint="/e", status=500, elapsed_ms=3)
    undo_first()
    log.debug("livevox.request", endpoint="/e", status=500, elapsed_ms=3)
    undo_second()
    log.debug("livevox.request", endpoint="/e", status=500, elapsed_ms=3)
    log.info("still.logged")
    assert (len(first), len(second)) == (1, 2)
    assert _events(log_output) == ["still.logged"]
    assert not any(
        isinstance(p, request_tap.LiveVoxRequestTap) for p in structlog.get_config()["processors"]
    )
