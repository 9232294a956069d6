"""Push use case: drain `syncd.outbox` into LiveVox, in bounded batches, safely.

One batch of one operation at a time per worker (creates, then updates and deactivations,
then DND, then deletes; the workers finish an operation together before any starts the
next, so a DND row meets the mirror its contact's update left), each batch in three steps:

1. **Claim** (one committed transaction): lock due rows with `FOR UPDATE SKIP LOCKED`, read
   their mirror rows, and compare each row's `expected` with the mirror. A row whose LiveVox
   values moved since the plan is SUPERSEDED (audited, never sent blind); one the client
   cannot express is DEAD with an `invalid` dead letter; the rest are marked SENT under the
   batch's request id, attempts + 1. The commit happens *before* the HTTP call, so a crash
   leaves SENT rows as evidence and no other worker can claim them.
2. **Send** (`push_send`): bulk calls, bisected on a short count; transient failures fail the
   rows of that request only.
3. **Record** (one transaction per batch): DONE rows write their values into the mirror and
   `base.agreed`; FAILED rows get `next_attempt_at` with exponential backoff (at least the
   server's Retry-After), or become DEAD with an `exhausted` dead letter after
   `max_attempts`; rejected rows become DEAD with LiveVox's reason. Every row audits one line
   per field (or per DND flag moved) and sets the mirror's `last_operation` / `last_error`.

Before the first batch, SENT rows left by a drain that died are re-checked against the
(freshly pulled) mirror: already applied → DONE without sending; otherwise back to NEW and
sent again (bulk update and DND are idempotent; a create meets "already exists"); the part of
a DND move that did land (the first step of two) is audited as applied. The cycle runs the
same recovery (`recover_interrupted`) between its pull and its plan: a re-plan supersedes the
open rows of the contacts it looks at, and must not silently close a change that landed.
`drain_owner` tells dead drains from live ones, so concurrent drains never resend each
other's rows in flight. `lock.ensure_held()` runs before every batch; `stop` ends the drain
after the batch in flight, leaving the remaining rows NEW. `progress("push", done, total)`, when
given, hears the rows finished after each batch against the rows due at the start.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from syncd.crashpoints import crashpoint
from syncd.livevox import ClientValidationError, LiveVoxClient, request_ids
from syncd.service.push_bisect import BatchAbortedError, RowOutcome, RowStatus
from syncd.service.push_rows import (
    Change,
    audited_changes,
    lv_account_id,
    mirror_dnd,
    row_fields,
    sent_values,
    shows_applied,
    stale_keys,
)
from syncd.service.push_send import BatchSender, CallCounter
from syncd.service.push_wire import build_create, build_update, dnd_steps, dnd_targets
from syncd.settings import SyncSettings
from syncd.store.audit_writer import (
    AuditEntry,
    DeadLetter,
    scrub_pii,
    write_audit,
    write_dead_letters,
)
from syncd.store.drain_owner import DrainOwner, drain_owner, live_tokens, owner_token
from syncd.store.locks import CycleLock
from syncd.store.outbox_drain import (
    DUE_STATES,
    OutboxRow,
    claim_due,
    claim_sent,
    close_unsent,
    finish_done,
    finish_leftover_done,
    finish_sent,
    mark_sent,
    requeue_sent,
)
from syncd.store.push_apply import (
    MirrorRow,
    UnknownFieldError,
    apply_sent_values,
    drop_base,
    merge_base,
    read_mirror,
    set_mirror_status,
    tombstone,
)
from syncd.store.sync_tables import outbox

_log = structlog.get_logger(__name__)

OPERATION_ORDER: tuple[str, ...] = ("create", "update", "deactivate", "dnd", "delete")
BACKOFF_BASE = timedelta(seconds=30)
"""Wait after a row's first transient failure; doubles with each further attempt."""
BACKOFF_MAX = timedelta(hours=1)
RATE_LIMIT_FLOOR = timedelta(seconds=1)
"""Shortest wait after a 429, whatever its Retry-After says (no hot loop on `Retry-After: 0`)."""

# A row the client cannot express: a payload value of the wrong type, a key that is not a
# field, a change the API has no way to make, a model the client's validation refuses.
_UNSENDABLE = (ValueError, UnknownFieldError, ClientValidationError)

Progress = Callable[[str, int, int | None], None]
"""`syncd.service.cycle.Progress`: (stage, done, total)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class PushReport:
    """What one drain did. Each claimed row lands in exactly one of applied, rejected
    (LiveVox refused it: dead letter), failed (transient: retried later), dead (attempts
    exhausted, or invalid before sending) or superseded (LiveVox moved since the plan).
    `sent` counts rows that went out (a row bisected over several requests counts once),
    `requests` the client calls made. `by_operation[op][outcome]` splits the counts."""

    sent: int = 0
    applied: int = 0
    rejected: int = 0
    failed: int = 0
    dead: int = 0
    superseded: int = 0
    requests: int = 0
    by_operation: dict[str, dict[str, int]] = field(default_factory=dict)
    aborted: str | None = None
    """Why the drain stopped early on an error that is not about rows (e.g. a 403)."""

    def add(self, operation: str, outcome: str, n: int = 1) -> None:
        if n == 0:
            return
        if outcome in ("sent", "applied", "rejected", "failed", "dead", "superseded"):
            setattr(self, outcome, getattr(self, outcome) + n)
        ops = self.by_operation.setdefault(operation, {})
        ops[outcome] = ops.get(outcome, 0) + n


@dataclass(frozen=True, slots=True)
class _Prepared:
    row: OutboxRow
    mirror: MirrorRow | None
    request: Any


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failed attempts (doubling, capped).

    Only a 429 carries a Retry-After (the client's `RateLimitedError`); it is waited by
    `rate_limit_wait` instead."""
    return min(BACKOFF_MAX, BACKOFF_BASE * int(2 ** max(0, min(attempts - 1, 30))))


def rate_limit_wait(retry_after: float | None) -> timedelta:
    """Wait after a 429: the server's Retry-After (at least `RATE_LIMIT_FLOOR`), else the
    base backoff. A 429 is flow control, not a failure of the change: it neither doubles the
    wait nor counts toward `max_attempts` (see `_record_failure`)."""
    if retry_after is None:
        return BACKOFF_BASE
    return max(RATE_LIMIT_FLOOR, timedelta(seconds=retry_after))


def drain_outbox(
    engine: Engine,
    client: LiveVoxClient,
    *,
    run_id: int,
    settings: SyncSettings,
    lock: CycleLock | None = None,
    stop: threading.Event | None = None,
    workers: int = 1,
    max_attempts: int = 8,
    now: Callable[[], datetime] = _utcnow,
    progress: Progress | None = None,
) -> PushReport:
    """Send every due outbox row; returns what happened. Raises `LockLostError` (after the
    workers stopped) when the cycle lock is gone, and database errors as they come."""
    if workers < 1 or max_attempts < 1:
        raise ValueError("workers and max_attempts must be at least 1")
    drain = _Drain(
        engine,
        client,
        run_id,
        settings,
        lock,
        stop or threading.Event(),
        max_attempts,
        now,
        workers,
        progress,
    )
    with drain_owner(engine) as owner:
        drain.owner = owner
        drain.ensure_lock()
        drain.recover_leftovers()
        drain.start_progress()
        if workers == 1:
            drain.work()
        else:
            with ThreadPoolExecutor(workers, thread_name_prefix="pusher") as pool:
                futures = [pool.submit(drain.work) for _ in range(workers)]
            for future in futures:
                future.result()  # the first worker error, after every worker stopped
    report = drain.report
    report.requests = drain.counter.calls
    drain.log.info(
        "push.completed",
        sent=report.sent,
        applied=report.applied,
        rejected=report.rejected,
        failed=report.failed,
        dead=report.dead,
        superseded=report.superseded,
        requests=report.requests,
        aborted=report.aborted,
    )
    return report


def recover_interrupted(engine: Engine, client: LiveVoxClient, *, run_id: int) -> PushReport:
    """Settle the SENT rows of drains that died (a crash) against the mirror, which the
    caller has just pulled: DONE and audited when LiveVox shows them applied, else NEW."""
    drain = _Drain(engine, client, run_id, SyncSettings(), None, threading.Event(), 1, _utcnow)
    drain.recover_leftovers()
    return drain.report


class _Drain:
    """State shared by the workers of one drain."""

    def __init__(
        self,
        engine: Engine,
        client: LiveVoxClient,
        run_id: int,
        settings: SyncSettings,
        lock: CycleLock | None,
        stop: threading.Event,
        max_attempts: int,
        now: Callable[[], datetime],
        workers: int = 1,
        progress: Progress | None = None,
    ) -> None:
        self.engine = engine
        self.run_id = run_id
        self.settings = settings
        self.lock = lock
        self.stop = stop
        self.max_attempts = max_attempts
        self.now = now
        self.due_by = now()
        """One pass per drain: only rows due when it started are claimed. A row that fails
        in it (a 429's Retry-After may be 1 s) waits for the next drain, so a drain ends
        even while LiveVox keeps refusing, and the cycle goes on to its next pull."""
        self.counter = CallCounter()
        self.sender = BatchSender(client, self.counter)
        self.report = PushReport()
        self.owner: DrainOwner | None = None
        self.log = _log.bind(run_id=run_id)
        self._halt = threading.Event()  # a worker failed or the batch was aborted
        self._report_lock = threading.Lock()
        self._lock_guard = threading.Lock()  # CycleLock's connection is not thread-safe
        self._phase = threading.Barrier(workers)
        self._progress = progress
        self._done = 0
        self._total = 0

    # --- control ----------------------------------------------------------------------

    def ensure_lock(self) -> None:
        if self.lock is not None:
            with self._lock_guard:
                self.lock.ensure_held()

    def _count(self, operation: str, outcome: str, n: int = 1) -> None:
        with self._report_lock:
            self.report.add(operation, outcome, n)

    def start_progress(self) -> None:
        """Tell `progress` how many rows are due (one count query, only when it listens)."""
        if self._progress is None:
            return
        with self.engine.connect() as conn:
            self._total = conn.execute(
                sa.select(sa.func.count())
                .select_from(outbox)
                .where(outbox.c.state.in_(DUE_STATES), outbox.c.next_attempt_at <= self.due_by)
            ).scalar_one()
        self._progress("push", 0, self._total)

    def _advance(self, rows: int) -> None:
        if self._progress is None:
            return
        with self._report_lock:  # workers report one at a time, in order
            self._done += rows
            self._total = max(self._total, self._done)  # rows queued after the count
            self._progress("push", self._done, self._total)

    def work(self) -> None:
        """One worker: drain each operation in turn. Workers move to the next operation
        together, so e.g. a DND row never meets a mirror its contact's update has not yet
        reached (the planner expects updates done first)."""
        try:
            for operation in OPERATION_ORDER:
                while not (self.stop.is_set() or self._halt.is_set()):
                    if not self._batch(operation):
                        break
                crashpoint("push.after_operation")
                self._phase.wait()
        except threading.BrokenBarrierError:
            return  # another worker failed; drain_outbox raises its error
        except BaseException:
            self._halt.set()  # the other workers stop after their batch in flight
            self._phase.abort()
            raise

    def _batch_size(self, operation: str) -> int:
        if operation == "create":
            return self.settings.create_batch_size
        if operation == "dnd":
            return self.settings.dnd_batch_size
        return self.settings.update_batch_size

    # --- one batch --------------------------------------------------------------------

    def _batch(self, operation: str) -> bool:
        """Claim, send and record one batch; False when nothing was due."""
        self.ensure_lock()
        assert self.owner is not None
        request_id = self.owner.request_id()
        with self.engine.begin() as conn:
            rows = claim_due(conn, operation, self._batch_size(operation), self.due_by)
            if not rows:
                return False
            prepared = self._prepare(conn, rows)
            mark_sent(conn, [p.row.id for p in prepared], request_id)
        if not prepared:
            self._advance(len(rows))
            return True
        crashpoint("push.after_claim")
        self._count(operation, "sent", len(prepared))
        try:
            # LiveVox sees the batch's request id (the one the outbox and audit log keep).
            with request_ids(request_id):
                outcomes = self._send(operation, prepared)
            crashpoint("push.after_send")
        except BatchAbortedError as exc:
            with self._report_lock:
                self.report.aborted = str(exc)
            self._halt.set()
            self.log.error("push.aborted", operation=operation, error=str(exc))
            failed = RowOutcome(RowStatus.FAILED, getattr(exc.error, "status", None), str(exc))
            outcomes = [failed] * len(prepared)
        self._record(prepared, outcomes, request_id)
        crashpoint("push.after_record")
        self.log.info(
            "push.batch_sent",
            operation=operation,
            rows=len(prepared),
            request_id=request_id,
            applied=sum(o.status is RowStatus.APPLIED for o in outcomes),
        )
        self._advance(len(rows))
        return True

    def _prepare(self, conn: Connection, rows: list[OutboxRow]) -> list[_Prepared]:
        """Check `expected`, build requests, close what will not be sent; the rest go out."""
        mirror = read_mirror(conn, sorted({r.account for r in rows}))
        prepared: list[_Prepared] = []
        audit: list[AuditEntry] = []
        letters: list[DeadLetter] = []
        for row in rows:
            current = mirror.get(row.account)
            try:
                stale = stale_keys(row, current)
                request = None if stale else self._request(row, current)
            except _UNSENDABLE as exc:
                reason = scrub_pii(str(exc), row.payload) or type(exc).__name__
                self._close_invalid(conn, row, reason, audit, letters)
                continue
            if stale:
                reason = f"LiveVox changed {', '.join(stale)} since the plan"
                close_unsent(conn, row.id, "SUPERSEDED", reason)
                audit += self._entries(row, "superseded", error=reason)
                self._count(row.operation, "superseded")
                continue
            if row.operation == "dnd" and not request:
                # the mirror already shows the target (e.g. our own steps of a cut-off run)
                close_unsent(conn, row.id, "DONE", None)
                self._agree(conn, row, current)
                audit += self._entries(row, "applied", error="LiveVox already shows it")
                self._count(row.operation, "applied")
                continue
            attempted = dataclasses.replace(row, attempts=row.attempts + 1)
            prepared.append(_Prepared(attempted, current, request))
        write_audit(conn, audit)
        write_dead_letters(conn, letters)
        return prepared

    def _request(self, row: OutboxRow, mirror: MirrorRow | None) -> Any:
        if row.operation == "create":
            return build_create(row.account, row_fields(row))
        if row.operation in ("update", "deactivate"):
            return build_update(row.account, row_fields(row), lv_account_id(row))
        if row.operation == "dnd":
            assert mirror is not None  # stale_keys refused a dnd row without one
            targets = dnd_targets(row.payload)
            current = {t.ordinal: mirror_dnd(mirror, t.ordinal) for t in targets}
            return dnd_steps(row.account, targets, current)
        if row.operation == "delete":
            return row.account
        raise ValueError(f"the pusher does not send {row.operation!r} rows")

    def _send(self, operation: str, prepared: Sequence[_Prepared]) -> list[RowOutcome]:
        requests = [p.request for p in prepared]
        if operation == "create":
            return self.sender.creates(requests)
        if operation in ("update", "deactivate"):
            return self.sender.updates(requests)
        if operation == "dnd":
            return self.sender.dnd(requests)
        return self.sender.deletes(requests)

    # --- recording --------------------------------------------------------------------

    def _entries(
        self,
        row: OutboxRow,
        outcome: str,
        *,
        error: str | None = None,
        http_status: int | None = None,
        request_id: str | None = None,
        changes: Sequence[Change] | None = None,
    ) -> list[AuditEntry]:
        if changes is None:
            try:
                changes = audited_changes(row)
            except _UNSENDABLE:
                changes = [(None, None, None)]  # a payload too broken to list its fields
        return [
            AuditEntry(
                account=row.account,
                operation=row.operation,
                field=key,
                old=old,
                new=new,
                outcome=outcome,
                run_id=self.run_id,
                outbox_id=row.id,
                http_status=http_status,
                attempts=row.attempts,
                error=error,
                request_id=request_id,
            )
            for key, old, new in changes
        ]

    def _close_invalid(
        self,
        conn: Connection,
        row: OutboxRow,
        reason: str,
        audit: list[AuditEntry],
        letters: list[DeadLetter],
    ) -> None:
        close_unsent(conn, row.id, "DEAD", f"invalid: {reason}")
        letters.append(self._letter(row, "invalid", reason, None))
        audit += self._entries(row, "invalid", error=reason)
        set_mirror_status(conn, row.account, operation=row.operation, error=f"invalid: {reason}")
        self._count(row.operation, "dead")

    def _letter(
        self, row: OutboxRow, kind: str, reason: str, http_status: int | None
    ) -> DeadLetter:
        return DeadLetter(
            account=row.account,
            operation=row.operation,
            payload=row.payload,
            kind=kind,
            reason=reason,
            run_id=self.run_id,
            outbox_id=row.id,
            http_status=http_status,
        )

    def _apply_success(self, conn: Connection, items: Sequence[_Prepared]) -> None:
        """Mirror and base take what was sent (one operation per batch); the touched
        accounts' phone and custom-value rows are rebuilt."""
        if not items:
            return
        operation = items[0].row.operation
        accounts = [item.row.account for item in items]
        if operation == "delete":
            tombstone(conn, accounts, run_id=self.run_id)
            drop_base(conn, accounts)
            return
        sent = [(item.row.account, sent_values(item.row, item.mirror)) for item in items]
        apply_sent_values(
            conn,
            [(account, typed) for account, (typed, _) in sent],
            operation=operation,
            run_id=self.run_id,
            insert=operation == "create",
        )
        merge_base(conn, [(account, agreed) for account, (_, agreed) in sent], run_id=self.run_id)

    def _record(
        self, prepared: Sequence[_Prepared], outcomes: Sequence[RowOutcome], request_id: str
    ) -> None:
        audit: list[AuditEntry] = []
        letters: list[DeadLetter] = []
        now = self.now()
        with self.engine.begin() as conn:
            applied = [
                (item, outcome)
                for item, outcome in zip(prepared, outcomes, strict=True)
                if outcome.status is RowStatus.APPLIED
            ]
            done: set[int] = set()
            for status in {outcome.http_status for _, outcome in applied}:
                done |= finish_done(
                    conn,
                    [item.row.id for item, o in applied if o.http_status == status],
                    request_id,
                    status,
                )
            for item, outcome in applied:
                if item.row.id not in done:
                    self._lost(item.row, request_id)
                    continue
                audit += self._entries(
                    item.row,
                    "applied",
                    error=outcome.note,
                    http_status=outcome.http_status,
                    request_id=request_id,
                )
                self._count(item.row.operation, "applied")
            self._apply_success(conn, [item for item, _ in applied if item.row.id in done])
            for item, outcome in zip(prepared, outcomes, strict=True):
                if outcome.status is not RowStatus.APPLIED:
                    self._record_failure(conn, item.row, outcome, request_id, now, audit, letters)
            crashpoint("push.before_audit")
            write_audit(conn, audit)
            write_dead_letters(conn, letters)

    def _record_failure(
        self,
        conn: Connection,
        row: OutboxRow,
        outcome: RowOutcome,
        request_id: str,
        now: datetime,
        audit: list[AuditEntry],
        letters: list[DeadLetter],
    ) -> None:
        """FAILED with backoff while attempts remain; DEAD with a dead letter otherwise.

        A 429 keeps the row FAILED whatever its attempts: a long rate-limit storm must not
        turn valid changes into dead letters. Its attempt is given back and it waits the
        server's Retry-After, however short.
        """
        status = outcome.http_status
        error = scrub_pii(outcome.error, row.payload) or outcome.status.value
        rate_limited = status == 429
        if outcome.status is RowStatus.FAILED and (
            rate_limited or row.attempts < self.max_attempts
        ):
            wait = (
                rate_limit_wait(outcome.retry_after)
                if rate_limited
                else backoff(row.attempts)
            )
            if not finish_sent(
                conn,
                row.id,
                request_id,
                "FAILED",
                http_status=status,
                error=error,
                next_attempt_at=now + wait,
                attempt_counts=not rate_limited,
            ):
                self._lost(row, request_id)
                return
            audit += self._entries(
                row, "failed", error=error, http_status=status, request_id=request_id
            )
            self._count(row.operation, "failed")
            set_mirror_status(conn, row.account, operation=row.operation, error=error)
            return
        kind, outcome_name, counted = {
            RowStatus.FAILED: ("exhausted", "dead", "dead"),
            RowStatus.REJECTED: ("rejected", "rejected", "rejected"),
            RowStatus.INVALID: ("invalid", "invalid", "dead"),
        }[outcome.status]
        reason = f"gave up after {row.attempts} attempts: {error}" if kind == "exhausted" else error
        if not finish_sent(
            conn, row.id, request_id, "DEAD", http_status=status, error=f"{kind}: {reason}"
        ):
            self._lost(row, request_id)
            return
        letters.append(self._letter(row, kind, reason, status))
        audit += self._entries(
            row, outcome_name, error=reason, http_status=status, request_id=request_id
        )
        self._count(row.operation, counted)
        set_mirror_status(conn, row.account, operation=row.operation, error=f"{kind}: {reason}")

    def _lost(self, row: OutboxRow, request_id: str) -> None:
        # another drain recovered this row meanwhile; it owns the outcome now
        self.log.warning(
            "push.row_taken_over",
            outbox_id=row.id,
            operation=row.operation,
            request_id=request_id,
        )

    # --- crash leftovers --------------------------------------------------------------

    def recover_leftovers(self) -> None:
        """SENT rows of dead drains: DONE when the mirror shows them applied, else NEW."""
        audit: list[AuditEntry] = []
        with self.engine.begin() as conn:
            live = live_tokens(conn)
            rows = [r for r in claim_sent(conn) if owner_token(r.request_id) not in live]
            if not rows:
                return
            mirror = read_mirror(conn, sorted({r.account for r in rows}))
            for row in rows:
                current = mirror.get(row.account)
                try:
                    applied = shows_applied(row, current)
                except _UNSENDABLE:
                    applied = False
                if not applied:
                    requeue_sent(conn, row.id, "interrupted push not confirmed by the mirror")
                    self._count(row.operation, "requeued")
                    audit += self._entries(
                        row,
                        "applied",
                        error="landed before an interrupted push; the rest goes again",
                        request_id=row.request_id,
                        changes=_landed(row, current),
                    )
                    continue
                finish_leftover_done(conn, row.id)
                self._agree(conn, row, current)
                audit += self._entries(
                    row,
                    "applied",
                    error="confirmed by the mirror after an interrupted push",
                    request_id=row.request_id,
                )
                self._count(row.operation, "applied")
            write_audit(conn, audit)
        self.log.info("push.recovered", rows=len(rows))

    def _agree(self, conn: Connection, row: OutboxRow, mirror: MirrorRow | None) -> None:
        """`base` (and the mirror's status) for a row LiveVox already shows applied."""
        if row.operation == "delete":
            drop_base(conn, [row.account])
            return
        _, agreed = sent_values(row, mirror)
        merge_base(conn, [(row.account, agreed)], run_id=self.run_id)
        set_mirror_status(conn, row.account, operation=row.operation, error=None)


def _landed(row: OutboxRow, mirror: MirrorRow | None) -> list[Change]:
    """Changes of a DND row that the mirror shows although the row as a whole did not land:
    a multi-step move cut off after its first step (one request per step, so only DND rows
    land in part)."""
    if row.operation != "dnd" or mirror is None or not mirror.live:
        return []
    try:
        changes = audited_changes(row)
    except _UNSENDABLE:
        return []
    return [
        (key, old, new)
        for key, old, new in changes
        if key is not None and old != new and bool(mirror.values.get(key)) == new
    ]
