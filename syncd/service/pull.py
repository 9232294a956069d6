"""Pull use case: LiveVox bulk export → Postgres mirror, with the watermark, in one transaction.

Incremental: export contacts modified since `watermark - lookback` (the lookback catches rows
LiveVox committed late; the loader's hash join makes the overlap free of duplicates and of
spurious history). Full reconcile: export everything; accounts absent from it are tombstoned.

Everything a pull writes — mirror rows, history, rejected rows, the watermark and the run's
success — commits together. A broken export (the client raises, e.g. `ExportTruncatedError`)
rolls all of it back; the run is then marked `failed` in its own transaction and the error is
re-raised. The watermark only moves forward, to the largest `modifyDate` loaded, but never past
the time this pull started (the "signpost": rows written while we read are read again next
time rather than skipped).

The service codes against small ports of its own (`ExportSource`, `ReferenceSource`), not the
client's classes: bootstrap hands in the LiveVox client, tests a fake export source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
import structlog
from sqlalchemy.engine import Connection, Engine

from syncd.crashpoints import crashpoint
from syncd.store.analyst import refresh_analyst_views
from syncd.store.errors import PullInProgressError
from syncd.store.loader import LoadMode, LoadOptions, LoadResult, load_export
from syncd.store.reference import upsert_contact_groups, upsert_custom_fields
from syncd.store.runs import RunRepository
from syncd.store.watermarks import CONTACTS_WATERMARK, advance_watermark, read_watermark

_log = structlog.get_logger(__name__)

# pg_advisory_xact_lock key shared by every pull (two pulls never interleave their loads).
PULL_LOCK_KEY = 0x5359_4E43_5055_4C4C  # "SYNCPULL"

ALL_FIELDS: tuple[str, ...] = ("allFields",)


class ExportStream(Protocol):
    """One running export: field keys in CSV order, then the raw bytes after the header."""

    @property
    def columns(self) -> Sequence[str]: ...

    def iter_raw(self) -> Iterator[bytes]: ...


class ExportSource(Protocol):
    """Where contacts come from (the LiveVox client's bulk download)."""

    def export_contacts(
        self,
        fields: Sequence[str] = ALL_FIELDS,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> AbstractContextManager[ExportStream]: ...


class ReferenceSource(Protocol):
    """Custom-field definitions and contact groups (dicts or the client's models)."""

    def list_custom_fields(self) -> Iterable[Any]: ...

    def iter_contact_groups(self) -> Iterable[Any]: ...


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class PullConfig:
    """How pulls behave."""

    lookback: timedelta = timedelta(minutes=15)
    """Incremental exports start this long before the watermark."""
    watermark: str = CONTACTS_WATERMARK
    """Name of the watermark row in syncd.watermarks."""
    load: LoadOptions = field(default_factory=LoadOptions)
    """Loader knobs (tombstone guard, work_mem, ...)."""


@dataclass(frozen=True, slots=True)
class PullOutcome:
    run_id: int
    mode: LoadMode
    start: datetime | None
    """Start of the exported modifyDate range (None: everything)."""
    result: LoadResult
    watermark: datetime | None
    """The watermark after the pull."""


@dataclass(frozen=True, slots=True)
class ReferenceOutcome:
    run_id: int
    custom_fields: int
    custom_fields_removed: int
    groups: int
    views_regenerated: bool


class PullService:
    """Pull contacts (incremental or full) and reference data into the mirror."""

    def __init__(
        self,
        engine: Engine,
        source: ExportSource,
        config: PullConfig | None = None,
        *,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self.engine = engine
        self.source = source
        self.config = config or PullConfig()
        self.clock = clock
        self.runs = RunRepository(engine)

    def pull_incremental(self) -> PullOutcome:
        """Contacts modified since the watermark (minus the lookback); all when there is none."""
        return self._pull("incremental")

    def pull_full(self) -> PullOutcome:
        """Every contact; accounts missing from the export get a tombstone."""
        return self._pull("full")

    def _pull(self, mode: LoadMode) -> PullOutcome:
        run_id = self.runs.start(f"pull_{mode}")
        log = _log.bind(run_id=run_id, mode=mode)
        signpost = self.clock()
        try:
            with self.engine.begin() as conn:
                _lock(conn)
                watermark = read_watermark(conn, self.config.watermark, for_update=True)
                start = None
                if mode == "incremental" and watermark is not None:
                    start = watermark - self.config.lookback
                log.info("pull.started", start=start.isoformat() if start else None)
                with self.source.export_contacts(fields=ALL_FIELDS, start=start) as stream:
                    crashpoint("pull.export_started")
                    result = load_export(
                        conn,
                        list(stream.columns),
                        stream.iter_raw(),
                        run_id=run_id,
                        mode=mode,
                        options=self.config.load,
                    )
                crashpoint("pull.after_load")
                if result.max_modify_date is not None:
                    watermark = advance_watermark(
                        conn,
                        self.config.watermark,
                        min(result.max_modify_date, signpost),
                        run_id,
                    )
                self.runs.finish(run_id, "succeeded", counts=result.counts(), conn=conn)
                crashpoint("pull.before_commit")
            crashpoint("pull.after_commit")
        except BaseException as exc:
            self._fail(run_id, exc, log)
            raise
        log.info(
            "pull.completed",
            watermark=watermark.isoformat() if watermark else None,
            **result.counts(),
        )
        return PullOutcome(run_id, mode, start, result, watermark)

    def pull_reference(self, source: ReferenceSource) -> ReferenceOutcome:
        """Custom-field definitions and groups; regenerates the analyst views on label changes."""
        run_id = self.runs.start("pull_reference")
        log = _log.bind(run_id=run_id, mode="reference")
        try:
            fields = list(source.list_custom_fields())
            groups = list(source.iter_contact_groups())
            with self.engine.begin() as conn:
                _lock(conn)
                custom = upsert_custom_fields(conn, fields, run_id)
                group_count = upsert_contact_groups(conn, groups, run_id)
                regenerated = refresh_analyst_views(conn)
                outcome = ReferenceOutcome(
                    run_id=run_id,
                    custom_fields=custom.upserted,
                    custom_fields_removed=custom.removed,
                    groups=group_count,
                    views_regenerated=regenerated,
                )
                counts = {k: v for k, v in asdict(outcome).items() if k != "run_id"}
                self.runs.finish(run_id, "succeeded", counts=counts, conn=conn)
        except BaseException as exc:
            self._fail(run_id, exc, log)
            raise
        log.info("pull.reference_completed", **counts)
        return outcome

    def _fail(self, run_id: int, exc: BaseException, log: Any) -> None:
        error = f"{type(exc).__name__}: {exc}"[:2000]
        log.error("pull.failed", error=error)
        try:
            self.runs.finish(run_id, "failed", error=error)
        except Exception as record_exc:  # the original error matters more than this one
            log.error("pull.run_not_recorded", error=str(record_exc)[:500])


def _lock(conn: Connection) -> None:
    acquired = conn.execute(
        sa.text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": PULL_LOCK_KEY}
    ).scalar_one()
    if not acquired:
        raise PullInProgressError("another pull is running")
