"""Write `docs/reliability.md` from the reliability suite's results.

Every reliability test appends one JSON line per scenario it checked to
`build/reliability/results.jsonl` (`tests/reliability/results.py`); the soak bench appends its
run to `build/reliability/soak.jsonl` (kept apart, because each test session starts the
results file afresh). This script reads those files and writes one table per category —
fault, crash, input, security, soak — with a totals line each. A scenario recorded more than
once (the soak, run again) shows its latest result.

    .venv/bin/pytest -m reliability && .venv/bin/python scripts/reliability_report.py
    .venv/bin/python scripts/reliability_report.py RESULTS.jsonl [MORE.jsonl] -o OUT.md

The output depends only on the input lines: rows sorted, figures sorted by key, and the one
date shown is the latest `recorded_at` of the results.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.reliability.results import Outcome, results_path  # noqa: E402

DEFAULT_OUTPUT = ROOT / "docs" / "reliability.md"
DEFAULT_SOAK = ROOT / "build" / "reliability" / "soak.jsonl"
REGENERATE = ".venv/bin/pytest -m reliability && .venv/bin/python scripts/reliability_report.py"
SOAK_COMMAND = ".venv/bin/python bench/soak.py --minutes 30"

CATEGORIES: tuple[tuple[str, str, str], ...] = (
    (
        "fault",
        "Faults",
        "LiveVox misbehaving while the daemon runs: the emulator's injected 429s, 5xx, dropped "
        "connections, cut exports, latency and expired sessions, and Postgres connections "
        "killed. Lost changes and duplicates are counted against the workload's expectations "
        "and the emulator's journal of applied writes.",
    ),
    (
        "crash",
        "Crash points",
        "`kill -9` of the daemon at each named point of a cycle, then a restart: the run must "
        "converge with nothing lost and nothing applied twice (invariants 1 and 2).",
    ),
    (
        "input",
        "Input classes",
        "Bad input on either side — malformed export rows, invalid SoR values, malformed API "
        "bodies — rejected row by row with a clear reason while the rest goes on (invariant 4).",
    ),
    (
        "security",
        "Security checks",
        "Secrets and PII stay where they belong: analyst role, admin HTTP tokens, emulator "
        "roles, and scans of logs and bookkeeping for secrets, SSNs and dates of birth.",
    ),
    (
        "soak",
        "Soak",
        f"Continuous edits on both sides with faults on (`{SOAK_COMMAND}`, a bench, not CI): "
        "memory over time, lag percentiles and final convergence.",
    ),
)
COLUMNS = ("scenario", "what was done", "runs", "lost changes", "duplicates", "outcome", "figures")


class ReportError(ValueError):
    """A results line the report cannot read (names the file and line)."""


@dataclass(frozen=True, slots=True)
class Row:
    outcome: Outcome
    recorded_at: str = ""

    def sort_key(self) -> tuple[str, str, int, str]:
        o = self.outcome
        return (o.name, o.done, o.runs, json.dumps(o.figures, sort_keys=True, default=str))


@dataclass
class Totals:
    scenarios: int = 0
    lost: int = 0
    duplicates: int = 0
    checked_lost: int = 0
    checked_duplicates: int = 0

    def add(self, row: Row) -> None:
        o = row.outcome
        self.scenarios += 1
        if o.lost is not None:
            self.lost += o.lost
            self.checked_lost += 1
        if o.duplicates is not None:
            self.duplicates += o.duplicates
            self.checked_duplicates += 1

    def line(self) -> str:
        lost = f"{self.lost}" if self.checked_lost else "n/a"
        dupes = f"{self.duplicates}" if self.checked_duplicates else "n/a"
        return (
            f"{self.scenarios} scenario{'s' if self.scenarios != 1 else ''}, "
            f"{lost} lost changes, {dupes} duplicates"
        )


# --------------------------------------------------------------------------- reading


def _outcome(data: dict[str, Any], where: str) -> Row:
    try:
        outcome = Outcome(
            category=data["category"],
            name=str(data["name"]),
            done=str(data["done"]),
            runs=int(data.get("runs", 1)),
            lost=None if data.get("lost") is None else int(data["lost"]),
            duplicates=None if data.get("duplicates") is None else int(data["duplicates"]),
            outcome=str(data.get("outcome", "passed")),
            figures=dict(data.get("figures") or {}),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ReportError(f"{where}: not a result line ({exc})") from None
    if outcome.category not in {c for c, _, _ in CATEGORIES}:
        raise ReportError(f"{where}: unknown category {outcome.category!r}")
    return Row(outcome, str(data.get("recorded_at", "")))


def latest(rows: Iterable[Row]) -> list[Row]:
    """One row per (category, scenario): the latest recorded (the last line on a tie), so a
    soak run again, or a results file appended to twice, shows its newest result once."""
    chosen: dict[tuple[str, str], Row] = {}
    for row in rows:
        key = (row.outcome.category, row.outcome.name)
        if key not in chosen or row.recorded_at >= chosen[key].recorded_at:
            chosen[key] = row
    return list(chosen.values())


def read_results(paths: Iterable[Path]) -> list[Row]:
    """Every result line of `paths` (missing files are skipped: no soak run yet is fine)."""
    rows: list[Row] = []
    for path in paths:
        if not path.exists():
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ReportError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(data, dict):
                raise ReportError(f"{path}:{number}: not a JSON object")
            rows.append(_outcome(data, f"{path}:{number}"))
    return rows


# --------------------------------------------------------------------------- rendering


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _figure(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"
    if isinstance(value, list | tuple):
        return "/".join(_figure(v) for v in value)
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_figure(v)}" for k, v in sorted(value.items())) + "}"
    return str(value)


def figures_text(figures: dict[str, Any]) -> str:
    """Compact `k=v` pairs, sorted by key."""
    return ", ".join(f"{key}={_figure(figures[key])}" for key in sorted(figures))


def _count(value: int | None) -> str:
    return "n/a" if value is None else str(value)


def _table(rows: Sequence[Row]) -> list[str]:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in sorted(rows, key=Row.sort_key):
        o = row.outcome
        cells = (
            o.name,
            o.done,
            str(o.runs),
            _count(o.lost),
            _count(o.duplicates),
            o.outcome,
            figures_text(o.figures),
        )
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    return lines


def _results_date(rows: Sequence[Row]) -> str:
    dates = sorted(r.recorded_at[:10] for r in rows if r.recorded_at)
    return dates[-1] if dates else "unknown date"


def render(rows: Sequence[Row]) -> str:
    """The whole page, from the result rows (in any order)."""
    overall = Totals()
    for row in rows:
        overall.add(row)
    out = [
        "# Reliability",
        "",
        "The reliability suite (`tests/reliability/`, pytest marker `reliability`) runs the real "
        "daemon (`syncd run` subprocesses) against the LiveVox emulator over HTTP and a real "
        "Postgres, breaks things on purpose, and checks DESIGN.md's invariants: no change lost, "
        "nothing applied twice in a harmful way, DND and consent revocations kept, bad input "
        "rejected per row, convergence. Each table row is one scenario a test ran and checked; "
        "a row is recorded only after its assertions passed, so the outcome column says what "
        "the test observed (`passed`, or the behaviour it asserted, e.g. how a row was "
        "rejected). Lost changes and duplicates are `n/a` where a scenario cannot lose or "
        "duplicate a change (a security check, an API body).",
        "",
        "This page is generated; do not edit it by hand. To regenerate it:",
        "",
        "```sh",
        REGENERATE,
        "```",
        "",
        f"(The soak table comes from the bench: `{SOAK_COMMAND}` appends to "
        "`build/reliability/soak.jsonl`, which the script reads too.)",
        "",
        f"Generated from results of {_results_date(rows)}. Totals: {overall.line()}.",
    ]
    for category, title, about in CATEGORIES:
        chosen = [r for r in rows if r.outcome.category == category]
        totals = Totals()
        for row in chosen:
            totals.add(row)
        out += ["", f"## {title}", "", about, ""]
        if chosen:
            out += _table(chosen)
            out += ["", f"Totals: {totals.line()}."]
        else:
            out.append("No scenario of this category in these results.")
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- command line


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "results",
        nargs="*",
        type=Path,
        help="results files (default: the suite's results file and the soak bench's)",
    )
    parser.add_argument(
        "-o", "--output", type=Path, default=DEFAULT_OUTPUT, help="page to write ('-': stdout)"
    )
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    paths: list[Path] = args.results or [results_path(), DEFAULT_SOAK]
    try:
        rows = latest(read_results(paths))
    except ReportError as exc:
        print(f"reliability_report: {exc}", file=sys.stderr)
        return 2
    if not rows:
        shown = ", ".join(str(p) for p in paths)
        print(f"reliability_report: no results in {shown}; run the suite first", file=sys.stderr)
        return 1
    page = render(rows)
    if str(args.output) == "-":
        sys.stdout.write(page)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(page, encoding="utf-8")
        print(f"wrote {args.output} ({len(rows)} scenarios)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
