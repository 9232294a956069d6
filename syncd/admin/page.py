"""The status page at `/`: one self-contained HTML document (inline CSS and SVG, no scripts).

The page has no authentication (like `/metrics`), so it shows counts, states and held-plan
reasons but never accounts, payloads or error texts: a failed run shows its error class only.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from syncd.admin.charts import activity_chart
from syncd.store.status_queries import ActivityPoint, RunRow, StatusReport

_STYLE = """
body{font-family:sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em}h2{font-size:1.05em;margin-top:1.6em}
table{border-collapse:collapse}td,th{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}
.num{text-align:right}.failed{color:#b00020}.held{color:#b36b00}.succeeded{color:#1b7a3a}
.muted{color:#777}.tiles{display:flex;gap:1em;flex-wrap:wrap}
.tile{border:1px solid #ddd;border-radius:6px;padding:.6em 1em;min-width:9em}
.tile b{display:block;font-size:1.4em}
"""


def _error_class(error: str | None) -> str:
    if not error:
        return ""
    return error.split(":", 1)[0][:80]


def _lag(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def _run_row(run: RunRow) -> str:
    duration = run.duration_seconds
    detail = "; ".join(run.messages) if run.status == "held" else _error_class(run.error)
    return (
        f"<tr><td class='num'>{run.id}</td><td>{escape(run.kind)}</td>"
        f"<td class='{escape(run.status)}'>{escape(run.status)}</td>"
        f"<td>{escape(run.started_at.isoformat(timespec='seconds'))}</td>"
        f"<td class='num'>{'' if duration is None else f'{duration:.1f} s'}</td>"
        f"<td>{escape(run.requested_by or '')}</td><td>{escape(detail)}</td></tr>"
    )


def _tile(label: str, value: str) -> str:
    return f"<div class='tile'>{escape(label)}<b>{escape(value)}</b></div>"


def render_status_page(report: StatusReport, points: Sequence[ActivityPoint]) -> str:
    outbox_open = report.open_outbox
    tiles = [
        _tile("sync lag", _lag(report.lag_seconds)),
        _tile("outbox (open)", str(outbox_open)),
        _tile("dead letters", str(sum(report.dead_letters.values()))),
        _tile("open conflicts", str(report.conflicts.get("open", 0))),
        _tile(
            "unmanaged contacts",
            "n/a" if report.unmanaged_contacts is None else str(report.unmanaged_contacts),
        ),
    ]
    held = ""
    if report.held_runs:
        held = (
            "<h2>Held plans</h2><ul>"
            + "".join(
                f"<li>run {run.id} ({escape(run.kind)}): {escape('; '.join(run.messages))}</li>"
                for run in report.held_runs
            )
            + "</ul><p class='muted'>Release with <code>syncd resync --confirm</code> or "
            "<code>syncd sync --confirm</code> once the plan is understood.</p>"
        )
    runs = "".join(_run_row(run) for run in report.runs)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='refresh' content='30'>"
        f"<title>syncd status</title><style>{_STYLE}</style></head><body>"
        "<h1>syncd</h1>"
        f"<p class='muted'>as of {escape(report.at.isoformat(timespec='seconds'))}; "
        "refreshes every 30 s</p>"
        f"<div class='tiles'>{''.join(tiles)}</div>"
        f"{held}"
        "<h2>Lag and throughput</h2>"
        f"{activity_chart(points)}"
        "<h2>Recent runs</h2>"
        "<table><tr><th>run</th><th>kind</th><th>status</th><th>started</th>"
        f"<th>duration</th><th>by</th><th>detail</th></tr>{runs}</table>"
        "</body></html>"
    )
