"""Inline SVG charts for the status page: no scripts, no external assets, no dependencies.

Two panels share the time axis of the recent runs: sync lag after each pull (a line) and
throughput per run (bars: rows pulled, changes pushed). Scales are linear from zero to the
largest value shown, which is printed on the axis so the picture can be read without hover.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape

from syncd.store.status_queries import ActivityPoint

WIDTH = 720
PANEL_HEIGHT = 120
MARGIN_LEFT = 70
MARGIN_RIGHT = 10
GAP = 34
PULLED_COLOR = "#3b73b9"
PUSHED_COLOR = "#e08a1e"
LAG_COLOR = "#2e8b57"


def _x_positions(times: Sequence[datetime]) -> list[float]:
    span_start, span_end = times[0], times[-1]
    span = (span_end - span_start).total_seconds()
    inner = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    if span <= 0:
        return [MARGIN_LEFT + inner / 2 for _ in times]
    return [MARGIN_LEFT + inner * (t - span_start).total_seconds() / span for t in times]


def _fmt(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:.1f}M"
    if value >= 10_000:
        return f"{value / 1000:.0f}k"
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds:.0f} s"


def _axis(top: float, label: str, maximum: str) -> list[str]:
    bottom = top + PANEL_HEIGHT
    return [
        f'<line x1="{MARGIN_LEFT}" y1="{bottom}" x2="{WIDTH - MARGIN_RIGHT}" y2="{bottom}" '
        'stroke="#999"/>',
        f'<line x1="{MARGIN_LEFT}" y1="{top}" x2="{MARGIN_LEFT}" y2="{bottom}" stroke="#999"/>',
        f'<text x="{MARGIN_LEFT - 6}" y="{top + 10}" text-anchor="end">{escape(maximum)}</text>',
        f'<text x="{MARGIN_LEFT - 6}" y="{bottom}" text-anchor="end">0</text>',
        f'<text x="{MARGIN_LEFT}" y="{top - 6}" font-weight="bold">{escape(label)}</text>',
    ]


def activity_chart(points: Sequence[ActivityPoint]) -> str:
    """The two-panel SVG; a short note instead when there is nothing to draw yet."""
    if not points:
        return '<p class="muted">No finished runs yet.</p>'
    xs = _x_positions([p.at for p in points])
    parts: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
        f'height="{2 * PANEL_HEIGHT + 2 * GAP + 20}" role="img" '
        'aria-label="Sync lag and throughput of recent runs" '
        'font-family="sans-serif" font-size="11">'
    ]

    # Panel 1: lag after each pull.
    top = GAP
    lags = [
        (x, p.lag_seconds) for x, p in zip(xs, points, strict=True) if p.lag_seconds is not None
    ]
    lag_max = max((lag for _, lag in lags), default=0.0) or 1.0
    parts += _axis(top, "sync lag after each pull", _duration(lag_max))
    if lags:
        coords = " ".join(
            f"{x:.1f},{top + PANEL_HEIGHT - PANEL_HEIGHT * lag / lag_max:.1f}" for x, lag in lags
        )
        parts.append(
            f'<polyline class="lag" fill="none" stroke="{LAG_COLOR}" stroke-width="2" '
            f'points="{coords}"/>'
        )
    else:
        parts.append(f'<text x="{WIDTH / 2}" y="{top + PANEL_HEIGHT / 2}">no pulls yet</text>')

    # Panel 2: rows pulled and changes pushed per run.
    top = 2 * GAP + PANEL_HEIGHT
    volume_max = max(max(p.rows_pulled, p.changes_pushed) for p in points) or 1
    parts += _axis(top, "throughput per run", _fmt(volume_max))
    bar = max(1.5, min(8.0, (WIDTH - MARGIN_LEFT - MARGIN_RIGHT) / (2.5 * len(points))))
    for x, p in zip(xs, points, strict=True):
        for offset, value, color, name in (
            (-bar, p.rows_pulled, PULLED_COLOR, "pulled"),
            (0.0, p.changes_pushed, PUSHED_COLOR, "pushed"),
        ):
            if value <= 0:
                continue
            height = PANEL_HEIGHT * value / volume_max
            parts.append(
                f'<rect class="{name}" x="{x + offset:.1f}" '
                f'y="{top + PANEL_HEIGHT - height:.1f}" width="{bar:.1f}" '
                f'height="{height:.1f}" fill="{color}"><title>run at '
                f"{escape(p.at.isoformat(timespec='seconds'))}: {value} {name}</title></rect>"
            )
    legend_y = top + PANEL_HEIGHT + 16
    parts += [
        f'<rect x="{MARGIN_LEFT}" y="{legend_y - 9}" width="10" height="10" '
        f'fill="{PULLED_COLOR}"/>',
        f'<text x="{MARGIN_LEFT + 14}" y="{legend_y}">rows pulled</text>',
        f'<rect x="{MARGIN_LEFT + 100}" y="{legend_y - 9}" width="10" height="10" '
        f'fill="{PUSHED_COLOR}"/>',
        f'<text x="{MARGIN_LEFT + 114}" y="{legend_y}">changes pushed</text>',
        f'<text x="{WIDTH - MARGIN_RIGHT}" y="{legend_y}" text-anchor="end">'
        f"{escape(points[0].at.isoformat(timespec='minutes'))} → "
        f"{escape(points[-1].at.isoformat(timespec='minutes'))}</text>",
        "</svg>",
    ]
    return "\n".join(parts)
