"""Feed the LiveVox client's `livevox.request` log events into the request histogram.

The client knows nothing of metrics; it logs one `livevox.request` event per HTTP exchange
(endpoint as a path template, status, elapsed_ms) at DEBUG. A structlog processor placed
first in the chain sees those events; since the configured filtering wrapper would drop
DEBUG calls before any processor runs, the tap lowers the wrapper to DEBUG and puts the old
threshold back as a processor right after itself, so what reaches the log is unchanged.
`install` returns a function that restores the previous configuration.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

RequestObserver = Callable[[str, str, float], None]
"""(endpoint, status, seconds)"""

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "exception": logging.ERROR,
    "critical": logging.CRITICAL,
    "fatal": logging.CRITICAL,
}
_config_lock = threading.Lock()


class LiveVoxRequestTap:
    """structlog processor: observe `livevox.request` events, pass every event on."""

    def __init__(self, observe: RequestObserver) -> None:
        self._observe = observe

    def __call__(
        self, _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if event_dict.get("event") == "livevox.request":
            elapsed = event_dict.get("elapsed_ms")
            if isinstance(elapsed, int | float):
                self._observe(
                    str(event_dict.get("endpoint", "unknown")),
                    str(event_dict.get("status", "unknown")),
                    float(elapsed) / 1000.0,
                )
        return event_dict


class _DropBelow:
    """structlog processor: the level threshold the filtering wrapper used to apply."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __call__(
        self, _logger: Any, method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        if _LEVELS.get(method, logging.CRITICAL) < self.level:
            raise structlog.DropEvent
        return event_dict


def install(observe: RequestObserver) -> Callable[[], None]:
    """Put a tap in front of the current structlog chain; return the undo function.

    Several taps (several daemons in one process, in tests) share one threshold processor;
    the last undo restores the filtering wrapper. Undo order does not matter.
    """
    tap = LiveVoxRequestTap(observe)
    with _config_lock:
        config = structlog.get_config()
        chain = list(config["processors"])
        if any(isinstance(p, _DropBelow) for p in chain):
            structlog.configure(processors=[tap, *chain])
        else:
            effective = getattr(config["wrapper_class"], "get_effective_level", None)
            level = int(effective(None)) if callable(effective) else logging.NOTSET
            if level > logging.DEBUG:
                structlog.configure(
                    processors=[tap, _DropBelow(level), *chain],
                    wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
                )
            else:
                structlog.configure(processors=[tap, *chain])

    def uninstall() -> None:
        with _config_lock:
            chain = list(structlog.get_config()["processors"])
            remaining = [p for p in chain if p is not tap]
            if len(remaining) == len(chain):
                return  # already undone, or structlog was reconfigured since
            drops = [p for p in remaining if isinstance(p, _DropBelow)]
            if drops and not any(isinstance(p, LiveVoxRequestTap) for p in remaining):
                structlog.configure(
                    processors=[p for p in remaining if not isinstance(p, _DropBelow)],
                    wrapper_class=structlog.make_filtering_bound_logger(drops[0].level),
                )
            else:
                structlog.configure(processors=remaining)

    return uninstall
