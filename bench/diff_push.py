"""Bench: the sync cycle's diff and push at scale, 1 % of the contacts changed in the SoR.

For each size N, in a fresh database and a fresh Python process (so peak RSS is per N), with
`syncd emulator --contacts N` in a subprocess:

* set-up: full pull into the mirror, the SoR filled from it, one first-contact cycle (every
  contact is compared once and `syncd.base` is built) — timed, not the subject;
* 1 % of the SoR rows change (first name and balance of every 100th contact);
* `diff`      the cycle's SQL diff alone (candidates by hash, then per-field comparison of the
              candidates), in a transaction that is rolled back;
* `baseline`  in the same run, over the same tables: a plain per-column `IS DISTINCT FROM`
              join of every SoR row with its mirror row (what a diff without hashes costs);
* `cycle`     the whole cycle (incremental pull, diff, plan, outbox, push through the real
              client into the emulator); `push` is the pusher's share, with the requests it
              sent (should be about changed ÷ batch size) and its rows/s;
* `quiet`     the next cycle (pulls the pushed contacts back, plans nothing), then one more.

    .venv/bin/python bench/diff_push.py --contacts 100000 1000000

The database server is `SYNCD_TEST_DATABASE_URL` (or `SYNCD_DATABASE_URL`); without either,
an embedded pgserver in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.pull import emulator, fresh_database, peak_rss_mib, server_url  # noqa: E402
from syncd.store.engine import create_engine_for  # noqa: E402


def run_one(n: int) -> dict[str, Any]:
    import sqlalchemy as sa

    from syncd.livevox import ClientConfig, LiveVoxClient
    from syncd.service.cycle import SyncDeps, run_cycle
    from syncd.service.diff import Diff, DiffOptions
    from syncd.service.push import drain_outbox
    from syncd.service.requests import CycleKind, CycleRequest
    from syncd.service.sor import load_mapping, load_rules
    from syncd.settings import SorSettings, SyncSettings
    from syncd.store.canonical_sql import quote_ident
    from syncd.store.migrate import upgrade
    from syncd.store.schema import sor_contacts

    figures: dict[str, Any] = {"contacts": n}
    with server_url() as server, emulator(n) as base, fresh_database(server) as db:
        engine = create_engine_for(db)
        upgrade(engine)
        config = ClientConfig(
            base_url=base,
            access_token="demo-token",
            client_name="demo",
            username="admin",
            password="admin",
            timeout=300,
        )
        with LiveVoxClient(config) as client:
            sor = SorSettings()
            rules = load_rules(ROOT / sor.profile)
            push_seconds: list[float] = []

            def timed_push(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return drain_outbox(*args, **kwargs)
                finally:
                    push_seconds.append(time.perf_counter() - started)

            def build() -> SyncDeps:
                with engine.connect() as conn:
                    mapping = load_mapping(conn, sor, rules)
                return SyncDeps(engine, client, mapping, SyncSettings(), sor, push=timed_push)

            deps = build()

            def cycle(**request: Any) -> tuple[float, dict[str, int]]:
                started = time.perf_counter()
                result = run_cycle(deps, CycleRequest(**request))
                seconds = time.perf_counter() - started
                if result.status.value not in ("succeeded", "dry_run"):
                    raise RuntimeError(f"cycle {result.status}: {result.messages}")
                return seconds, result.counts

            figures["initial_pull_s"], _ = cycle(kind=CycleKind.FULL)
            cols = ", ".join(c.name for c in sor_contacts.columns)
            started = time.perf_counter()
            with engine.begin() as conn:
                fill = f"INSERT INTO sor.contacts ({cols}) SELECT {cols} FROM livevox.contacts"
                conn.execute(sa.text(fill))
            figures["sor_fill_s"] = time.perf_counter() - started
            mapping = deps.mapping
            figures["first_contact_cycle_s"], counts = cycle()
            figures["first_contact_candidates"] = counts["candidates"]
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                for table in ("syncd.base", "livevox.contacts", "sor.contacts"):
                    conn.execute(sa.text(f"VACUUM ANALYZE {table}"))

            with engine.begin() as conn:
                changed = conn.execute(
                    sa.text(
                        "UPDATE sor.contacts SET first_name = 'Bench', balance = "
                        "coalesce(balance, 0) + 1 WHERE right(account, 2) = '00'"
                    )
                ).rowcount
            figures["changed"] = changed

            # the diff alone and the baseline, over the same tables; each three times in turn
            # (warm caches for both), the best time of each
            pairs = [
                (f"s.{quote_ident(f.column)}", f"m.{quote_ident(f.mirror_column)}")
                for f in mapping.fields
            ]
            left = ", ".join(s for s, _ in pairs)
            right = ", ".join(m for _, m in pairs)
            baseline_sql = sa.text(
                "SELECT count(*) FROM sor.contacts s JOIN livevox.contacts m "
                f"USING (account) WHERE ROW({left}) IS DISTINCT FROM ROW({right})"
            )
            diff_times, baseline_times = [], []
            for _ in range(3):
                with engine.connect() as conn, conn.begin() as transaction:
                    started = time.perf_counter()
                    stats = Diff(conn, deps.queries).stage(DiffOptions())
                    diff_times.append(time.perf_counter() - started)
                    figures["diff_candidates"] = stats.candidates
                    transaction.rollback()
                with engine.connect() as conn, conn.begin() as transaction:
                    conn.execute(sa.text("SET LOCAL jit = off"))
                    started = time.perf_counter()
                    figures["baseline_differing"] = conn.execute(baseline_sql).scalar_one()
                    baseline_times.append(time.perf_counter() - started)
            figures["diff_s"], figures["baseline_s"] = min(diff_times), min(baseline_times)

            # confirm: after quiet cycles the guard's spike check (10x the median) would hold it
            figures["cycle_s"], counts = cycle(confirm=True)
            figures["cycle_counts"] = {
                k: counts.get(k)
                for k in ("candidates", "updates", "push_applied", "push_requests", "push_dead")
            }
            figures["push_s"] = push_seconds[-1]
            figures["quiet_cycle_s"], counts = cycle()
            figures["quiet_planned"] = counts["updates"] + counts["creates"] + counts["dnd_changes"]
            figures["quiet2_cycle_s"], counts = cycle()
            figures["quiet2_candidates"] = counts["candidates"]
        engine.dispose()
    figures["peak_rss_mib"] = peak_rss_mib()
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        print(json.dumps(run_one(args.one)))
        return
    print(f"python {sys.version.split()[0]}, cpus {os.cpu_count()}")
    print(
        f"{'contacts':>9} {'changed':>8} {'diff s':>7} {'baseline s':>10} {'ratio':>6} "
        f"{'cycle s':>8} {'push s':>7} {'requests':>8} {'push rows/s':>11} {'quiet s':>8} "
        f"{'peak RSS MiB':>12}"
    )
    for n in args.contacts:
        proc = subprocess.run(
            [sys.executable, __file__, "--one", str(n)],
            check=False,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        if proc.returncode != 0:
            sys.exit(f"bench for {n} contacts failed:\n{proc.stderr[-3000:]}")
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        c = r["cycle_counts"]
        print(
            f"{n:>9,} {r['changed']:>8,} {r['diff_s']:>7.2f} {r['baseline_s']:>10.2f} "
            f"{r['diff_s'] / r['baseline_s']:>6.2f} {r['cycle_s']:>8.2f} {r['push_s']:>7.2f} "
            f"{c['push_requests']:>8} {c['push_applied'] / r['push_s']:>11,.0f} "
            f"{r['quiet2_cycle_s']:>8.2f} {r['peak_rss_mib']:>12.0f}",
            flush=True,
        )
        rounded = {k: round(v, 3) if isinstance(v, float) else v for k, v in r.items()}
        print("   ", json.dumps(rounded))


if __name__ == "__main__":
    main()
