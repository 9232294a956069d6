"""One place where every reliability test writes what it did, for `docs/reliability.md`.

Each finished scenario appends one JSON line to the results file (`SYNCD_RELIABILITY_RESULTS`,
default `build/reliability/results.jsonl`); `scripts/reliability_report.py` turns the file into
the table of `docs/reliability.md`. A line is written only after the test's assertions ran,
with the outcome the test saw, so the table never shows a result no test checked.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PATH = REPO / "build" / "reliability" / "results.jsonl"

Category = Literal["fault", "crash", "input", "security", "soak"]


def results_path() -> Path:
    return Path(os.environ.get("SYNCD_RELIABILITY_RESULTS") or DEFAULT_PATH)


@dataclass(slots=True)
class Outcome:
    """What one scenario (a fault, a crash point, an input class, a check) did and showed."""

    category: Category
    name: str
    """Row label, e.g. `429 storm`, `crash: push.after_send #2`, `CSV: invalid UTF-8`."""
    done: str
    """What was done, in a sentence."""
    runs: int = 1
    """How many times the scenario ran (cycles, seeds, inputs)."""
    lost: int | None = 0
    """Changes lost (None: not applicable to this scenario)."""
    duplicates: int | None = 0
    """Duplicate side effects in LiveVox (None: not applicable)."""
    outcome: str = "passed"
    """`passed`, or what was observed, in a few words."""
    figures: dict[str, Any] = field(default_factory=dict)
    """Measured extras: cycles to converge, requests vs fault-free, seconds, ..."""


def record(outcome: Outcome) -> None:
    """Append one scenario's outcome (call it after the test's assertions)."""
    path = results_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {**asdict(outcome), "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")
