"""`syncd.crashpoints`: a no-op by default; with `SYNCD_CRASH_AT=NAME:N` the process dies by
SIGKILL at exactly the N-th hit of NAME (checked in real subprocesses); every named point is
placed in the code exactly once."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from syncd import crashpoints
from syncd.crashpoints import POINTS, CrashSpecError, crashpoint, parse_spec

REPO = Path(__file__).resolve().parents[2]
CALL = re.compile(r"""crashpoint\(\s*["']([^"']+)["']\s*\)""")

# Hits `other` and `target` in turn, printing (and flushing) each hit of `target` before it.
_SCRIPT = """
import sys
from syncd.crashpoints import crashpoint
for i in range(1, int(sys.argv[2]) + 1):
    crashpoint("pull.after_load")
    print(f"hit {i}", flush=True)
    crashpoint(sys.argv[1])
print("survived", flush=True)
"""


def _run(spec: str | None, target: str, hits: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != crashpoints.ENV}
    if spec is not None:
        env[crashpoints.ENV] = spec
    return subprocess.run(
        [sys.executable, "-c", _SCRIPT, target, str(hits)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_the_variable_a_crash_point_does_nothing() -> None:
    assert os.environ.get(crashpoints.ENV) is None, "the test process must not be armed"
    assert crashpoints._TARGET is None
    for name in sorted(POINTS):
        crashpoint(name)
    assert crashpoints._hits == 0  # not even counted


def test_the_process_dies_by_sigkill_at_exactly_the_nth_hit() -> None:
    done = _run("push.after_send:3", "push.after_send", 5)
    assert done.returncode == -signal.SIGKILL, done.stderr
    # hits 1 and 2 passed; the third killed it before anything else ran (no flush, no exit)
    assert done.stdout.splitlines() == ["hit 1", "hit 2", "hit 3"]
    assert done.stderr == ""


def test_a_bare_name_means_the_first_hit() -> None:
    done = _run("plan.after_commit", "plan.after_commit", 3)
    assert done.returncode == -signal.SIGKILL
    assert done.stdout.splitlines() == ["hit 1"]


def test_other_points_and_unreached_counts_leave_the_process_alive() -> None:
    done = _run("push.after_send:4", "push.after_send", 3)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["hit 1", "hit 2", "hit 3", "survived"]
    other = _run("push.after_claim:1", "push.after_send", 2)
    assert other.returncode == 0, other.stderr


def test_a_bad_spec_fails_the_import_loudly() -> None:
    done = _run("push.after_sned:1", "push.after_send", 1)
    assert done.returncode == 1
    assert "CrashSpecError" in done.stderr and "push.after_sned" in done.stderr


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("push.after_send", ("push.after_send", 1)),
        (" pull.after_load:12 ", ("pull.after_load", 12)),
    ],
)
def test_parse_spec(spec: str, expected: tuple[str, int]) -> None:
    assert parse_spec(spec) == expected


@pytest.mark.parametrize(
    "spec", ["nowhere", "push.after_send:0", "push.after_send:-1", "push.after_send:x", ""]
)
def test_parse_spec_refuses(spec: str) -> None:
    with pytest.raises(CrashSpecError):
        parse_spec(spec)


def test_every_point_is_placed_exactly_once() -> None:
    placed: list[str] = []
    for path in sorted((REPO / "syncd").rglob("*.py")):
        if path.name != "crashpoints.py":
            placed += CALL.findall(path.read_text(encoding="utf-8"))
    assert sorted(placed) == sorted(POINTS)
    documented = crashpoints.__doc__ or ""
    for name in POINTS:
        assert f"`{name}`" in documented, f"{name} is missing from the module's table"
