from __future__ import annotations

from datetime import UTC, datetime, timedelta

from syncd.admin.charts import activity_chart
from syncd.admin.page import render_status_page
from syncd.store.status_queries import ActivityPoint, RunRow, StatusReport

T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def _run(run_id: int, status: str, **kw: object) -> RunRow:
    base: dict[str, object] = {
        "id": run_id,
        "kind": "incremental",
        "status": status,
        "started_at": T0,
        "finished_at": T0 + timedelta(seconds=3),
        "requested_by": "schedule",
        "counts": {},
        "messages": [],
        "error": None,
    }
    base.update(kw)
    return RunRow(**base)  # type: ignore[arg-type]


def _report(runs: list[RunRow], held: list[RunRow] | None = None) -> StatusReport:
    return StatusReport(
        at=T0 + timedelta(minutes=5),
        runs=runs,
        held_runs=held or [],
        watermark=T0,
        outbox={"NEW": 2, "DONE": 9},
        dead_letters={"rejected": 1},
        conflicts={"open": 3},
        unmanaged_contacts=None,
    )


def test_the_page_is_self_contained_and_shows_no_error_text() -> None:
    failed = _run(7, "failed", error="ValueError: account <A-9> had ssn 123-45-6789")
    held = _run(8, "held", messages=["would deactivate 60% of managed contacts"])
    html = render_status_page(_report([held, failed], [held]), [])
    assert html.startswith("<!doctype html>")
    assert "ValueError" in html
    assert "A-9" not in html and "123-45-6789" not in html  # error classes only
    assert "would deactivate 60% of managed contacts" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "<script" not in html
    assert "5.0 min" in html  # lag


def test_kinds_are_escaped() -> None:
    html = render_status_page(_report([_run(1, "succeeded", kind="<b>x</b>")]), [])
    assert "<b>x</b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


def test_the_chart_draws_lag_and_throughput() -> None:
    points = [
        ActivityPoint(T0, "pull_incremental", "succeeded", 1000, 0, 60.0),
        ActivityPoint(T0 + timedelta(minutes=5), "incremental", "succeeded", 0, 40, None),
        ActivityPoint(T0 + timedelta(minutes=10), "pull_incremental", "succeeded", 500, 0, 30.0),
    ]
    svg = activity_chart(points)
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert svg.count('class="pulled"') == 2
    assert svg.count('class="pushed"') == 1
    assert 'class="lag"' in svg
    assert "1000" in svg  # the axis maximum is printed


def test_no_runs_no_chart() -> None:
    assert "<svg" not in activity_chart([])
