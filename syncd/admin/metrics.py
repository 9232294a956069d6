"""Prometheus metrics of one daemon, in a registry of its own (no global registry, so tests
can build several daemons in one process).

Counters count what *this process* did (aggregate replicas with `sum`). Gauges are read
from the database at scrape time, through a short cache, so every replica reports the same
value (aggregate with `max`) and a scrape storm cannot load the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Mapping

import structlog
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from syncd.store.status_queries import Gauges

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
REQUEST_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

_log = structlog.get_logger(__name__)


class DatabaseGauges(Collector):
    """`syncd_outbox_depth{state}`, `syncd_dead_letters`, `syncd_sync_lag_seconds`."""

    def __init__(
        self,
        read: Callable[[], Gauges],
        *,
        cache_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._read = read
        self._cache_seconds = cache_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._cached: tuple[float, Gauges] | None = None

    def _gauges(self) -> Gauges | None:
        with self._lock:
            now = self._clock()
            if self._cached is not None and now - self._cached[0] < self._cache_seconds:
                return self._cached[1]
            try:
                gauges = self._read()
            except Exception as exc:  # a scrape must answer even when the database does not
                _log.warning("metrics.gauges_unavailable", error=type(exc).__name__)
                return None
            self._cached = (now, gauges)
            return gauges

    def describe(self) -> Iterable[Metric]:
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self._gauges())

    @staticmethod
    def _families(gauges: Gauges | None) -> list[Metric]:
        depth = GaugeMetricFamily(
            "syncd_outbox_depth", "Planned changes not yet pushed, by state.", labels=["state"]
        )
        dead = GaugeMetricFamily(
            "syncd_dead_letters", "Changes LiveVox refused for good, not yet resolved."
        )
        lag = GaugeMetricFamily(
            "syncd_sync_lag_seconds", "Now minus the watermark (largest modifyDate loaded)."
        )
        if gauges is not None:
            for state, count in sorted(gauges.outbox_depth.items()):
                depth.add_metric([state], count)
            dead.add_metric([], gauges.dead_letters)
            if gauges.lag_seconds is not None:
                lag.add_metric([], gauges.lag_seconds)
        return [depth, dead, lag]


class SyncdMetrics:
    """Every series the dashboard (deploy/grafana) reads, in one registry."""

    def __init__(self, gauges: Callable[[], Gauges] | None = None, cache_seconds: float = 5.0):
        self.registry = CollectorRegistry(auto_describe=False)
        self.runs = Counter(
            "syncd_runs_total",
            "Cycles run by this process, by kind and outcome.",
            ["kind", "status"],
            registry=self.registry,
        )
        self.rows_pulled = Counter(
            "syncd_rows_pulled_total",
            "Rows read from LiveVox exports by this process.",
            registry=self.registry,
        )
        self.changes_pushed = Counter(
            "syncd_changes_pushed_total",
            "Changes sent to LiveVox by this process, by operation and outcome.",
            ["operation", "outcome"],
            registry=self.registry,
        )
        self.livevox_request_seconds = Histogram(
            "syncd_livevox_request_seconds",
            "LiveVox request durations, by endpoint and HTTP status.",
            ["endpoint", "status"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        if gauges is not None:
            self.registry.register(DatabaseGauges(gauges, cache_seconds=cache_seconds))

    def record_run(self, kind: str, status: str) -> None:
        self.runs.labels(kind=kind, status=status).inc()

    def record_pulled(self, rows: int) -> None:
        if rows > 0:
            self.rows_pulled.inc(rows)

    def record_pushed(self, by_operation_outcome: Mapping[tuple[str, str], int]) -> None:
        for (operation, outcome), count in by_operation_outcome.items():
            if count > 0:
                self.changes_pushed.labels(operation=operation, outcome=outcome).inc(count)

    def observe_request(self, endpoint: str, status: str, seconds: float) -> None:
        self.livevox_request_seconds.labels(endpoint=endpoint, status=status).observe(seconds)

    def render(self) -> bytes:
        return generate_latest(self.registry)
