"""A migrated database and a cycle function of the tests' own (the daemon's port) that does
real database work under the real cluster-wide `cycle_lock`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest
import sqlalchemy as sa
from pydantic import SecretStr

from syncd.daemon.core import Daemon, DaemonConfig
from syncd.daemon.sdnotify import SystemdNotifier
from syncd.service.requests import CycleRequest, CycleResult, RunStatus
from syncd.settings import DaemonSettings
from syncd.store import migrate
from syncd.store.engine import create_engine_for
from syncd.store.locks import cycle_lock
from syncd.store.runs import RunRepository
from tests.conftest import FreshDatabase

CYCLE_LOG_DDL = """
CREATE TABLE public.cycle_log (
    id bigserial PRIMARY KEY,
    daemon text NOT NULL,
    run_id bigint NOT NULL,
    kind text NOT NULL,
    requested_by text,
    started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    finished_at timestamptz
);
CREATE TABLE public.pushes (
    outbox_id bigint NOT NULL,
    daemon text NOT NULL,
    run_id bigint NOT NULL
);
"""


ROWS_PER_PULL = 7


@pytest.fixture
def migrated(fresh_db: FreshDatabase) -> Iterator[sa.Engine]:
    engine = create_engine_for(fresh_db.url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        for statement in CYCLE_LOG_DDL.split(";"):
            if statement.strip():
                conn.execute(sa.text(statement))
    try:
        yield engine
    finally:
        engine.dispose()


def add_outbox_rows(engine: sa.Engine, count: int) -> list[int]:
    """`count` NEW update rows (one per account) under a planning run of their own."""
    run_id = RunRepository(engine).start("plan")
    with engine.begin() as conn:
        ids = conn.execute(
            sa.text(
                "INSERT INTO syncd.outbox (run_id, account, operation, payload, expected) "
                "SELECT :run, 'ACC-' || n, 'update', "
                "jsonb_build_object('fields', jsonb_build_object('city', 'X' || n)), '{}' "
                "FROM generate_series(1, :count) AS n RETURNING id"
            ),
            {"run": run_id, "count": count},
        ).scalars()
        return list(ids)


@dataclass
class RecordingCycle:
    """Records each cycle in `public.cycle_log` and "pushes" a batch of NEW outbox rows.

    The push is deliberately naive (no SKIP LOCKED, read then write): only the cycle lock
    keeps two of them from sending the same row. `work` holds the lock a little while, as
    a real batch would. `before_lock` runs before the lock is tried (tests coordinate there);
    `inside_lock(lock_taken)` runs right after.
    """

    engine: sa.Engine
    name: str
    batch: int = 4
    work_seconds: float = 0.05
    before_lock: Callable[[int], None] | None = None
    inside_lock: Callable[[int, bool], None] | None = None
    stop: threading.Event | None = None
    calls: int = 0
    requests: list[CycleRequest] = field(default_factory=list)
    results: list[CycleResult] = field(default_factory=list)
    finished: threading.Event = field(default_factory=threading.Event)
    emptied: threading.Event = field(default_factory=threading.Event)

    def __call__(self, request: CycleRequest) -> CycleResult:
        self.calls += 1
        call = self.calls
        self.requests.append(request)
        if self.before_lock is not None:
            self.before_lock(call)
        with cycle_lock(self.engine) as lock:
            if self.inside_lock is not None:
                self.inside_lock(call, lock is not None)
            result = CycleResult(status=RunStatus.SKIPPED) if lock is None else self._push(request)
        self.results.append(result)
        self.finished.set()
        return result

    def _push(self, request: CycleRequest) -> CycleResult:
        runs = RunRepository(self.engine)
        pull_id = runs.start("pull_incremental")
        runs.finish(
            pull_id,
            "succeeded",
            counts={"rows_seen": ROWS_PER_PULL, "max_modify_date": "2024-05-01T08:00:00+00:00"},
        )
        run_id = runs.start(str(request.kind), requested_by=request.requested_by)
        with self.engine.begin() as conn:
            log_id = conn.execute(
                sa.text(
                    "INSERT INTO public.cycle_log (daemon, run_id, kind, requested_by) "
                    "VALUES (:d, :r, :k, :b) RETURNING id"
                ),
                {"d": self.name, "r": run_id, "k": str(request.kind), "b": request.requested_by},
            ).scalar_one()
        with self.engine.begin() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT id, account FROM syncd.outbox WHERE state = 'NEW' ORDER BY id LIMIT :n"
                ),
                {"n": self.batch},
            ).all()
            conn.execute(sa.text("SELECT pg_sleep(:s)"), {"s": self.work_seconds})
            for outbox_id, account in rows:
                conn.execute(
                    sa.text("INSERT INTO public.pushes VALUES (:o, :d, :r)"),
                    {"o": outbox_id, "d": self.name, "r": run_id},
                )
                conn.execute(
                    sa.text(
                        "UPDATE syncd.outbox SET state = 'DONE', updated_at = now() WHERE id = :o"
                    ),
                    {"o": outbox_id},
                )
                conn.execute(
                    sa.text(
                        "INSERT INTO syncd.audit_log (run_id, outbox_id, direction, account, "
                        "operation, field, old_value, new_value, outcome, http_status) VALUES "
                        "(:r, :o, 'push', :a, 'update', 'city', NULL, 'X', 'applied', 200)"
                    ),
                    {"r": run_id, "o": outbox_id, "a": account},
                )
            left = conn.execute(
                sa.text("SELECT count(*) FROM syncd.outbox WHERE state = 'NEW'")
            ).scalar_one()
        with self.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "UPDATE public.cycle_log SET finished_at = clock_timestamp() WHERE id = :i"
                ),
                {"i": log_id},
            )
        runs.finish(run_id, "succeeded", counts={"pushed": len(rows)})
        if left == 0:
            self.emptied.set()
        return CycleResult(status=RunStatus.SUCCEEDED, run_id=run_id, counts={"pushed": len(rows)})


QUIET = SystemdNotifier({})


def make_daemon(
    engine: sa.Engine,
    cycle: object,
    *,
    sync_interval: int = 3600,
    admin_bind: str | None = None,
    admin_token: str | None = None,
    notifier: SystemdNotifier = QUIET,
    stop_event: threading.Event | None = None,
    **settings: object,
) -> Daemon:
    defaults: dict[str, object] = {"run_at_start": False, "resync_poll_seconds": 60}
    defaults.update(settings)
    return Daemon(
        engine=engine,
        cycle=cycle,  # type: ignore[arg-type]
        config=DaemonConfig(
            sync_interval=sync_interval,
            admin_bind=admin_bind,
            admin_token=SecretStr(admin_token) if admin_token else None,
            daemon=DaemonSettings(**defaults),  # type: ignore[arg-type]
        ),
        notifier=notifier,
        stop_event=stop_event,
        tap_requests=False,
    )
