"""Soak bench (issue #7): continuous edits on both sides, every fault on, for minutes.

One `syncd run` subprocess (sync interval `--interval` s) against the emulator, served in this
process with moderate faults of every kind (429, 5xx, dropped connections, latency, cut
exports, expired sessions) for the whole edit phase. Meanwhile, a few edits a second
(`--rate`), half on each side:

* SoR: profile changes (first name, city, email, balance) and new rows, measured until LiveVox
  shows them (`sor->livevox`);
* LiveVox agents: Do-Not-Dial adds, measured until the write-back reaches the SoR
  (`livevox->sor`), and call attempts, measured until the mirror has them (`livevox->mirror`).

Lag is the time from an edit to the first check (every 0.5 s) that sees it on the other side.
An edit overwritten before it arrived is counted as superseded, not as a lag. The daemon's
RSS (`/proc/<pid>/status` VmRSS) is sampled every 10 s. When the edits stop, the faults are
turned off and the run must converge within `--drain-minutes`: every edit's last value where
it belongs, no DND or consent undone, SoR-owned fields equal, outbox drained, no open dead
letter (`tests/reliability/harness.problems`); no duplicate side effect in the emulator's
journal; no secret or SSN in the daemon's log.

    .venv/bin/python bench/soak.py                 # 30 minutes (not in CI)
    .venv/bin/python bench/soak.py --minutes 2     # a smoke run

Prints a table and one JSON line; appends its outcome (category `soak`) to
`build/reliability/soak.jsonl`, which `scripts/reliability_report.py` reads (`--no-record`
skips that). Database: `SYNCD_TEST_DATABASE_URL` (or `SYNCD_DATABASE_URL`); without either, an
embedded Postgres in a temporary directory. The daemon's log is `build/reliability/logs/soak.log`.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import Engine  # noqa: E402

from bench.pull import fresh_database, server_url  # noqa: E402
from syncd.logging import configure_logging  # noqa: E402
from tests.conftest import sqlalchemy_url  # noqa: E402
from tests.reliability.harness import (  # noqa: E402
    SECRETS,
    DaemonProcess,
    Emulator,
    Workload,
    agree,
    duplicate_side_effects,
    finished,
    last_run_id,
    migrated,
    next_cycle,
    problems,
    restrictions,
    restrictions_lifted,
    running_daemon,
    served_emulator,
    sync_runs,
)
from tests.reliability.leak_scan import find_leaks  # noqa: E402
from tests.reliability.results import Outcome  # noqa: E402

SOAK_RESULTS = ROOT / "build" / "reliability" / "soak.jsonl"
CHECK_EVERY = 0.5
SAMPLE_EVERY = 10.0
DIRECTIONS = ("sor->livevox", "livevox->sor", "livevox->mirror")
PROFILE_EDITS = (("first_name", "firstName"), ("city", "city"), ("email", "email"),
                 ("balance", "balance"))  # fmt: skip


def default_faults(seed: int) -> str:
    """Every fault of the emulator at a moderate rate."""
    return (
        f"seed={seed},rate_limit=0.03,retry_after=1,error_rate=0.03,drop_rate=0.01,"
        "latency_ms=50,latency_rate=0.1,cut_export=0.05,cut_export_after=32768,"
        "expire_sessions_every=150"
    )


class SoakError(RuntimeError):
    """The soak could not run as set up (the daemon died, the set-up failed)."""


# --------------------------------------------------------------------------- edits and lag


@dataclass(frozen=True, slots=True)
class Edit:
    direction: str
    account: str
    name: str
    """Field key when the edit must arrive in LiveVox; column for the SoR and the mirror."""
    value: Any
    at: float


def same(have: Any, want: Any) -> bool:
    if isinstance(want, bool):
        return bool(have) is want
    if isinstance(want, Decimal):
        return have is not None and Decimal(str(have)) == want
    return bool(have == want)


@dataclass
class LagBook:
    """Edits in flight, and the lags of those that arrived, per direction."""

    pending: dict[tuple[str, str, str], Edit] = field(default_factory=dict)
    lags: dict[str, list[float]] = field(default_factory=lambda: {d: [] for d in DIRECTIONS})
    superseded: int = 0

    def add(self, edit: Edit) -> None:
        key = (edit.direction, edit.account, edit.name)
        if key in self.pending:
            self.superseded += 1
        self.pending[key] = edit

    def check(self, engine: Engine, emulator: Emulator) -> None:
        now = time.monotonic()
        arrived = [e for e in self.pending.values() if e.direction == "sor->livevox"]
        arrived = [
            e for e in arrived if same((emulator.record(e.account) or {}).get(e.name), e.value)
        ]
        for direction, table in (("livevox->sor", "sor.contacts"),
                                 ("livevox->mirror", "livevox.contacts")):  # fmt: skip
            arrived += self._arrived_in(engine, table, direction)
        for edit in arrived:
            del self.pending[(edit.direction, edit.account, edit.name)]
            self.lags[edit.direction].append(now - edit.at)

    def _arrived_in(self, engine: Engine, table: str, direction: str) -> list[Edit]:
        edits = [e for e in self.pending.values() if e.direction == direction]
        if not edits:
            return []
        columns = sorted({e.name for e in edits})
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text(f"SELECT account, {', '.join(columns)} FROM {table} "
                        "WHERE account = ANY(:a)"),
                {"a": sorted({e.account for e in edits})},
            ).mappings()  # fmt: skip
            current = {r["account"]: dict(r) for r in rows}
        return [e for e in edits if same(current.get(e.account, {}).get(e.name), e.value)]


@dataclass
class Editor:
    """Seeded edits: the SoR through SQL, LiveVox through agent edits (journaled)."""

    engine: Engine
    emulator: Emulator
    rng: random.Random
    accounts: list[str]
    """SoR rows to edit (grows with the rows the soak creates)."""
    agent_accounts: list[str]
    """Contacts LiveVox had at the start: agents edit only those."""
    dnd_candidates: list[str]
    seed: int
    book: LagBook
    final: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    _n: int = 0
    _agent_turn: int = 0

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def _edit(self, direction: str, side: str, account: str, name: str, value: Any) -> None:
        self.book.add(Edit(direction, account, name, value, time.monotonic()))
        self.final[(side, account, name)] = value

    def sor(self) -> None:
        self._n += 1
        n = self._n
        if self.rng.random() < 0.1:
            account = f"SOAK{self.seed:02d}{n:05d}"
            with self.engine.begin() as conn:
                conn.execute(
                    sa.text("INSERT INTO sor.contacts (account, first_name, last_name, city, "
                            "active) VALUES (:a, :f, 'Soak', 'Createburg', true)"),
                    {"a": account, "f": f"New{n}"},
                )  # fmt: skip
            self.accounts.append(account)
            self._edit("sor->livevox", "livevox", account, "firstName", f"New{n}")
            self._count("sor_creates")
            return
        column, key = PROFILE_EDITS[n % len(PROFILE_EDITS)]
        value: Any = {
            "first_name": f"Soak{n}",
            "city": f"Soakville {n}",
            "email": f"soak{n}@example.com",
            "balance": Decimal(n) + Decimal("0.25"),
        }[column]
        account = self.rng.choice(self.accounts)
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(f"UPDATE sor.contacts SET {column} = :v WHERE account = :a"),
                {"v": value, "a": account},
            )
        self._edit("sor->livevox", "livevox", account, key, value)
        self._count("sor_updates")

    def livevox(self) -> None:
        self._agent_turn += 1
        if self.dnd_candidates and self._agent_turn % 2:
            account = self.dnd_candidates.pop()
            self.emulator.agent_edit(account, {"accountBlock": True})
            self._edit("livevox->sor", "sor", account, "account_block", True)
            self._count("agent_dnd")
            return
        account = self.rng.choice(self.agent_accounts)
        record = self.emulator.record(account) or {}
        attempts = int(record.get("callAttemptsTotal") or 0) + self.rng.randrange(1, 9)
        self.emulator.agent_edit(account, {"callAttemptsTotal": attempts})
        self._edit("livevox->mirror", "mirror", account, "call_attempts_total", attempts)
        self._count("agent_attempts")

    def workload(self) -> Workload:
        """The final value of every edited (side, account, name), for `harness.problems`."""
        work = Workload()
        for (side, account, name), value in sorted(self.final.items(), key=str):
            work.expect(side, account, name, value, "soak edit")
        work.sor_updates = self.counts.get("sor_updates", 0)
        work.creates = self.counts.get("sor_creates", 0)
        work.agent_edits = self.counts.get("agent_dnd", 0) + self.counts.get("agent_attempts", 0)
        return work


# --------------------------------------------------------------------------- measuring


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def percentiles(values: Iterable[float]) -> dict[str, float | int | None]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50": None, "p95": None, "p99": None, "max": None}

    def rank(q: float) -> float:  # nearest rank
        return ordered[max(0, math.ceil(q * len(ordered)) - 1)]

    return {
        "n": len(ordered),
        "p50": round(rank(0.50), 2),
        "p95": round(rank(0.95), 2),
        "p99": round(rank(0.99), 2),
        "max": round(ordered[-1], 2),
    }


def memory_figures(samples: list[tuple[float, float]]) -> dict[str, Any]:
    """Start, end, max; growth = median of the last third minus median of the first third;
    slope of a least-squares line, in MiB per hour."""
    values = [mib for _, mib in samples]
    if len(values) < 3:
        return {"samples": len(values)}
    third = max(1, len(values) // 3)
    slope = statistics.linear_regression([t for t, _ in samples], values).slope * 3600
    return {
        "samples": len(values),
        "start_mib": round(values[0], 1),
        "end_mib": round(values[-1], 1),
        "max_mib": round(max(values), 1),
        "growth_mib": round(
            statistics.median(values[-third:]) - statistics.median(values[:third]), 1
        ),
        "slope_mib_per_h": round(slope, 1),
    }


# --------------------------------------------------------------------------- the run


@dataclass
class Phase:
    """The edit phase's loop: edits at `rate`, lag checks, RSS samples."""

    editor: Editor
    book: LagBook
    daemon: DaemonProcess
    rate: float
    samples: list[tuple[float, float]] = field(default_factory=list)

    def run(self, seconds: float) -> None:
        start = time.monotonic()
        end = start + seconds
        edits = 0
        next_check = start
        next_sample = start
        while (now := time.monotonic()) < end:
            if not self.daemon.alive():
                raise SoakError(f"syncd run exited:\n{self.daemon.log_tail()}")
            if now >= start + edits / self.rate:
                (self.editor.sor if edits % 2 == 0 else self.editor.livevox)()
                edits += 1
            if now >= next_check:
                self.book.check(self.editor.engine, self.editor.emulator)
                next_check = now + CHECK_EVERY
            if now >= next_sample:
                self.sample(now - start)
                next_sample = now + SAMPLE_EVERY
            wake = min(start + edits / self.rate, next_check, next_sample, end)
            time.sleep(max(0.0, wake - time.monotonic()))  # pacing: the bench's own clock
        self.sample(time.monotonic() - start)

    def sample(self, at: float) -> None:
        mib = rss_mib(self.daemon.process.pid)
        if mib is not None:
            self.samples.append((round(at, 1), mib))


def drain(
    engine: Engine,
    emulator: Emulator,
    daemon: DaemonProcess,
    book: LagBook,
    work: Workload,
    held: set[tuple[str, str]],
    seconds: float,
) -> tuple[bool, float, list[str], int]:
    """Faults off; wait for a successful cycle after which nothing is missing.

    Returns (converged, seconds taken, what is missing, cycles seen)."""
    emulator.set_faults("")
    after = last_run_id(engine)
    start = time.monotonic()
    seen = 0
    missing = ["no cycle finished after the edits stopped"]
    while time.monotonic() - start < seconds:
        if not daemon.alive():
            raise SoakError(f"syncd run exited:\n{daemon.log_tail()}")
        book.check(engine, emulator)
        done = finished(sync_runs(engine, after))
        if len(done) > seen:
            seen = len(done)
            missing = problems(engine, emulator, work, held)
            if done[-1].status == "succeeded" and not missing:
                book.check(engine, emulator)
                return True, time.monotonic() - start, [], seen
        time.sleep(CHECK_EVERY)  # polling `syncd.runs` for the next finished cycle
    return False, time.monotonic() - start, missing, seen


def _dnd_candidates(emulator: Emulator, accounts: list[str], rng: random.Random) -> list[str]:
    free = [a for a in accounts if not (emulator.record(a) or {}).get("accountBlock")]
    rng.shuffle(free)
    return free


def soak(args: argparse.Namespace) -> dict[str, Any]:
    # The set-up runs cycles in this process: only their warnings are worth printing.
    configure_logging("WARNING", json=False)
    rng = random.Random(args.seed)
    faults = args.faults if args.faults is not None else default_faults(args.seed)
    with server_url() as server, fresh_database(server) as conninfo:
        db_url = sqlalchemy_url(conninfo)
        with served_emulator(args.contacts, seed=args.seed) as emulator:
            # A dropped connection or a cut export is an injected fault: uvicorn's traceback
            # for it is noise here (set after the server configured uvicorn's logging).
            logging.getLogger("uvicorn.error").setLevel(logging.CRITICAL)
            engine = migrated(db_url)
            try:
                agree(engine, db_url, emulator)
                held = restrictions(emulator)
                accounts = emulator.accounts()
                book = LagBook()
                editor = Editor(
                    engine, emulator, rng, list(accounts), accounts,
                    _dnd_candidates(emulator, accounts, rng), args.seed, book,
                )  # fmt: skip
                window = emulator.start_window(faults)
                first_run = last_run_id(engine)
                with running_daemon(db_url, emulator, "soak", interval=args.interval) as daemon:
                    # edits and samples start once the daemon has finished its first cycle
                    next_cycle(engine, daemon, first_run, deadline_seconds=300)
                    phase = Phase(editor, book, daemon, args.rate)
                    phase.run(args.minutes * 60)
                    requests = emulator.api_requests()
                    by_status = emulator.requests_by_status()
                    injected = emulator.injected()
                    work = editor.workload()
                    converged, drain_s, missing, drain_cycles = drain(
                        engine, emulator, daemon, book, work, held, args.drain_minutes * 60
                    )
                    phase.sample(args.minutes * 60 + drain_s)
                    code = daemon.stop()
                    log = daemon.log_path.read_text(encoding="utf-8", errors="replace")
                runs = sync_runs(engine, first_run)
                journal = emulator.journal(window.journal_seq)
            finally:
                engine.dispose()
    return {
        "minutes": args.minutes,
        "contacts": args.contacts,
        "seed": args.seed,
        "rate": args.rate,
        "interval": args.interval,
        "faults": faults,
        "edits": dict(sorted(editor.counts.items())),
        "superseded": book.superseded,
        "lag_s": {d: percentiles(book.lags[d]) for d in DIRECTIONS}
        | {"all": percentiles(x for d in DIRECTIONS for x in book.lags[d])},
        "not_arrived": len(book.pending),
        "rss_mib": [[t, round(m, 1)] for t, m in phase.samples],
        "memory": memory_figures(phase.samples),
        "cycles": len(runs),
        "failed_cycles": sum(r.status != "succeeded" for r in runs),
        "requests": requests,
        "requests_by_status": {str(k): v for k, v in by_status.items()},
        "faults_injected": injected,
        "converged": converged,
        "drain_s": round(drain_s, 1),
        "drain_cycles": drain_cycles,
        "missing": missing[:20],
        "lost": len(missing) if not converged else 0,
        "duplicates": len(duplicate_side_effects(journal)),
        "restrictions_lifted": len(restrictions_lifted(journal)),
        "log_leaks": len(find_leaks(log, SECRETS)),
        "daemon_exit": code,
    }


# --------------------------------------------------------------------------- output


def verdict(result: dict[str, Any]) -> str:
    trouble = []
    if not result["converged"]:
        trouble.append(f"not converged ({result['lost']} problems)")
    for key in ("duplicates", "restrictions_lifted", "log_leaks", "not_arrived"):
        if result[key]:
            trouble.append(f"{key.replace('_', ' ')} {result[key]}")
    if result["daemon_exit"] != 0:
        trouble.append(f"daemon exit {result['daemon_exit']}")
    growth = result["memory"].get("growth_mib")
    if growth is not None and growth > max(10.0, 0.1 * result["memory"]["start_mib"]):
        trouble.append(f"RSS grew {growth} MiB")
    return "; ".join(trouble) or "passed"


def print_table(result: dict[str, Any]) -> None:
    print(
        f"soak: {result['minutes']} min, {result['contacts']} contacts, seed {result['seed']}, "
        f"{result['rate']} edits/s, sync interval {result['interval']} s"
    )
    print(f"faults: {result['faults']}")
    print(f"edits: {result['edits']} (superseded before arrival: {result['superseded']})")
    print(f"{'lag (s)':<17} {'n':>6} {'p50':>7} {'p95':>7} {'p99':>7} {'max':>7}")
    for direction, p in result["lag_s"].items():
        cells = [("-" if p[k] is None else f"{p[k]:.2f}") for k in ("p50", "p95", "p99", "max")]
        print(f"{direction:<17} {p['n']:>6} " + " ".join(f"{c:>7}" for c in cells))
    series = result["rss_mib"]
    step = max(1, len(series) // 12)
    shown = ", ".join(f"{t / 60:.1f}m {m:.0f}" for t, m in series[::step])
    print(f"daemon RSS MiB: {shown}")
    print(f"memory: {result['memory']}")
    print(
        f"cycles: {result['cycles']} ({result['failed_cycles']} failed), requests "
        f"{result['requests']}, by status {result['requests_by_status']}, faults injected "
        f"{result['faults_injected']}"
    )
    print(
        f"end: converged={result['converged']} after {result['drain_s']} s "
        f"({result['drain_cycles']} cycles), lost {result['lost']}, duplicates "
        f"{result['duplicates']}, restrictions lifted {result['restrictions_lifted']}, "
        f"not arrived {result['not_arrived']}, log leaks {result['log_leaks']}"
    )
    for problem in result["missing"]:
        print(f"  missing: {problem}")
    print(f"verdict: {verdict(result)}")


def outcome(result: dict[str, Any]) -> Outcome:
    lag = result["lag_s"]["all"]
    memory = result["memory"]
    return Outcome(
        category="soak",
        name=f"soak {result['minutes']:g} min",
        done=(
            f"{sum(result['edits'].values())} edits on both sides at {result['rate']:g}/s on "
            f"{result['contacts']} contacts with every fault on, then faults off until converged"
        ),
        runs=result["cycles"],
        lost=result["lost"],
        duplicates=result["duplicates"],
        outcome=verdict(result),
        figures={
            "lag_p50_s": lag["p50"],
            "lag_p95_s": lag["p95"],
            "lag_p99_s": lag["p99"],
            "rss_start_mib": memory.get("start_mib"),
            "rss_end_mib": memory.get("end_mib"),
            "rss_growth_mib": memory.get("growth_mib"),
            "failed_cycles": result["failed_cycles"],
            "faults": sum(result["faults_injected"].values()),
            "drain_s": result["drain_s"],
        },
    )


def record(result: dict[str, Any], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    line = {
        **asdict(outcome(result)),
        "recorded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, sort_keys=True) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30.0, help="edit phase (default 30)")
    parser.add_argument("--contacts", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rate", type=float, default=3.0, help="edits per second, both sides")
    parser.add_argument("--interval", type=int, default=5, help="daemon sync interval, s")
    parser.add_argument("--faults", help="emulator fault spec (default: all, moderate)")
    parser.add_argument("--drain-minutes", type=float, default=10.0)
    parser.add_argument("--no-record", action="store_true", help="do not append to soak.jsonl")
    args = parser.parse_args(argv)
    result = soak(args)
    print_table(result)
    print(json.dumps(result, sort_keys=True, default=str))
    if not args.no_record:
        record(result, SOAK_RESULTS)
    return 0 if verdict(result) == "passed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
