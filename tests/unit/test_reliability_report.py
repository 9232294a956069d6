"""`scripts/reliability_report.py`: results lines in, `docs/reliability.md` out, deterministic."""

from __future__ import annotations

import importlib.util
import json
import random
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "reliability_report.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("reliability_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while being built
    spec.loader.exec_module(module)
    return module


report = _load()


def line(category: str, name: str, **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "category": category,
        "name": name,
        "done": f"did {name}",
        "runs": 1,
        "lost": 0,
        "duplicates": 0,
        "outcome": "passed",
        "figures": {},
        "recorded_at": "2026-12-01T10:00:00Z",
    }
    return {**base, **extra}


FIXTURE = [
    line("fault", "429 storm", runs=3, figures={"requests_vs_clean": 1.234567, "cycles": 4}),
    line("fault", "5xx", lost=0, duplicates=0, recorded_at="2026-12-02T08:30:00Z"),
    line("crash", "crash: push.after_send #2", runs=2, figures={"converged_in": [2, 3]}),
    line("input", "CSV: a | in a value", done="one row with a\npipe | and a newline"),
    line(
        "security",
        "admin HTTP: bad tokens",
        lost=None,
        duplicates=None,
        figures={"routes": 3, "ok": True},
    ),
    line("soak", "soak 30 min", lost=1, duplicates=2, outcome="lost 1 change"),
]


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def rendered(tmp_path: Path, lines: list[dict[str, Any]]) -> str:
    page: str = report.render(report.read_results([write(tmp_path / "r.jsonl", lines)]))
    return page


def test_one_table_per_category_in_a_fixed_order(tmp_path: Path) -> None:
    page = rendered(tmp_path, FIXTURE)
    titles = [x for x in page.splitlines() if x.startswith("## ")]
    assert titles == ["## Faults", "## Crash points", "## Input classes", "## Security checks",
                      "## Soak"]  # fmt: skip
    header = "| scenario | what was done | runs | lost changes | duplicates | outcome | figures |"
    assert page.count(header) == 5


def test_rows_are_sorted_and_cells_compact(tmp_path: Path) -> None:
    page = rendered(tmp_path, FIXTURE)
    faults = page.split("## Faults")[1].split("## Crash points")[0]
    rows = [x for x in faults.splitlines() if x.startswith("| ") and "scenario" not in x]
    assert rows == [
        "| 429 storm | did 429 storm | 3 | 0 | 0 | passed | cycles=4, requests_vs_clean=1.23 |",
        "| 5xx | did 5xx | 1 | 0 | 0 | passed |  |",
    ]
    assert "| crash: push.after_send #2 | did crash: push.after_send #2 | 2 | 0 | 0 | passed | " \
        "converged_in=2/3 |" in page  # fmt: skip
    # pipes escaped, newlines folded: the row stays one table row
    assert "| CSV: a \\| in a value | one row with a pipe \\| and a newline | 1 |" in page
    assert "| admin HTTP: bad tokens | did admin HTTP: bad tokens | 1 | n/a | n/a | passed | " \
        "ok=yes, routes=3 |" in page  # fmt: skip


def test_totals_per_table_and_overall(tmp_path: Path) -> None:
    page = rendered(tmp_path, FIXTURE)
    assert "Totals: 2 scenarios, 0 lost changes, 0 duplicates." in page
    assert "Totals: 1 scenario, n/a lost changes, n/a duplicates." in page
    assert "Totals: 1 scenario, 1 lost changes, 2 duplicates." in page
    assert "Totals: 6 scenarios, 1 lost changes, 2 duplicates." in page


def test_the_page_says_how_to_regenerate_it_and_dates_the_results(tmp_path: Path) -> None:
    page = rendered(tmp_path, FIXTURE)
    assert (
        ".venv/bin/pytest -m reliability && .venv/bin/python scripts/reliability_report.py" in page
    )
    assert "Generated from results of 2026-12-02." in page
    assert page.count("2026-12") == 1  # no other timestamp


def test_output_depends_only_on_the_lines_not_their_order(tmp_path: Path) -> None:
    shuffled = FIXTURE[:]
    random.Random(4).shuffle(shuffled)
    assert rendered(tmp_path, shuffled) == rendered(tmp_path, FIXTURE)


def test_an_empty_category_says_so(tmp_path: Path) -> None:
    page = rendered(tmp_path, [line("fault", "only one")])
    assert page.count("No scenario of this category in these results.") == 4


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json\n", "r.jsonl:1: not JSON"),
        ('{"category": "fault"}\n', "r.jsonl:1: not a result line"),
        (json.dumps(line("weather", "rain")) + "\n", "unknown category 'weather'"),
        ("[1]\n", "not a JSON object"),
    ],
)
def test_bad_lines_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "r.jsonl"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(report.ReportError, match=message):
        report.read_results([path])


def test_the_command_merges_files_and_writes_the_page(tmp_path: Path) -> None:
    suite = write(tmp_path / "results.jsonl", FIXTURE[:-1])
    soak = write(tmp_path / "soak.jsonl", FIXTURE[-1:])
    out = tmp_path / "docs" / "reliability.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(suite), str(soak), str(tmp_path / "absent.jsonl"),
         "-o", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8") == rendered(tmp_path, FIXTURE)
    assert "6 scenarios" in done.stdout


def test_a_scenario_recorded_twice_shows_its_latest_result(tmp_path: Path) -> None:
    old = line("soak", "soak 30 min", outcome="RSS grew 40 MiB", recorded_at="2026-12-01T00:00:00Z")
    new = line("soak", "soak 30 min", recorded_at="2026-12-03T00:00:00Z")
    soak = write(tmp_path / "soak.jsonl", [new, old])
    rows = report.latest(report.read_results([soak]))
    assert [r.outcome.outcome for r in rows] == ["passed"]


def test_the_command_refuses_to_write_an_empty_page(tmp_path: Path) -> None:
    out = tmp_path / "reliability.md"
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(tmp_path / "absent.jsonl"), "-o", str(out)],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 1 and "no results" in done.stderr
    assert not out.exists()
