"""One sync cycle: pull → diff → plan → guard → outbox → push, one at a time cluster-wide.

    cycle_lock (skipped when another replica holds it)
      pull: reference data, then contacts (incremental from the watermark, `since`, or full)
      recover: SENT rows of a crashed drain, settled against the fresh mirror (DONE + audit
            when they landed, else NEW) before the plan supersedes open rows
      plan (one REPEATABLE READ transaction, so the diff and the base it writes see one
            snapshot; retried on a serialization failure):
        diff in SQL → planner per differing contact → staging tables → counts → guard
        held   → roll back, run `held` with the reasons (`--confirm` releases it)
        dry run→ audit preview rows only, run `dry_run`
        else   → outbox rows, write-backs into the SoR, conflicts, invalid dead letters,
                 audit rows, base — all committed together
      push: drain the outbox (the pusher), `lock.ensure_held()` between steps

A dry run sends nothing at all — not even the pull's export — and plans against the mirror as
the last cycle left it. Every step logs with `run_id` bound; the cycle ends with one
`cycle.completed` line (or `cycle.failed`). An optional `progress(stage, done, total)` callback
hears the stages as they go (`pull`, `plan` in contacts compared, `push` in outbox rows
finished) — for a terminal display; None (the default) changes nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, timedelta
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from syncd.crashpoints import crashpoint
from syncd.domain.guard import GuardLimits, GuardVerdict, PlanCounts, check_plan
from syncd.domain.values import audit_text, masked
from syncd.errors import SyncdError
from syncd.service.diff import Diff, DiffOptions, DiffQueries, KeyProblem, custom_field_defs
from syncd.service.plan import ContactPlan, FieldChange, Planner
from syncd.service.pull import PullConfig, PullService
from syncd.service.requests import CycleKind, CycleRequest, CycleResult, RunStatus
from syncd.service.sor import SorMapping
from syncd.settings import SorSettings, SyncSettings
from syncd.store.base_repo import managed_count
from syncd.store.locks import CycleLock, cycle_lock
from syncd.store.plan_staging import PlanStaging, dumps, insert_key_problems, jsonb_text
from syncd.store.runs import RunRepository
from syncd.store.sync_runs import recent_plan_counts
from syncd.store.watermarks import read_watermark

_log = structlog.get_logger(__name__)

_AUDIT_COLUMNS = (
    "account", "operation", "direction", "field", "old_value", "new_value", "outcome", "error",
)  # fmt: skip

PLAN_ATTEMPTS = 3
"""Planning transactions tried before a serialization failure fails the cycle."""

Progress = Callable[[str, int, int | None], None]
"""`progress(stage, done, total)`: stage `pull` | `plan` | `push`; total None while unknown.
Called from the cycle's thread (the pusher's workers, serialized); it must be quick."""


class CycleInterruptedError(SyncdError):
    """The stop flag was set (shutdown) before the plan was written."""


class Pusher(Protocol):
    """The pusher's entry point (`syncd.service.push.drain_outbox`)."""

    def __call__(
        self,
        engine: Engine,
        client: Any,
        *,
        run_id: int,
        settings: SyncSettings,
        lock: CycleLock | None = None,
        stop: threading.Event | None = None,
        progress: Progress | None = None,
    ) -> Any: ...


class Recoverer(Protocol):
    """Settles SENT rows of crashed drains (`syncd.service.push.recover_interrupted`)."""

    def __call__(self, engine: Engine, client: Any, *, run_id: int) -> Any: ...


@dataclass
class SyncDeps:
    """Everything a cycle needs, built once by `syncd.bootstrap`."""

    engine: Engine
    client: Any
    """The LiveVox client (export, reference lists; the pusher's calls)."""
    mapping: SorMapping
    sync: SyncSettings = field(default_factory=SyncSettings)
    sor: SorSettings = field(default_factory=SorSettings)
    push: Pusher | None = None
    recover: Recoverer | None = None
    """Run between the pull and the plan (a re-plan must not bury a change that landed)."""
    guard: GuardLimits = field(default_factory=GuardLimits)
    pull: PullConfig | None = None
    """Pull knobs; None: the lookback from `sync.lookback_minutes`."""
    lock_wait_seconds: float = 0.0
    page_size: int = 2000
    """Contacts the planner takes from the diff at a time."""
    sample_size: int = 10
    """Changes a dry run lists in its messages."""
    recent_runs: int = 10
    """Runs the guard's spike check compares with."""

    def __post_init__(self) -> None:
        self.queries = DiffQueries(self.mapping)

    def pull_config(self) -> PullConfig:
        if self.pull is not None:
            return self.pull
        return PullConfig(lookback=timedelta(minutes=self.sync.lookback_minutes))


def run_cycle(
    deps: SyncDeps,
    request: CycleRequest,
    *,
    stop: threading.Event | None = None,
    progress: Progress | None = None,
) -> CycleResult:
    """Run one cycle; failures are reported in the result (status `failed`), not raised."""
    kind = f"sync_{request.kind.value}"
    runs = RunRepository(deps.engine)
    with cycle_lock(deps.engine, wait_seconds=deps.lock_wait_seconds) as lock:
        if lock is None:
            run_id = runs.start(kind, requested_by=request.requested_by)
            note = "skipped: another replica holds the cycle lock"
            runs.finish(run_id, "skipped", messages=[note])
            _log.info("cycle.skipped", run_id=run_id)
            return CycleResult(RunStatus.SKIPPED, run_id, {}, [note])
        run_id = runs.start(kind, requested_by=request.requested_by)
        log = _log.bind(run_id=run_id, kind=request.kind.value, dry_run=request.dry_run)
        cycle = _Cycle(deps, request, run_id, lock, stop or threading.Event(), log, progress)
        _close_abandoned_runs(runs, run_id, cycle, log)
        try:
            status = cycle.run()
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:2000]
            log.error("cycle.failed", error=error, exc_info=not isinstance(exc, SyncdError))
            try:
                runs.finish(
                    run_id, "failed", counts=cycle.counts, error=error, messages=cycle.messages
                )
            except Exception as record_exc:  # the cycle's error matters more
                log.error("cycle.run_not_recorded", error=str(record_exc)[:500])
            return CycleResult(RunStatus.FAILED, run_id, cycle.counts, [*cycle.messages, error])
        runs.finish(run_id, status.value, counts=cycle.counts, messages=cycle.messages or None)
        log.info("cycle.completed", status=status.value, **cycle.counts)
        return CycleResult(status, run_id, cycle.counts, cycle.messages)


def _close_abandoned_runs(runs: RunRepository, run_id: int, cycle: _Cycle, log: Any) -> None:
    """Earlier cycles still `running` died with their process (kill -9, a lost database
    connection at their last write): with the cycle lock held, none can be alive. Without
    this, `syncd status` and `/status` would show them running for ever."""
    abandoned = runs.abandon_running(
        "sync_%",
        except_id=run_id,
        note=f"abandoned: its process stopped before recording the end (found by run {run_id})",
    )
    if abandoned:
        log.warning("cycle.abandoned_runs_closed", runs=abandoned)
        cycle.counts["abandoned_runs_closed"] = len(abandoned)
        cycle.messages.append(f"closed abandoned runs {', '.join(map(str, abandoned))}")


class _Cycle:
    def __init__(
        self,
        deps: SyncDeps,
        request: CycleRequest,
        run_id: int,
        lock: CycleLock,
        stop: threading.Event,
        log: Any,
        progress: Progress | None = None,
    ) -> None:
        self.deps = deps
        self.request = request
        self.run_id = run_id
        self.lock = lock
        self.stop = stop
        self.log = log
        self.progress = progress
        self.counts: dict[str, int] = {}
        self.messages: list[str] = []

    def run(self) -> RunStatus:
        if self.request.dry_run:
            self.messages.append(
                "dry run: planned against the mirror as the last pull left it; "
                "nothing was sent and nothing but audit previews was written"
            )
        else:
            self._pull()
            if self.request.kind is CycleKind.REFERENCE:
                return RunStatus.SUCCEEDED
        if self.request.kind is CycleKind.REFERENCE:
            return RunStatus.DRY_RUN
        self._check_stop("planning")
        self.lock.ensure_held()
        if not self.request.dry_run:
            self._recover()
        status = self._plan()
        if status is not None:
            return status
        crashpoint("plan.after_commit")
        self.lock.ensure_held()
        self._push()
        return RunStatus.SUCCEEDED

    def report(self, stage: str, done: int, total: int | None) -> None:
        if self.progress is not None:
            self.progress(stage, done, total)

    def _check_stop(self, step: str) -> None:
        if self.stop.is_set():
            raise CycleInterruptedError(f"stopped before {step} (shutdown)")

    # --- pull --------------------------------------------------------------------------------

    def _pull(self) -> None:
        deps, request = self.deps, self.request
        config = deps.pull_config()
        if request.since is not None and request.kind is CycleKind.INCREMENTAL:
            # A backfill: the pull starts at watermark - lookback, so choose the lookback
            # that puts the start at `since` (no watermark: everything is exported anyway).
            with deps.engine.connect() as conn:
                watermark = read_watermark(conn, config.watermark)
            if watermark is not None:
                since = request.since if request.since.tzinfo else request.since.replace(tzinfo=UTC)
                config = replace(config, lookback=watermark - since)
        service = PullService(deps.engine, deps.client, config)
        self.report("pull", 0, None)
        reference = service.pull_reference(deps.client)
        self.counts["custom_fields"] = reference.custom_fields
        self.lock.ensure_held()
        if request.kind is CycleKind.REFERENCE:
            return
        self._check_stop("the contact pull")
        outcome = service.pull_full() if request.kind is CycleKind.FULL else (
            service.pull_incremental()
        )
        result = outcome.result
        self.report("pull", result.rows_seen, result.rows_seen)
        self.counts.update(
            pulled=result.rows_seen,
            pull_inserted=result.inserted,
            pull_updated=result.updated,
            pull_rejected=result.rejected,
            pull_tombstoned=result.tombstoned,
        )

    # --- recovery ----------------------------------------------------------------------------

    def _recover(self) -> None:
        """SENT rows a crashed drain left are settled against the fresh mirror before the
        plan supersedes the open rows of the contacts it re-plans: a change that landed is
        closed DONE and audited rather than superseded unrecorded."""
        if self.deps.recover is None:
            return
        report = self.deps.recover(self.deps.engine, self.deps.client, run_id=self.run_id)
        for name in ("applied", "requeued"):
            n = sum(ops.get(name, 0) for ops in getattr(report, "by_operation", {}).values())
            if n:
                self.counts[f"recovered_{name}"] = n

    # --- plan --------------------------------------------------------------------------------

    def _plan(self) -> RunStatus | None:
        for attempt in range(1, PLAN_ATTEMPTS + 1):
            try:
                with self.deps.engine.connect() as conn:
                    conn = conn.execution_options(isolation_level="REPEATABLE READ")
                    return _Planning(self, conn).run()
            except sa.exc.OperationalError as exc:
                if not isinstance(exc.orig, psycopg.errors.SerializationFailure):
                    raise
                if attempt == PLAN_ATTEMPTS:
                    raise
                self.log.warning("plan.retry", attempt=attempt, error="serialization failure")
        return None  # pragma: no cover - the loop returns or raises

    # --- push --------------------------------------------------------------------------------

    def _push(self) -> None:
        if self.deps.push is None:
            self.messages.append("no pusher configured: the outbox was written, not sent")
            return
        # only a caller that wants progress hands it on (other pushers need not accept it)
        extra: dict[str, Any] = {} if self.progress is None else {"progress": self.progress}
        report = self.deps.push(
            self.deps.engine,
            self.deps.client,
            run_id=self.run_id,
            settings=self.deps.sync,
            lock=self.lock,
            stop=self.stop,
            **extra,
        )
        for name in ("sent", "applied", "rejected", "failed", "dead", "superseded", "requests"):
            self.counts[f"push_{name}"] = int(getattr(report, name, 0) or 0)
        aborted = getattr(report, "aborted", None)
        if aborted:
            self.messages.append(f"push stopped early: {aborted}")


@dataclass
class _Tally:
    """Counts and samples of a plan, gathered page by page."""

    sample_size: int
    contacts: dict[str, int] = field(default_factory=dict)
    write_back_keys: set[str] = field(default_factory=set)
    samples: list[str] = field(default_factory=list)
    conflict_samples: list[str] = field(default_factory=list)
    invalid_samples: list[str] = field(default_factory=list)

    def add(self, plan: ContactPlan) -> None:
        for op in plan.ops:
            self._bump(op.operation)
            for change in op.changes:
                self._sample(self.samples, _describe(plan.account, change))
        if plan.write_back:
            self._bump("write_backs")
            self._bump("write_back_fields", len(plan.write_back))
            self.write_back_keys.update(plan.write_back)
            for key, value in plan.write_back.items():
                change = FieldChange("write_back", key, plan.write_back_old.get(key), value)
                self._sample(self.samples, _describe(plan.account, change))
        if plan.conflicts:
            self._bump("conflicts", len(plan.conflicts))
            for c in plan.conflicts:
                self._sample(
                    self.conflict_samples,
                    f"conflict {plan.account} {c.key}: SoR {_shown(c.key, c.sor)}, "
                    f"LiveVox {_shown(c.key, c.mirror)}, agreed {_shown(c.key, c.base)}",
                )
        if plan.invalid:
            self._bump("invalid")
            self._bump("invalid_fields", len(plan.invalid))
            for i in plan.invalid:
                self._sample(self.invalid_samples, f"invalid {plan.account} {i.key}: {i.reason}")
        if plan.applied_conflicts:
            self._bump("conflicts_applied", len(plan.applied_conflicts))

    def _bump(self, name: str, n: int = 1) -> None:
        self.contacts[name] = self.contacts.get(name, 0) + n

    def _sample(self, into: list[str], line: str) -> None:
        if len(into) < self.sample_size:
            into.append(line)

    def plan_counts(self) -> PlanCounts:
        c = self.contacts
        return PlanCounts(
            creates=c.get("create", 0),
            updates=c.get("update", 0),
            deactivations=c.get("deactivate", 0),
            deletes=c.get("delete", 0),
            dnd_changes=c.get("dnd", 0),
        )

    def counts(self) -> dict[str, int]:
        plan = self.plan_counts()
        out = {
            "creates": plan.creates,
            "updates": plan.updates,
            "deactivations": plan.deactivations,
            "deletes": plan.deletes,
            "dnd_changes": plan.dnd_changes,
        }
        for name in (
            "write_backs",
            "write_back_fields",
            "conflicts",
            "conflicts_applied",
            "invalid",
            "invalid_fields",
        ):
            out[name] = self.contacts.get(name, 0)
        return out


def _shown(key: str, value: Any) -> str:
    text = audit_text(key, value)
    return "∅" if text is None else repr(text)


def _describe(account: str, change: FieldChange) -> str:
    if change.key is None:
        return f"{change.operation} {account}"
    return (
        f"{change.operation} {account} {change.key}: "
        f"{_shown(change.key, change.old)} → {_shown(change.key, change.new)}"
    )


class _Planning:
    """The planning transaction of one cycle."""

    def __init__(self, cycle: _Cycle, conn: Connection) -> None:
        self.cycle = cycle
        self.deps = cycle.deps
        self.request = cycle.request
        self.run_id = cycle.run_id
        self.conn = conn
        self.counts = cycle.counts
        self.messages = cycle.messages
        self.log = cycle.log
        self.report = cycle.report

    def run(self) -> RunStatus | None:
        deps, request, conn = self.deps, self.request, self.conn
        with conn.begin() as transaction:
            conn.execute(sa.text("SET LOCAL work_mem = '64MB'"))
            diff = Diff(conn, deps.queries)
            problems = diff.key_problems()
            if deps.sor.import_unmanaged and not request.dry_run and not request.accounts:
                imported = conn.execute(sa.text(deps.queries.unmanaged_sql(insert=True)))
                self.counts["imported"] = imported.rowcount
            options = DiffOptions(
                force=request.kind is CycleKind.FULL or bool(request.accounts),
                accounts=tuple(request.accounts),
            )
            stats = diff.stage(options)
            self.counts["candidates"] = stats.candidates
            managed = managed_count(conn)
            staging = PlanStaging(conn)
            tally = self._plan_pages(diff, staging, stats.candidates)
            crashpoint("plan.after_staging")
            self.counts.update(tally.counts())
            self.counts["key_problems"] = len(problems)
            if not request.accounts:
                self.counts["unmanaged"] = int(
                    conn.execute(sa.text(deps.queries.unmanaged_sql(insert=False))).scalar_one()
                )
            verdict = self._guard(tally.plan_counts(), managed)
            if request.dry_run:
                self._preview(tally, verdict, problems)
                self.counts["audit_rows"] = staging.insert_audit(self.run_id)
                transaction.commit()
                return RunStatus.DRY_RUN
            if verdict.held and not request.confirm:
                transaction.rollback()
                self.messages.extend(f"held: {r}" for r in verdict.reasons)
                self.messages.append("run `syncd sync --confirm` to send this plan")
                self.log.warning("plan.held", reasons=verdict.reasons, **tally.counts())
                return RunStatus.HELD
            if verdict.held:
                self.messages.extend(f"guard overridden by confirm: {r}" for r in verdict.reasons)
                self.log.warning("plan.confirmed", reasons=verdict.reasons)
            self._apply(staging, tally, problems)
            crashpoint("plan.before_commit")
            transaction.commit()
        self.log.info("plan.written", **{k: v for k, v in self.counts.items()})
        return None

    def _plan_pages(self, diff: Diff, staging: PlanStaging, candidates: int) -> _Tally:
        deps = self.deps
        planner = Planner(
            deps.mapping.fields,
            on_removed=deps.sor.on_removed,
            custom_fields=custom_field_defs(self.conn),
        )
        conflicts = diff.conflicts()
        tally = _Tally(deps.sample_size)
        compared = 0
        self.report("plan", 0, candidates)
        for page in diff.pages(deps.page_size):
            plans = [planner.plan(row, conflicts.get(row.account)) for row in page]
            plans = [p for p in plans if not p.empty]
            for plan in plans:
                tally.add(plan)
            self._stage(staging, plans)
            compared += len(page)
            self.report("plan", compared, max(compared, candidates))
        return tally

    def _stage(self, staging: PlanStaging, plans: list[ContactPlan]) -> None:
        preview = self.request.dry_run
        staging.copy(
            "_sync_ops",
            ("account", "operation", "payload", "expected"),
            (
                (p.account, op.operation, dumps(op.payload), dumps(op.expected))
                for p in plans
                for op in p.ops
            ),
        )
        staging.copy(
            "_sync_wb",
            ("account", "patch"),
            ((p.account, dumps(p.write_back)) for p in plans if p.write_back),
        )
        staging.copy(
            "_sync_base_patch",
            ("account", "patch"),
            ((p.account, dumps(p.base_patch)) for p in plans if p.base_patch),
        )
        staging.copy(
            "_sync_conflicts",
            ("account", "field", "base_value", "mirror_value", "sor_value"),
            (
                (p.account, c.key, jsonb_text(c.base), jsonb_text(c.mirror), jsonb_text(c.sor))
                for p in plans
                for c in p.conflicts
            ),
        )
        staging.copy(
            "_sync_invalid",
            ("account", "operation", "payload", "reason"),
            (
                (
                    p.account,
                    p.invalid[0].operation,
                    dumps({"fields": {i.key: masked(i.key, i.value) for i in p.invalid}}),
                    "; ".join(f"{i.key}: {i.reason}" for i in p.invalid),
                )
                for p in plans
                if p.invalid
            ),
        )
        staging.copy(
            "_sync_applied", ("id",), ((i,) for p in plans for i in p.applied_conflicts)
        )
        staging.copy(
            "_sync_audit",
            _AUDIT_COLUMNS,
            self._audit_rows(plans, preview=preview),
        )

    @staticmethod
    def _audit_rows(plans: Iterable[ContactPlan], *, preview: bool) -> Iterable[tuple[Any, ...]]:
        for p in plans:
            if preview:
                for c in p.changes():
                    yield (
                        p.account, c.operation, c.direction, c.key,
                        audit_text(c.key, c.old), audit_text(c.key, c.new), "dry_run", None,
                    )  # fmt: skip
                continue
            for key, value in p.write_back.items():
                yield (
                    p.account, "write_back", "write_back", key,
                    audit_text(key, p.write_back_old.get(key)), audit_text(key, value),
                    "applied", None,
                )  # fmt: skip
            for conflict in p.conflicts:
                key = conflict.key
                yield (
                    p.account, "update", "push", key, audit_text(key, conflict.mirror),
                    audit_text(key, conflict.sor), "conflict", f"manual: {conflict.reason}",
                )  # fmt: skip
            for i in p.invalid:
                yield (
                    p.account, i.operation, "push", i.key, None, audit_text(i.key, i.value),
                    "invalid", i.reason,
                )  # fmt: skip

    def _guard(self, plan: PlanCounts, managed: int) -> GuardVerdict:
        if managed == 0:
            if plan.total:
                self.messages.append(
                    "initial sync: no contact was agreed yet, so the blast-radius guard "
                    "starts with the next cycle"
                )
            return GuardVerdict(False)
        recent = recent_plan_counts(self.conn, self.deps.recent_runs)
        return check_plan(plan, managed, recent, self.deps.guard)

    def _preview(
        self, tally: _Tally, verdict: GuardVerdict, problems: list[KeyProblem]
    ) -> None:
        counts = tally.counts()
        self.messages.append(
            "would send: "
            + ", ".join(
                f"{counts[k]} {label}"
                for k, label in (
                    ("creates", "creates"),
                    ("updates", "updates"),
                    ("dnd_changes", "DND changes"),
                    ("deactivations", "deactivations"),
                    ("deletes", "deletes"),
                )
            )
            + f"; would write back {counts['write_back_fields']} values into the SoR"
        )
        self.messages.extend(tally.samples)
        self.messages.extend(tally.conflict_samples)
        self.messages.extend(tally.invalid_samples)
        self.messages.extend(
            f"invalid SoR row {p.account or '(no account)'}: {p.reason}"
            for p in problems[: self.deps.sample_size]
        )
        if verdict.held:
            self.messages.extend(f"guard would hold: {r}" for r in verdict.reasons)
        else:
            self.messages.append("guard would let this plan through")

    def _apply(self, staging: PlanStaging, tally: _Tally, problems: list[KeyProblem]) -> None:
        deps, run_id, conn = self.deps, self.run_id, self.conn
        self.counts["superseded_by_plan"] = staging.supersede_open_outbox(run_id)
        self.counts["outbox_rows"] = staging.insert_outbox(run_id)
        if tally.write_back_keys:
            conn.execute(sa.text(deps.queries.write_back_sql(sorted(tally.write_back_keys))))
        staging.upsert_conflicts(run_id)
        staging.close_conflicts()
        staging.insert_invalid(run_id)
        insert_key_problems(
            conn, run_id, ((p.account, p.reason, _masked_row(p.row)) for p in problems)
        )
        staging.insert_audit(run_id)
        conn.execute(sa.text(deps.queries.upsert_base_sql()), {"run": run_id})


def _masked_row(row: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if row is None:
        return None
    return {"row": {k: masked(k, v) for k, v in row.items()}}
