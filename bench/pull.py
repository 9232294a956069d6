"""Bench: LiveVox export → Postgres mirror, against a raw COPY of the same CSV.

For each size N, in a fresh database and a fresh Python process (so peak RSS is per N):

* `copy`      raw `COPY` of the CSV into an UNLOGGED all-text table, streamed from Python in
              64 KiB chunks (the floor: one backend parsing CSV); run once before the loads
              and once after them, and the faster counts (`copy_runs_s` in the JSON line);
* `load`      `load_export` of the same bytes into the empty mirror (initial load);
* `reload`    a full reconcile of the export with 1 % of the contacts changed (the steady
              state: hash join, 1 % typed upsert, history, tombstone check);
* `pull`      (emulator mode) the whole `PullService.pull_full()` — login, gzip export from
              `syncd emulator --contacts N` in a subprocess, decompression, load — into an
              empty mirror; then 1 % agent edits and `repull`, a second full pull. Both
              exports are saved on the way and used for `copy` / `load` / `reload`.

Ratios are load rows/s ÷ copy rows/s (target ≥ 0.5). Peak RSS is the bench process's VmHWM
(the emulator runs in its own process). The JSON line under each row adds the loader's
seconds per step (`load_steps`, `reload_steps`: copy, initial — of which indexes —,
candidates, ...). On a shared machine the figures scatter: `--repeat` runs each size several
times (each in a fresh process) and adds a line with the medians. The file mode needs no
emulator or client:

    .venv/bin/python bench/pull.py --source file --contacts 100000 1000000
    .venv/bin/python bench/pull.py --source file --contacts 100000 --repeat 5
    .venv/bin/python bench/pull.py --source file --contacts 1000000 --repeat 3 --exports /tmp/x
    .venv/bin/python bench/pull.py --source emulator --contacts 100000 1000000

The database server is `SYNCD_TEST_DATABASE_URL` (or `SYNCD_DATABASE_URL`); without either,
an embedded pgserver in a temporary directory.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import Any

import psycopg
import structlog
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from syncd.store.engine import create_engine_for, libpq_conninfo  # noqa: E402
from syncd.store.field_columns import FIELDS  # noqa: E402

CHUNK = 64 * 1024


# --- a generated export, in the data file's formats ---------------------------------------

_FIRST = ("James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda")
_LAST = ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis")
_CITY = ("Springfield", "Riverside", "Franklin", "Greenville", "Bristol", "Clinton")
_STATE = ("CA", "TX", "NY", "FL", "IL", "PA", "OH", "GA")


def _row(i: int, version: int) -> list[str]:
    """One contact as CSV fields in FIELDS order (~25 populated fields, two phones)."""
    values = dict.fromkeys((f.key for f in FIELDS), "")
    values.update(
        account=f"A{i:09d}",
        dueDate=f"{1 + i % 12:02d}/{1 + i % 28:02d}/2027",
        address1=f"{100 + i % 9000} Main St",
        city=_CITY[i % len(_CITY)],
        state=_STATE[i % len(_STATE)],
        zipCode=f"{10000 + i % 89999}",
        firstName=_FIRST[i % len(_FIRST)],
        lastName=_LAST[(i // 8) % len(_LAST)],
        email=f"person{i}@example.com",
        balance=f"{(i * 37) % 100000 / 100 + version:.2f}",
        active="true",
        accountBlock="true" if i % 50 == 0 else "false",
        accountBlockDaily="false",
        countryId="UNITED_STATES_OF_AMERICA",
        createDate=f"{1 + i % 12:02d}/{1 + i % 28:02d}/2020 10:{i % 60:02d}:00",
        modifyDate=f"11/{1 + i % 28:02d}/2026 {i % 24:02d}:{i % 60:02d}:{(i + version) % 60:02d}",
        lvAccountId=str(5_000_000 + i),
        groupId=str(1000 + i % 10),
        dateOfBirth=f"{1 + i % 12:02d}/{1 + i % 28:02d}/{1950 + i % 50}",
        ssn=f"{i % 900 + 100:03d}-{i % 89 + 10:02d}-{i % 9000 + 1000:04d}",
        phone1=f"555{i % 10_000_000:07d}",
        phone1Block="false",
        phone1SmsConsent="true",
        phone2=f"556{i % 10_000_000:07d}" if i % 2 else "",
        COL1=f"tier-{i % 5}",
        COL2=str(i % 700),
    )
    if i % 7 == 0:
        values["address2"] = f'Apt "{i % 90}", Building {i % 9}'  # quoted field with a comma
    return list(values.values())


def _csv_line(fields: list[str]) -> str:
    out = []
    for value in fields:
        if any(c in value for c in ',"\r\n'):
            value = '"' + value.replace('"', '""') + '"'
        out.append(value)
    return ",".join(out)


def write_export(path: Path, n: int, *, changed_every: int | None = None) -> None:
    """Header labels + n rows; with `changed_every`, every k-th contact gets a new version."""
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(",".join(f.label for f in FIELDS) + "\r\n")
        batch: list[str] = []
        for i in range(n):
            version = 1 if changed_every and i % changed_every == 0 else 0
            batch.append(_csv_line(_row(i, version)))
            if len(batch) == 10_000:
                out.write("\r\n".join(batch) + "\r\n")
                batch.clear()
        if batch:
            out.write("\r\n".join(batch) + "\r\n")


def read_body(path: Path) -> tuple[list[str], Iterator[bytes]]:
    """(field keys of the header, chunks after the header) — what the client's stream gives."""
    labels = {f.label: f.key for f in FIELDS}
    handle = path.open("rb")
    header = handle.readline().decode().rstrip("\r\n").split(",")

    def chunks() -> Iterator[bytes]:
        with handle:
            while chunk := handle.read(CHUNK):
                yield chunk

    return [labels.get(h, h) for h in header], chunks()


# --- databases ------------------------------------------------------------------------------


@contextlib.contextmanager
def server_url() -> Iterator[str]:
    url = os.environ.get("SYNCD_TEST_DATABASE_URL") or os.environ.get("SYNCD_DATABASE_URL")
    if url:
        yield libpq_conninfo(url)
        return
    from syncd.store.embedded import EmbeddedPostgres

    with (
        tempfile.TemporaryDirectory(prefix="syncd-bench-pg-") as tmp,
        EmbeddedPostgres(Path(tmp) / "pgdata", database="postgres") as pg,
    ):
        yield libpq_conninfo(pg.url)


@contextlib.contextmanager
def fresh_database(server: str) -> Iterator[str]:
    name = f"syncd_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server)
    info["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo(**{k: v for k, v in info.items() if v is not None})
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def settle(conninfo: str) -> None:
    """Start a timed step from a quiet server: the previous step's dirty pages and WAL would
    otherwise be flushed by the checkpointer during this one (hundreds of MB at 1M), and
    whichever step runs second would pay for the first."""
    os.sync()
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute("CHECKPOINT")


def raw_copy_in_fresh_database(server: str, path: Path) -> float:
    with fresh_database(server) as db:
        return raw_copy_seconds(db, path)


def raw_copy_seconds(conninfo: str, path: Path) -> float:
    columns, chunks = read_body(path)
    cols = ", ".join(f"c{i} text" for i in range(len(columns)))
    with psycopg.connect(conninfo) as conn:
        conn.execute(f"CREATE UNLOGGED TABLE raw_copy ({cols})")
        conn.commit()
        settle(conninfo)
        started = time.perf_counter()
        with conn.cursor() as cur, cur.copy("COPY raw_copy FROM STDIN (FORMAT csv)") as copy:
            for chunk in chunks:
                copy.write(chunk)
        conn.commit()
        return time.perf_counter() - started


def migrated_engine(conninfo: str) -> Any:
    from syncd.store.migrate import upgrade

    engine = create_engine_for(conninfo)
    upgrade(engine)
    return engine


class StepTimes:
    """structlog processor: keeps the loader's seconds per step, drops every event."""

    def __init__(self) -> None:
        self.last: dict[str, float] = {}

    def __call__(self, logger: Any, name: str, event: MutableMapping[str, Any]) -> Any:
        if event.get("event") == "loader.loaded":
            self.last = dict(event.get("seconds", {}))
        raise structlog.DropEvent


def load_seconds(engine: Any, path: Path, mode: str) -> tuple[float, dict[str, Any]]:
    from syncd.store.loader import load_export
    from syncd.store.runs import RunRepository

    runs = RunRepository(engine)
    run_id = runs.start(f"bench_{mode}")
    columns, chunks = read_body(path)
    settle(libpq_conninfo(engine.url.render_as_string(hide_password=False)))
    started = time.perf_counter()
    with engine.begin() as conn:
        result = load_export(conn, columns, chunks, run_id=run_id, mode=mode)  # type: ignore[arg-type]
    seconds = time.perf_counter() - started
    runs.finish(run_id, "succeeded", counts=result.counts())
    return seconds, result.counts()


# --- emulator -------------------------------------------------------------------------------


@contextlib.contextmanager
def emulator(contacts: int) -> Iterator[str]:
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "syncd.cli", "emulator", "--port", str(port)]
    cmd += ["--contacts", str(contacts), "--seed", "7"]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError("emulator exited early")
            try:
                httpx.get(f"{base}/_emulator/stats", timeout=1.0)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise RuntimeError("emulator did not start") from None
                time.sleep(0.2)  # another process's port: there is no event to await
        yield base
    finally:
        proc.terminate()
        proc.wait(30)


class _TeeExport:
    """Wraps the client's export so its bytes are also saved (for the load-only runs)."""

    def __init__(self, client: Any, sink: Path) -> None:
        self.client = client
        self.sink = sink

    @contextlib.contextmanager
    def export_contacts(self, fields: Any = ("allFields",), start: Any = None, end: Any = None):  # type: ignore[no-untyped-def]
        with self.client.export_contacts(fields=fields, start=start, end=end) as stream:
            yield _TeeStream(stream, self.sink)


class _TeeStream:
    def __init__(self, stream: Any, sink: Path) -> None:
        self.stream = stream
        self.sink = sink
        self.columns = list(stream.columns)

    def iter_raw(self) -> Iterator[bytes]:
        labels = {f.key: f.label for f in FIELDS}
        with self.sink.open("wb") as out:
            out.write((",".join(labels.get(c, c) for c in self.columns) + "\r\n").encode())
            for chunk in self.stream.iter_raw():
                out.write(chunk)
                yield chunk


def pull_from_emulator(
    engine: Any, base_url: str, sinks: tuple[Path, Path], n: int
) -> dict[str, Any]:
    """Initial full pull, then 1 % agent edits and a second full pull (the steady state)."""
    import httpx

    from syncd.livevox import ClientConfig, LiveVoxClient
    from syncd.service.pull import PullService

    config = ClientConfig(
        base_url=base_url,
        access_token="demo-token",
        client_name="demo",
        username="admin",
        password="admin",
    )
    figures: dict[str, Any] = {}
    with LiveVoxClient(config) as client:
        for label, sink in zip(("pull", "repull"), sinks, strict=True):
            if label == "repull":
                with httpx.Client(base_url=base_url) as control:
                    for i in range(1, n + 1, 100):
                        control.post(
                            f"/_emulator/contacts/ACC{i:07d}/agent-edit",
                            json={"firstName": "Edited"},
                        ).raise_for_status()
            service = PullService(engine, _TeeExport(client, sink))
            started = time.perf_counter()
            outcome = service.pull_full()
            figures[f"{label}_s"] = time.perf_counter() - started
            figures[f"{label}_rows"] = outcome.result.rows_seen
            figures[f"{label}_updated"] = outcome.result.updated
    return figures


# --- one size, in its own process -------------------------------------------------------------


def peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def run_one(n: int, source: str, workdir: Path) -> dict[str, Any]:
    export = workdir / f"{source}_{n}.csv"
    changed = workdir / f"{source}_{n}_changed.csv"
    figures: dict[str, Any] = {"contacts": n, "source": source}
    steps = StepTimes()
    structlog.configure(processors=[steps])  # this process prints its JSON line only
    with server_url() as server:
        if source == "emulator":
            with emulator(n) as base, fresh_database(server) as db:
                engine = migrated_engine(db)
                figures.update(pull_from_emulator(engine, base, (export, changed), n))
                engine.dispose()
        else:
            # Generating 1M rows takes minutes; with --exports the files are kept and reused.
            if not export.exists():
                write_export(export, n)
            if not changed.exists():
                write_export(changed, n, changed_every=100)
        copies = [raw_copy_in_fresh_database(server, export)]
        with fresh_database(server) as db:
            engine = migrated_engine(db)
            figures["load_s"], counts = load_seconds(engine, export, "full")
            figures["rows"] = counts["rows_seen"]
            figures["load_steps"] = steps.last
            figures["reload_s"], counts = load_seconds(engine, changed, "full")
            figures["reload_updated"] = counts["updated"]
            figures["reload_steps"] = steps.last
            engine.dispose()
        copies.append(raw_copy_in_fresh_database(server, export))
        # The baseline brackets the loads and the faster COPY counts: this VM's speed drifts
        # by ±20 % within minutes (one COPY before the loads gave the same code ratios from
        # 0.44 to 0.70), and a slow baseline must not make the loader look fast.
        figures["copy_runs_s"] = copies
        figures["copy_s"] = min(copies)
    figures["csv_mb"] = export.stat().st_size / 1e6
    figures["peak_rss_mib"] = peak_rss_mib()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--source", choices=("file", "emulator"), default="file")
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (median line)")
    parser.add_argument(
        "--exports",
        type=Path,
        help="keep the exports in this directory (file source: generated once, then reused; "
        "emulator source: the last run's exports, for inspection)",
    )
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one, args.source, args.workdir)))
        return
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}, source {args.source}")
    print(
        "copy = raw COPY into an all-text table; load = initial load into an empty mirror; "
        "reload = full reconcile with 1 % changed; pull/repull = the same through the "
        "emulator and client (rows/s; ratio = loader rows/s / copy rows/s)"
    )
    print(
        f"{'contacts':>9} {'CSV MB':>7} {'copy/s':>9} {'load/s':>9} {'ratio':>6} "
        f"{'reload/s':>9} {'ratio':>6} {'pull/s':>9} {'repull/s':>9} {'peak RSS MiB':>13}"
    )
    for n in args.contacts:
        ratios: list[tuple[float, float]] = []
        for _ in range(args.repeat):
            r = _run_size(n, args.source, args.exports)
            ratios.append(_print_row(n, r))
        if args.repeat > 1:
            load_ratios, reload_ratios = zip(*ratios, strict=True)
            print(
                f"{'median':>9} of {args.repeat}: load ratio "
                f"{statistics.median(load_ratios):.2f} (min {min(load_ratios):.2f}, max "
                f"{max(load_ratios):.2f}), reload ratio {statistics.median(reload_ratios):.2f} "
                f"(min {min(reload_ratios):.2f}, max {max(reload_ratios):.2f})",
                flush=True,
            )


def _run_size(n: int, source: str, exports: Path | None = None) -> dict[str, Any]:
    """One size in a fresh process (so peak RSS is per size); its figures."""
    with tempfile.TemporaryDirectory(prefix="syncd-bench-") as tmp:
        workdir = exports if exports is not None else Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(
            [
                sys.executable,
                __file__,
                "--one",
                str(n),
                "--source",
                source,
                "--workdir",
                str(workdir),
            ],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
    if proc.returncode != 0:
        sys.exit(f"bench for {n} contacts failed:\n{proc.stderr[-3000:]}")
    figures: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return figures


def _print_row(n: int, r: dict[str, Any]) -> tuple[float, float]:
    """Print one result row and its JSON; returns the (load, reload) ratios."""
    rows = r["rows"]
    copy_rate, load_rate, reload_rate = (rows / r[k] for k in ("copy_s", "load_s", "reload_s"))
    pull = f"{r['pull_rows'] / r['pull_s']:>9,.0f}" if "pull_s" in r else f"{'-':>9}"
    repull = f"{r['repull_rows'] / r['repull_s']:>9,.0f}" if "repull_s" in r else f"{'-':>9}"
    print(
        f"{n:>9,} {r['csv_mb']:>7.1f} {copy_rate:>9,.0f} {load_rate:>9,.0f} "
        f"{load_rate / copy_rate:>6.2f} {reload_rate:>9,.0f} {reload_rate / copy_rate:>6.2f} "
        f"{pull} {repull} {r['peak_rss_mib']:>13.0f}",
        flush=True,
    )
    print("   ", json.dumps(_rounded(r)), flush=True)
    return load_rate / copy_rate, reload_rate / copy_rate


def _rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    return value


if __name__ == "__main__":
    main()
