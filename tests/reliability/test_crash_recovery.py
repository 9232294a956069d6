"""Crash recovery (issue #7): `kill -9` of the real daemon at seeded points of pull, diff/plan
and push, then a restart without the crash, must converge with the books intact.

Each scenario starts from an agreed book (150 contacts, four of them on a daily DND, a SoR
seeded from the mirror) and makes the suite's seeded workload (`harness.apply_workload`: SoR
profile changes, DND adds, new and removed rows; agent DND adds, consent revocations and dialer
attempts in LiveVox) plus a two-step DND move (the SoR asks DAILY → PERMANENT: two actions).
It starts `syncd run` with `SYNCD_CRASH_AT=<point>:<n>` (`syncd/crashpoints.py`) and waits for
it to die by SIGKILL — the point was reached. While it is dead both sides move again: an agent
overwrites values the dead daemon had planned (maybe sent), another adds a daily DND, the SoR
changes more rows. The daemon is restarted without the crash; the test polls `syncd.runs` until
a cycle finds nothing to do, stops it (exit 0), then checks:

- convergence: every workload expectation (`harness.problems`), LiveVox holds the SoR's value
  of *every* SoR-owned field, DND/consent flags agree on both sides, the mirror holds LiveVox's
  value of every field, the DAILY → PERMANENT move landed;
- no DND or consent revocation in force or made since was undone (state and journal);
- the audit log agrees with LiveVox (and with the SoR for write-backs): the newest `applied`
  change of each field is what that side holds, unless an edit made while the daemon was dead
  superseded it; every DONE outbox row is audited applied, no row twice;
- no outbox row is left NEW, SENT, FAILED (or DEAD: nothing here is invalid);
- the watermark is not ahead of the newest `modify_date` stored in the mirror;
- no duplicate side effect: the emulator's journal shows no write of syncd applied twice
  (a re-push over an agent's overwrite is a new change, not a duplicate).

Scenarios come from `SEED` (fixed here and printed by every scenario): every crash point once,
then more (point, hit) pairs; each hit count is one the workload surely reaches (`MAX_HIT`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from syncd.crashpoints import ENV as CRASH_ENV
from syncd.crashpoints import POINTS
from tests.conftest import FreshDatabase
from tests.reliability.crash_harness import (
    JOINT,
    SOR_OWNED,
    audit_disagreements,
    canon,
    livevox,
    outbox_states,
    table,
    twice_applied,
    unaudited,
    unaudited_writes,
    wait_killed,
    wait_quiet,
    watermark_ahead,
)
from tests.reliability.harness import (
    LV_USER,
    Emulator,
    Workload,
    agree,
    apply_workload,
    duplicate_side_effects,
    last_run_id,
    migrated,
    problems,
    restrictions,
    restrictions_lifted,
    running_daemon,
    served_emulator,
)
from tests.reliability.results import Outcome, record

pytestmark = pytest.mark.slow

SEED = 20261205
SCENARIOS = 22
CONTACTS = 150
BOOK_SEED = 17
WORKLOAD_SIZE = 6
TWO_STEP = 4

# Small batches, so one drain sends many (the workload's first plan: 6 creates, 12 updates,
# 1-2 deactivations, 9-10 DND rows = 3 + 3 + 1 + 3 batches); the guard is not under test.
DAEMON_ENV = {
    "SYNCD_SYNC_CREATE_BATCH_SIZE": "2",
    "SYNCD_SYNC_UPDATE_BATCH_SIZE": "5",
    "SYNCD_SYNC_DND_BATCH_SIZE": "4",
    "SYNCD_SYNC_GUARD_MAX_SHARE": "1.0",
    "SYNCD_SYNC_GUARD_MAX_REMOVAL_SHARE": "1.0",
    "SYNCD_SYNC_GUARD_SPIKE_MIN_SHARE": "1.0",
}
INTERVAL = 1
PUSH_BATCHES = 9  # of the 10 the first drain sends: one may close without sending

# The highest hit each point surely reaches: the first cycle plans and pushes the workload,
# the second (a second later) pulls it back and plans again; a drain has five operations.
MAX_HIT: dict[str, int] = {
    "pull.export_started": 2,
    "pull.after_load": 2,
    "pull.before_commit": 2,
    "pull.after_commit": 2,
    "plan.after_diff": 2,
    "plan.after_staging": 2,
    "plan.before_commit": 2,
    "plan.after_commit": 2,
    "push.after_claim": PUSH_BATCHES,
    "push.dnd_between_steps": 1,
    "push.after_send": PUSH_BATCHES,
    "push.before_audit": PUSH_BATCHES,
    "push.after_record": PUSH_BATCHES,
    "push.after_operation": 5,
}

CRASH_TIMEOUT = 60.0
CONVERGE_TIMEOUT = 90.0


def scenarios(seed: int = SEED, count: int = SCENARIOS) -> list[tuple[str, int]]:
    """Every point once (a random reachable hit), then distinct random (point, hit) pairs."""
    assert set(MAX_HIT) == POINTS, "a crash point has no hit budget here"
    rng = random.Random(seed)
    chosen = [(point, rng.randint(1, MAX_HIT[point])) for point in sorted(POINTS)]
    pairs = [(p, n) for p in sorted(POINTS) for n in range(1, MAX_HIT[p] + 1)]
    chosen += rng.sample([pair for pair in pairs if pair not in chosen], count - len(chosen))
    return chosen


CRASHES = scenarios()


# --- the book and the workload ---------------------------------------------------------------


def two_step_accounts(emulator: Emulator) -> list[str]:
    return sorted(random.Random(BOOK_SEED).sample(emulator.accounts(), TWO_STEP))


@dataclass
class Book:
    db_url: str
    engine: Engine
    emulator: Emulator
    held: set[tuple[str, str]]
    """Restrictions in force before the workload (`harness.restrictions`)."""
    journal_mark: int


@pytest.fixture
def book(fresh_db: FreshDatabase) -> Iterator[Book]:
    """An agreed book; four contacts hold a daily DND on phone 1 (for the two-step move)."""
    engine = migrated(fresh_db.url)
    try:
        with served_emulator(CONTACTS, BOOK_SEED) as emu:
            for account in two_step_accounts(emu):
                emu.agent_edit(account, {"phone1BlockDaily": True})
            agree(engine, fresh_db.url, emu)
            held = restrictions(emu)
            yield Book(fresh_db.url, engine, emu, held, int(emu.store.journal.last_seq))
    finally:
        engine.dispose()


@dataclass
class Late:
    """Edits made while the daemon was dead."""

    edits: dict[tuple[str, str], datetime] = field(default_factory=dict)
    """(account, field key) → when: older audit rows of it are superseded."""
    repushed: set[tuple[str, str]] = field(default_factory=set)
    """(account, field key) an agent overwrote: syncd must write the SoR's value again."""


def sor_update(engine: Engine, account: str, **columns: Any) -> None:
    sets = ", ".join(f"{c} = :{c}" for c in columns)
    with engine.begin() as conn:
        conn.execute(
            sa.text(f"UPDATE sor.contacts SET {sets} WHERE account = :a"), {"a": account, **columns}
        )


def two_step_move(book: Book, work: Workload) -> None:
    """DAILY → PERMANENT on phone 1: PERMANENT (to BOTH), then DAILY_OFF."""
    for account in two_step_accounts(book.emulator):
        sor_update(book.engine, account, phone1_block=True, phone1_block_daily=False)
        for side, name in (("livevox", "phone1Block"), ("sor", "phone1_block")):
            work.expect(side, account, name, True, "SoR asked DAILY -> PERMANENT")
        for side, name in (("livevox", "phone1BlockDaily"), ("sor", "phone1_block_daily")):
            work.expect(side, account, name, False, "SoR asked DAILY -> PERMANENT")


def while_dead(book: Book, work: Workload, rng: random.Random) -> Late:
    """Both sides move while the daemon is dead."""
    late = Late()
    emu, engine = book.emulator, book.engine
    touched = {e.account for e in work.expectations} | set(two_step_accounts(emu))
    untouched = sorted(set(emu.accounts()) - touched)
    renamed = sorted(
        e.account
        for e in work.expectations
        if e.side == "livevox" and e.name == "firstName" and emu.record(e.account) is not None
    )
    for account in rng.sample(renamed, 3):  # over a change the dead daemon planned or sent
        emu.agent_edit(account, {"firstName": "Agentname"})
        late.edits[(account, "firstName")] = datetime.now(UTC)
        late.repushed.add((account, "firstName"))
    for account in rng.sample(untouched, 2):  # a daily DND: written back
        emu.agent_edit(account, {"accountBlockDaily": True})
        late.edits[(account, "accountBlockDaily")] = datetime.now(UTC)
        work.expect("sor", account, "account_block_daily", True, "agent added a daily DND")
        work.expect("livevox", account, "accountBlockDaily", True, "agent added a daily DND")
        untouched.remove(account)
    for account in rng.sample(untouched, 4):
        late.edits[(account, "firstName")] = datetime.now(UTC)
        sor_update(engine, account, first_name="Latename")
        work.expect("livevox", account, "firstName", "Latename", "SoR changed it while down")
        untouched.remove(account)
    account = rng.choice(untouched)
    late.edits[(account, "accountBlock")] = datetime.now(UTC)
    sor_update(engine, account, account_block=True)
    work.expect("livevox", account, "accountBlock", True, "SoR added a DND while down")
    work.expect("sor", account, "account_block", True, "SoR added a DND while down (kept)")
    return late


# --- checks ----------------------------------------------------------------------------------


def convergence_problems(book: Book) -> list[str]:
    """Every SoR-owned and joint field of every SoR row equals LiveVox's; every field of every
    LiveVox contact equals the mirror's."""
    out: list[str] = []
    lv = livevox(book.emulator)
    sor = table(book.engine, "sor.contacts")
    mirror = table(book.engine, "livevox.contacts")
    for account, row in sorted(sor.items()):
        contact = lv.get(account)
        if contact is None:
            out.append(f"{account}: in the SoR, not in LiveVox")
            continue
        out += [
            f"{account} {key}: SoR {canon(key, row[key])!r}, LiveVox {canon(key, contact[key])!r}"
            for key in (*SOR_OWNED, *JOINT)
            if key in row and canon(key, row[key]) != canon(key, contact.get(key))
        ]
    for account, contact in sorted(lv.items()):
        held = mirror.get(account)
        if held is None:
            out.append(f"{account}: in LiveVox, not in the mirror")
            continue
        out += [
            f"{account} {key}: mirror {canon(key, held[key])!r}, LiveVox {canon(key, value)!r}"
            for key, value in contact.items()
            if key in held and canon(key, held[key]) != canon(key, value)
        ]
    return out


# --- the test --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "point", "hit"),
    [(i, point, hit) for i, (point, hit) in enumerate(CRASHES)],
    ids=[f"{point}#{hit}" for point, hit in CRASHES],
)
def test_kill_9_then_restart_converges(book: Book, index: int, point: str, hit: int) -> None:
    seed = SEED + index
    print(f"crash scenario {index}: kill -9 at {point} #{hit}; SEED={SEED}, workload seed {seed}")
    started = time.monotonic()
    engine, emu = book.engine, book.emulator
    work = apply_workload(engine, emu, seed=seed, size=WORKLOAD_SIZE)
    two_step_move(book, work)
    name = f"crash-{index:02d}-{point}-{hit}"
    env = {**DAEMON_ENV, CRASH_ENV: f"{point}:{hit}"}
    with running_daemon(book.db_url, emu, name, interval=INTERVAL, env=env) as daemon:
        wait_killed(daemon, CRASH_TIMEOUT)
    after_crash = last_run_id(engine)
    left = outbox_states(engine)
    mark, newest = watermark_ahead(engine)
    assert mark is None, f"after the crash, the watermark {mark} is ahead of the data ({newest})"
    late = while_dead(book, work, random.Random(seed))
    restart = f"{name}-restart"
    with running_daemon(book.db_url, emu, restart, interval=INTERVAL, env=DAEMON_ENV) as daemon:
        runs = wait_quiet(engine, daemon, after_crash, CONVERGE_TIMEOUT)
        exit_code = daemon.stop()
    assert exit_code == 0, daemon.log_tail()
    journal = emu.journal(book.journal_mark)

    lost = problems(engine, emu, work, book.held) + convergence_problems(book)
    assert not lost, "\n".join(lost[:40])
    lifted = restrictions_lifted(journal)
    assert not lifted, "\n".join(lifted[:40])
    sides = {"push": livevox(emu), "write_back": table(engine, "sor.contacts")}
    audit = audit_disagreements(engine, sides, late.edits)
    assert not audit, "\n".join(audit[:40])
    states = outbox_states(engine)
    assert set(states) <= {"DONE", "SUPERSEDED"}, states
    assert not unaudited(engine)
    gaps = unaudited_writes(engine, journal, LV_USER)
    assert not gaps, "\n".join(gaps[:40])
    assert not twice_applied(engine)
    mark, newest = watermark_ahead(engine)
    assert mark is None, f"the watermark {mark} is ahead of the newest stored row ({newest})"
    ours = [e for e in journal if (e["account"], e["field"]) not in late.repushed]
    duplicates = duplicate_side_effects(ours)
    assert not duplicates, "\n".join(duplicates[:40])
    created = [e["account"] for e in journal if e["op"] == "create" and e["user"] == LV_USER]
    assert len(created) == len(set(created)) == work.creates, created

    record(
        Outcome(
            category="crash",
            name=f"kill -9 at {point} #{hit}",
            done=(
                f"SIGKILL at hit {hit} of `{point}` while syncing ({CONTACTS} contacts; "
                f"{work.summary()}, a two-step DND move); edits on both sides while down; "
                "restart without the crash"
            ),
            runs=len(runs),
            figures={
                "seed": seed,
                "left_by_crash": left,
                "cycles_to_converge": len(runs),
                "seconds": round(time.monotonic() - started, 1),
            },
        )
    )
