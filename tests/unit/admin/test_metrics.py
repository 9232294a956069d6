from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from syncd.admin.metrics import DatabaseGauges, SyncdMetrics
from syncd.store.status_queries import Gauges

DASHBOARD_SERIES = {
    "syncd_runs",
    "syncd_rows_pulled",
    "syncd_changes_pushed",
    "syncd_outbox_depth",
    "syncd_dead_letters",
    "syncd_sync_lag_seconds",
    "syncd_livevox_request_seconds",
}


def _families(metrics: SyncdMetrics) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(metrics.render().decode())}


def _gauges() -> Gauges:
    return Gauges(outbox_depth={"NEW": 3, "SENT": 0, "FAILED": 1}, dead_letters=2, lag_seconds=42)


def test_every_dashboard_series_is_exposed() -> None:
    metrics = SyncdMetrics(gauges=_gauges)
    metrics.record_run("incremental", "succeeded")
    metrics.record_pulled(10)
    metrics.record_pushed({("update", "applied"): 4})
    metrics.observe_request("/contact/contacts/bulk", "200", 0.3)
    text = metrics.render().decode()
    assert set(_families(metrics)) >= DASHBOARD_SERIES
    assert 'syncd_runs_total{kind="incremental",status="succeeded"} 1.0' in text
    assert "syncd_rows_pulled_total 10.0" in text
    assert 'syncd_changes_pushed_total{operation="update",outcome="applied"} 4.0' in text
    assert 'syncd_outbox_depth{state="NEW"} 3.0' in text
    assert "syncd_dead_letters 2.0" in text
    assert "syncd_sync_lag_seconds 42.0" in text
    assert (
        'syncd_livevox_request_seconds_count{endpoint="/contact/contacts/bulk",status="200"} 1.0'
        in text
    )


def test_each_daemon_has_its_own_registry() -> None:
    one, two = SyncdMetrics(), SyncdMetrics()
    one.record_run("full", "failed")
    assert "syncd_runs_total" in one.render().decode()
    assert 'kind="full"' not in two.render().decode()


def test_gauges_are_cached_and_a_database_failure_only_drops_them() -> None:
    reads = 0
    now = [0.0]

    def read() -> Gauges:
        nonlocal reads
        reads += 1
        if reads > 2:
            raise OSError("database down")
        return _gauges()

    collector = DatabaseGauges(read, cache_seconds=5, clock=lambda: now[0])
    list(collector.collect())
    list(collector.collect())
    assert reads == 1
    now[0] = 6
    list(collector.collect())
    now[0] = 12
    families = list(collector.collect())
    assert reads == 3
    assert all(not f.samples for f in families)  # no stale numbers pretending to be fresh


def test_the_grafana_dashboard_reads_only_series_we_expose() -> None:
    import re
    from pathlib import Path

    dashboard = Path(__file__).resolve().parents[3] / "deploy/grafana/syncd-dashboard.json"
    referenced = set(re.findall(r"\b(syncd_[a-z_]+)", dashboard.read_text()))
    metrics = SyncdMetrics(gauges=_gauges)
    metrics.record_run("incremental", "succeeded")
    metrics.record_pulled(1)
    metrics.record_pushed({("update", "applied"): 1})
    metrics.observe_request("/e", "200", 0.1)
    families = list(text_string_to_metric_families(metrics.render().decode()))
    exposed = {f.name for f in families} | {s.name for f in families for s in f.samples}
    assert referenced, "the dashboard names no syncd series"
    assert referenced <= exposed, referenced - exposed
