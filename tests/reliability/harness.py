"""Building blocks for reliability tests: the real daemon against the emulator, a seeded
workload on both sides, and a convergence check. Functions, not a framework.

A scenario usually goes:

    engine = migrated(db.url)                       # db: the `fresh_db` fixture
    with served_emulator(contacts=400) as emu:
        agree(engine, db.url, emu)                  # mirror pulled, SoR seeded, base agreed
        held = restrictions(emu)                    # DND / consent in force before the edits
        work = apply_workload(engine, emu, seed=1, size=12)   # edits on both sides
        marker = last_run_id(engine)
        window = emu.start_window("error_rate=0.05")  # stats reset, journal mark, faults on
        with running_daemon(db.url, emu, "5xx") as daemon:
            result = run_until_converged(engine, emu, daemon, work, held, after_run=marker,
                                         window=window, max_cycles=40, deadline_seconds=150)
        assert result.converged, result.problems
        assert not duplicate_side_effects(emu.journal(window.journal_seq))

- The emulator runs in this process (`ServerThread`), so the test reads LiveVox directly
  (`emu.store`), changes its faults at will and reads its request counts and its mutation
  journal (`GET /_emulator/journal`: only writes LiveVox *applied*).
- The daemon is `python -m syncd.cli run`, a real subprocess configured by environment
  variables only, with a short sync interval. Its stderr (JSON log lines) goes to
  `build/reliability/logs/<scenario>.log`, which the secret-leak check scans; the
  credentials it is given are `SECRETS`.
- Its database URL carries `application_name=syncd-reliability` (`DAEMON_APP_NAME`), so its
  backends can be found in `pg_stat_activity` (see `BackendKiller`).
- Waiting is polling a condition (a new finished run in `syncd.runs`) with a deadline, never
  a fixed sleep.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import psycopg
import sqlalchemy as sa
from pydantic import SecretStr
from sqlalchemy.engine import Engine

from syncd.bootstrap import build_sync
from syncd.emulator.app import create_app
from syncd.emulator.config import EmulatorConfig
from syncd.emulator.server import ServerThread
from syncd.service.requests import CycleKind, CycleRequest
from syncd.settings import LiveVoxSettings, Settings
from syncd.store.engine import create_engine_for
from syncd.store.locks import CYCLE_LOCK_KEY
from syncd.store.migrate import upgrade
from syncd.store.schema import sor_contacts

REPO = Path(__file__).resolve().parents[2]
LOG_DIR = REPO / "build" / "reliability" / "logs"

LV_USER = "reliability"
LV_PASSWORD = "Pw-reliab-8q2z"
LV_TOKEN = "lv-token-reliab-51"
ADMIN_TOKEN = "admin-token-reliab-77"
SECRETS: tuple[str, ...] = (LV_PASSWORD, LV_TOKEN, ADMIN_TOKEN)
"""What the daemon is given and must never log."""
DAEMON_APP_NAME = "syncd-reliability"

SOR_COLUMNS = tuple(c.name for c in sor_contacts.columns)
PROFILE = {"first_name": "firstName", "last_name": "lastName", "city": "city",
           "email": "email", "balance": "balance", "zip_code": "zipCode"}  # fmt: skip
"""SoR-owned columns checked on every SoR row (invariant 5), column -> field key."""
PHONES = range(1, 5)  # generated contacts have 1-4 phones
RESTRICTIONS: dict[str, tuple[str, bool, str | None]] = {
    "account_block": ("accountBlock", True, None),
    **{f"phone{n}_block": (f"phone{n}Block", True, f"phone{n}") for n in PHONES},
    **{f"phone{n}_sms_consent": (f"phone{n}SmsConsent", False, f"phone{n}") for n in PHONES},
}
"""Flag column -> (field key, the value that restricts dialing, the phone it needs): a DND
set or a consent withheld is never undone by syncd."""
OPEN_OUTBOX = ("NEW", "SENT", "FAILED")
PLAN_COUNTS = ("creates", "updates", "deactivations", "deletes", "dnd_changes", "write_backs")
SYNC_KINDS = ("sync_incremental", "sync_full")


class HarnessError(AssertionError):
    """The scenario could not be run as set up (daemon died, deadline passed, ...)."""


# --- the emulator -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Window:
    """Where a measured window starts: the journal position (stats were reset with it)."""

    journal_seq: int
    started: float


class Emulator:
    """The emulator served on a free port, with its in-process state and control routes."""

    def __init__(self, app: Any, server: ServerThread) -> None:
        self.app = app
        self.server = server
        self.base_url = server.base_url
        self.control = httpx.Client(base_url=server.base_url, timeout=30)

    @property
    def state(self) -> Any:
        return self.app.state.emulator

    @property
    def store(self) -> Any:
        return self.state.store

    def record(self, account: str) -> dict[str, Any] | None:
        found = self.store.get(account)
        return None if found is None else dict(found)

    def accounts(self) -> list[str]:
        return sorted(r["account"] for r in self.store.snapshot().records())

    def agent_edit(self, account: str, changes: Mapping[str, Any]) -> None:
        """An agent's edit in the LiveVox UI (through the control route, so it is journaled)."""
        response = self.control.post(f"/_emulator/contacts/{account}/agent-edit", json=changes)
        response.raise_for_status()

    def set_faults(self, spec: str) -> None:
        self.control.put("/_emulator/faults", json={"spec": spec}).raise_for_status()

    def start_window(self, faults: str) -> Window:
        """Reset the request counts, mark the journal, then turn `faults` on."""
        self.control.post("/_emulator/stats/reset").raise_for_status()
        seq = int(self.store.journal.last_seq)
        self.set_faults(faults)
        return Window(journal_seq=seq, started=time.monotonic())

    def api_requests(self) -> int:
        """LiveVox API requests answered since the last stats reset (control routes left out)."""
        rows = self.control.get("/_emulator/stats").json()["requests"]
        return sum(r["count"] for r in rows if r["route"].startswith(("/contact", "/session")))

    def requests_by_status(self) -> dict[int, int]:
        rows = self.control.get("/_emulator/stats").json()["requests"]
        out: Counter[int] = Counter()
        for r in rows:
            if r["route"].startswith(("/contact", "/session")):
                out[int(r["status"])] += r["count"]
        return dict(sorted(out.items()))

    def journal(self, after: int) -> list[dict[str, Any]]:
        body = self.control.get("/_emulator/journal", params={"after": after}).json()
        if body["dropped"]:
            raise HarnessError(f"the emulator journal dropped {body['dropped']} entries")
        entries: list[dict[str, Any]] = body["entries"]
        return entries

    def injected(self) -> dict[str, int]:
        return dict(self.state.faults.injected())

    def close(self) -> None:
        self.control.close()


@contextmanager
def served_emulator(contacts: int, seed: int = 7) -> Iterator[Emulator]:
    """An emulator with `contacts` generated contacts and the suite's own credentials.

    Its daily-DND rollover is half a day away: workloads hold daily blocks that a rollover
    during a test (a run near midnight UTC) would clear."""
    config = EmulatorConfig(
        contacts=contacts,
        seed=seed,
        access_token=LV_TOKEN,
        users={LV_USER: (LV_PASSWORD, "Sysadmin")},
        day_boundary_hour=(datetime.now(UTC).hour + 12) % 24,
    )
    app = create_app(config)
    with ServerThread(app) as server:
        emulator = Emulator(app, server)
        try:
            yield emulator
        finally:
            emulator.close()


# --- the database and the agreed start ------------------------------------------------------------


def migrated(db_url: str) -> Engine:
    engine = create_engine_for(db_url)
    upgrade(engine)
    return engine


def settings(db_url: str, base_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        livevox=LiveVoxSettings(
            base_url=base_url,
            username=LV_USER,
            password=SecretStr(LV_PASSWORD),
            access_token=SecretStr(LV_TOKEN),
        ),
    )


def agree(engine: Engine, db_url: str, emulator: Emulator) -> None:
    """The typical first deployment, run in-process: pull everything, seed the SoR as a copy
    of the mirror (as `syncd demo` does), and run a cycle so every contact has an agreed base."""
    with build_sync(settings(db_url, emulator.base_url)) as sync:
        first = sync.run_cycle(CycleRequest(kind=CycleKind.FULL, requested_by="harness"))
        if first.status.value != "succeeded":
            raise HarnessError(f"initial full cycle {first.status}: {first.messages}")
        columns = ", ".join(SOR_COLUMNS)
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"INSERT INTO sor.contacts ({columns}) SELECT {columns} "
                    "FROM livevox.contacts WHERE deleted_at IS NULL"
                )
            )
        second = sync.run_cycle(CycleRequest(kind=CycleKind.FULL, requested_by="harness"))
    if second.status.value != "succeeded" or planned(second.counts):
        raise HarnessError(f"agreement cycle {second.status}, planned {planned(second.counts)}")


def planned(counts: Mapping[str, Any]) -> dict[str, Any]:
    """The non-zero plan counts of a run (what it decided to send or write back)."""
    return {k: v for k, v in counts.items() if k in PLAN_COUNTS and v}


# --- the workload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Expect:
    """After convergence `side` ('livevox', 'sor' or 'mirror') holds `value` at `account`'s
    `name` (a field key on the LiveVox side, a column on the others)."""

    side: str
    account: str
    name: str
    value: Any
    why: str


@dataclass
class Workload:
    """The edits made on both sides and what each must lead to."""

    expectations: list[Expect] = field(default_factory=list)
    sor_updates: int = 0
    creates: int = 0
    removals: int = 0
    agent_edits: int = 0

    def expect(self, side: str, account: str, name: str, value: Any, why: str) -> None:
        self.expectations.append(Expect(side, account, name, value, why))

    def summary(self) -> str:
        return (
            f"{self.sor_updates} SoR row updates, {self.creates} new SoR rows, "
            f"{self.removals} SoR removals, {self.agent_edits} LiveVox agent edits"
        )


def apply_workload(engine: Engine, emulator: Emulator, *, seed: int, size: int) -> Workload:
    """Seeded edits on both sides, about `size` contacts of each kind (x2 for profiles):

    - SoR: profile changes (SoR-owned), account and phone DND adds, new rows, removed rows;
    - LiveVox agents: account and phone DND adds, SMS-consent revocations, call attempts
      (LiveVox-owned), and DND adds on contacts the SoR also edits (both sides at once).
    The same seed gives the same edits on the same contacts.
    """
    rng = random.Random(seed)
    records = {a: emulator.record(a) or {} for a in emulator.accounts()}
    pool = sorted(records)
    rng.shuffle(pool)
    # disjoint slices of the shuffled pool, so edits meet only where meant to
    ends = list(itertools.accumulate((2 * size, size, max(1, size // 3), 2 * size)))
    profiles, dnd, removed, agents = (pool[a:b] for a, b in zip([0, *ends], ends, strict=False))
    work = Workload()
    with engine.begin() as conn:
        _sor_profiles(conn, work, profiles, rng)
        _sor_dnd(conn, work, dnd, records)
        _sor_creates(conn, work, size, seed)
        _sor_removals(conn, work, removed)
    # both sides at once: agents put some of the contacts the SoR edited on DND
    for account in profiles[: size // 2]:
        _agent_dnd(emulator, work, account, "accountBlock", "account_block")
    _agent_edits(emulator, work, agents, records, rng)
    return work


def _sor_profiles(
    conn: sa.Connection, work: Workload, accounts: list[str], rng: random.Random
) -> None:
    for i, account in enumerate(accounts):
        column = ("first_name", "city", "email", "balance")[i % 4]
        value: Any = {
            "first_name": f"Rel{i:03d}",
            "city": f"Faultville {i}",
            "email": f"rel{i}@example.com",
            "balance": Decimal(rng.randrange(100, 99_999)) / 100,
        }[column]
        conn.execute(
            sa.text(f"UPDATE sor.contacts SET {column} = :v WHERE account = :a"),
            {"v": value, "a": account},
        )
        work.expect("livevox", account, PROFILE[column], value, f"SoR changed {column}")
        work.sor_updates += 1


def _sor_dnd(
    conn: sa.Connection, work: Workload, accounts: list[str], records: dict[str, Any]
) -> None:
    for i, account in enumerate(accounts):
        record = records[account]
        if i % 2 and record.get("phone1") and not record.get("phone1Block"):
            column, key = "phone1_block", "phone1Block"
        else:
            column, key = "account_block", "accountBlock"
        conn.execute(
            sa.text(f"UPDATE sor.contacts SET {column} = true WHERE account = :a"), {"a": account}
        )
        work.expect("livevox", account, key, True, f"SoR added DND {column}")
        work.expect("sor", account, column, True, f"SoR added DND {column} (kept)")
        work.sor_updates += 1


def _sor_creates(conn: sa.Connection, work: Workload, n: int, seed: int) -> None:
    for i in range(n):
        account = f"REL{seed:02d}{i:04d}"
        row = {
            "account": account,
            "first_name": f"New{i}",
            "last_name": "Customer",
            "city": "Createburg",
            "phone1": f"512555{i:04d}",
            "account_block": i % 3 == 0,  # some arrive on Do-Not-Dial
            "active": True,
        }
        conn.execute(
            sa.text(
                "INSERT INTO sor.contacts (account, first_name, last_name, city, phone1, "
                "account_block, active) VALUES (:account, :first_name, :last_name, :city, "
                ":phone1, :account_block, :active)"
            ),
            row,
        )
        for column, key in (("first_name", "firstName"), ("city", "city"), ("phone1", "phone1")):
            work.expect("livevox", account, key, row[column], "SoR created the row")
        if row["account_block"]:
            work.expect("livevox", account, "accountBlock", True, "SoR created it on DND")
        work.creates += 1


def _sor_removals(conn: sa.Connection, work: Workload, accounts: list[str]) -> None:
    for account in accounts:
        conn.execute(sa.text("DELETE FROM sor.contacts WHERE account = :a"), {"a": account})
        work.expect("livevox", account, "active", False, "SoR removed the row (deactivate)")
        work.removals += 1


def _agent_edits(
    emulator: Emulator,
    work: Workload,
    accounts: list[str],
    records: dict[str, Any],
    rng: random.Random,
) -> None:
    for i, account in enumerate(accounts):
        record = records[account]
        kind = i % 4
        if kind == 0:
            _agent_dnd(emulator, work, account, "accountBlock", "account_block")
        elif kind == 1 and record.get("phone2") and not record.get("phone2Block"):
            _agent_dnd(emulator, work, account, "phone2Block", "phone2_block")
        elif kind == 2 and record.get("phone1") and record.get("phone1SmsConsent"):
            emulator.agent_edit(account, {"phone1SmsConsent": False})
            work.expect("sor", account, "phone1_sms_consent", False, "agent revoked SMS consent")
            work.expect("livevox", account, "phone1SmsConsent", False, "revocation kept")
            work.agent_edits += 1
        else:
            attempts = int(record.get("callAttemptsTotal") or 0) + rng.randrange(1, 9)
            emulator.agent_edit(account, {"callAttemptsTotal": attempts})
            work.expect("mirror", account, "call_attempts_total", attempts, "dialer attempts")
            work.agent_edits += 1


def _agent_dnd(emulator: Emulator, work: Workload, account: str, key: str, column: str) -> None:
    emulator.agent_edit(account, {key: True})
    work.expect("sor", account, column, True, f"agent added DND {key}")
    work.expect("mirror", account, column, True, f"agent added DND {key}")
    work.expect("livevox", account, key, True, f"agent added DND {key} (kept)")
    work.agent_edits += 1


def restrictions(emulator: Emulator) -> set[tuple[str, str]]:
    """(account, flag column) of every DND set and consent withheld in LiveVox right now
    that concerns a stored phone: what no later cycle may undo."""
    held = set()
    for record in emulator.store.snapshot().records():
        for column, (key, restrictive, phone) in RESTRICTIONS.items():
            if phone is not None and not record.get(phone):
                continue
            if bool(record.get(key)) == restrictive:
                held.add((record["account"], column))
    return held


# --- convergence ----------------------------------------------------------------------------------


def _same(a: Any, b: Any) -> bool:
    a = None if a == "" else a
    b = None if b == "" else b
    if isinstance(a, Decimal | int | float) and isinstance(b, Decimal | int | float):
        if isinstance(a, bool) or isinstance(b, bool):
            return a is b
        return Decimal(str(a)) == Decimal(str(b))
    return bool(a == b)


def _rows(engine: Engine, table: str) -> dict[str, dict[str, Any]]:
    where = " WHERE deleted_at IS NULL" if table == "livevox.contacts" else ""
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT * FROM {table}{where}"))
        return {r["account"]: dict(r) for r in result.mappings()}


def problems(
    engine: Engine, emulator: Emulator, work: Workload, held: set[tuple[str, str]]
) -> list[str]:
    """Everything not (yet) where it belongs; empty when converged:

    - each workload expectation (SoR-owned changes in LiveVox, LiveVox-owned and jointly
      owned changes in the mirror and the SoR, DND adds on both sides);
    - no restriction in force before the edits was undone, in LiveVox or the SoR;
    - every SoR row's SoR-owned profile fields equal LiveVox's (invariant 5);
    - no outbox row still open, no open dead letter.
    """
    sor, mirror = _rows(engine, "sor.contacts"), _rows(engine, "livevox.contacts")
    out: list[str] = []
    for e in work.expectations:
        if e.side == "livevox":
            record = emulator.record(e.account)
            have = None if record is None else record.get(e.name)
        else:
            row = (sor if e.side == "sor" else mirror).get(e.account)
            have = None if row is None else row.get(e.name)
        if isinstance(e.value, bool):
            have = bool(have)
        if not _same(have, e.value):
            out.append(f"{e.side} {e.account} {e.name}={have!r}, want {e.value!r} ({e.why})")
    for account, column in sorted(held):
        key, restrictive, _ = RESTRICTIONS[column]
        record = emulator.record(account)
        if record is not None and bool(record.get(key)) != restrictive:
            out.append(f"livevox {account} {key} undone (was {restrictive})")
        row = sor.get(account)
        if row is not None and bool(row.get(column)) != restrictive:
            out.append(f"sor {account} {column} undone (was {restrictive})")
    for account, row in sorted(sor.items()):
        record = emulator.record(account)
        if record is None:
            out.append(f"livevox {account} missing (SoR has it)")
            continue
        for column, key in PROFILE.items():
            if not _same(record.get(key), row.get(column)):
                out.append(f"livevox {account} {key}={record.get(key)!r}, SoR {row.get(column)!r}")
    with engine.connect() as conn:
        open_rows = conn.execute(
            sa.text("SELECT count(*) FROM syncd.outbox WHERE state = ANY(:s)"),
            {"s": list(OPEN_OUTBOX)},
        ).scalar_one()
        letters = conn.execute(
            sa.text("SELECT count(*) FROM syncd.dead_letters WHERE status = 'open'")
        ).scalar_one()
    if open_rows:
        out.append(f"{open_rows} outbox rows still open")
    if letters:
        out.append(f"{letters} open dead letters")
    return out


def duplicate_side_effects(entries: Sequence[Mapping[str, Any]], user: str = LV_USER) -> list[str]:
    """Writes by syncd (`user`) that LiveVox applied more than once with effect, from the
    emulator's journal (which lists only applied changes): a contact created or deleted
    twice, or a field moved to the same value twice (a replay that landed after something
    else changed it). The scenarios' workload never asks syncd to write one value twice."""
    ours = [e for e in entries if e["user"] == user or (e["op"] == "delete")]
    keys = Counter(
        (e["op"], e["account"], e["field"], json.dumps(e["new"], sort_keys=True)) for e in ours
    )
    return [
        f"{op} {account} {name or ''}={new} applied {n} times"
        for (op, account, name, new), n in sorted(keys.items())
        if n > 1
    ]


def restrictions_lifted(entries: Sequence[Mapping[str, Any]], user: str = LV_USER) -> list[str]:
    """syncd writes that lifted a DND or restored a withheld consent (journal)."""
    lifted = {key: restrictive for key, restrictive, _ in RESTRICTIONS.values()}
    return [
        f"{e['account']} {e['field']}: {e['old']!r} -> {e['new']!r} (request {e['request_id']})"
        for e in entries
        if e["user"] == user and e["field"] in lifted and e["old"] == lifted[e["field"]]
    ]


# --- the daemon -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def daemon_db_url(db_url: str) -> str:
    return f"{db_url}{'&' if '?' in db_url else '?'}application_name={DAEMON_APP_NAME}"


@dataclass
class DaemonProcess:
    process: subprocess.Popen[bytes]
    log_path: Path

    def alive(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]

    def stop(self, timeout: float = 120.0) -> int:
        """SIGTERM, wait for the exit code (kill -9 only when it does not stop in time)."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
            raise HarnessError(f"syncd run did not stop on SIGTERM:\n{self.log_tail()}") from None


@contextmanager
def running_daemon(
    db_url: str,
    emulator: Emulator,
    scenario: str,
    *,
    interval: int = 2,
    env: Mapping[str, str] | None = None,
) -> Iterator[DaemonProcess]:
    """`syncd run` as a subprocess, configured by environment only, stderr to the log file.
    Stopped with SIGTERM on exit (the caller asserts the exit code if it cares)."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log_path = LOG_DIR / f"{scenario}.log"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("SYNCD_", "WATCHDOG_"))},
        "SYNCD_DATABASE_URL": daemon_db_url(db_url),
        "SYNCD_LIVEVOX_BASE_URL": emulator.base_url,
        "SYNCD_LIVEVOX_USERNAME": LV_USER,
        "SYNCD_LIVEVOX_PASSWORD": LV_PASSWORD,
        "SYNCD_LIVEVOX_ACCESS_TOKEN": LV_TOKEN,
        "SYNCD_ADMIN_BIND": f"127.0.0.1:{free_port()}",
        "SYNCD_ADMIN_TOKEN": ADMIN_TOKEN,
        "SYNCD_SYNC_INTERVAL": str(interval),
        **(env or {}),
    }
    environment.pop("NOTIFY_SOCKET", None)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "syncd.cli", "run"],
            cwd=REPO,
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        daemon = DaemonProcess(process, log_path)
        try:
            yield daemon
        finally:
            if daemon.alive():
                # a daemon that must be killed is reported by the test's own assertions
                with contextlib.suppress(HarnessError):
                    daemon.stop()


@dataclass(frozen=True)
class Run:
    id: int
    kind: str
    status: str
    counts: dict[str, Any]
    error: str | None


def sync_runs(engine: Engine, after: int) -> list[Run]:
    """Sync runs (incremental or full, not skipped) with id above `after`, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT id, kind, status, counts, error FROM syncd.runs WHERE id > :after "
                "AND kind = ANY(:kinds) AND status <> 'skipped' ORDER BY id"
            ),
            {"after": after, "kinds": list(SYNC_KINDS)},
        ).all()
    return [Run(r.id, r.kind, r.status, r.counts or {}, r.error) for r in rows]


def finished(runs: list[Run]) -> list[Run]:
    """Runs that ended: a status other than running, or a later run exists (a run whose
    bookkeeping connection was killed stays `running` forever)."""
    return [r for i, r in enumerate(runs) if r.status != "running" or i + 1 < len(runs)]


def last_run_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.text("SELECT coalesce(max(id), 0) FROM syncd.runs")).scalar_one()
        )


@dataclass
class Convergence:
    """How a scenario ended: converged after `cycles` cycles, or not, with what was missing."""

    converged: bool
    cycles: int
    failed_cycles: int
    seconds: float
    requests: int
    """LiveVox API requests from the daemon's start until the converging cycle ended."""
    injected: dict[str, int]
    """Faults the emulator injected until then."""
    problems: list[str]
    runs: list[Run]


def run_until_converged(
    engine: Engine,
    emulator: Emulator,
    daemon: DaemonProcess,
    work: Workload,
    held: set[tuple[str, str]],
    *,
    after_run: int,
    window: Window,
    max_cycles: int,
    deadline_seconds: float,
) -> Convergence:
    """Watch `syncd.runs`; after each finished cycle check convergence (`problems`). Ends at
    the first cycle that succeeded and left nothing missing, or after `max_cycles` cycles.
    The request count is read as soon as the converging cycle is seen finished, before the
    next one has sent much."""
    deadline = time.monotonic() + deadline_seconds
    seen = 0
    missing: list[str] = ["no cycle finished yet"]
    while True:
        if not daemon.alive():
            raise HarnessError(
                f"syncd run exited ({daemon.process.returncode}):\n{daemon.log_tail()}"
            )
        done = finished(sync_runs(engine, after_run))
        if len(done) > seen:
            seen = len(done)
            requests, injected = emulator.api_requests(), emulator.injected()
            elapsed = time.monotonic() - window.started
            missing = problems(engine, emulator, work, held)
            failed = sum(r.status != "succeeded" for r in done)
            if done[-1].status == "succeeded" and not missing:
                return Convergence(True, seen, failed, elapsed, requests, injected, [], done)
            if seen >= max_cycles:
                return Convergence(False, seen, failed, elapsed, requests, injected, missing, done)
        if time.monotonic() > deadline:
            late = [f"deadline of {deadline_seconds:.0f} s passed", *missing]
            failed = sum(r.status != "succeeded" for r in done)
            elapsed = time.monotonic() - window.started
            requests, injected = emulator.api_requests(), emulator.injected()
            return Convergence(False, seen, failed, elapsed, requests, injected, late, done)
        time.sleep(0.05)  # polling `syncd.runs` for the next finished cycle


def next_cycle(
    engine: Engine, daemon: DaemonProcess, after_run: int, deadline_seconds: float = 60.0
) -> Run:
    """The next sync run above `after_run` to finish (polled with a deadline)."""
    deadline = time.monotonic() + deadline_seconds
    while time.monotonic() < deadline:
        if not daemon.alive():
            raise HarnessError(f"syncd run exited:\n{daemon.log_tail()}")
        done = finished(sync_runs(engine, after_run))
        if done:
            return done[0]
        time.sleep(0.05)  # polling `syncd.runs`
    raise HarnessError(f"no cycle finished within {deadline_seconds:.0f} s:\n{daemon.log_tail()}")


# --- Postgres faults ------------------------------------------------------------------------------


STAGE_QUERIES: dict[str, str] = {
    "pull": r"_syncd_stage",  # the loader: COPY into its staging table, upserts from it
    "plan": r"_sync_(cand|diff|ops|wb|audit|base_patch)|INSERT INTO syncd\.outbox",
    # recording a batch LiveVox already applied (its rows are SENT, the reply is in hand)
    "push": r"^(INSERT INTO syncd\.audit_log \(run_id, outbox_id|UPDATE livevox\.contacts SET "
    r"row_hash=|INSERT INTO syncd\.base \(account, agreed)",
}
"""Cycle stage -> regex on `pg_stat_activity.query` of the daemon's backends in that stage."""


class BackendKiller(threading.Thread):
    """Kills the daemon's Postgres backends mid-transaction, one cycle per stage.

    For each of `stages` in turn (`STAGE_QUERIES`), in a cycle not hit before: as soon as a
    backend of `DAEMON_APP_NAME` is `active` or `idle in transaction` on a query of that
    stage, it is terminated (found and killed in one statement, so it is still busy when
    hit). A cycle is in flight while a session holds the cycle lock and the newest sync run
    above `after_run` is `running` (a run whose bookkeeping connection was killed stays
    `running`: the lock tells it from a live one). `kills` lists (stage, run id, backend
    state, query start) of what was hit.
    """

    def __init__(self, conninfo: str, *, after_run: int, stages: Sequence[str]) -> None:
        super().__init__(name="backend-killer", daemon=True)
        self.conninfo = conninfo
        self.after_run = after_run
        self.stages = list(stages)
        self.kills: list[tuple[str, int, str, str]] = []
        self.error: BaseException | None = None
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()
        if self.ident is not None:  # started
            self.join(30)

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the test through `error`
            self.error = exc

    def _run(self) -> None:
        hit: set[int] = set()
        pending = list(self.stages)
        with psycopg.connect(self.conninfo, autocommit=True) as conn:
            while pending and not self._halt.is_set():
                run = self._cycle_in_flight(conn)
                if run is not None and run not in hit:
                    killed = conn.execute(
                        "SELECT state, left(query, 60), pg_terminate_backend(pid) "
                        "FROM pg_stat_activity WHERE application_name = %s "
                        "AND datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state IN ('active', 'idle in transaction') AND query ~ %s",
                        (DAEMON_APP_NAME, STAGE_QUERIES[pending[0]]),
                    ).fetchall()
                    if killed:
                        hit.add(run)
                        stage = pending.pop(0)
                        self.kills += [(stage, run, state, query) for state, query, _ in killed]
                self._halt.wait(0.002)  # polling for a busy backend of a cycle in flight

    def stages_hit(self) -> list[str]:
        return sorted({stage for stage, *_ in self.kills}, key=self.stages.index)

    def _cycle_in_flight(self, conn: psycopg.Connection[Any]) -> int | None:
        row = conn.execute(
            "SELECT r.id FROM syncd.runs r WHERE r.id > %s AND r.kind = ANY(%s) "
            "AND r.status = 'running' AND r.id = (SELECT max(id) FROM syncd.runs "
            "WHERE kind = ANY(%s)) AND EXISTS (SELECT 1 FROM pg_locks WHERE "
            "locktype = 'advisory' AND objid = %s AND granted "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))",
            (self.after_run, list(SYNC_KINDS), list(SYNC_KINDS), CYCLE_LOCK_KEY),
        ).fetchone()
        return None if row is None else int(row[0])
