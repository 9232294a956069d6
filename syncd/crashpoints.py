"""Named crash points: a test kills the process with SIGKILL at a chosen moment of a cycle.

`crashpoint(name)` does nothing unless the environment variable `SYNCD_CRASH_AT` was set when
this module was imported, as `NAME` or `NAME:N`: the N-th time (default 1) the process reaches
the point `NAME` it sends itself SIGKILL — a real `kill -9`: no `finally` block, no `atexit`
hook, no flush of buffered output, no rollback message to Postgres. The reliability suite
(`tests/reliability/test_crash_recovery.py`) restarts the daemon afterwards and checks that it
converges (DESIGN.md, invariants 1 and 2). Disabled, a point costs one global lookup; it never
logs (a log line could be the very write a crash is meant to cut off).

This module imports nothing of syncd, so any layer may call it.

| point                    | reached                                    | a crash leaves        |
|--------------------------|--------------------------------------------|-----------------------|
| `pull.export_started`    | pull: export open, nothing loaded          | nothing written       |
| `pull.after_load`        | pull: COPY + upsert done, uncommitted      | the load rolled back  |
| `pull.before_commit`     | pull: watermark + run written, uncommitted | the same              |
| `pull.after_commit`      | pull: mirror + watermark committed         | a pull, no plan       |
| `plan.after_diff`        | diff: candidates and fields staged         | the plan rolled back  |
| `plan.after_staging`     | cycle: plan staged, guard not asked        | the same              |
| `plan.before_commit`     | cycle: outbox, base, audit uncommitted     | the same              |
| `plan.after_commit`      | cycle: plan committed, push not begun      | outbox rows NEW       |
| `push.after_claim`       | push: batch marked SENT, not sent          | rows SENT, not sent   |
| `push.dnd_between_steps` | push_send: step 1 of 2 of a DND move sent  | rows SENT, half moved |
| `push.after_send`        | push: LiveVox answered, not recorded       | rows SENT, applied    |
| `push.before_audit`      | push: DONE + mirror + base, no audit yet   | as after_send         |
| `push.after_record`      | push: batch recorded and committed         | rows DONE, rest NEW   |
| `push.after_operation`   | push: one operation fully drained          | next operation NEW    |

Hit counts: pull points are reached once per cycle, plan points once per planned cycle,
`push.after_claim` / `push.after_send` / `push.before_audit` / `push.after_record` once per
batch sent, `push.dnd_between_steps` once per DND batch with a two-step move, and
`push.after_operation` five times per drain (create, update, deactivate, dnd, delete).
"""

from __future__ import annotations

import os
import signal
import threading

ENV = "SYNCD_CRASH_AT"

POINTS: frozenset[str] = frozenset(
    {
        "pull.export_started",
        "pull.after_load",
        "pull.before_commit",
        "pull.after_commit",
        "plan.after_diff",
        "plan.after_staging",
        "plan.before_commit",
        "plan.after_commit",
        "push.after_claim",
        "push.dnd_between_steps",
        "push.after_send",
        "push.before_audit",
        "push.after_record",
        "push.after_operation",
    }
)
"""Every point placed in the code (a test checks each name appears exactly once)."""


class CrashSpecError(ValueError):
    """`SYNCD_CRASH_AT` names no known point or has a bad hit count."""


def parse_spec(spec: str) -> tuple[str, int]:
    """`NAME` or `NAME:N` → (NAME, N); N >= 1, NAME one of `POINTS`."""
    name, _, count = spec.strip().partition(":")
    if name not in POINTS:
        raise CrashSpecError(f"{ENV}: unknown crash point {name!r}")
    try:
        hit = int(count) if count else 1
    except ValueError:
        raise CrashSpecError(f"{ENV}: hit count {count!r} is not an integer") from None
    if hit < 1:
        raise CrashSpecError(f"{ENV}: hit count must be at least 1, not {hit}")
    return name, hit


_raw = os.environ.get(ENV)
# Read once: a bad spec fails the import loudly rather than never crashing.
_TARGET: tuple[str, int] | None = parse_spec(_raw) if _raw else None
_hits = 0
_hits_lock = threading.Lock()  # pusher workers are threads


def crashpoint(name: str) -> None:
    """SIGKILL this process on the configured hit of `name`; otherwise nothing."""
    if _TARGET is None:
        return
    _hit(name)


def _hit(name: str) -> None:
    global _hits
    assert _TARGET is not None
    target, count = _TARGET
    if name != target:
        return
    with _hits_lock:
        _hits += 1
        if _hits == count:
            os.kill(os.getpid(), signal.SIGKILL)
